using System.Collections.Frozen;
using System.Net;
using GslbDns.Dns;
using GslbDns.Geo;
using GslbDns.Gslb;

namespace GslbDns.Tests.Core.Gslb.Policies;

/// <summary>A locator that answers one fixed, pre-built result: it allocates nothing, so it can stand in on the zero-allocation path.</summary>
internal sealed class StubLocator : IClientLocator
{
    public StubLocator(GeoLocation location, byte scope = 24, LocationSource source = LocationSource.GeoIp)
    {
        Result = new LocateResult(location, scope, source);
    }

    public LocateResult Result { get; set; }

    public int Calls { get; private set; }

    public LocateResult Locate(ReadOnlySpan<byte> address)
    {
        Calls++;
        return Result;
    }
}

/// <summary>Builders for services, configs, state and contexts, and well-known places.</summary>
internal static class PolicyTestSupport
{
    public static readonly DnsName ServiceName = DnsName.Parse("www.example.com.");

    public static readonly DateTimeOffset Now = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);

    // Data centers (city coordinates).
    public static readonly DataCenter Ashburn = new("ashburn", 39.0438, -77.4874, "us-east", 0);
    public static readonly DataCenter Dublin = new("dublin", 53.3498, -6.2603, "eu-west", 0);
    public static readonly DataCenter Frankfurt = new("frankfurt", 50.1109, 8.6821, "eu-central", 0);
    public static readonly DataCenter Singapore = new("singapore", 1.3521, 103.8198, "ap-southeast", 0);
    public static readonly DataCenter Sydney = new("sydney", -33.8688, 151.2093, "ap-southeast-2", 0);
    public static readonly DataCenter SaoPaulo = new("sao-paulo", -23.5505, -46.6333, "sa-east", 0);
    public static readonly DataCenter Johannesburg = new("johannesburg", -26.2041, 28.0473, "af-south", 0);
    public static readonly DataCenter SanJose = new("san-jose", 37.3382, -121.8863, "us-west", 0);

    public static readonly DataCenter[] World = [Ashburn, Dublin, Frankfurt, Singapore, Sydney, SaoPaulo, Johannesburg];

    // Client places.
    public static readonly GeoLocation NewYork = new(40.7128, -74.0060, "NA", "US", "NY", "New York");
    public static readonly GeoLocation LosAngeles = new(34.0522, -118.2437, "NA", "US", "CA", "Los Angeles");
    public static readonly GeoLocation London = new(51.5074, -0.1278, "EU", "GB", "ENG", "London");
    public static readonly GeoLocation Paris = new(48.8566, 2.3522, "EU", "FR", "IDF", "Paris");
    public static readonly GeoLocation Tokyo = new(35.6762, 139.6503, "AS", "JP", "13", "Tokyo");
    public static readonly GeoLocation Auckland = new(-36.8485, 174.7633, "OC", "NZ", "AUK", "Auckland");
    public static readonly GeoLocation BuenosAires = new(-34.6037, -58.3816, "SA", "AR", "C", "Buenos Aires");
    public static readonly GeoLocation Nairobi = new(-1.2921, 36.8219, "AF", "KE", "30", "Nairobi");

    public static Endpoint Endpoint(string dataCenter, string address, int weight = 1, int priority = 0) =>
        new($"{ServiceName}/{dataCenter}/{address}", dataCenter, IPAddress.Parse(address), weight, priority);

    /// <summary>One IPv4 endpoint per data center, 192.0.2.1, .2, ... in order.</summary>
    public static Endpoint[] OnePerDataCenter(params DataCenter[] dataCenters) =>
        [.. dataCenters.Select((dc, i) => Endpoint(dc.Name, $"192.0.2.{i + 1}"))];

    public static ServiceConfig Service(
        IReadOnlyList<Endpoint> endpoints,
        IReadOnlyList<ISelectionPolicy>? policies = null,
        AllUnhealthyBehavior whenAllUnhealthy = AllUnhealthyBehavior.FailOpen,
        IReadOnlyList<IPAddress>? fallback = null) =>
        new(ServiceName, 30, endpoints, null, policies ?? [], whenAllUnhealthy, fallback ?? []);

    public static GslbConfig ConfigOf(
        IEnumerable<DataCenter> dataCenters,
        IEnumerable<ProberRegion>? regions = null,
        RttMatrix? staticRtt = null,
        GeoLocation? defaultLocation = null) =>
        GslbConfig.Empty with
        {
            DataCenters = dataCenters.ToDictionary(dc => dc.Name),
            Regions = (regions ?? []).ToDictionary(r => r.Name),
            StaticRtt = staticRtt ?? RttMatrix.Empty,
            DefaultLocation = defaultLocation ?? GslbConfig.Empty.DefaultLocation,
        };

    public static GslbState StateOf(
        IEnumerable<KeyValuePair<string, bool>>? health = null,
        IEnumerable<KeyValuePair<string, int>>? weights = null,
        IEnumerable<string>? drained = null,
        IEnumerable<KeyValuePair<string, HealthOverride>>? overrides = null,
        RttMatrix? measuredRtt = null) =>
        new(
            (health ?? []).ToFrozenDictionary(),
            (weights ?? []).ToFrozenDictionary(),
            (drained ?? []).ToFrozenSet(),
            (overrides ?? []).ToFrozenDictionary(),
            measuredRtt,
            Now);

    public static RttMatrix Rtt(params (string Region, string DataCenter, double Ms)[] entries) =>
        new(entries.ToDictionary(e => (e.Region, e.DataCenter), e => e.Ms));

    public static SelectionContext Context(
        ServiceConfig service,
        GslbConfig? config = null,
        GslbState? state = null,
        IClientLocator? locator = null,
        string client = "198.51.100.77",
        DateTimeOffset? now = null)
    {
        var address = IPAddress.Parse(client);
        var isIPv6 = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
        var bytes = address.GetAddressBytes();
        UInt128 value = 0;
        foreach (var b in bytes)
        {
            value = (value << 8) | b;
        }

        var context = new SelectionContext { Locator = locator };
        context.Reset(service, config ?? GslbConfig.Empty, state ?? GslbState.Empty, now ?? Now, value, isIPv6, (byte)(isIPv6 ? 128 : 32));
        return context;
    }

    /// <summary>Runs one policy over every endpoint of the context's service; returns the endpoint indexes kept, in order.</summary>
    public static int[] Run(ISelectionPolicy policy, SelectionContext context) =>
        Run(policy, context, [.. Enumerable.Range(0, context.Service.Endpoints.Count)]);

    /// <summary>Runs one policy over the given candidate endpoint indexes.</summary>
    public static int[] Run(ISelectionPolicy policy, SelectionContext context, int[] candidates)
    {
        var buffer = candidates.ToArray();
        var kept = policy.Apply(buffer, buffer.Length, context);
        return buffer[..kept];
    }

    public static string[] DataCentersOf(ServiceConfig service, IEnumerable<int> indexes) =>
        [.. indexes.Select(i => service.Endpoints[i].DataCenter)];

    /// <summary>
    /// Asserts that an observed count is within 5 standard deviations of a binomial expectation: a
    /// wrong distribution misses by far more at these sample sizes, and chance alone exceeds it less
    /// than once in a million runs.
    /// </summary>
    public static void AssertBinomial(int observed, int trials, double p, string what)
    {
        var expected = trials * p;
        var sigma = Math.Sqrt(trials * p * (1 - p));
        Assert.True(
            Math.Abs(observed - expected) <= 5 * sigma,
            $"{what}: observed {observed} of {trials}, expected {expected:0.#} ± {5 * sigma:0.#} (5 sigma)");
    }
}
