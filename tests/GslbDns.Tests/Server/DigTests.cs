using System.Net;

namespace GslbDns.Tests.Server;

/// <summary>Servers of their own for the dig/kdig tests, so these child-process-bound tests run beside the socket tests.</summary>
public sealed class DigServersFixture : IAsyncLifetime
{
    private ZoneServers? _servers;

    internal ZoneServers Servers => _servers ?? throw new InvalidOperationException("fixture not started");

    public async Task InitializeAsync() => _servers = await ZoneServers.StartAsync("dig");

    public async Task DisposeAsync()
    {
        if (_servers is not null)
        {
            await _servers.DisposeAsync();
        }
    }
}

/// <summary>
/// The same conformance points seen through BIND's dig and Knot's kdig, run as child processes: what two
/// independent, widely used DNS implementations make of our replies.
/// </summary>
public sealed class DigTests(DigServersFixture fixture) : IClassFixture<DigServersFixture>
{
    private IPEndPoint V4 => fixture.Servers.V4;

    private static Task<DigOutput> Ask(string tool, IPEndPoint server, params string[] arguments)
        => tool == "dig" ? DigRunner.DigAsync(server, arguments) : DigRunner.KdigAsync(server, arguments);

    private static void Flags(DigOutput reply, params string[] expected)
        => Assert.True(reply.Flags.SetEquals(expected), $"flags [{string.Join(' ', reply.Flags)}], expected [{string.Join(' ', expected)}]\n{reply}");

    [Theory]
    [InlineData("dig")]
    [InlineData("kdig")]
    public async Task Authoritative_answer_has_qr_aa_and_never_ra(string tool)
    {
        var reply = await Ask(tool, V4, "www.example.test", "A");
        Assert.Equal(("QUERY", "NOERROR"), (reply.Opcode, reply.Status));
        Flags(reply, "qr", "aa");
        Assert.Equal((1, 2, 0, 1), (reply.QueryCount, reply.AnswerCount, reply.AuthorityCount, reply.AdditionalCount));
        Assert.Equal(TestZones.WwwV4, reply.Answer.Select(r => r.Data).Order());
        Assert.All(reply.Answer, r => Assert.Equal(("www.example.test.", 3600u, "IN", "A"), (r.Name, r.Ttl, r.Class, r.Type)));
        Assert.Equal((0, 1232), (reply.EdnsVersion, reply.EdnsUdpSize));

        var recursive = await Ask(tool, V4, "+rec", "www.example.test", "AAAA");
        Flags(recursive, "qr", "aa", "rd");
        Assert.Equal(TestZones.WwwV6, Assert.Single(recursive.Answer).Data);
    }

    [Theory]
    [InlineData("dig")]
    [InlineData("kdig")]
    public async Task A_QNAME_of_the_longest_legal_255_octets_gets_its_answer_with_the_question_echoed(string tool)
    {
        // 119 one-octet labels, "bb", example, test and the root: 238 + 3 + 8 + 5 + 1 = 255 octets (RFC 1035 3.1). The
        // query fuzz target's reply cross-check stumbled on such a name (ARSoft.Tools.Net refuses it); dig and kdig must not.
        var name = string.Concat(Enumerable.Repeat("a.", 119)) + "bb.example.test.";
        var reply = await Ask(tool, V4, name, "A");
        Assert.True(reply.Status == "NXDOMAIN", reply.ToString());
        Assert.Equal(name, Assert.Single(reply.Question).Name);
        Assert.Equal("example.test.", Assert.Single(reply.Authority).Name);
    }

