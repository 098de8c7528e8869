using System.Net;
using DnsClient;
using DnsClient.Protocol;

namespace GslbDns.Tests.Server;

/// <summary>
/// What an authoritative server answers (RFC 1034 4.3.2, RFC 2308, RFC 4592, RFC 6604, RFC 8482), asked with
/// DnsClient over real UDP and TCP sockets on IPv4 and IPv6.
/// </summary>
[Collection(AuthServerCollection.Name)]
public sealed class AuthoritativeAnswerTests(AuthServerFixture fixture)
{
    private IPEndPoint V4 => fixture.Servers.V4;

    private static void Authoritative(IDnsQueryResponse r, DnsHeaderResponseCode rcode = DnsHeaderResponseCode.NoError)
    {
        Assert.True(r.Header.ResponseCode == rcode, $"expected {rcode}\n{r.Describe()}");
        Assert.True(r.Header.HasAuthorityAnswer, $"AA must be set on authoritative data\n{r.Describe()}");
        Assert.False(r.Header.RecursionAvailable, "RA must never be set");
        Assert.False(r.Header.ResultTruncated, $"unexpected TC\n{r.Describe()}");
    }

    private static void Negative(IDnsQueryResponse r, string zone, uint negativeTtl)
    {
        Assert.DoesNotContain(r.Answers, a => a.RecordType != ResourceRecordType.CNAME);
        var soa = Assert.Single(r.Authorities);
        var record = Assert.IsType<SoaRecord>(soa);
        Assert.Equal(zone, record.DomainName.Value);
        Assert.Equal((int)negativeTtl, record.InitialTimeToLive);
    }

    [Fact]
    public async Task A_and_AAAA_are_answered_with_AA_and_without_RA()
    {
        var a = await Lookup.QueryAsync(V4, "www.example.test", QueryType.A);
        Authoritative(a);
        Assert.Equal(TestZones.WwwV4, a.Answers.ARecords().Select(r => r.Address.ToString()).Order());
        Assert.All(a.Answers, r => Assert.Equal(3600, r.InitialTimeToLive));

        var aaaa = await Lookup.QueryAsync(V4, "www.example.test", QueryType.AAAA);
        Authoritative(aaaa);
        Assert.Equal(IPAddress.Parse(TestZones.WwwV6), Assert.Single(aaaa.Answers.AaaaRecords()).Address);
    }

    [Fact]
    public async Task Recursion_desired_is_echoed_but_recursion_is_never_offered()
    {
        var r = await Lookup.QueryAsync(V4, "www.example.test", QueryType.A, recursion: true);
        Authoritative(r);
        Assert.True(r.Header.RecursionDesired);
        var refused = await Lookup.QueryAsync(V4, "www.example.org", QueryType.A, recursion: true);
        Assert.False(refused.Header.RecursionAvailable);
    }

    [Theory]
    [InlineData("nope.example.test", "example.test.", TestZones.ExampleNegativeTtl)]
    [InlineData("deep.nope.example.test", "example.test.", TestZones.ExampleNegativeTtl)]
    [InlineData("nope.other.test", "other.test.", TestZones.OtherNegativeTtl)]
    [InlineData("11.2.0.192.in-addr.arpa", "2.0.192.in-addr.arpa.", 300u)]
    public async Task Nxdomain_carries_the_SOA_with_the_RFC2308_negative_TTL(string name, string zone, uint negativeTtl)
    {
        var r = await Lookup.QueryAsync(V4, name, QueryType.A);
        Authoritative(r, DnsHeaderResponseCode.NotExistentDomain);
        Negative(r, zone, negativeTtl);
    }

    [Theory]
    [InlineData("www.example.test", QueryType.TXT, "example.test.", TestZones.ExampleNegativeTtl)]
    [InlineData("www.other.test", QueryType.AAAA, "other.test.", TestZones.OtherNegativeTtl)]
    [InlineData("_udp.example.test", QueryType.SRV, "example.test.", TestZones.ExampleNegativeTtl)] // empty non-terminal
    [InlineData("example.test", QueryType.A, "example.test.", TestZones.ExampleNegativeTtl)]
    public async Task Nodata_is_NOERROR_with_no_answer_and_the_SOA(string name, QueryType type, string zone, uint negativeTtl)
    {
        var r = await Lookup.QueryAsync(V4, name, type);
        Authoritative(r);
        Negative(r, zone, negativeTtl);
    }

