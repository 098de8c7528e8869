using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using GslbDns.Tests.Api;
using GslbDns.Tests.Core.Consul;
using GslbDns.Tests.Core.Geo;
using GslbDns.Tests.Server;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Core.Snapshots;

/// <summary>
/// One snapshot builder everywhere, proved from outside: one zone folder served by the real DNS server process and
/// the real API process (both in Consul mode on a dev agent, so a drain written through the API reaches both). After
/// start, after a bad edit (kept out by both) and after a good edit (taken by both), explain's records must equal the
/// real DNS reply over UDP for 1,000 seeded random cases each: any service or static name, A or AAAA, IPv4 or IPv6 ECS,
/// ECS source /0, no ECS (explained with the test's own source address), a sticky weighted service, a drained data center.
/// The server reloads on SIGHUP (its file watcher is off), the API on file change: both triggers of the one watcher.
/// </summary>
[Collection(ApiConsulCollection.Name)]
public sealed partial class ExplainMatchesDnsTests
{
    private const string Origin = "consistency.test";
    private const int CasesPerPhase = 1000;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ReloadTimeout = TimeSpan.FromSeconds(15);

    private static readonly string[] Names =
    [
        "geo", "sticky", "sticky2", "loc", "fo", "lat", "fresh", // load-balanced ("fresh" only after the good edit)
        "www", "app", "db", "new", "alias", "@", "ns1", "sub.geo", // static, included, CNAME to a service, apex, below a service
    ];

    private readonly ConsulDevAgent _consul;

    public ExplainMatchesDnsTests(ConsulDevAgent consul)
    {
        _consul = consul;
    }

    private enum ClientKind
    {
        EcsV4,
        EcsV6,
        EcsZero,
        NoEcs,
    }

    private sealed record Case(int Index, string Name, ushort Type, ClientKind Kind, IPAddress Address, int Prefix)
    {
        /// <summary>What explain is asked for: the ECS subnet, or the test's own source address without ECS (/0 falls back to it too).</summary>
        public string ExplainClient => Kind switch
        {
            ClientKind.NoEcs => IPAddress.Loopback.ToString(),
            ClientKind.EcsZero => $"{IPAddress.Loopback}/0",
            _ => $"{Address}/{Prefix}",
        };

        public override string ToString() => $"#{Index} {Name} {(Type == DnsWire.TypeA ? "A" : "AAAA")} {Kind} client={ExplainClient}";
    }

