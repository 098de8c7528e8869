using System.Globalization;
using System.Net;
using System.Net.Sockets;
using GslbDns.Server.Hosting;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Server;

/// <summary>
/// The signed zone sec.test served by our server (in this process, keys generated in a temp state folder), its
/// unsigned child sub.sec.test on port 53 of a random 127/8 address (the glue), and a validating Unbound whose
/// only trust anchor is our KSK: an answer Unbound marks AD was validated from our DNSKEY down.
/// </summary>
public sealed class SignedZoneFixture : IAsyncLifetime
{
    public const string Zone = "sec.test";
    public const int BigTxtRecords = 5;
    private TempFolder? _folder;
    private DnsServer? _parent;
    private DnsServer? _child;
    private ChildProcess? _unbound;

    /// <summary>Port 53 of a random 127/8 address: Zonemaster only speaks to port 53, and ns1.sec.test names it.</summary>
    internal IPEndPoint Server => _parent!.UdpListeners[0].LocalEndPoint;

    internal string KeysFolder => Path.Combine(_folder!.Path, "state", "dnssec");

    internal IPEndPoint Resolver { get; private set; } = new(IPAddress.Loopback, 0);

    internal string AnchorFile { get; private set; } = "";

    internal string Ksk { get; private set; } = "";

    internal DnsServer Parent => _parent!;

    public async Task InitializeAsync()
    {
        _folder = new TempFolder("dnssec");
        var childZones = _folder.Folder("child");
        var parentZones = _folder.Folder("parent");
        IPAddress? glue = null;
        for (var attempt = 0; attempt < 20 && _child is null; attempt++)
        {
            var candidate = RandomLoopback();
            if (!PortFinder.IsFree(candidate, 53))
            {
                continue;
            }

            File.WriteAllText(Path.Combine(childZones, "sub.sec.test.zone"), $"""
                $ORIGIN sub.sec.test.
                $TTL 300
                @ IN SOA ns1 hostmaster 1 3600 600 86400 60
                  IN NS ns1
                ns1 IN A {candidate}
                www IN A 192.0.2.99
                """);
            try
            {
                _child = await InProcessServer.StartAsync(InProcessServer.Options(childZones, new IPEndPoint(candidate, 53)));
                glue = candidate;
            }
            catch (SocketException)
            {
            }
        }

        _ = glue ?? throw new InvalidOperationException("no 127/8 address with port 53 free for the child");
        File.WriteAllText(Path.Combine(parentZones, "sec.test.gslb.json"), GslbText);
        for (var attempt = 0; attempt < 20 && _parent is null; attempt++)
        {
            var candidate = RandomLoopback();
            if (candidate.Equals(glue) || !PortFinder.IsFree(candidate, 53))
            {
                continue;
            }

            File.WriteAllText(Path.Combine(parentZones, "sec.test.zone"), ZoneText(candidate, glue));
            var options = InProcessServer.Options(parentZones, new IPEndPoint(candidate, 53)) with
            {
                DnssecZones = [GslbDns.Dns.DnsName.Parse(Zone + ".")],
                DnssecKeysFolder = KeysFolder,
                EmbeddedProber = false,
                ApiEndPoint = null,
                StateFolder = Path.Combine(_folder.Path, "state"),
            };
            try
            {
                _parent = await InProcessServer.StartAsync(options);
            }
            catch (SocketException)
            {
            }
        }

        _ = _parent ?? throw new InvalidOperationException("no 127/8 address with port 53 free for the parent");

        var dnskey = await RawDnsClient.UdpQueryAsync(Server, Zone, 48, new EdnsSpec());
        var ksk = dnskey.Answers.Single(r => r.Type == 48 && r.RData[1] == 1 && r.RData[0] == 1);
        Ksk = Convert.ToBase64String(ksk.RData[4..]);
        AnchorFile = _folder.File("anchor.conf");
        File.WriteAllText(AnchorFile, $"trust-anchors {{\n \"{Zone}.\" static-key 257 3 13 \"{Ksk}\";\n}};\n");
        var folder = _folder;
        (_unbound, Resolver) = await UnboundProcess.StartAsync(folder, port => UnboundConfig(folder.Path, port), Zone);
    }

