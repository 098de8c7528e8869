using System.Globalization;
using System.Net;
using DnsClient;
using DnsClient.Protocol;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Server;

/// <summary>
/// A real resolver in front of our servers: Debian's unbound, iterator only (no validator), QNAME minimisation
/// on, EDNS buffer 1232, with stub zones for example.test and other.test pointing at the parent server. It must
/// resolve through us exactly as through any authoritative server, including a TC-then-TCP exchange and a
/// referral it follows to the child server named by our glue.
/// </summary>
public sealed class UnboundFixture : IAsyncLifetime
{
    private ZoneServers? _servers;
    private TempFolder? _folder;
    private ChildProcess? _unbound;

    internal ZoneServers Servers => _servers ?? throw new InvalidOperationException("fixture not started");

    internal IPEndPoint Resolver { get; private set; } = new(IPAddress.Loopback, 0);

    internal ChildProcess Unbound => _unbound ?? throw new InvalidOperationException("fixture not started");

    public async Task InitializeAsync()
    {
        _servers = await ZoneServers.StartAsync("unbound");
        var folder = _folder = new TempFolder("unbound");
        (_unbound, Resolver) = await UnboundProcess.StartAsync(folder, port => Config(folder.Path, port, Servers.V4), "example.test");
    }

    private static string Config(string directory, int port, IPEndPoint server)
    {
        var ours = $"{server.Address}@{server.Port.ToString(CultureInfo.InvariantCulture)}";
        return UnboundProcess.ServerSection(directory, port) + $"""
                do-udp: yes
                do-tcp: yes
                outgoing-range: 64
                module-config: "iterator"
                qname-minimisation: yes
                edns-buffer-size: 1232
                prefetch: no
                # unbound serves test. itself (RFC 6761 names are local zones by default); let the stubs have it.
                local-zone: "test." nodefault
            remote-control:
                control-enable: no
            stub-zone:
                name: "example.test"
                stub-addr: {ours}
            stub-zone:
                name: "other.test"
                stub-addr: {ours}

            """;
    }

    public async Task DisposeAsync()
    {
        _unbound?.Dispose();
        if (_servers is not null)
        {
            await _servers.DisposeAsync();
        }

        _folder?.Dispose();
    }
}

public sealed class UnboundResolverTests(UnboundFixture fixture) : IClassFixture<UnboundFixture>
{
    private Task<IDnsQueryResponse> Resolve(string name, QueryType type) => Lookup.QueryAsync(fixture.Resolver, name, type, recursion: true);

    private static void Resolved(IDnsQueryResponse r, DnsHeaderResponseCode rcode = DnsHeaderResponseCode.NoError)
    {
        Assert.True(r.Header.ResponseCode == rcode, $"expected {rcode}\n{r.Describe()}");
        Assert.True(r.Header.RecursionAvailable, "unbound is the recursive one");
        Assert.False(r.Header.HasAuthorityAnswer);
    }

    [Fact]
    public async Task Resolves_A_records()
    {
        var r = await Resolve("www.example.test", QueryType.A);
        Resolved(r);
        Assert.Equal(TestZones.WwwV4, r.Answers.ARecords().Select(a => a.Address.ToString()).Order());
    }

    [Fact]
    public async Task Resolves_CNAME_chains_inside_and_across_our_zones()
    {
        var inside = await Resolve("alias.example.test", QueryType.A);
        Resolved(inside);
        Assert.Equal(2, inside.Answers.CnameRecords().Count());
        Assert.Equal(TestZones.WwwV4, inside.Answers.ARecords().Select(a => a.Address.ToString()).Order());

        var across = await Resolve("cross.example.test", QueryType.A);
        Resolved(across);
        Assert.Equal(TestZones.OtherWww, Assert.Single(across.Answers.ARecords()).Address.ToString());
    }

    [Fact]
    public async Task Passes_on_NXDOMAIN_and_NODATA_with_the_SOA()
    {
        var nx = await Resolve("nope.example.test", QueryType.A);
        Resolved(nx, DnsHeaderResponseCode.NotExistentDomain);
        Assert.Empty(nx.Answers);
        var soa = Assert.IsType<SoaRecord>(Assert.Single(nx.Authorities));
        Assert.InRange(soa.TimeToLive, 1, (int)TestZones.ExampleNegativeTtl);

        var nodata = await Resolve("www.example.test", QueryType.TXT);
        Resolved(nodata);
        Assert.Empty(nodata.Answers);
        Assert.IsType<SoaRecord>(Assert.Single(nodata.Authorities));
    }

    [Fact]
    public async Task Resolves_wildcard_synthesised_answers()
    {
        var r = await Resolve("anything.wild.example.test", QueryType.TXT);
        Resolved(r);
        var txt = Assert.Single(r.Answers.TxtRecords());
        Assert.Equal("anything.wild.example.test.", txt.DomainName.Value);
        Assert.Equal("this is a wildcard", Assert.Single(txt.Text));

        var ent = await Resolve("host2.wild.example.test", QueryType.TXT);
        Resolved(ent);
        Assert.Empty(ent.Answers);
    }

    [Fact]
    public async Task Gets_the_TXT_RRset_over_1232_bytes_by_retrying_over_TCP()
    {
        // unbound asks us over UDP with a 1232-byte buffer; the RRset does not fit, we set TC and never send part
        // of it, so all 7 records reaching the client prove unbound fetched them from us over TCP.
        var r = await Lookup.Client(fixture.Resolver, recursion: true, tcpOnly: true).QueryAsync("bigtxt.example.test", QueryType.TXT);
        Resolved(r);
        Assert.Equal(
            Enumerable.Range(0, TestZones.BigTxtStrings).Select(TestZones.BigTxt).Order(),
            r.Answers.TxtRecords().Select(t => Assert.Single(t.Text)).Order());
        var udp = await RawDnsClient.UdpQueryAsync(fixture.Servers.V4, "bigtxt.example.test", DnsWire.TypeTXT, new EdnsSpec(UdpSize: 1232));
        Assert.True(udp.Truncated);
    }

    [Fact]
    public async Task Follows_the_referral_below_the_delegation_to_the_child_server()
    {
        var r = await Resolve("www.sub.example.test", QueryType.A);
        Resolved(r);
        Assert.Equal(TestZones.ChildWww, Assert.Single(r.Answers.ARecords()).Address.ToString());

        var nx = await Resolve("nope.sub.example.test", QueryType.A);
        Resolved(nx, DnsHeaderResponseCode.NotExistentDomain);
        Assert.Equal("sub.example.test.", Assert.Single(nx.Authorities).DomainName.Value);
    }

    [Fact]
    public async Task Resolves_MX_and_SRV()
    {
        var mx = await Resolve("example.test", QueryType.MX);
        Resolved(mx);
        Assert.Equal("mail.example.test.", Assert.Single(mx.Answers.MxRecords()).Exchange.Value);
        var srv = await Resolve("_sip._udp.example.test", QueryType.SRV);
        Resolved(srv);
        Assert.Equal(5060, Assert.Single(srv.Answers.SrvRecords()).Port);
        Assert.False(fixture.Unbound.HasExited);
    }
}
