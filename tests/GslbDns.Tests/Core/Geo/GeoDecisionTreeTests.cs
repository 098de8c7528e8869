using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using GslbDns.Dns;
using GslbDns.Geo;
using GslbDns.Gslb;
using GslbDns.Gslb.Config;
using GslbDns.Gslb.Policies;
using Xunit.Abstractions;

namespace GslbDns.Tests.Core.Geo;

/// <summary>
/// The precompiled geo trees against the direct per-address path they replace: the same locator
/// (real GeoLite2-City, geo-data overrides, default) and the same decision rule, on random addresses.
/// </summary>
public sealed class GeoDecisionTreeTests(GeoDecisionTreeTests.CompiledFixture compiled, ITestOutputHelper output) : IClassFixture<GeoDecisionTreeTests.CompiledFixture>
{
    /// <summary>Compiles once for the class (seconds: a full walk of GeoLite2-City per tree).</summary>
    public sealed class CompiledFixture : IDisposable
    {
        private readonly GeoIpDatabase _database = GeoIpDatabase.Open(GeoTestEnvironment.DatabasePath);

        public CompiledFixture()
        {
            var started = Stopwatch.GetTimestamp();
            Config = GslbConfigLoader.LoadFromText([("geo.test.gslb.json", GeoDecisionTreeTests.Config)], [Zone]);
            Locator = new ClientLocator(GeoOverrides.Parse(Overrides, "overrides.txt"), Config.DefaultLocation, _database);
            Compiler = new GeoDecisionCompiler();
            Decisions = Compiler.Compile(Config, Locator)!;
            Report = Compiler.LastReport!;
            Wall = Stopwatch.GetElapsedTime(started);
            Managed = GC.GetTotalMemory(forceFullCollection: true);
        }

        public GslbConfig Config { get; }

        public GeoDecisionCompiler Compiler { get; }

        public ClientLocator Locator { get; }

        public IReadOnlyDictionary<DnsName, ServiceGeoDecisions> Decisions { get; }

        public GeoCompileReport Report { get; }

        public TimeSpan Wall { get; }

        public long Managed { get; }

        public void Dispose() => _database.Dispose();
    }

    private const int Seed = 13;

    // Nested and adjacent rules, IPv4, IPv6 and IPv4-mapped, coordinates and dc= pins.
    private const string Overrides = """
        10.0.0.0/8            dc=eu-west
        10.20.0.0/16          -33.87,151.21 continent=OC country=AU
        10.20.30.0/24         dc=ap-northeast
        172.16.0.0/12         35.68,139.69 continent=AS country=JP
        81.2.69.0/24          -23.55,-46.63 continent=SA country=BR
        2001:db8::/32         dc=sa-east
        2001:db8:1::/48       53.35,-6.26 continent=EU country=IE
        ::ffff:192.0.2.0/120  dc=us-west
        """;

    private static readonly DnsName Zone = DnsName.Parse("geo.test.");

