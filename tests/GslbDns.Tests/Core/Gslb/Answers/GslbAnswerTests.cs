using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using ARSoft.Tools.Net.Dns;
using GslbDns.Gslb;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Core.Gslb.Answers;

/// <summary>Load-balanced answers through real UDP sockets, the real GeoIP database and real ECS options.</summary>
public sealed class GslbAnswerTests : IClassFixture<GslbServerFixture>
{
    private readonly GslbServerFixture _fixture;

    public GslbAnswerTests(GslbServerFixture fixture)
    {
        _fixture = fixture;
        fixture.SetState(GslbState.Empty);
    }

    /// <summary>Sample client networks on every continent; where the 2019 database puts them is read with mmdblookup, not assumed.</summary>
    public static TheoryData<string, string> ContinentSamples => new()
    {
        { "8.8.8.0/24", "us-east" },          // Kansas (DB centroid of the US)
        { "81.2.69.0/24", "eu-west" },        // Gamlingay, GB
        { "193.0.6.0/24", "eu-central" },     // Amsterdam, NL
        { "200.160.2.0/24", "sa-east" },      // Rio de Janeiro, BR
        { "196.25.1.0/24", "af-south" },      // South Africa
        { "202.12.27.0/24", "ap-northeast" }, // Tokyo, JP
        { "203.2.218.0/24", "ap-southeast-2" }, // Sydney, AU
        { "210.55.204.0/24", "ap-southeast-2" }, // New Zealand
    };

    [Theory]
    [MemberData(nameof(ContinentSamples))]
    public async Task Each_continent_gets_its_nearest_data_center(string subnet, string expected)
    {
        // Independent oracle: the database's coordinates (mmdblookup) and a plain haversine here.
        var (lat, lon) = await MmdbCoordinatesAsync(subnet.Split('/')[0]);
        var nearest = GslbServerFixture.DataCenters.MinBy(d => Haversine(lat, lon, d.Lat, d.Lon)).Name;
        Assert.Equal(expected, nearest);

        var reply = await _fixture.QueryAsync("geo.gslb.test", RecordType.A, subnet);
        Assert.Equal(ReturnCode.NoError, reply.ReturnCode);
        Assert.True(reply.IsAuthoritiveAnswer);
        var a = Assert.Single(reply.AnswerRecords.OfType<ARecord>());
        Assert.Equal(GslbServerFixture.AddressOf(expected), a.Address);
        Assert.Equal(20, a.TimeToLive);
    }

    [Fact]
    public async Task AAAA_comes_from_the_same_nearest_data_center()
    {
        var reply = await _fixture.QueryAsync("geo.gslb.test", RecordType.Aaaa, "203.2.218.0/24");
        var aaaa = Assert.Single(reply.AnswerRecords.OfType<AaaaRecord>());
        Assert.Equal(IPAddress.Parse("2001:db8::6"), aaaa.Address);
    }

    [Fact]
    public async Task A_CNAME_to_a_service_is_followed_and_load_balanced()
    {
        var reply = await _fixture.QueryAsync("alias.gslb.test", RecordType.A, "202.12.27.0/24");
        Assert.IsType<CNameRecord>(reply.AnswerRecords[0]);
        Assert.Equal(GslbServerFixture.AddressOf("ap-northeast"), Assert.Single(reply.AnswerRecords.OfType<ARecord>()).Address);
    }