    internal string UnboundLog => _unbound?.Describe() ?? "";

    private string UnboundConfig(string directory, int port) => UnboundProcess.ServerSection(directory, port) + $"""
            module-config: "subnetcache validator iterator"
            send-client-subnet: 127.0.0.1
            client-subnet-always-forward: yes
            qname-minimisation: yes
            edns-buffer-size: 1232
            prefetch: no
            val-log-level: 2
            trust-anchor: "{Zone}. DNSKEY 257 3 13 {Ksk}"
            local-zone: "test." nodefault
            domain-insecure: "sub.{Zone}."
        remote-control:
            control-enable: no
        stub-zone:
            name: "{Zone}"
            stub-addr: {Server.Address}@{Server.Port.ToString(CultureInfo.InvariantCulture)}

        """;

    private static IPAddress RandomLoopback() => new([127, (byte)Random.Shared.Next(100, 250), (byte)Random.Shared.Next(1, 255), (byte)Random.Shared.Next(1, 255)]);

    private static string ZoneText(IPAddress self, IPAddress glue)
    {
        // 5 x 215 octets: about 1190 bytes unsigned, so under a 1232-byte buffer only without its RRSIG.
        var big = string.Join("\n", Enumerable.Range(0, BigTxtRecords).Select(i => $"bigtxt IN TXT \"{new string((char)('m' + i), 215)}\""));
        return $"""
            $ORIGIN sec.test.
            $TTL 300
            @ IN SOA ns1 hostmaster 1 3600 600 86400 60
              IN NS ns1
              IN MX 10 mail
            ns1 IN A {self}
            mail IN A 192.0.2.25
            www IN A 192.0.2.1
                IN A 192.0.2.2
                IN AAAA 2001:db8::1
            Alias IN CNAME WWW
            *.wild IN TXT "wildcard"
            sub IN NS ns1.sub
            ns1.sub IN A {glue}
            {big}
            """;
    }

    private const string GslbText = """
        {
          "dataCenters": {"eu": {"latitude": 50.1, "longitude": 8.7, "region": "eu"}, "us": {"latitude": 39.0, "longitude": -77.5, "region": "us"}},
          "regions": {"eu": {"latitude": 50.1, "longitude": 8.7}, "us": {"latitude": 39.0, "longitude": -77.5}},
          "services": {"lb": {"policy": [{"type": "healthy"}, {"type": "geo-proximity"}, {"type": "first"}],
             "endpoints": [{"dataCenter": "eu", "address": "198.51.100.1"}, {"dataCenter": "us", "address": "198.51.100.3"}]}}
        }
        """;

    public async Task DisposeAsync()
    {
        _unbound?.Dispose();
        if (_parent is not null)
        {
            await _parent.DisposeAsync();
        }

        if (_child is not null)
        {
            await _child.DisposeAsync();
        }

        _folder?.Dispose();
    }
}

/// <summary>Every answer kind of a signed zone, through a validating Unbound (AD set) and through delv ("fully validated").</summary>
public sealed class DnssecResolverTests(SignedZoneFixture fixture) : IClassFixture<SignedZoneFixture>
{
    private const ushort AuthenticData = 0x0020;

    private async Task<RawReply> Validated(string name, ushort type, int rcode = 0, EdnsSpec? edns = null, bool ad = true)
    {
        var id = DnsWire.NewId();
        var packet = DnsWire.Query(name, type, id, edns ?? new EdnsSpec(DnssecOk: true), recursionDesired: true);
        var reply = await RawDnsClient.UdpQueryAsync(fixture.Resolver, packet, id, TimeSpan.FromSeconds(5));
        Assert.True(reply.Rcode == rcode, $"{name}/{type}: expected rcode {rcode}, got {reply}\n{fixture.UnboundLog}");
        Assert.True(((reply.Flags & AuthenticData) != 0) == ad, $"{name}/{type}: expected AD={ad}: {reply}\n{fixture.UnboundLog}");
        return reply;
    }

