using System.Text.Json.Serialization;

namespace GslbDns.Reports;

/// <summary>Who a prober is and where it probes from (its region's coordinates feed the latency policy).</summary>
public sealed record ProberInfo(string Id, string Region, double Latitude, double Longitude, DateTimeOffset StartedAt);

/// <summary>
/// One prober's current view of one endpoint. <see cref="Up"/> already includes the prober's
/// hysteresis: it turns false only after the check's failure threshold of consecutive failures and
/// true again only after its success threshold of consecutive successes.
/// </summary>
/// <param name="Up">The prober's verdict.</param>
/// <param name="ConsecutiveFailures">Current failure streak (0 after a success).</param>
/// <param name="ConsecutiveSuccesses">Current success streak (0 after a failure).</param>
/// <param name="RttMs">Smoothed (EWMA) round-trip time of successful checks, null before the first success.</param>
/// <param name="CheckedAt">When the last check finished.</param>
/// <param name="Error">Why the last check failed, for operators; null after a success.</param>
public sealed record EndpointObservation(bool Up, int ConsecutiveFailures, int ConsecutiveSuccesses, double? RttMs, DateTimeOffset CheckedAt, string? Error)
{
    /// <summary>The load figure the last successful check read from the health response (<c>check.load</c>); null when none.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Load { get; init; }
}

/// <summary>
/// Everything one prober publishes, as one document: one write per probe cycle. In Consul it lives at
/// <see cref="HealthKeys.ProberReport"/> held by the prober's session, so it vanishes when the prober dies.
/// </summary>
public sealed record ProberReport(ProberInfo Prober, IReadOnlyDictionary<string, EndpointObservation> Endpoints, DateTimeOffset PublishedAt);

/// <summary>The Consul KV layout shared by the prober fleet, the DNS servers and the API.</summary>
public static class HealthKeys
{
    /// <summary>Default root; configurable so several GslbDns installations can share one Consul.</summary>
    public const string DefaultPrefix = "gslbdns/";

    /// <summary>Folder the DNS servers watch (recurse, blocking query) for prober reports.</summary>
    public static string Probers(string prefix) => prefix + "probers/";

    /// <summary><c>{prefix}probers/{proberId}</c>: a <see cref="ProberReport"/> as JSON, acquired by the prober's session.</summary>
    public static string ProberReport(string prefix, string proberId) => Probers(prefix) + proberId;
}

[JsonSerializable(typeof(ProberReport))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
public sealed partial class HealthJsonContext : JsonSerializerContext
{
}