    private static readonly string Config = """
        {
          "dataCenters": {
            "us-east": {"latitude": 39.04, "longitude": -77.49, "region": "r-us-east", "bias": 20},
            "us-west": {"latitude": 37.34, "longitude": -121.89, "region": "r-us-west"},
            "eu-west": {"latitude": 53.35, "longitude": -6.26, "region": "r-eu-west", "bias": -30},
            "eu-central": {"latitude": 50.11, "longitude": 8.68, "region": "r-eu-central"},
            "ap-northeast": {"latitude": 35.68, "longitude": 139.69, "region": "r-ap"},
            "ap-southeast-2": {"latitude": -33.87, "longitude": 151.21, "region": "r-ap"},
            "sa-east": {"latitude": -23.55, "longitude": -46.63, "region": "r-sa"},
            "af-south": {"latitude": -26.20, "longitude": 28.05, "region": "r-af", "bias": 50}
          },
          "regions": {
            "r-us-east": {"latitude": 39.04, "longitude": -77.49},
            "r-us-west": {"latitude": 37.34, "longitude": -121.89},
            "r-eu-west": {"latitude": 53.35, "longitude": -6.26},
            "r-eu-central": {"latitude": 50.11, "longitude": 8.68},
            "r-ap": {"latitude": 1.35, "longitude": 103.82},
            "r-sa": {"latitude": -23.55, "longitude": -46.63},
            "r-af": {"latitude": -26.20, "longitude": 28.05}
          },
          "defaultLocation": {"latitude": 39.04, "longitude": -77.49},
          "services": {
            "near": {
              "policy": [{"type": "healthy"}, {"type": "geo-proximity", "count": 2}],
              "endpoints": [
                {"dataCenter": "us-east", "address": "192.0.2.1"}, {"dataCenter": "us-west", "address": "192.0.2.2"},
                {"dataCenter": "eu-west", "address": "192.0.2.3"}, {"dataCenter": "eu-central", "address": "192.0.2.4"},
                {"dataCenter": "ap-northeast", "address": "192.0.2.5"}, {"dataCenter": "ap-southeast-2", "address": "192.0.2.6"},
                {"dataCenter": "sa-east", "address": "192.0.2.7"}, {"dataCenter": "af-south", "address": "192.0.2.8"},
                {"dataCenter": "eu-west", "address": "2001:db8::3"}, {"dataCenter": "us-east", "address": "2001:db8::1"}
              ]
            },
            "fast": {
              "policy": [{"type": "healthy"}, {"type": "latency"}],
              "endpoints": [
                {"dataCenter": "us-east", "address": "192.0.2.11"}, {"dataCenter": "eu-central", "address": "192.0.2.14"},
                {"dataCenter": "ap-northeast", "address": "192.0.2.15"}
              ]
            },
            "rules": {
              "policy": [{"type": "healthy"}, {"type": "geolocation",
                "rules": [
                  {"continent": "EU", "dataCenters": ["eu-central", "eu-west"]},
                  {"country": "US", "dataCenters": ["us-east"]},
                  {"country": "US", "subdivision": "CA", "dataCenters": ["us-west"]},
                  {"country": "JP", "dataCenters": ["ap-northeast"]}
                ],
                "default": ["us-east"]}],
              "endpoints": [
                {"dataCenter": "us-east", "address": "192.0.2.21"}, {"dataCenter": "us-west", "address": "192.0.2.22"},
                {"dataCenter": "eu-west", "address": "192.0.2.23"}, {"dataCenter": "eu-central", "address": "192.0.2.24"},
                {"dataCenter": "ap-northeast", "address": "192.0.2.25"}
              ]
            }
          }
        }
        """;

    [Fact]
    public void Trees_decide_as_the_direct_lookup_on_100000_random_addresses_per_family()
    {
        var (config, locator, decisions) = Compile();
        var near = decisions[DnsName.Parse("near.geo.test.")].Proximity!;
        var regions = decisions[DnsName.Parse("fast.geo.test.")].Regions!;
        var rulesPolicy = (GeolocationPolicy)config.Services[DnsName.Parse("rules.geo.test.")].Policies[1];
        var rules = decisions[DnsName.Parse("rules.geo.test.")].GeolocationFor(rulesPolicy)!;
        var sortedRegions = LatencyPolicy.SortedRegions(config);

        // The direct decisions per location (the locator hands out one instance per location), so the
        // loop costs a locator lookup and three tree walks per address.
        var expected = new Dictionary<GeoLocation, (ProximityRanking Ranking, ProberRegion? Region, GeolocationAttempts Attempts)>(ReferenceEqualityComparer.Instance);
        var random = new Random(Seed);
        var checkedV4 = 0;
        var checkedV6 = 0;
        var sources = new Dictionary<LocationSource, int>();
        for (var i = 0; i < 200_000; i++)
        {
            var (address, isIPv6) = RandomAddress(random, i);
            var location = Locate(locator, address, isIPv6, out var source);
            sources[source] = sources.GetValueOrDefault(source) + 1;
            if (!expected.TryGetValue(location, out var direct))
            {
                var nearest = LatencyPolicy.NearestRegionIndex(sortedRegions, location, config);
                direct = (ProximityRanking.For(location, config, near.DataCenters), nearest < 0 ? null : sortedRegions[nearest], rulesPolicy.AttemptsFor(location));
                expected[location] = direct;
            }

            if (!near.Rankings[Lookup(near.Tree, address, isIPv6, out _)].Equals(direct.Ranking))
            {
                Assert.Fail($"geo-proximity differs for {Text(address, isIPv6)}");
            }

            if (!ReferenceEquals(regions.Regions[Lookup(regions.Tree, address, isIPv6, out _)], direct.Region))
            {
                Assert.Fail($"region differs for {Text(address, isIPv6)}");
            }

            if (!rules.Choices[Lookup(rules.Tree, address, isIPv6, out _)].Equals(direct.Attempts))
            {
                Assert.Fail($"geolocation differs for {Text(address, isIPv6)}");
            }

            _ = isIPv6 ? checkedV6++ : checkedV4++;
        }

        output.WriteLine($"checked {checkedV4} IPv4 and {checkedV6} IPv6 addresses ({expected.Count} distinct locations); sources {string.Join(", ", sources.Select(s => $"{s.Key}={s.Value}"))}");
        Assert.True(checkedV4 >= 100_000 && checkedV6 >= 100_000, $"{checkedV4} IPv4, {checkedV6} IPv6");

        // The sample must exercise every source, else agreement proves little.
        Assert.True(sources.GetValueOrDefault(LocationSource.GeoIp) > 60_000, "too few database placements");
        Assert.True(sources.GetValueOrDefault(LocationSource.Override) > 2_000, "too few override placements");
        Assert.True(sources.GetValueOrDefault(LocationSource.Default) > 2_000, "too few default placements");
    }