    [Fact]
    public async Task Unbound_validates_static_CNAME_wildcard_and_apex_answers()
    {
        var www = await Validated("www.sec.test", DnsWire.TypeA);
        Assert.Equal(2, www.Answers.Count(r => r.Type == DnsWire.TypeA));
        Assert.Contains(www.Answers, r => r.Type == 46);
        var alias = await Validated("alias.sec.test", DnsWire.TypeAAAA);
        Assert.Contains(alias.Answers, r => r.Type == DnsWire.TypeCNAME);
        Assert.Contains(alias.Answers, r => r.Type == DnsWire.TypeAAAA);
        var wild = await Validated("anything.wild.sec.test", DnsWire.TypeTXT);
        Assert.Contains(wild.Answers, r => r.Type == DnsWire.TypeTXT && r.Name == "anything.wild.sec.test.");
        await Validated("sec.test", DnsWire.TypeMX);
        await Validated("sec.test", 48);
        await Validated("sec.test", 59);
    }

    [Fact]
    public async Task Unbound_validates_load_balanced_answers_with_client_subnet()
    {
        var ecs = new EdnsSpec(DnssecOk: true, Options: [new EdnsOptionBytes(DnsWire.OptionClientSubnet, DnsWire.ClientSubnet(1, 24, 0, 81, 2, 69))]);
        var lb = await Validated("lb.sec.test", DnsWire.TypeA, edns: ecs);
        var a = Assert.Single(lb.Answers, r => r.Type == DnsWire.TypeA);
        Assert.StartsWith("198.51.100.", a.Address.ToString(), StringComparison.Ordinal);
        var other = new EdnsSpec(DnssecOk: true, Options: [new EdnsOptionBytes(DnsWire.OptionClientSubnet, DnsWire.ClientSubnet(1, 24, 0, 203, 0, 113))]);
        await Validated("lb.sec.test", DnsWire.TypeA, edns: other);
    }

    [Fact]
    public async Task Unbound_validates_compact_denial_for_missing_names_and_types()
    {
        // RFC 9824: a missing name is NOERROR with an NSEC whose bitmap says NXNAME; Unbound validates it as NODATA.
        var nx = await Validated("nope.sec.test", DnsWire.TypeA);
        Assert.Empty(nx.Answers);
        await Validated("deeper.nope.sec.test", DnsWire.TypeTXT);
        var nodata = await Validated("www.sec.test", DnsWire.TypeTXT);
        Assert.Empty(nodata.Answers);
        var lbNodata = await Validated("lb.sec.test", DnsWire.TypeAAAA);
        Assert.Empty(lbNodata.Answers);
        await Validated("wild.sec.test", DnsWire.TypeA);
    }

    [Fact]
    public async Task Unbound_follows_the_insecure_delegation_proven_by_the_NSEC_at_the_cut()
    {
        // The child is unsigned: a bad proof of DS absence would be SERVFAIL, a good one gives the child's answer without AD.
        var www = await Validated("www.sub.sec.test", DnsWire.TypeA, ad: false);
        Assert.Equal("192.0.2.99", Assert.Single(www.Answers, r => r.Type == DnsWire.TypeA).Address.ToString());
        await Validated("sub.sec.test", DnsWire.TypeDS);
    }

    [Fact]
    public async Task A_signed_answer_over_the_UDP_limit_is_truncated_and_fetched_over_TCP()
    {
        var udp = await RawDnsClient.UdpQueryAsync(fixture.Server, "bigtxt.sec.test", DnsWire.TypeTXT, new EdnsSpec(UdpSize: 1232, DnssecOk: true));
        Assert.True(udp.Truncated, udp.ToString());
        Assert.Empty(udp.Answers);
        var unsignedUdp = await RawDnsClient.UdpQueryAsync(fixture.Server, "bigtxt.sec.test", DnsWire.TypeTXT, new EdnsSpec(UdpSize: 1232));
        Assert.False(unsignedUdp.Truncated, unsignedUdp.ToString());
        var tcp = await RawDnsClient.TcpQueryAsync(fixture.Server, "bigtxt.sec.test", DnsWire.TypeTXT, new EdnsSpec(DnssecOk: true));
        Assert.Equal(SignedZoneFixture.BigTxtRecords, tcp.Answers.Count(r => r.Type == DnsWire.TypeTXT));
        Assert.Single(tcp.Answers, r => r.Type == 46);

        // Unbound fetched it from us over TCP and validated it; too big for its own UDP reply too, it is asked over TCP.
        using var connection = await TcpDnsConnection.ConnectAsync(fixture.Resolver);
        var id = DnsWire.NewId();
        await connection.SendAsync(DnsWire.Query("bigtxt.sec.test", DnsWire.TypeTXT, id, new EdnsSpec(DnssecOk: true), recursionDesired: true));
        var viaUnbound = RawReply.Parse(await connection.ReceiveAsync() ?? throw new IOException("unbound closed the connection"));
        Assert.True((viaUnbound.Flags & AuthenticData) != 0, viaUnbound.ToString());
        Assert.Equal(SignedZoneFixture.BigTxtRecords, viaUnbound.Answers.Count(r => r.Type == DnsWire.TypeTXT));
    }

