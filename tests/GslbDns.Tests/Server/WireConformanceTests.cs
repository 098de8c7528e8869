using System.Net;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Server;

/// <summary>
/// Header bits, EDNS (RFC 6891), sizes and truncation, opcodes and CHAOS, checked on the raw bytes of the
/// reply: sent and parsed by hand so that no client library hides what the server wrote.
/// </summary>
[Collection(AuthServerCollection.Name)]
public sealed class WireConformanceTests(AuthServerFixture fixture)
{
    private static readonly EdnsSpec Edns = new(UdpSize: 1232);

    private IPEndPoint V4 => fixture.Servers.V4;

    private static void IsReplyTo(RawReply reply, ushort id)
    {
        Assert.True(reply.IsResponse);
        Assert.Equal(id, reply.Id);
        Assert.False(reply.RecursionAvailable, "RA must never be set");
    }

    [Fact]
    public async Task QNAME_case_is_preserved_in_the_question_and_in_answer_owners()
    {
        var reply = await RawDnsClient.UdpQueryAsync(V4, "WwW.ExAmPlE.tEsT", DnsWire.TypeA);
        Assert.Equal("WwW.ExAmPlE.tEsT.", Assert.Single(reply.Questions).Name);
        Assert.Equal(2, reply.Answers.Count);
        Assert.All(reply.Answers, a => Assert.Equal("WwW.ExAmPlE.tEsT.", a.Name));

        var chain = await RawDnsClient.UdpQueryAsync(V4, "AlIaS.ExAmPlE.TeSt", DnsWire.TypeA);
        Assert.Equal("AlIaS.ExAmPlE.TeSt.", chain.Answers[0].Name);
        Assert.Equal("alias2.example.test.", chain.Answers[0].RDataName().ToLowerInvariant());

        var wildcard = await RawDnsClient.UdpQueryAsync(V4, "HoSt3.WiLd.ExAmPlE.TeSt", DnsWire.TypeTXT);
        Assert.Equal("HoSt3.WiLd.ExAmPlE.TeSt.", Assert.Single(wildcard.Answers).Name);

        var nx = await RawDnsClient.UdpQueryAsync(V4, "NoPe.ExAmPlE.TeSt", DnsWire.TypeA);
        Assert.Equal(3, nx.Rcode);
        Assert.Equal("NoPe.ExAmPlE.TeSt.", Assert.Single(nx.Questions).Name);
        Assert.Equal("example.test.", Assert.Single(nx.Authority).Name.ToLowerInvariant());
    }

    public static TheoryData<string, ushort, ushort, int> EveryKindOfReply => new()
    {
        { "www.example.test", DnsWire.TypeA, DnsWire.ClassIN, 0 },
        { "nope.example.test", DnsWire.TypeA, DnsWire.ClassIN, 3 },
        { "www.example.test", DnsWire.TypeTXT, DnsWire.ClassIN, 0 },
        { "www.sub.example.test", DnsWire.TypeA, DnsWire.ClassIN, 0 },
        { "www.example.org", DnsWire.TypeA, DnsWire.ClassIN, 5 },
        { "version.bind", DnsWire.TypeTXT, DnsWire.ClassCH, 5 },
        { "bigtxt.example.test", DnsWire.TypeTXT, DnsWire.ClassIN, 0 },
        { "example.test", DnsWire.TypeANY, DnsWire.ClassIN, 0 },
    };

    [Theory]
    [MemberData(nameof(EveryKindOfReply))]
    public async Task OPT_is_in_every_reply_to_an_EDNS_query_and_in_none_to_a_plain_query(string name, ushort type, ushort @class, int rcode)
    {
        var withEdns = await RawDnsClient.UdpQueryAsync(V4, name, type, Edns, @class);
        Assert.Equal(rcode, withEdns.Rcode);
        Assert.Equal(1, withEdns.OptCount);
        var opt = withEdns.Opt!;
        Assert.Equal(".", opt.Owner);
        Assert.Equal(0, opt.Version);
        Assert.Equal(1232, opt.UdpSize);
        Assert.False(withEdns.RecursionAvailable);

        var plain = await RawDnsClient.UdpQueryAsync(V4, name, type, edns: null, @class);
        Assert.Equal(rcode, plain.Rcode);
        Assert.Equal(0, plain.OptCount);
    }