    [Fact]
    public async Task Explain_records_equal_the_DNS_reply_for_1000_random_cases_after_start_a_bad_edit_and_a_good_edit()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("GSLBDNS_TEST_SEED"), CultureInfo.InvariantCulture, out var fixedSeed) ? fixedSeed : Random.Shared.Next();
        using var folder = new TempFolder("explain-dns");
        var zones = folder.Folder("zones");
        var geoData = folder.Folder("geo-data");
        WriteZones(zones, good: true, edited: false);
        File.WriteAllText(Path.Combine(geoData, "overrides.txt"), """
            10.0.0.0/8      35.68,139.69  continent=AS country=JP
            10.20.0.0/16    dc=dc-eu
            fd00::/8        -23.55,-46.63 continent=SA country=BR
            """);
        var tokens = folder.File("tokens");
        File.WriteAllText(tokens, $"operator {InProcessApi.OperatorToken} alice\nread {InProcessApi.ReadToken} reader\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(tokens, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        var prefix = ConsulTestSupport.UniquePrefix("explain-dns");
        string[] shared = ["--zones", zones, "--consul", _consul.HttpAddress.ToString(), "--consul-prefix", prefix, "--geoip", GeoTestEnvironment.DatabasePath, "--geo-data", geoData];

        using var server = ChildProcess.Start(RepoLayout.DotnetHost, [RepoLayout.ServerDll, "serve", "--dns", "127.0.0.1:0", "--udp-threads", "1", "--no-watch", .. shared]);
        using var api = ChildProcess.Start(RepoLayout.DotnetHost, [ApiLayout.ApiDll, "--tokens-file", tokens, "--listen", "127.0.0.1:0", .. shared]);
        var dns = IPEndPoint.Parse(await OutputAsync(server, ServerAnswering(), "the DNS server process to answer"));
        using var http = new HttpClient { BaseAddress = new Uri(await OutputAsync(api, ApiListening(), "the API process to listen")), Timeout = TimeSpan.FromSeconds(10) };
        var context = $"seed {seed} (rerun with GSLBDNS_TEST_SEED={seed})";

        // Both found the database, so neither warns that geo policies run without one.
        Assert.DoesNotContain("no GeoIP database", server.StandardError + api.StandardError, StringComparison.Ordinal);
        await AssertPhaseAsync("after start", seed, dns, http, context, server, api);

        // A data center drained through the API reaches the server through Consul, and the API's own snapshot.
        using (var drain = await ApiCalls.SendAsync(http, HttpMethod.Put, "/v1/datacenters/dc-eu/drain", InProcessApi.OperatorToken, new { reason = "explain-matches-dns" }))
        {
            Assert.True(drain.StatusCode == HttpStatusCode.OK, await ApiCalls.DescribeAsync(drain));
        }

        await BothAnswerAsync(dns, http, "fo", "192.0.2.40", "the drain of dc-eu (fo moves to dc-us)");

        // Bad edit: an included file and the GSLB config both broken. Both keep their last good versions and say where.
        var serverLogStart = server.StandardError.Length;
        var apiLogStart = api.StandardError.Length;
        WriteZones(zones, good: false, edited: true);
        server.Signal(ChildProcess.SigHup);
        foreach (var (process, start) in new[] { (server, serverLogStart), (api, apiLogStart) })
        {
            await Deadline.UntilAsync("both errors logged with file and line", ReloadTimeout, () =>
            {
                var log = process.StandardError[start..];
                var seen = log.Contains("hosts.inc:2: ", StringComparison.Ordinal) && log.Contains($"{Origin}.gslb.json:", StringComparison.Ordinal);
                return Task.FromResult((seen, log));
            }, TimeSpan.FromMilliseconds(50));
        }

        await AssertPhaseAsync("after a bad edit", seed + 1, dns, http, context, server, api);

        // Good edit: new content in the included file and the config; both take it (and report no errors).
        serverLogStart = server.StandardError.Length;
        apiLogStart = api.StandardError.Length;
        WriteZones(zones, good: true, edited: true);
        server.Signal(ChildProcess.SigHup);
        await BothAnswerAsync(dns, http, "new", "192.0.2.13", "the edited include");
        await BothAnswerAsync(dns, http, "fresh", "192.0.2.50", "the edited GSLB config");
        Assert.Contains("(0 errors)", server.StandardError[serverLogStart..], StringComparison.Ordinal);
        await Deadline.UntilAsync("the API reporting a clean reload", ReloadTimeout, () =>
            Task.FromResult((api.StandardError[apiLogStart..].Contains("(0 errors)", StringComparison.Ordinal), api.StandardError[apiLogStart..])));
        await AssertPhaseAsync("after a good edit", seed + 2, dns, http, context, server, api);
    }

    /// <summary>Runs the phase's random cases, several at a time, and fails with every mismatch (up to 10) and the seed.</summary>
    private static async Task AssertPhaseAsync(string phase, int seed, IPEndPoint dns, HttpClient http, string context, ChildProcess server, ChildProcess api)
    {
        var random = new Random(seed);
        var cases = Enumerable.Range(0, CasesPerPhase).Select(i => RandomCase(random, i)).ToArray();
        var mismatches = new ConcurrentQueue<string>();
        var kinds = new ConcurrentDictionary<string, int>();
        await Parallel.ForEachAsync(cases, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (c, ct) =>
        {
            var (dnsRcode, dnsRecords) = await DnsAsync(dns, c);
            var (explainRcode, explainRecords) = await ExplainAsync(http, c);
            if (dnsRcode != explainRcode || !dnsRecords.SequenceEqual(explainRecords))
            {
                mismatches.Enqueue($"{c}\n  dns:     {dnsRcode} [{string.Join(" | ", dnsRecords)}]\n  explain: {explainRcode} [{string.Join(" | ", explainRecords)}]");
            }

            kinds.AddOrUpdate($"{dnsRcode}/{(dnsRecords.Any(r => r.StartsWith("answer", StringComparison.Ordinal)) ? "answer" : "empty")}", 1, (_, n) => n + 1);
        });

        Assert.True(mismatches.IsEmpty, $"{phase}: {mismatches.Count} of {CasesPerPhase} cases differ ({context}):\n{string.Join("\n", mismatches.Take(10))}\n--- server ---\n{Tail(server.Describe())}\n--- api ---\n{Tail(api.Describe())}");

        // The cases reach answers and negative replies alike, or agreement would prove little.
        Assert.True(kinds.GetValueOrDefault("NOERROR/answer") > CasesPerPhase / 2, $"{phase}: {string.Join(", ", kinds)} ({context})");
        Assert.True(kinds.GetValueOrDefault("NXDOMAIN/empty") > 0, $"{phase}: {string.Join(", ", kinds)} ({context})");
    }

    /// <summary>The end of a process's output: the API logs every request, and the reload lines are what matter.</summary>
    private static string Tail(string text) => text.Length <= 6000 ? text : "..." + text[^6000..];

    private static Case RandomCase(Random random, int index)
    {
        var name = Names[random.Next(Names.Length)];
        if (random.Next(20) == 0)
        {
            name = $"nx-{random.Next(100_000)}";
        }

        var type = random.Next(2) == 0 ? DnsWire.TypeA : DnsWire.TypeAAAA;
        var kind = (ClientKind)random.Next(4);
        switch (kind)
        {
            case ClientKind.EcsV4:
                {
                    // Public space mostly (GeoIP decides), sometimes the overridden 10/8 (geo-data decides).
                    var bytes = new byte[4];
                    random.NextBytes(bytes);
                    bytes[0] = random.Next(5) == 0 ? (byte)10 : (byte)(1 + random.Next(223));
                    if (bytes[0] is 127 or 0)
                    {
                        bytes[0] = 81;
                    }

                    int[] prefixes = [8, 16, 20, 24, 24, 24, 32];
                    return new Case(index, name, type, kind, new IPAddress(bytes), prefixes[random.Next(prefixes.Length)]);
                }

            case ClientKind.EcsV6:
                {
                    var bytes = new byte[16];
                    random.NextBytes(bytes);
                    bytes[0] = random.Next(5) == 0 ? (byte)0xfd : (byte)(0x20 | random.Next(2));
                    int[] prefixes = [32, 48, 56, 56, 64];
                    return new Case(index, name, type, kind, new IPAddress(bytes), prefixes[random.Next(prefixes.Length)]);
                }

            default:
                return new Case(index, name, type, kind, IPAddress.Loopback, 0);
        }
    }

    private static string Fqdn(string name) => name == "@" ? Origin + "." : $"{name}.{Origin}.";

    private static async Task<(string Rcode, List<string> Records)> DnsAsync(IPEndPoint dns, Case c)
    {
        EdnsSpec edns = c.Kind switch
        {
            ClientKind.NoEcs => new EdnsSpec(),
            ClientKind.EcsZero => new EdnsSpec(Options: [new EdnsOptionBytes(DnsWire.OptionClientSubnet, DnsWire.ClientSubnet(1, 0, 0))]),
            _ => new EdnsSpec(Options: [new EdnsOptionBytes(DnsWire.OptionClientSubnet, DnsWire.ClientSubnet(c.Kind == ClientKind.EcsV4 ? (ushort)1 : (ushort)2, (byte)c.Prefix, 0, Truncate(c.Address, c.Prefix)))]),
        };
        var id = DnsWire.NewId();
        var reply = await RawDnsClient.UdpQueryAsync(dns, DnsWire.Query(Fqdn(c.Name), c.Type, id, edns), id);
        Assert.False(reply.Truncated, $"{c}: truncated");
        var records = new List<string>();
        foreach (var (section, list) in new[] { ("answer", reply.Answers), ("authority", reply.Authority), ("additional", reply.Additional) })
        {
            foreach (var record in list.Where(r => r.Type != DnsWire.TypeOPT))
            {
                records.Add(Canonical(section, record.Name, TypeName(record.Type), record.Ttl, DataOf(record)));
            }
        }

        return (RcodeName(reply.Rcode), records);
    }

    private static async Task<(string Rcode, List<string> Records)> ExplainAsync(HttpClient http, Case c)
    {
        var url = $"/v1/explain?name={Uri.EscapeDataString(Fqdn(c.Name))}&type={(c.Type == DnsWire.TypeA ? "A" : "AAAA")}&client={Uri.EscapeDataString(c.ExplainClient)}";
        using var response = await ApiCalls.SendAsync(http, HttpMethod.Get, url, InProcessApi.ReadToken);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{c}: {response.StatusCode} {body}");
        using var json = JsonDocument.Parse(body);
        var records = new List<string>();
        foreach (var record in json.RootElement.GetProperty("records").EnumerateArray())
        {
            var type = record.GetProperty("type").GetString()!;
            var data = record.GetProperty("data").GetString()!;
            records.Add(Canonical(record.GetProperty("section").GetString()!, record.GetProperty("owner").GetString()!, type, record.GetProperty("ttl").GetUInt32(), ExplainedData(type, data)));
        }

        return (json.RootElement.GetProperty("rcode").GetString()!, records);
    }

    private static string Canonical(string section, string owner, string type, uint ttl, string data) =>
        $"{section} {Name(owner)} {ttl} {type} {data}";

    private static string Name(string name) => name.TrimEnd('.').ToLowerInvariant() + ".";

    private static string DataOf(RawRecord record) => record.Type switch
    {
        DnsWire.TypeA or DnsWire.TypeAAAA => record.Address.ToString(),
        DnsWire.TypeCNAME or DnsWire.TypeNS => Name(record.RDataName()),
        DnsWire.TypeSOA => SoaText(record),
        _ => Convert.ToHexString(record.RData),
    };

    private static string SoaText(RawRecord record)
    {
        var pos = record.RDataOffset;
        var mname = RawReply.ReadName(record.Message, ref pos);
        _ = RawReply.ReadName(record.Message, ref pos);
        var serial = BinaryPrimitives.ReadUInt32BigEndian(record.Message.AsSpan(pos));
        return $"{Name(mname)} {serial} {record.SoaMinimum}";
    }

    /// <summary>The same fields from explain's presentation form (ARSoft's: SOA is "mname rname serial refresh retry expire minimum").</summary>
    private static string ExplainedData(string type, string data)
    {
        switch (type)
        {
            case "A" or "AAAA":
                return IPAddress.Parse(data).ToString();
            case "CNAME" or "NS":
                return Name(data);
            case "SOA":
                var parts = data.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return $"{Name(parts[0])} {parts[2]} {parts[6]}";
            default:
                return data;
        }
    }

    private static string TypeName(ushort type) => type switch
    {
        DnsWire.TypeA => "A",
        DnsWire.TypeAAAA => "AAAA",
        DnsWire.TypeCNAME => "CNAME",
        DnsWire.TypeNS => "NS",
        DnsWire.TypeSOA => "SOA",
        _ => type.ToString(CultureInfo.InvariantCulture),
    };

    private static string RcodeName(int rcode) => rcode switch
    {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        5 => "REFUSED",
        _ => rcode.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>ECS carries only the prefix's octets, with the bits past the prefix zero (RFC 7871 6).</summary>
    private static byte[] Truncate(IPAddress address, int prefix)
    {
        var bytes = address.GetAddressBytes().AsSpan(0, (prefix + 7) / 8).ToArray();
        if (prefix % 8 != 0)
        {
            bytes[^1] &= (byte)(0xFF << (8 - (prefix % 8)));
        }

        return bytes;
    }

    /// <summary>Polls until DNS (no ECS) and explain (the same source) both answer <paramref name="name"/> with <paramref name="address"/>.</summary>
    private static async Task BothAnswerAsync(IPEndPoint dns, HttpClient http, string name, string address, string what)
    {
        var probe = new Case(-1, name, DnsWire.TypeA, ClientKind.NoEcs, IPAddress.Loopback, 0);
        var expected = $"answer {Fqdn(name)}";
        await Deadline.UntilAsync($"DNS and explain showing {what}", ReloadTimeout, async () =>
        {
            var (_, fromDns) = await DnsAsync(dns, probe);
            var (_, fromExplain) = await ExplainAsync(http, probe);
            bool Shows(List<string> records) => records.Any(r => r.StartsWith(expected, StringComparison.Ordinal) && r.EndsWith(" A " + address, StringComparison.Ordinal));
            return (Shows(fromDns) && Shows(fromExplain), $"dns [{string.Join(" | ", fromDns)}] explain [{string.Join(" | ", fromExplain)}]");
        }, TimeSpan.FromMilliseconds(50));
    }

    private static Task<string> OutputAsync(ChildProcess process, Regex line, string what) =>
        Deadline.PollAsync(what, StartTimeout, () =>
        {
            if (process.HasExited)
            {
                throw new PollAbortedException("the process exited:\n" + process.Describe());
            }

            var match = line.Match(process.StandardOutput);
            return Task.FromResult((match.Success, match.Success ? match.Groups[1].Value : "", process.StandardOutput));
        });

    /// <summary>
    /// The zone (with an <c>$INCLUDE</c>) and its GSLB config: four data centers; geo-proximity, geolocation, latency,
    /// failover and sticky weighted services, each ending in a deterministic step (no random order to compare).
    /// </summary>
    private static void WriteZones(string folder, bool good, bool edited)
    {
        TestZones.WriteAtomically(Path.Combine(folder, Origin + ".zone"), """
            $TTL 300
            @     IN SOA ns1 hostmaster 1 3600 600 86400 60
                  IN NS  ns1
            ns1   IN A   127.0.0.1
            www   IN A   192.0.2.10
                  IN AAAA 2001:db8::10
            alias IN CNAME geo
            $INCLUDE hosts.inc

            """);
        var hosts = (good, edited) switch
        {
            (true, false) => "app IN A 192.0.2.11\ndb  IN AAAA 2001:db8::11\n",
            (false, _) => "app IN A 192.0.2.11\ndb  IN AAAA 2001:db8::zz\n",
            (true, true) => "app IN A 192.0.2.12\ndb  IN AAAA 2001:db8::12\nnew IN A 192.0.2.13\n",
        };
        var stickyWeights = edited ? (10, 20, 30, 40) : (60, 25, 10, 5);
        var fresh = edited
            ? """
              ,
                  "fresh": {
                    "policy": [{"type": "healthy"}, {"type": "first"}],
                    "endpoints": [{"dataCenter": "dc-us", "address": "192.0.2.50"}, {"dataCenter": "dc-eu", "address": "2001:db8:50::1"}]
                  }
              """
            : "";
        var firstStep = good ? "first" : "frist";
        var config = $$"""
            {
              "regions": {
                "na": {"latitude": 38.9, "longitude": -77.0},
                "eu": {"latitude": 50.11, "longitude": 8.68},
                "ap": {"latitude": 35.68, "longitude": 139.69},
                "sa": {"latitude": -23.55, "longitude": -46.63}
              },
              "dataCenters": {
                "dc-us": {"latitude": 39.04, "longitude": -77.49, "region": "na"},
                "dc-eu": {"latitude": 53.35, "longitude": -6.26, "region": "eu"},
                "dc-ap": {"latitude": 1.35, "longitude": 103.82, "region": "ap"},
                "dc-sa": {"latitude": -23.55, "longitude": -46.63, "region": "sa", "bias": 20}
              },
              "rtt": {
                "na": {"dc-us": 2, "dc-eu": 75, "dc-ap": 220, "dc-sa": 120},
                "eu": {"dc-us": 80, "dc-eu": 20, "dc-ap": 160, "dc-sa": 190},
                "ap": {"dc-us": 160, "dc-eu": 220, "dc-ap": 70, "dc-sa": 260},
                "sa": {"dc-us": 115, "dc-eu": 190, "dc-ap": 330, "dc-sa": 3}
              },
              "defaultLocation": {"latitude": 39.0, "longitude": -77.5},
              "services": {
                "geo": {
                  "ttl": 20,
                  "policy": [{"type": "healthy"}, {"type": "geo-proximity", "count": 1}, {"type": "{{firstStep}}"}],
                  "endpoints": [
                    {"dataCenter": "dc-us", "address": "192.0.2.20"}, {"dataCenter": "dc-us", "address": "2001:db8:20::1"},
                    {"dataCenter": "dc-eu", "address": "198.51.100.20"}, {"dataCenter": "dc-eu", "address": "2001:db8:20::2"},
                    {"dataCenter": "dc-ap", "address": "203.0.113.20"}, {"dataCenter": "dc-ap", "address": "2001:db8:20::3"},
                    {"dataCenter": "dc-sa", "address": "192.0.2.21"}, {"dataCenter": "dc-sa", "address": "2001:db8:20::4"}
                  ]
                },
                "sticky": {
                  "ttl": 60,
                  "policy": [{"type": "healthy"}, {"type": "weighted", "sticky": true}],
                  "endpoints": [
                    {"dataCenter": "dc-us", "address": "192.0.2.30", "weight": {{stickyWeights.Item1}}},
                    {"dataCenter": "dc-eu", "address": "198.51.100.30", "weight": {{stickyWeights.Item2}}},
                    {"dataCenter": "dc-ap", "address": "203.0.113.30", "weight": {{stickyWeights.Item3}}},
                    {"dataCenter": "dc-sa", "address": "192.0.2.31", "weight": {{stickyWeights.Item4}}},
                    {"dataCenter": "dc-us", "address": "2001:db8:30::1", "weight": 50},
                    {"dataCenter": "dc-eu", "address": "2001:db8:30::2", "weight": 50}
                  ]
                },
                "sticky2": {
                  "policy": [{"type": "healthy"}, {"type": "weighted", "sticky": true, "count": 2}],
                  "endpoints": [
                    {"dataCenter": "dc-us", "address": "192.0.2.35"}, {"dataCenter": "dc-eu", "address": "198.51.100.35"},
                    {"dataCenter": "dc-ap", "address": "203.0.113.35"}, {"dataCenter": "dc-sa", "address": "2001:db8:35::1"}
                  ]
                },
                "loc": {
                  "policy": [
                    {"type": "healthy"},
                    {"type": "geolocation", "rules": [
                      {"continent": "NA", "dataCenters": ["dc-us"]}, {"continent": "EU", "dataCenters": ["dc-eu"]},
                      {"continent": "AS", "dataCenters": ["dc-ap"]}, {"continent": "SA", "dataCenters": ["dc-sa"]},
                      {"country": "JP", "dataCenters": ["dc-ap", "dc-us"]}
                    ], "default": ["dc-us"]},
                    {"type": "first"}
                  ],
                  "endpoints": [
                    {"dataCenter": "dc-us", "address": "192.0.2.60"}, {"dataCenter": "dc-eu", "address": "198.51.100.60"},
                    {"dataCenter": "dc-ap", "address": "203.0.113.60"}, {"dataCenter": "dc-sa", "address": "192.0.2.61"},
                    {"dataCenter": "dc-eu", "address": "2001:db8:60::2"}, {"dataCenter": "dc-us", "address": "2001:db8:60::1"}
                  ]
                },
                "fo": {
                  "policy": [{"type": "healthy"}, {"type": "failover"}, {"type": "first", "count": 2}],
                  "endpoints": [
                    {"dataCenter": "dc-eu", "address": "198.51.100.40", "priority": 0},
                    {"dataCenter": "dc-eu", "address": "198.51.100.41", "priority": 0},
                    {"dataCenter": "dc-us", "address": "192.0.2.40", "priority": 1},
                    {"dataCenter": "dc-ap", "address": "203.0.113.40", "priority": 2},
                    {"dataCenter": "dc-eu", "address": "2001:db8:40::1", "priority": 0},
                    {"dataCenter": "dc-us", "address": "2001:db8:40::2", "priority": 1}
                  ]
                },
                "lat": {
                  "policy": [{"type": "healthy"}, {"type": "latency", "count": 1}, {"type": "first"}],
                  "endpoints": [
                    {"dataCenter": "dc-us", "address": "192.0.2.70"}, {"dataCenter": "dc-eu", "address": "198.51.100.70"},
                    {"dataCenter": "dc-ap", "address": "203.0.113.70"}, {"dataCenter": "dc-sa", "address": "192.0.2.71"},
                    {"dataCenter": "dc-ap", "address": "2001:db8:70::3"}
                  ]
                }{{fresh}}
              }
            }
            """;
        TestZones.WriteAtomically(Path.Combine(folder, Origin + ".gslb.json"), config);
        TestZones.WriteAtomically(Path.Combine(folder, "hosts.inc"), hosts);
    }

    [GeneratedRegex(@"answering on (127\.0\.0\.1:\d+)")]
    private static partial Regex ServerAnswering();

    [GeneratedRegex(@"listening on (http://\S+/)")]
    private static partial Regex ApiListening();
}