    [Fact]
    public async Task Without_DO_no_DNSSEC_records_and_NXDOMAIN_stays_NXDOMAIN()
    {
        var plain = await RawDnsClient.UdpQueryAsync(fixture.Server, "www.sec.test", DnsWire.TypeA, new EdnsSpec());
        Assert.DoesNotContain(plain.Answers, r => r.Type == 46);
        var nx = await RawDnsClient.UdpQueryAsync(fixture.Server, "nope.sec.test", DnsWire.TypeA, new EdnsSpec());
        Assert.Equal(3, nx.Rcode);
        Assert.DoesNotContain(nx.Authority, r => r.Type is 46 or 47);
        var signedNx = await RawDnsClient.UdpQueryAsync(fixture.Server, "nope.sec.test", DnsWire.TypeA, new EdnsSpec(DnssecOk: true));
        Assert.Equal(0, signedNx.Rcode);
        var nsec = Assert.Single(signedNx.Authority, r => r.Type == 47);
        Assert.Equal("nope.sec.test.", nsec.Name);
    }

    [Fact]
    public async Task Zonemaster_reports_no_DNSSEC_problem_and_dnssec_ds_prints_the_DS_the_zone_publishes()
    {
        var cds = await RawDnsClient.UdpQueryAsync(fixture.Server, SignedZoneFixture.Zone, 59, new EdnsSpec());
        var record = Assert.Single(cds.Answers, r => r.Type == 59).RData.ToArray();
        var tag = System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(record);
        var digest = Convert.ToHexString(record.AsSpan(4));

        var printed = await ChildProcess.RunAsync(RepoLayout.DotnetHost, [RepoLayout.ServerDll, "dnssec-ds", "--dnssec-zone", SignedZoneFixture.Zone, "--dnssec-keys", fixture.KeysFolder], TimeSpan.FromSeconds(30));
        Assert.True(printed.ExitCode == 0, printed.ToString());
        Assert.Equal($"sec.test. 3600 IN DS {tag} 13 2 {digest}", printed.StandardOutput.Trim());

        // Undelegated test of the DNSSEC test cases (DNSSEC01-18): the name server and the DS given, no network needed.
        var result = await ChildProcess.RunAsync("zonemaster-cli", ["--no-ipv6", "--ns", $"ns1.sec.test/{fixture.Server.Address}", "--ds", $"{tag},13,2,{digest}", "--test", "DNSSEC", "--show-testcase", "--level", "INFO", SignedZoneFixture.Zone], TimeSpan.FromSeconds(120));
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("DNSSEC10", result.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"\b(WARNING|ERROR|CRITICAL)\b", result.StandardOutput);
    }

    [Theory]
    [InlineData("www.sec.test", "A")]
    [InlineData("lb.sec.test", "A")]
    [InlineData("alias.sec.test", "A")]
    [InlineData("x.wild.sec.test", "TXT")]
    [InlineData("sec.test", "DNSKEY")]
    [InlineData("nope.sec.test", "A")]
    [InlineData("www.sec.test", "TXT")]
    public async Task Delv_fully_validates(string name, string type)
    {
        var result = await ChildProcess.RunAsync("delv", ["@" + fixture.Server.Address, "-p", fixture.Server.Port.ToString(CultureInfo.InvariantCulture), "-a", fixture.AnchorFile, "+root=sec.test", name, type], TimeSpan.FromSeconds(20));
        Assert.True(result.StandardOutput.Contains("fully validated", StringComparison.Ordinal), result.ToString());
    }
}