    [Fact]
    public async Task ECS_reply_echoes_the_subnet_with_the_scope_the_decision_used()
    {
        var reply = await _fixture.QueryAsync("geo.gslb.test", RecordType.A, "81.2.69.0/24");
        var ecs = ClientSubnet(reply);
        Assert.Equal(24, ecs.SourceNetmask);
        Assert.Equal(IPAddress.Parse("81.2.69.0"), ecs.Address);

        // The scope is the precompiled network that shares the decision: merged networks are never
        // narrower than the database record that placed the client, and every /24 inside the scope
        // gets the same answer.
        var locator = _fixture.Server.Snapshots.Current.Locator!;
        var located = locator.Locate(IPAddress.Parse("81.2.69.0"));
        Assert.InRange(ecs.ScopeNetmask, 1, Math.Min(located.ScopePrefix, (byte)24));
        var answer = Assert.Single(reply.AnswerRecords.OfType<ARecord>()).Address;
        var mask = uint.MaxValue << (32 - ecs.ScopeNetmask);
        var network = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(IPAddress.Parse("81.2.69.0").GetAddressBytes()) & mask;
        var random = new Random(13);
        for (var i = 0; i < 8; i++)
        {
            var inside = (network | ((uint)random.Next() & ~mask)) & 0xFFFFFF00;
            var bytes = new byte[4];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes, inside);
            var same = await _fixture.QueryAsync("geo.gslb.test", RecordType.A, $"{new IPAddress(bytes)}/24");
            Assert.Equal(answer, Assert.Single(same.AnswerRecords.OfType<ARecord>()).Address);
        }

        // A decision that ignored the client (plain weighted) depends on no prefix at all.
        var weighted = await _fixture.QueryAsync("w.gslb.test", RecordType.A, "81.2.69.0/24");
        Assert.Equal(0, ClientSubnet(weighted).ScopeNetmask);

