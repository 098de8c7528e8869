using System.Net;
using GslbDns.Dns;
using GslbDns.Geo;

namespace GslbDns.Gslb;

/// <summary>A data center: where its endpoints are, and how far its geo-proximity area reaches.</summary>
/// <param name="Bias">Route 53-style geoproximity bias, -99..99: positive grows the area it wins, negative shrinks it.</param>
public sealed record DataCenter(string Name, double Latitude, double Longitude, string Region, int Bias);

/// <summary>One address a service can answer with, in one data center.</summary>
/// <param name="Id">Stable key for health and weight state: <c>service-name/data-center/address</c>.</param>
public sealed record Endpoint(string Id, string DataCenter, IPAddress Address, int Weight, int Priority)
{
    public bool IsIPv6 => Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
}

/// <summary>How probers check an endpoint (the prober issue runs these).</summary>
public sealed record HealthCheck(
    string Type,
    int Port,
    string? Path,
    int ExpectStatus,
    string? ExpectBody,
    string? QueryName,
    TimeSpan Interval,
    TimeSpan Timeout,
    int FailureThreshold,
    int SuccessThreshold);

/// <summary>What a service answers when no endpoint is healthy. Never SERVFAIL.</summary>
public enum AllUnhealthyBehavior
{
    /// <summary>Answer as if every endpoint were healthy (default): a broken health signal must not take the service down.</summary>
    FailOpen,

    /// <summary>Answer with the configured fallback addresses.</summary>
    Fallback,
}

/// <summary>A load-balanced name and how it chooses among its endpoints.</summary>
public sealed record ServiceConfig(
    DnsName Name,
    uint Ttl,
    IReadOnlyList<Endpoint> Endpoints,
    HealthCheck? Check,
    IReadOnlyList<ISelectionPolicy> Policies,
    AllUnhealthyBehavior WhenAllUnhealthy,
    IReadOnlyList<IPAddress> FallbackAddresses);

/// <summary>A prober region: its location, so the latency policy can pick the region nearest the client.</summary>
public sealed record ProberRegion(string Name, double Latitude, double Longitude);

/// <summary>Bounds for per-service TTLs, and how long answers keep the short TTL after a change.</summary>
public sealed record TtlLimits(uint Default, uint Min, uint Max)
{
    public static readonly TimeSpan DefaultChangeWindow = TimeSpan.FromMinutes(5);

    public static readonly TtlLimits Standard = new(30, 5, 300);

    /// <summary>
    /// After a change of a service's answers (an endpoint's health flipped, a drain, weight or override on it changed,
    /// a drill started or ended) its answers carry <see cref="Min"/> as TTL for this long, so resolvers follow the change;
    /// then the service TTL again (see <see cref="AnswerChanges"/>). Zero turns it off.
    /// </summary>
    public TimeSpan ChangeWindow { get; init; } = DefaultChangeWindow;

    /// <summary>The TTL for <paramref name="service"/>'s answers at <paramref name="now"/>: <see cref="Min"/> near a change of any of its endpoints, else the service TTL.</summary>
    public uint TtlAt(ServiceConfig service, GslbState state, DateTimeOffset now)
    {
        var changes = state.Changes;
        if (changes.Count == 0 || Min >= service.Ttl || ChangeWindow <= TimeSpan.Zero || now > changes.Latest + ChangeWindow)
        {
            return service.Ttl;
        }

        var lead = TimeSpan.FromSeconds(service.Ttl);
        var endpoints = service.Endpoints;
        for (var i = 0; i < endpoints.Count; i++)
        {
            if (changes.IsNear(endpoints[i], now, lead, ChangeWindow))
            {
                return Min;
            }
        }

        return service.Ttl;
    }
}

/// <summary>The whole GSLB configuration, validated as a whole; immutable once built.</summary>
public sealed record GslbConfig(
    IReadOnlyDictionary<string, DataCenter> DataCenters,
    IReadOnlyDictionary<DnsName, ServiceConfig> Services,
    IReadOnlyDictionary<string, ProberRegion> Regions,
    RttMatrix StaticRtt,
    TtlLimits Ttl,
    GeoLocation DefaultLocation)
{
    public static readonly GslbConfig Empty = new(
        new Dictionary<string, DataCenter>(),
        new Dictionary<DnsName, ServiceConfig>(),
        new Dictionary<string, ProberRegion>(),
        RttMatrix.Empty,
        TtlLimits.Standard,
        new GeoLocation(0, 0, null, null, null, null, null));
}