    [Fact]
    public async Task Negative_TTL_is_the_lesser_of_SOA_TTL_and_SOA_minimum()
    {
        // example.test: TTL 3600, MINIMUM 300. other.test: TTL 120, MINIMUM 600. Both sides of the min.
        var example = (SoaRecord)Assert.Single((await Lookup.QueryAsync(V4, "example.test", QueryType.SOA)).Answers);
        Assert.Equal(3600, example.InitialTimeToLive);
        Assert.Equal(300u, example.Minimum);
        var other = (SoaRecord)Assert.Single((await Lookup.QueryAsync(V4, "other.test", QueryType.SOA)).Answers);
        Assert.Equal(120, other.InitialTimeToLive);
        Assert.Equal(600u, other.Minimum);
    }

    [Fact]
    public async Task Cname_chain_of_two_hops_is_followed_inside_the_zone()
    {
        var r = await Lookup.QueryAsync(V4, "alias.example.test", QueryType.A);
        Authoritative(r);
        var answers = r.Answers;
        Assert.Equal(4, answers.Count);
        var first = Assert.IsType<CNameRecord>(answers[0]);
        Assert.Equal(("alias.example.test.", "alias2.example.test."), (first.DomainName.Value, first.CanonicalName.Value));
        var second = Assert.IsType<CNameRecord>(answers[1]);
        Assert.Equal(("alias2.example.test.", "www.example.test."), (second.DomainName.Value, second.CanonicalName.Value));
        Assert.All(answers.Skip(2), a => Assert.Equal("www.example.test.", a.DomainName.Value));
        Assert.Equal(TestZones.WwwV4, answers.ARecords().Select(a => a.Address.ToString()).Order());
    }

    [Fact]
    public async Task Cname_into_another_served_zone_is_followed()
    {
        var r = await Lookup.QueryAsync(V4, "cross.example.test", QueryType.A);
        Authoritative(r);
        Assert.Equal("www.other.test.", Assert.IsType<CNameRecord>(r.Answers[0]).CanonicalName.Value);
        var a = Assert.Single(r.Answers.ARecords());
        Assert.Equal(("www.other.test.", TestZones.OtherWww), (a.DomainName.Value, a.Address.ToString()));
    }

    [Fact]
    public async Task Cname_out_of_our_zones_stops_at_the_CNAME()
    {
        var r = await Lookup.QueryAsync(V4, "outside.example.test", QueryType.A);
        Authoritative(r);
        var cname = Assert.IsType<CNameRecord>(Assert.Single(r.Answers));
        Assert.Equal("www.example.net.", cname.CanonicalName.Value);
        Assert.Empty(r.Authorities);
    }

    [Fact]
    public async Task Cname_to_a_missing_name_in_our_zone_is_NXDOMAIN_with_the_CNAME_kept()
    {
        // RFC 6604: the RCODE describes the last name in the chain.
        var r = await Lookup.QueryAsync(V4, "dangling.example.test", QueryType.A);
        Authoritative(r, DnsHeaderResponseCode.NotExistentDomain);
        Assert.Equal("nothere.example.test.", Assert.IsType<CNameRecord>(Assert.Single(r.Answers)).CanonicalName.Value);
        Negative(r, "example.test.", TestZones.ExampleNegativeTtl);
    }

    [Fact]
    public async Task Asking_for_the_CNAME_itself_does_not_follow_it()
    {
        var r = await Lookup.QueryAsync(V4, "alias.example.test", QueryType.CNAME);
        Authoritative(r);
        Assert.Equal("alias2.example.test.", Assert.IsType<CNameRecord>(Assert.Single(r.Answers)).CanonicalName.Value);
    }

    [Fact]
    public async Task MX_and_SRV_bring_their_in_zone_targets_addresses_as_additional_data()
    {
        var mx = await Lookup.QueryAsync(V4, "example.test", QueryType.MX);
        Authoritative(mx);
        var exchange = Assert.Single(mx.Answers.MxRecords());
        Assert.Equal((10, "mail.example.test."), (exchange.Preference, exchange.Exchange.Value));
        Assert.Equal("192.0.2.25", Assert.Single(mx.Additionals.ARecords()).Address.ToString());
        Assert.Equal("2001:db8::25", Assert.Single(mx.Additionals.AaaaRecords()).Address.ToString());

        var srv = await Lookup.QueryAsync(V4, "_sip._udp.example.test", QueryType.SRV);
        Authoritative(srv);
        var service = Assert.Single(srv.Answers.SrvRecords());
        Assert.Equal((10, 60, 5060, "sip.example.test."), (service.Priority, service.Weight, service.Port, service.Target.Value));
        var glue = Assert.Single(srv.Additionals.ARecords());
        Assert.Equal(("sip.example.test.", "192.0.2.50"), (glue.DomainName.Value, glue.Address.ToString()));
    }