        // Static data does not depend on the client either.
        var stat = await _fixture.QueryAsync("static.gslb.test", RecordType.A, "81.2.69.0/24");
        Assert.Equal(0, ClientSubnet(stat).ScopeNetmask);
    }

    [Fact]
    public async Task Queries_without_ECS_get_no_ECS_and_are_placed_by_source_address()
    {
        // 127.0.0.1 is in no database record and no override: the configured default location (Ashburn).
        var reply = await _fixture.QueryAsync("geo.gslb.test", RecordType.A);
        Assert.Equal(GslbServerFixture.AddressOf("us-east"), Assert.Single(reply.AnswerRecords.OfType<ARecord>()).Address);
        Assert.NotNull(reply.EDnsOptions);
        Assert.DoesNotContain(reply.EDnsOptions!.Options, o => o is ClientSubnetOption);
    }

    [Fact]
    public async Task Geo_data_overrides_place_private_networks()
    {
        var forced = await _fixture.QueryAsync("geo.gslb.test", RecordType.A, "10.20.30.0/24");
        Assert.Equal(GslbServerFixture.AddressOf("eu-west"), Assert.Single(forced.AnswerRecords.OfType<ARecord>()).Address);
        Assert.Equal(8, ClientSubnet(forced).ScopeNetmask);

        var placed = await _fixture.QueryAsync("geo.gslb.test", RecordType.A, "172.20.1.0/24");
        Assert.Equal(GslbServerFixture.AddressOf("ap-southeast-2"), Assert.Single(placed.AnswerRecords.OfType<ARecord>()).Address);
    }

    [Fact]
    public async Task Weights_hold_over_ten_thousand_queries()
    {
        const int n = 10_000;
        var answers = await ManyAsync("w.gslb.test", n);
        Assert.Equal(n, answers.Count);
        var counts = answers.CountBy(a => a).ToDictionary();

        // Binomial bounds at 5 sigma: a correct implementation fails by chance about once in 3.5 million runs.
        foreach (var (address, p) in new[] { ("198.51.100.10", 0.1), ("198.51.100.30", 0.3), ("198.51.100.60", 0.6) })
        {
            var sigma = Math.Sqrt(n * p * (1 - p));
            var seen = counts.GetValueOrDefault(address);
            Assert.InRange(seen, n * p - (5 * sigma), n * p + (5 * sigma));
        }
    }

    [Fact]
    public async Task Weight_zero_gets_no_traffic()
    {
        _fixture.SetState(GslbState.Empty with { WeightOverrides = new Dictionary<string, int> { ["w.gslb.test/ap-northeast/198.51.100.60"] = 0 }.ToFrozenDictionary() });
        var answers = await ManyAsync("w.gslb.test", 2_000);
        Assert.Equal(2_000, answers.Count);
        Assert.DoesNotContain("198.51.100.60", answers);
    }

    /// <summary>
    /// <paramref name="count"/> separate A queries for <paramref name="name"/>, each on its own socket, sixteen in flight at
    /// a time: one at a time they measured the round-trip latency of a loaded machine (1-2 ms each), not the policy.
    /// Each reply must carry exactly one A record; returns the addresses in the order the replies came.
    /// </summary>
    private async Task<List<string>> ManyAsync(string name, int count)
    {
        var answers = new ConcurrentQueue<string>();
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (_, _) =>
        {
            var reply = await _fixture.QueryAsync(name, RecordType.A);
            answers.Enqueue(Assert.Single(reply.AnswerRecords.OfType<ARecord>()).Address.ToString());
        });
        return [.. answers];
    }

    [Fact]
    public async Task Failover_follows_priority_order_as_endpoints_fail_and_return()
    {
        Assert.Equal("203.0.113.1", await SingleA("fo.gslb.test"));
        SetHealth(("fo.gslb.test/us-east/203.0.113.1", false));
        Assert.Equal("203.0.113.2", await SingleA("fo.gslb.test"));
        SetHealth(("fo.gslb.test/us-east/203.0.113.1", false), ("fo.gslb.test/eu-west/203.0.113.2", false));
        Assert.Equal("203.0.113.3", await SingleA("fo.gslb.test"));

        // A drained data center counts as gone even though its endpoint is healthy.
        _fixture.SetState(GslbState.Empty with { Drained = new[] { "us-east" }.ToFrozenSet() });
        Assert.Equal("203.0.113.2", await SingleA("fo.gslb.test"));

        _fixture.SetState(GslbState.Empty);
        Assert.Equal("203.0.113.1", await SingleA("fo.gslb.test"));
    }

    [Fact]
    public async Task Multivalue_answers_up_to_three_distinct_healthy_addresses()
    {
        SetHealth(("mv.gslb.test/us-west/203.0.113.22", false), ("mv.gslb.test/eu-central/203.0.113.24", false));
        var seen = new HashSet<string>();
        for (var i = 0; i < 50; i++)
        {
            var reply = await _fixture.QueryAsync("mv.gslb.test", RecordType.A);
            var addresses = reply.AnswerRecords.OfType<ARecord>().Select(r => r.Address.ToString()).ToList();
            Assert.Equal(3, addresses.Count);
            Assert.Equal(3, addresses.Distinct().Count());
            Assert.DoesNotContain("203.0.113.22", addresses);
            Assert.DoesNotContain("203.0.113.24", addresses);
            seen.UnionWith(addresses);
        }

        Assert.Equal(["203.0.113.21", "203.0.113.23", "203.0.113.25"], seen.Order());
    }

    [Fact]
    public async Task All_unhealthy_fails_open_or_answers_the_fallback_never_SERVFAIL()
    {
        SetHealth(("open.gslb.test/us-east/203.0.113.41", false), ("open.gslb.test/eu-west/203.0.113.42", false),
            ("fb.gslb.test/us-east/203.0.113.51", false), ("fb.gslb.test/eu-west/203.0.113.52", false));

        var open = await _fixture.QueryAsync("open.gslb.test", RecordType.A);
        Assert.Equal(ReturnCode.NoError, open.ReturnCode);
        Assert.Equal(["203.0.113.41", "203.0.113.42"], open.AnswerRecords.OfType<ARecord>().Select(r => r.Address.ToString()).Order());

        var fallback = await _fixture.QueryAsync("fb.gslb.test", RecordType.A);
        Assert.Equal(ReturnCode.NoError, fallback.ReturnCode);
        Assert.Equal("203.0.113.99", Assert.Single(fallback.AnswerRecords.OfType<ARecord>()).Address.ToString());

        // The service has no IPv6 endpoint or fallback: AAAA is NODATA with the SOA, still not SERVFAIL.
        var nodata = await _fixture.QueryAsync("fb.gslb.test", RecordType.Aaaa);
        Assert.Equal(ReturnCode.NoError, nodata.ReturnCode);
        Assert.Empty(nodata.AnswerRecords);
        Assert.IsType<SoaRecord>(Assert.Single(nodata.AuthorityRecords));
    }

    [Fact]
    public async Task Sticky_weighting_keeps_a_subnet_on_one_answer_and_spreads_subnets()
    {
        var perSubnet = new Dictionary<string, string>();
        for (var s = 0; s < 40; s++)
        {
            var subnet = $"81.{s}.7.0/24";
            var first = await SingleA("sticky.gslb.test", subnet);
            for (var i = 0; i < 10; i++)
            {
                Assert.Equal(first, await SingleA("sticky.gslb.test", subnet));
            }

            perSubnet[subnet] = first;
            var reply = await _fixture.QueryAsync("sticky.gslb.test", RecordType.A, subnet);
            Assert.Equal(24, ClientSubnet(reply).ScopeNetmask);
        }

        Assert.True(perSubnet.Values.Distinct().Count() >= 3, $"40 subnets landed on only {string.Join(",", perSubnet.Values.Distinct())}");
    }

    [Fact]
    public async Task Kdig_sees_the_same_geo_answer_with_ECS()
    {
        var kdig = await ChildProcess.RunAsync("kdig", ["@127.0.0.1", "-p", _fixture.EndPoint.Port.ToString(CultureInfo.InvariantCulture), "+subnet=200.160.2.0/24", "+short", "geo.gslb.test", "A"], TimeSpan.FromSeconds(10));
        Assert.Equal(0, kdig.ExitCode);
        Assert.Equal(GslbServerFixture.AddressOf("sa-east").ToString(), kdig.StandardOutput.Trim());
    }

    private void SetHealth(params (string Id, bool Healthy)[] health)
        => _fixture.SetState(GslbState.Empty with { Health = health.ToFrozenDictionary(h => h.Id, h => h.Healthy) });

    private async Task<string> SingleA(string name, string? subnet = null)
    {
        var reply = await _fixture.QueryAsync(name, RecordType.A, subnet);
        Assert.Equal(ReturnCode.NoError, reply.ReturnCode);
        return Assert.Single(reply.AnswerRecords.OfType<ARecord>()).Address.ToString();
    }

    private static ClientSubnetOption ClientSubnet(DnsMessage reply)
        => Assert.Single(reply.EDnsOptions!.Options.OfType<ClientSubnetOption>());

    private static async Task<(double Lat, double Lon)> MmdbCoordinatesAsync(string address)
    {
        var lat = await ChildProcess.RunAsync("mmdblookup", ["--file", GslbServerFixture.GeoIpPath, "--ip", address, "location", "latitude"], TimeSpan.FromSeconds(10));
        var lon = await ChildProcess.RunAsync("mmdblookup", ["--file", GslbServerFixture.GeoIpPath, "--ip", address, "location", "longitude"], TimeSpan.FromSeconds(10));
        return (ParseDouble(lat.StandardOutput), ParseDouble(lon.StandardOutput));
    }

    private static double ParseDouble(string mmdbOutput)
    {
        var token = mmdbOutput.Split([' ', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries).First(t => double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out _));
        return double.Parse(token, CultureInfo.InvariantCulture);
    }

    private static double Haversine(double lat1, double lon1, double lat2, double lon2)
    {
        static double Rad(double d) => d * Math.PI / 180;
        var dLat = Rad(lat2 - lat1);
        var dLon = Rad(lon2 - lon1);
        var h = (Math.Sin(dLat / 2) * Math.Sin(dLat / 2)) + (Math.Cos(Rad(lat1)) * Math.Cos(Rad(lat2)) * Math.Sin(dLon / 2) * Math.Sin(dLon / 2));
        return 2 * 6371 * Math.Asin(Math.Sqrt(h));
    }
}