    [Fact]
    public void Every_address_in_a_merged_network_gets_the_same_decision_directly()
    {
        var (config, locator, decisions) = Compile();
        var near = decisions[DnsName.Parse("near.geo.test.")].Proximity!;
        var random = new Random(Seed + 1);
        var widerThanDatabase = 0;
        for (var i = 0; i < 5_000; i++)
        {
            var (address, isIPv6) = RandomAddress(random, i);
            var decision = Lookup(near.Tree, address, isIPv6, out var scope);
            var other = SameNetwork(random, address, isIPv6, scope);
            var otherLocation = Locate(locator, other, isIPv6, out _);
            Assert.True(near.Rankings[decision].Equals(ProximityRanking.For(otherLocation, config, near.DataCenters)), $"{Text(other, isIPv6)} is inside {Text(address, isIPv6)}/{scope} but decides otherwise");

            Locate(locator, address, isIPv6, out _, out var locatorScope);
            if (scope < locatorScope)
            {
                widerThanDatabase++;
            }
        }

        // Merging is the point: many networks must come out wider than the database record alone.
        output.WriteLine($"{widerThanDatabase} of 5000 scopes wider than the locator's");
        Assert.True(widerThanDatabase > 500, $"only {widerThanDatabase} of 5000 scopes are wider than the locator's");
    }

    [Fact]
    public void Compiled_policies_select_what_the_per_query_path_selects_under_random_health()
    {
        var (config, locator, decisions) = Compile();
        var random = new Random(Seed + 2);
        var compiledContext = new SelectionContext();
        var directContext = new SelectionContext { Locator = locator };
        Span<int> compiled = stackalloc int[64];
        Span<int> direct = stackalloc int[64];
        var endpointIds = config.Services.Values.SelectMany(s => s.Endpoints).Select(e => e.Id).ToArray();
        for (var i = 0; i < 5_000; i++)
        {
            // Each round some endpoints are down: the precompiled ranking must fall to the same next choice.
            var health = endpointIds.Where(_ => random.Next(3) == 0).ToDictionary(id => id, _ => false);
            var state = GslbState.Empty with { Health = System.Collections.Frozen.FrozenDictionary.ToFrozenDictionary(health) };
            var (address, isIPv6) = RandomAddress(random, i);
            foreach (var (name, service) in config.Services)
            {
                foreach (var qtype in new[] { RecordType.A, RecordType.AAAA })
                {
                    var clientAddress = isIPv6 ? address : (uint)address;
                    compiledContext.Reset(service, config, state, PolicyNow, clientAddress, isIPv6, (byte)(isIPv6 ? 128 : 32));
                    compiledContext.Geo = decisions[name];
                    directContext.Reset(service, config, state, PolicyNow, clientAddress, isIPv6, (byte)(isIPv6 ? 128 : 32));
                    var a = ServiceSelector.Select(service, qtype, compiledContext, compiled, out var fallbackA);
                    var b = ServiceSelector.Select(service, qtype, directContext, direct, out var fallbackB);
                    Assert.Equal(fallbackB, fallbackA);
                    Assert.True(compiled[..a].SequenceEqual(direct[..b]), $"{name} {qtype} for {Text(address, isIPv6)}: [{string.Join(',', compiled[..a].ToArray())}] vs [{string.Join(',', direct[..b].ToArray())}]");
                }
            }
        }
    }