    [Fact]
    public async Task TXT_CAA_and_PTR_are_served_as_written()
    {
        var txt = await Lookup.QueryAsync(V4, "txt.example.test", QueryType.TXT);
        Authoritative(txt);
        Assert.Equal(["first string", "second string", "third"], Assert.Single(txt.Answers.TxtRecords()).Text);

        var caa = await Lookup.QueryAsync(V4, "example.test", QueryType.CAA);
        Authoritative(caa);
        var record = Assert.Single(caa.Answers.CaaRecords());
        Assert.Equal((0, "issue", "letsencrypt.org"), (record.Flags, record.Tag, record.Value));

        var ptr = await Lookup.QueryAsync(V4, "10.2.0.192.in-addr.arpa", QueryType.PTR);
        Authoritative(ptr);
        Assert.Equal("www.example.test.", Assert.Single(ptr.Answers.PtrRecords()).PtrDomainName.Value);

        var reverse = await Lookup.Client(V4).QueryReverseAsync(IPAddress.Parse("192.0.2.10"));
        Assert.Equal("www.example.test.", Assert.Single(reverse.Answers.PtrRecords()).PtrDomainName.Value);
    }

    [Fact]
    public async Task Big_TXT_RRset_comes_whole_over_TCP_after_TC_over_UDP()
    {
        // DnsClient refuses to hand out a truncated reply when it may not retry over TCP: TC was set.
        var udp = await Assert.ThrowsAsync<DnsResponseException>(() => Lookup.Client(V4, tcpFallback: false).QueryAsync("bigtxt.example.test", QueryType.TXT));
        Assert.Contains("truncated", udp.Message, StringComparison.OrdinalIgnoreCase);

        var fallback = await Lookup.Client(V4).QueryAsync("bigtxt.example.test", QueryType.TXT);
        Authoritative(fallback);
        Assert.Equal(TestZones.BigTxtStrings, fallback.Answers.TxtRecords().Count());

        var tcp = await Lookup.Client(V4, tcpOnly: true).QueryAsync("bigtxt.example.test", QueryType.TXT);
        Authoritative(tcp);
        Assert.Equal(
            Enumerable.Range(0, TestZones.BigTxtStrings).Select(TestZones.BigTxt).Order(),
            tcp.Answers.TxtRecords().Select(t => Assert.Single(t.Text)).Order());
    }

    // RFC 4592 section 2.2.1's zone, below wild.example.test, and the answers its section 3.3 gives.
    [Theory]
    [InlineData("host3.wild.example.test", QueryType.MX)]
    [InlineData("host3.wild.example.test", QueryType.TXT)]
    [InlineData("foo.bar.wild.example.test", QueryType.TXT)]
    public async Task Wildcard_synthesises_answers_owned_by_the_QNAME(string name, QueryType type)
    {
        var r = await Lookup.QueryAsync(V4, name, type);
        Authoritative(r);
        var answer = Assert.Single(r.Answers);
        Assert.Equal(name + ".", answer.DomainName.Value);
        if (type == QueryType.MX)
        {
            Assert.Equal("host1.wild.example.test.", ((MxRecord)answer).Exchange.Value);
            Assert.Equal("192.0.2.1", Assert.Single(r.Additionals.ARecords()).Address.ToString());
        }
        else
        {
            Assert.Equal("this is a wildcard", Assert.Single(((TxtRecord)answer).Text));
        }
    }

    [Theory]
    [InlineData("host3.wild.example.test", QueryType.A)] // wildcard matches, but has no A: NODATA
    [InlineData("host1.wild.example.test", QueryType.MX)] // the name exists: no synthesis
    [InlineData("sub.*.wild.example.test", QueryType.MX)] // exists, and is no wildcard
    [InlineData("host2.wild.example.test", QueryType.TXT)] // empty non-terminal: no synthesis
    [InlineData("_tcp.host2.wild.example.test", QueryType.TXT)] // empty non-terminal: no synthesis
    [InlineData("*.wild.example.test", QueryType.A)]
    public async Task Wildcard_never_synthesises_at_an_existing_name_or_empty_non_terminal(string name, QueryType type)
    {
        var r = await Lookup.QueryAsync(V4, name, type);
        Authoritative(r);
        Negative(r, "example.test.", TestZones.ExampleNegativeTtl);
    }