    [Theory]
    [InlineData("dig")]
    [InlineData("kdig")]
    public async Task NXDOMAIN_and_NODATA_carry_the_SOA_with_the_negative_TTL(string tool)
    {
        var nx = await Ask(tool, V4, "nope.example.test", "A");
        Assert.Equal("NXDOMAIN", nx.Status);
        Flags(nx, "qr", "aa");
        Assert.Empty(nx.Answer);
        var soa = Assert.Single(nx.Authority);
        Assert.Equal(("example.test.", TestZones.ExampleNegativeTtl, "SOA"), (soa.Name, soa.Ttl, soa.Type));

        var nodata = await Ask(tool, V4, "www.other.test", "TXT");
        Assert.Equal("NOERROR", nodata.Status);
        Flags(nodata, "qr", "aa");
        Assert.Empty(nodata.Answer);
        Assert.Equal(("other.test.", TestZones.OtherNegativeTtl), (Assert.Single(nodata.Authority).Name, nodata.Authority[0].Ttl));
    }

    [Theory]
    [InlineData("dig")]
    [InlineData("kdig")]
    public async Task CNAME_chains_are_followed_through_our_zones_and_stop_at_foreign_names(string tool)
    {
        var inside = await Ask(tool, V4, "alias.example.test", "A");
        Assert.Equal(["CNAME", "CNAME", "A", "A"], inside.Answer.Select(r => r.Type));
        Assert.Equal(["alias2.example.test.", "www.example.test."], inside.Answer.Take(2).Select(r => r.Data));

        var across = await Ask(tool, V4, "cross.example.test", "A");
        Assert.Equal([("cross.example.test.", "CNAME", "www.other.test."), ("www.other.test.", "A", TestZones.OtherWww)], across.Answer.Select(r => (r.Name, r.Type, r.Data)));
        Flags(across, "qr", "aa");

        var outside = await Ask(tool, V4, "outside.example.test", "A");
        Assert.Equal("NOERROR", outside.Status);
        Assert.Equal(("CNAME", "www.example.net."), (Assert.Single(outside.Answer).Type, outside.Answer[0].Data));
        Assert.Empty(outside.Authority);
    }

    [Theory]
    [InlineData("dig")]
    [InlineData("kdig")]
    public async Task Wildcards_follow_RFC_4592(string tool)
    {
        var synthesised = await Ask(tool, V4, "host3.wild.example.test", "TXT");
        Assert.Equal(("host3.wild.example.test.", "\"this is a wildcard\""), (Assert.Single(synthesised.Answer).Name, synthesised.Answer[0].Data));
        Flags(synthesised, "qr", "aa");

        var itself = await Ask(tool, V4, "*.wild.example.test", "TXT");
        Assert.Equal("*.wild.example.test.", Assert.Single(itself.Answer).Name);

        var ent = await Ask(tool, V4, "host2.wild.example.test", "TXT");
        Assert.Equal("NOERROR", ent.Status);
        Assert.Empty(ent.Answer);

        var ghost = await Ask(tool, V4, "ghost.*.wild.example.test", "MX");
        Assert.Equal("NXDOMAIN", ghost.Status);
    }

    [Theory]
    [InlineData("dig")]
    [InlineData("kdig")]
    public async Task Delegation_is_a_referral_without_aa(string tool)
    {
        foreach (var (name, type) in new[] { ("www.sub.example.test", "A"), ("sub.example.test", "NS") })
        {
            var referral = await Ask(tool, V4, name, type);
            Assert.Equal("NOERROR", referral.Status);
            Flags(referral, "qr");
            Assert.Empty(referral.Answer);
            Assert.Equal(["ns1.sub.example.test.", "ns2.sub.example.test."], referral.Authority.Where(r => r.Type == "NS").Select(r => r.Data).Order());
            Assert.Equal(2, referral.Authority.Count);
            Assert.Contains(referral.Additional, r => (r.Name, r.Type, r.Data) == ("ns1.sub.example.test.", "A", fixture.Servers.Glue.ToString()));
            Assert.Contains(referral.Additional, r => (r.Name, r.Type) == ("ns2.sub.example.test.", "AAAA"));
        }

        var child = await Ask(tool, fixture.Servers.ChildEndPoint, "www.sub.example.test", "A");
        Flags(child, "qr", "aa");
        Assert.Equal(TestZones.ChildWww, Assert.Single(child.Answer).Data);
    }