    [Fact]
    public async Task OPT_is_in_NOTIMP_and_BADVERS_replies_too()
    {
        var id = DnsWire.NewId();
        var notify = await RawDnsClient.UdpQueryAsync(V4, DnsWire.Query("example.test", DnsWire.TypeSOA, id, Edns, opcode: 4), id);
        Assert.Equal(4, notify.Rcode);
        Assert.NotNull(notify.Opt);

        id = DnsWire.NewId();
        var badvers = await RawDnsClient.UdpQueryAsync(V4, DnsWire.Query("www.example.test", DnsWire.TypeA, id, new EdnsSpec(Version: 1)), id);
        Assert.NotNull(badvers.Opt);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(255)]
    public async Task EDNS_version_above_0_gets_BADVERS_with_our_version_0(byte version)
    {
        var id = DnsWire.NewId();
        var reply = await RawDnsClient.UdpQueryAsync(V4, DnsWire.Query("www.example.test", DnsWire.TypeA, id, new EdnsSpec(Version: version)), id);
        IsReplyTo(reply, id);
        Assert.Equal(16, reply.Rcode); // BADVERS: extended RCODE 1, header RCODE 0 (RFC 6891 6.1.3)
        Assert.Equal(0, reply.HeaderRcode);
        Assert.Equal(1, reply.Opt!.ExtendedRcode);
        Assert.Equal(0, reply.Opt.Version);
        Assert.Empty(reply.Answers);
        Assert.False(reply.Authoritative);
    }

    [Fact]
    public async Task Client_UDP_size_is_honoured_and_capped_at_1232()
    {
        // Asked 4096: the OPT says 1232, the medium RRset fits, the big one is truncated into at most 1232 bytes.
        var medium = await RawDnsClient.UdpQueryAsync(V4, "medtxt.example.test", DnsWire.TypeTXT, new EdnsSpec(UdpSize: 4096));
        Assert.Equal(1232, medium.Opt!.UdpSize);
        Assert.False(medium.Truncated);
        Assert.Equal(TestZones.MediumTxtStrings, medium.Answers.Count);

        var big = await RawDnsClient.UdpQueryAsync(V4, "bigtxt.example.test", DnsWire.TypeTXT, new EdnsSpec(UdpSize: 4096));
        Assert.True(big.Truncated);
        Assert.True(big.Authoritative);
        Assert.Empty(big.Answers);
        Assert.True(big.Size <= 1232, $"UDP reply of {big.Size} bytes");
        Assert.Equal(1232, big.Opt!.UdpSize);
    }

    [Theory]
    [InlineData("medtxt.example.test", (ushort)256)]
    [InlineData("medtxt.example.test", (ushort)512)]
    [InlineData("medtxt.example.test", (ushort)600)]
    [InlineData("medtxt.example.test", (ushort)700)]
    [InlineData("medtxt.example.test", (ushort)1000)]
    [InlineData("bigtxt.example.test", (ushort)1232)]
    [InlineData("bigtxt.example.test", (ushort)1500)]
    [InlineData("bigtxt.example.test", (ushort)65535)]
    public async Task UDP_reply_never_exceeds_the_asked_size_and_is_truncated_only_when_the_answer_does_not_fit(string name, ushort asked)
    {
        var limit = Math.Clamp((int)asked, 512, 1232); // RFC 6891 6.2.5: below 512 counts as 512; ours is capped at 1232
        var full = await RawDnsClient.TcpQueryAsync(V4, name, DnsWire.TypeTXT, new EdnsSpec(UdpSize: asked));
        Assert.False(full.Truncated);
        var udp = await RawDnsClient.UdpQueryAsync(V4, name, DnsWire.TypeTXT, new EdnsSpec(UdpSize: asked));
        Assert.True(udp.Size <= limit, $"{udp.Size} bytes for a limit of {limit}");
        Assert.Equal(full.Size > limit, udp.Truncated);
        if (udp.Truncated)
        {
            Assert.Empty(udp.Answers); // RFC 2181 9: no partial RRset
            Assert.NotNull(udp.Opt);
        }
        else
        {
            Assert.Equal(full.Bytes.AsSpan(2).ToArray(), udp.Bytes.AsSpan(2).ToArray());
        }
    }