    [Fact]
    public void Load_time_and_memory_of_the_trees_are_reported()
    {
        var report = compiled.Report;
        output.WriteLine($"compile: {report}");
        output.WriteLine($"wall {compiled.Wall.TotalMilliseconds:0} ms (includes config and overrides parsing); managed heap after: {compiled.Managed / 1024 / 1024} MiB");

        // Two data-center lists (near: 8, fast: 3), the regions, one geolocation rule set.
        Assert.Equal(4, report.Trees);
        Assert.Equal(4, report.TreesBuilt);
        Assert.InRange(report.Bytes, 1, 64L << 20);
        Assert.Equal(3, compiled.Decisions.Count);

        // A second compilation over unchanged inputs reuses every tree (the same compiler, as a snapshot builder keeps it).
        var again = compiled.Compiler.Compile(compiled.Config, compiled.Locator)!;
        Assert.Equal(0, compiled.Compiler.LastReport!.TreesBuilt);
        Assert.Same(compiled.Decisions, again);
        Assert.Same(compiled.Decisions[DnsName.Parse("near.geo.test.")].Proximity, again[DnsName.Parse("near.geo.test.")].Proximity);
    }

    private static readonly DateTimeOffset PolicyNow = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);

    private (GslbConfig Config, ClientLocator Locator, IReadOnlyDictionary<DnsName, ServiceGeoDecisions> Decisions) Compile() =>
        (compiled.Config, compiled.Locator, compiled.Decisions);

    // Two in five IPv4 (uniform over all 2^32), two in five IPv6 from the allocated /12s, one in ten
    // inside an override, one in ten IPv4-mapped.
    private static (UInt128 Address, bool IsIPv6) RandomAddress(Random random, int i)
    {
        switch (i % 10)
        {
            case 0:
                string[] overrides = ["10.0.0.0", "10.20.0.0", "10.20.30.0", "172.16.0.0", "81.2.69.0"];
                var network = BinaryPrimitives.ReadUInt32BigEndian(IPAddress.Parse(overrides[random.Next(overrides.Length)]).GetAddressBytes());
                return (network | ((uint)random.Next() & 0x00FF_FFFF & (random.Next(2) == 0 ? 0xFFFFu : 0xFF_FFFFu)), false);
            case 1:
                return ((UInt128)0xFFFF << 32 | (uint)random.NextInt64(), true);
            case 2 or 3 or 4 or 5:
                return ((uint)random.NextInt64(), false);
            default:
                ushort[] tops = [0x2001, 0x2400, 0x2600, 0x2800, 0x2a00, 0x2c00, 0x2001, 0x2a01, 0x2605, 0x2002];
                var top = tops[random.Next(tops.Length)];
                var rest = RandomBits(random) >> 16;
                var address = ((UInt128)top << 112) | rest;
                if (top == 0x2001 && random.Next(4) == 0)
                {
                    address = ((UInt128)0x2001_0db8 << 96) | (RandomBits(random) >> 32); // the override's documentation range
                }

                return (address, true);
        }
    }

    // A random address sharing the first `scope` bits with `address` (IPv4 bits for IPv4 and mapped clients).
    private static UInt128 SameNetwork(Random random, UInt128 address, bool isIPv6, byte scope)
    {
        if (!isIPv6 || (address >> 32) == 0xFFFF)
        {
            var v4 = (uint)address;
            var mask = scope == 0 ? 0u : uint.MaxValue << (32 - scope);
            var other = (v4 & mask) | ((uint)random.NextInt64() & ~mask);
            return isIPv6 ? ((UInt128)0xFFFF << 32) | other : other;
        }

        var hostMask = scope == 128 ? UInt128.Zero : UInt128.MaxValue >> scope;
        return (address & ~hostMask) | (RandomBits(random) & hostMask);
    }

    private static UInt128 RandomBits(Random random) => new((ulong)random.NextInt64() ^ ((ulong)random.Next() << 40), (ulong)random.NextInt64() ^ ((ulong)random.Next() << 50));

    private static int Lookup(GeoDecisionTree tree, UInt128 address, bool isIPv6, out byte scope) =>
        isIPv6 ? tree.LookupV6(address, out scope) : tree.LookupV4((uint)address, out scope);

    private static GeoLocation Locate(ClientLocator locator, UInt128 address, bool isIPv6, out LocationSource source) =>
        Locate(locator, address, isIPv6, out source, out _);

    private static GeoLocation Locate(ClientLocator locator, UInt128 address, bool isIPv6, out LocationSource source, out byte scope)
    {
        var result = isIPv6 ? locator.LocateV6(address) : locator.LocateV4((uint)address);
        source = result.Source;
        scope = result.ScopePrefix;
        return result.Location;
    }

    private static string Text(UInt128 address, bool isIPv6)
    {
        if (!isIPv6)
        {
            Span<byte> v4 = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(v4, (uint)address);
            return new IPAddress(v4).ToString();
        }

        Span<byte> v6 = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(v6, address);
        return new IPAddress(v6).ToString();
    }
}