    [Theory]
    [InlineData("_telnet._tcp.host1.wild.example.test", QueryType.SRV)] // closest encloser _tcp.host1 has no '*'
    [InlineData("ghost.*.wild.example.test", QueryType.MX)] // closest encloser is '*.wild' itself; '*.*.wild' does not exist
    [InlineData("foo.host1.wild.example.test", QueryType.TXT)] // below an existing name
    [InlineData("foo.host2.wild.example.test", QueryType.TXT)] // below an empty non-terminal
    public async Task Wildcard_is_not_used_below_a_closer_encloser(string name, QueryType type)
    {
        var r = await Lookup.QueryAsync(V4, name, type);
        Authoritative(r, DnsHeaderResponseCode.NotExistentDomain);
        Negative(r, "example.test.", TestZones.ExampleNegativeTtl);
    }

    [Fact]
    public async Task Asterisk_queried_directly_matches_itself()
    {
        var r = await Lookup.QueryAsync(V4, "*.wild.example.test", QueryType.TXT);
        Authoritative(r);
        var txt = Assert.Single(r.Answers.TxtRecords());
        Assert.Equal("*.wild.example.test.", txt.DomainName.Value);
        Assert.Equal("this is a wildcard", Assert.Single(txt.Text));

        var exact = await Lookup.QueryAsync(V4, "sub.*.wild.example.test", QueryType.TXT);
        Assert.Equal("this is not a wildcard", Assert.Single(Assert.Single(exact.Answers.TxtRecords()).Text));
    }

    [Theory]
    [InlineData("www.sub.example.test", QueryType.A)]
    [InlineData("deep.below.sub.example.test", QueryType.TXT)]
    [InlineData("sub.example.test", QueryType.A)]
    [InlineData("sub.example.test", QueryType.NS)] // NS at the cut is the child's: a referral, not an answer
    [InlineData("ns1.sub.example.test", QueryType.A)] // glue is not authoritative data
    public async Task Delegation_is_a_referral_with_NS_in_authority_and_glue_and_AA_clear(string name, QueryType type)
    {
        var r = await Lookup.QueryAsync(V4, name, type);
        Assert.Equal(DnsHeaderResponseCode.NoError, r.Header.ResponseCode);
        Assert.False(r.Header.HasAuthorityAnswer, $"a referral is not authoritative\n{r.Describe()}");
        Assert.False(r.Header.RecursionAvailable);
        Assert.Empty(r.Answers);
        var ns = r.Authorities.NsRecords().ToList();
        Assert.Equal(2, r.Authorities.Count);
        Assert.All(ns, n => Assert.Equal("sub.example.test.", n.DomainName.Value));
        Assert.Equal(["ns1.sub.example.test.", "ns2.sub.example.test."], ns.Select(n => n.NSDName.Value).Order());
        var glueA = Assert.Single(r.Additionals.ARecords());
        Assert.Equal(("ns1.sub.example.test.", fixture.Servers.Glue), (glueA.DomainName.Value, glueA.Address));
        var glueAaaa = Assert.Single(r.Additionals.AaaaRecords());
        Assert.Equal("ns2.sub.example.test.", glueAaaa.DomainName.Value);
    }

    [Fact]
    public async Task Delegation_inside_the_wildcard_example_is_a_referral_too()
    {
        var r = await Lookup.QueryAsync(V4, "host.subdel.wild.example.test", QueryType.A);
        Assert.False(r.Header.HasAuthorityAnswer);
        Assert.Empty(r.Answers);
        Assert.Equal("ns.other.test.", Assert.Single(r.Authorities.NsRecords()).NSDName.Value);
    }

    [Fact]
    public async Task DS_at_the_cut_is_answered_by_the_parent()
    {
        // RFC 4035 3.1.4.1: DS lives on the parent side; with none, authoritative NODATA.
        var r = await Lookup.QueryAsync(V4, "sub.example.test", QueryType.DS);
        Authoritative(r);
        Negative(r, "example.test.", TestZones.ExampleNegativeTtl);
    }