    [Fact]
    public async Task Without_EDNS_the_limit_is_512_and_TCP_carries_the_whole_answer()
    {
        var udp = await RawDnsClient.UdpQueryAsync(V4, "medtxt.example.test", DnsWire.TypeTXT);
        Assert.True(udp.Truncated);
        Assert.True(udp.Size <= 512);
        Assert.Empty(udp.Answers);
        Assert.Equal(0, udp.OptCount);

        var tcp = await RawDnsClient.TcpQueryAsync(V4, "medtxt.example.test", DnsWire.TypeTXT);
        Assert.False(tcp.Truncated);
        Assert.True(tcp.Size > 512);
        Assert.Equal(
            Enumerable.Range(0, TestZones.MediumTxtStrings).Select(TestZones.MediumTxt).Order(),
            tcp.Answers.Select(a => Assert.Single(a.TxtStrings)).Order());

        var small = await RawDnsClient.UdpQueryAsync(V4, "txt.example.test", DnsWire.TypeTXT);
        Assert.False(small.Truncated);
        Assert.Single(small.Answers);
    }

    [Theory]
    [InlineData(null)]
    [InlineData((ushort)1232)]
    public async Task Additional_RRsets_that_do_not_fit_are_left_out_whole_without_TC(ushort? size)
    {
        var reply = await RawDnsClient.UdpQueryAsync(V4, "manymx.example.test", DnsWire.TypeMX, size is { } s ? new EdnsSpec(UdpSize: s) : null);
        Assert.False(reply.Truncated);
        Assert.Single(reply.Answers);
        var glue = reply.Additional.Count(r => r.Name == "many.example.test." && r.Type == DnsWire.TypeA);
        Assert.True(glue is 0 or TestZones.ManyAddresses, $"{glue} of the {TestZones.ManyAddresses} A records of many.example.test: an RRset split (RFC 2181 9)");
        Assert.Equal(size is null ? 0 : TestZones.ManyAddresses, glue);
        Assert.True(reply.Size <= (size ?? 512));
    }

    [Fact]
    public async Task Referral_whose_in_domain_glue_does_not_fit_is_truncated_and_complete_otherwise()
    {
        // RFC 9471: in-domain glue is not optional. Without EDNS it does not fit in 512 bytes: TC, AA clear.
        var small = await RawDnsClient.UdpQueryAsync(V4, "www.big.example.test", DnsWire.TypeA);
        Assert.True(small.Truncated, small.ToString());
        Assert.False(small.Authoritative);
        Assert.Empty(small.Authority);

        foreach (var reply in new[]
        {
            await RawDnsClient.UdpQueryAsync(V4, "www.big.example.test", DnsWire.TypeA, new EdnsSpec(UdpSize: 1232)),
            await RawDnsClient.TcpQueryAsync(V4, "www.big.example.test", DnsWire.TypeA),
        })
        {
            Assert.False(reply.Truncated);
            Assert.False(reply.Authoritative);
            Assert.Equal(TestZones.BigDelegationServers, reply.Authority.Count(r => r.Type == DnsWire.TypeNS));
            Assert.Equal(2 * TestZones.BigDelegationServers, reply.Additional.Count(r => r.Type is DnsWire.TypeA or DnsWire.TypeAAAA));
        }
    }

    [Theory]
    [InlineData(1)] // IQUERY (obsolete)
    [InlineData(2)] // STATUS
    [InlineData(4)] // NOTIFY
    [InlineData(5)] // UPDATE
    [InlineData(15)]
    public async Task Opcodes_other_than_QUERY_get_NOTIMP(int opcode)
    {
        var id = DnsWire.NewId();
        var reply = await RawDnsClient.UdpQueryAsync(V4, DnsWire.Query("example.test", DnsWire.TypeSOA, id, opcode: opcode), id);
        IsReplyTo(reply, id);
        Assert.Equal(opcode, reply.Opcode);
        Assert.Equal(4, reply.Rcode);
        Assert.Empty(reply.Answers);
        Assert.False(reply.Authoritative);
    }

    [Theory]
    [InlineData(0, true)]
    [InlineData(2, false)]
    [InlineData(15, false)]
    public async Task RD_and_CD_are_copied_into_replies_to_QUERY_only(int opcode, bool copied)
    {
        // genreport's opcodeflg test: RD and CD are defined for QUERY only (RFC 6895 2, RFC 4035 3.1.6).
        var id = DnsWire.NewId();
        var message = new List<byte>();
        DnsWire.Header(message, id, (ushort)((opcode << 11) | 0x0100 | 0x0010), qd: 1, an: 0, ns: 0, ar: 0);
        message.AddRange(DnsWire.Name("example.test"));
        DnsWire.U16(message, DnsWire.TypeSOA);
        DnsWire.U16(message, DnsWire.ClassIN);
        var reply = await RawDnsClient.UdpQueryAsync(V4, [.. message], id);
        IsReplyTo(reply, id);
        Assert.Equal((opcode, opcode == 0 ? 0 : 4), (reply.Opcode, reply.Rcode));
        Assert.Equal(copied, reply.RecursionDesired);
        Assert.Equal(copied, (reply.Flags & 0x0010) != 0);
    }