    [Theory]
    [InlineData("dig")]
    [InlineData("kdig")]
    public async Task Foreign_names_are_REFUSED_even_when_recursion_is_asked(string tool)
    {
        var reply = await Ask(tool, V4, "+rec", "www.example.org", "A");
        Assert.Equal("REFUSED", reply.Status);
        Flags(reply, "qr", "rd");
        Assert.Empty(reply.Answer);
    }

    [Theory]
    [InlineData("notify")]
    [InlineData("status")]
    [InlineData("update")]
    public async Task Dig_sees_NOTIMP_for_other_opcodes(string opcode)
    {
        var reply = await DigRunner.DigAsync(V4, $"+opcode={opcode}", "example.test", "SOA");
        Assert.Equal(opcode.ToUpperInvariant(), reply.Opcode);
        Assert.Equal("NOTIMP", reply.Status);
        Assert.DoesNotContain("ra", reply.Flags);
    }

    [Fact]
    public async Task QNAME_case_is_kept()
    {
        // dig only: kdig lower-cases the name before sending it.
        var reply = await DigRunner.DigAsync(V4, "WwW.ExAmPlE.TeSt", "A");
        Assert.Equal("WwW.ExAmPlE.TeSt.", Assert.Single(reply.Question).Name);
        Assert.All(reply.Answer, r => Assert.Equal("WwW.ExAmPlE.TeSt.", r.Name));
    }

    [Theory]
    [InlineData("dig")]
    [InlineData("kdig")]
    public async Task ANY_is_one_RRset_over_UDP_and_all_over_TCP(string tool)
    {
        // dig sends ANY over TCP unless told otherwise.
        var udp = await Ask(tool, V4, "+notcp", "example.test", "ANY");
        Assert.Single(udp.Answer.Select(r => r.Type).Distinct());
        var tcp = await Ask(tool, V4, "+tcp", "example.test", "ANY");
        Assert.Equal(["CAA", "MX", "NS", "SOA", "TXT"], tcp.Answer.Select(r => r.Type).Distinct().Order());
    }

    [Theory]
    [InlineData("dig")]
    [InlineData("kdig")]
    public async Task EDNS_sizes_truncation_and_TCP(string tool)
    {
        var plain = await Ask(tool, V4, "+noedns", "www.example.test", "A");
        Assert.False(plain.HasEdns);
        Assert.Equal(0, plain.AdditionalCount);

        var small = await Ask(tool, V4, "+noedns", "+ignore", "medtxt.example.test", "TXT");
        Assert.Contains("tc", small.Flags);
        Assert.InRange(small.Size ?? 0, 1, 512);

        var big = await Ask(tool, V4, "+bufsize=4096", "+ignore", "bigtxt.example.test", "TXT");
        Assert.Contains("tc", big.Flags);
        Assert.Contains("aa", big.Flags);
        Assert.Equal(1232, big.EdnsUdpSize);
        Assert.InRange(big.Size ?? 0, 1, 1232);

        var whole = await Ask(tool, V4, "+tcp", "bigtxt.example.test", "TXT");
        Assert.DoesNotContain("tc", whole.Flags);
        Assert.Equal(TestZones.BigTxtStrings, whole.Answer.Count);
        Assert.True(whole.Size > 1232);

        var medium = await Ask(tool, V4, "+bufsize=1232", "medtxt.example.test", "TXT");
        Assert.DoesNotContain("tc", medium.Flags);
        Assert.Equal(TestZones.MediumTxtStrings, medium.Answer.Count);
    }