    [Fact]
    public async Task Child_server_answers_the_delegated_zone_authoritatively()
    {
        var r = await Lookup.QueryAsync(fixture.Servers.ChildEndPoint, "www.sub.example.test", QueryType.A);
        Authoritative(r);
        Assert.Equal(TestZones.ChildWww, Assert.Single(r.Answers.ARecords()).Address.ToString());
        var ns = await Lookup.QueryAsync(fixture.Servers.ChildEndPoint, "sub.example.test", QueryType.NS);
        Authoritative(ns);
        Assert.Equal(2, ns.Answers.NsRecords().Count());
    }

    [Theory]
    [InlineData("www.example.org", QueryType.A)]
    [InlineData("test", QueryType.SOA)] // the parent of our zones is not ours
    [InlineData(".", QueryType.NS)]
    [InlineData("example.test.example.org", QueryType.A)]
    public async Task Names_outside_every_zone_are_REFUSED(string name, QueryType type)
    {
        var r = await Lookup.QueryAsync(V4, name, type);
        Assert.Equal(DnsHeaderResponseCode.Refused, r.Header.ResponseCode);
        Assert.False(r.Header.HasAuthorityAnswer);
        Assert.False(r.Header.RecursionAvailable);
        Assert.Empty(r.Answers);
        Assert.Empty(r.Authorities);
    }

    [Fact]
    public async Task ANY_gives_one_RRset_over_UDP_and_everything_over_TCP()
    {
        // RFC 8482 4.2: over UDP one RRset is a complete answer.
        var udp = await Lookup.Client(V4, tcpFallback: false).QueryAsync("example.test", QueryType.ANY);
        Authoritative(udp);
        Assert.Single(udp.Answers.Select(a => a.RecordType).Distinct());

        var tcp = await Lookup.Client(V4, tcpOnly: true).QueryAsync("example.test", QueryType.ANY);
        Authoritative(tcp);
        Assert.Equal(
            new[] { ResourceRecordType.SOA, ResourceRecordType.NS, ResourceRecordType.MX, ResourceRecordType.TXT, ResourceRecordType.CAA }.Order(),
            tcp.Answers.Select(a => a.RecordType).Distinct().Order());
        Assert.Equal(2, tcp.Answers.NsRecords().Count());

        var www = await Lookup.Client(V4, tcpOnly: true).QueryAsync("www.example.test", QueryType.ANY);
        Assert.Equal(3, www.Answers.Count);
    }

    [Fact]
    public async Task ANY_at_an_alias_is_answered_with_the_CNAME_and_not_followed()
    {
        // RFC 1034 4.3.2 step 3a follows a CNAME only when QTYPE does not match it, and ANY matches every type.
        foreach (var tcp in new[] { false, true })
        {
            var r = await Lookup.Client(V4, tcpOnly: tcp).QueryAsync("alias.example.test", QueryType.ANY);
            Authoritative(r);
            var cname = Assert.IsType<CNameRecord>(Assert.Single(r.Answers));
            Assert.Equal(("alias.example.test.", "alias2.example.test."), (cname.DomainName.Value, cname.CanonicalName.Value));
        }
    }

    [Fact]
    public async Task IPv6_listener_answers_over_UDP_and_TCP()
    {
        var v6 = fixture.Servers.V6;
        Assert.Equal(IPAddress.IPv6Loopback, v6.Address);
        var udp = await Lookup.QueryAsync(v6, "www.example.test", QueryType.AAAA);
        Authoritative(udp);
        Assert.Equal(IPAddress.Parse(TestZones.WwwV6), Assert.Single(udp.Answers.AaaaRecords()).Address);
        var tcp = await Lookup.QueryAsync(v6, "nope.example.test", QueryType.A, tcpOnly: true);
        Authoritative(tcp, DnsHeaderResponseCode.NotExistentDomain);
        Negative(tcp, "example.test.", TestZones.ExampleNegativeTtl);
    }

    [Fact]
    public async Task Same_answers_over_TCP_as_over_UDP()
    {
        foreach (var (name, type) in new[] { ("alias.example.test", QueryType.A), ("host3.wild.example.test", QueryType.MX), ("www.sub.example.test", QueryType.A) })
        {
            var udp = await Lookup.QueryAsync(V4, name, type);
            var tcp = await Lookup.QueryAsync(V4, name, type, tcpOnly: true);
            Assert.Equal(udp.Header.ResponseCode, tcp.Header.ResponseCode);
            Assert.Equal(udp.Header.HasAuthorityAnswer, tcp.Header.HasAuthorityAnswer);
            Assert.Equal(udp.AllRecords.Plain().Select(r => r.ToString()), tcp.AllRecords.Plain().Select(r => r.ToString()));
        }
    }
}