    [Fact]
    public async Task NOTIFY_without_a_question_and_a_real_UPDATE_get_NOTIMP()
    {
        // NOTIFY with QDCOUNT=0.
        var id = DnsWire.NewId();
        var message = new List<byte>();
        DnsWire.Header(message, id, 4 << 11, qd: 0, an: 0, ns: 0, ar: 0);
        var reply = await RawDnsClient.UdpQueryAsync(V4, [.. message], id);
        Assert.Equal((4, 4), (reply.Opcode, reply.Rcode));

        // RFC 2136 UPDATE: zone section (SOA IN), one update RR adding an A record.
        id = DnsWire.NewId();
        message.Clear();
        DnsWire.Header(message, id, 5 << 11, qd: 1, an: 0, ns: 1, ar: 0);
        message.AddRange(DnsWire.Name("example.test"));
        DnsWire.U16(message, DnsWire.TypeSOA);
        DnsWire.U16(message, DnsWire.ClassIN);
        message.AddRange(DnsWire.Name("new.example.test"));
        DnsWire.U16(message, DnsWire.TypeA);
        DnsWire.U16(message, DnsWire.ClassIN);
        message.AddRange(new byte[] { 0, 0, 0x0E, 0x10, 0, 4, 192, 0, 2, 200 });
        reply = await RawDnsClient.UdpQueryAsync(V4, [.. message], id);
        Assert.Equal((5, 4), (reply.Opcode, reply.Rcode));

        // The update did nothing.
        var check = await RawDnsClient.UdpQueryAsync(V4, "new.example.test", DnsWire.TypeA);
        Assert.Equal(3, check.Rcode);
    }

    [Theory]
    [InlineData("version.bind")]
    [InlineData("hostname.bind")]
    [InlineData("version.server")]
    [InlineData("id.server")]
    public async Task CHAOS_identity_queries_are_REFUSED_by_default(string name)
    {
        var reply = await RawDnsClient.UdpQueryAsync(V4, name, DnsWire.TypeTXT, Edns, DnsWire.ClassCH);
        Assert.Equal(5, reply.Rcode);
        Assert.Empty(reply.Answers);
        Assert.False(reply.Authoritative);
    }

    [Fact]
    public async Task NSID_is_absent_when_not_configured()
    {
        var reply = await RawDnsClient.UdpQueryAsync(V4, "www.example.test", DnsWire.TypeA, new EdnsSpec(Options: [new EdnsOptionBytes(DnsWire.OptionNsid, [])]));
        Assert.Equal(0, reply.Rcode);
        Assert.Null(reply.Opt!.Option(DnsWire.OptionNsid));
    }

    [Fact]
    public async Task Valid_client_subnet_is_echoed_with_a_scope_for_static_data()
    {
        var ecs = DnsWire.ClientSubnet(1, 24, 0, 198, 51, 100);
        var reply = await RawDnsClient.UdpQueryAsync(V4, "www.example.test", DnsWire.TypeA, new EdnsSpec(Options: [new EdnsOptionBytes(DnsWire.OptionClientSubnet, ecs)]));
        Assert.Equal(0, reply.Rcode);
        var echoed = reply.Opt!.Option(DnsWire.OptionClientSubnet);
        Assert.NotNull(echoed);
        Assert.Equal(ecs.AsSpan(0, 3).ToArray(), echoed.AsSpan(0, 3).ToArray()); // family and source prefix
        Assert.Equal(0, echoed[3]); // static data does not depend on the client: scope 0 (RFC 7871 7.2.1)
        Assert.Equal(ecs.AsSpan(4).ToArray(), echoed.AsSpan(4).ToArray());
    }

    [Fact]
    public async Task Zone_transfers_are_refused()
    {
        using var connection = await TcpDnsConnection.ConnectAsync(V4);
        var id = DnsWire.NewId();
        await connection.SendAsync(DnsWire.Query("example.test", 252, id));
        var reply = RawReply.Parse((await connection.ReceiveAsync())!);
        Assert.Equal((id, 5), (reply.Id, reply.Rcode));
    }
}