    [Theory]
    [InlineData("dig")]
    [InlineData("kdig")]
    public async Task A_truncated_reply_keeps_the_answers_RCODE_with_its_sections_empty(string tool)
    {
        // Three CNAMEs fit in 512 octets, the SOA of the NXDOMAIN they end in does not: TC, and the RCODE of the answer.
        var udp = await Ask(tool, V4, "+noedns", "+ignore", "nxchain.example.test", "A");
        Assert.True(udp.Status == "NXDOMAIN", udp.ToString());
        Flags(udp, "qr", "aa", "tc");
        Assert.Equal((0, 0, 0), (udp.AnswerCount, udp.AuthorityCount, udp.AdditionalCount));

        var tcp = await Ask(tool, V4, "+tcp", "nxchain.example.test", "A");
        Assert.True(tcp.Status == "NXDOMAIN", tcp.ToString());
        Flags(tcp, "qr", "aa");
        Assert.Equal(["CNAME", "CNAME", "CNAME"], tcp.Answer.Select(r => r.Type));
        Assert.Equal("SOA", Assert.Single(tcp.Authority).Type);
        Assert.True(tcp.Size > 512, tcp.ToString());
    }

    [Fact]
    public async Task Kdig_sees_BADVERS_for_EDNS_version_1()
    {
        var reply = await DigRunner.KdigAsync(V4, "+edns=1", "www.example.test", "A");
        Assert.Equal("BADVERS", reply.Status);
        Assert.Equal(0, reply.EdnsVersion);
        Assert.Empty(reply.Answer);

        var dig = await DigRunner.DigAsync(V4, "+edns=1", "+noednsnegotiation", "www.example.test", "A");
        Assert.Equal("BADVERS", dig.Status);
    }

    [Theory]
    [InlineData("dig")]
    [InlineData("kdig")]
    public async Task NSID_and_CHAOS_are_silent_by_default(string tool)
    {
        var nsid = await Ask(tool, V4, "+nsid", "www.example.test", "A");
        Assert.Equal("NOERROR", nsid.Status);
        Assert.Null(nsid.Nsid);

        foreach (var name in new[] { "version.bind", "hostname.bind" })
        {
            var chaos = await Ask(tool, V4, "-c", "CH", "-t", "TXT", name);
            Assert.Equal("REFUSED", chaos.Status);
            Assert.Empty(chaos.Answer);
        }
    }

    [Theory]
    [InlineData("dig")]
    [InlineData("kdig")]
    public async Task Record_types_print_as_written(string tool)
    {
        var opaque = await Ask(tool, V4, "opaque.example.test", "TYPE65280");
        Assert.Equal("TYPE65280", Assert.Single(opaque.Answer).Type);
        Assert.Equal(@"\# 3 abcdef", opaque.Answer[0].Data.ToLowerInvariant());

        var txt = await Ask(tool, V4, "txt.example.test", "TXT");
        Assert.Equal("\"first string\" \"second string\" \"third\"", Assert.Single(txt.Answer).Data);

        var caa = await Ask(tool, V4, "example.test", "CAA");
        Assert.Equal("0 issue \"letsencrypt.org\"", Assert.Single(caa.Answer).Data);

        var ptr = await Ask(tool, V4, "10.2.0.192.in-addr.arpa", "PTR");
        Assert.Equal("www.example.test.", Assert.Single(ptr.Answer).Data);

        var srv = await Ask(tool, V4, "_sip._udp.example.test", "SRV");
        Assert.Equal("10 60 5060 sip.example.test.", Assert.Single(srv.Answer).Data);
        Assert.Contains(srv.Additional, r => (r.Name, r.Type, r.Data) == ("sip.example.test.", "A", "192.0.2.50"));

        var mx = await Ask(tool, V4, "example.test", "MX");
        Assert.Equal("10 mail.example.test.", Assert.Single(mx.Answer).Data);
        Assert.Contains(mx.Additional, r => (r.Name, r.Type) == ("mail.example.test.", "AAAA"));
    }

    [Theory]
    [InlineData("dig")]
    [InlineData("kdig")]
    public async Task IPv6_listener_answers(string tool)
    {
        var udp = await Ask(tool, fixture.Servers.V6, "www.example.test", "AAAA");
        Flags(udp, "qr", "aa");
        Assert.Equal(TestZones.WwwV6, Assert.Single(udp.Answer).Data);
        var tcp = await Ask(tool, fixture.Servers.V6, "+tcp", "alias.example.test", "A");
        Assert.Equal(4, tcp.Answer.Count);
    }
}
