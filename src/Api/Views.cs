using System.Text.Json;

namespace GslbDns.Api;

// ---- Requests ---------------------------------------------------------------------------------------

/// <summary>PUT .../weight: 0..1000, like the configured weights (0: never picked unless every candidate is 0).</summary>
public sealed record WeightRequest(int? Weight, string? Reason);

/// <summary>PUT .../drain. <c>force</c> (with a reason) overrides the guardrail that keeps a service from losing its last usable endpoint.</summary>
public sealed record DrainRequest(string? Reason, bool? Force);

/// <summary>PUT .../override: force healthy or unhealthy until <c>expires</c> (or for <c>ttlSeconds</c>), at most 30 days ahead.</summary>
public sealed record OverrideRequest(bool? Healthy, DateTimeOffset? Expires, int? TtlSeconds, string? Reason, bool? Force);

/// <summary>Optional body of DELETE .../weight|drain|override (the reason and <c>force</c> may also be query parameters).</summary>
public sealed record ClearRequest(string? Reason, bool? Force);

// ---- Responses --------------------------------------------------------------------------------------

/// <summary>
/// One operator entry (weight, drain or override) of one object. <c>version</c> is also the ETag; 0 means
/// "not set" (and <c>If-Match: "0"</c> means "only if still not set").
/// </summary>
public sealed record EntryView(
    string Kind,
    string Target,
    bool Set,
    ulong Version,
    int? Weight,
    int? ConfiguredWeight,
    bool? Healthy,
    DateTimeOffset? Expires,
    bool? Expired,
    string? Reason,
    string? By,
    DateTimeOffset? At,
    string? AuditId);

/// <summary>How the live probers see an endpoint: the quorum verdict and each prober's view.</summary>
public sealed record HealthDetail(string Verdict, int Voters, int Down, IReadOnlyDictionary<string, bool> ByProber);

public sealed record EndpointView(
    string Id,
    string Service,
    string DataCenter,
    string Address,
    int Priority,
    int ConfiguredWeight,
    int EffectiveWeight,
    bool Usable,
    bool Drained,
    string? DrainedBy,
    bool? ForcedHealthy,
    HealthDetail Health,
    IReadOnlyDictionary<string, double> RttMsByRegion,
    EntryView? WeightOverride,
    EntryView? Drain,
    EntryView? Override)
{
    /// <summary>Where the probers check this endpoint (<c>check.address</c>/<c>port</c>/<c>host</c>, docs/gslb-config.md); null when the service has no check.</summary>
    public CheckTargetView? CheckTarget { get; init; }

    /// <summary>The child service this endpoint stands for (nested services) and whether it counts healthy; null for an address endpoint.</summary>
    public ChildServiceView? ChildService { get; init; }

    /// <summary>The service's <c>health.dataCenter</c> rule over this endpoint's data center; null when the service has none.</summary>
    public RuleOutcomeView? DataCenterHealth { get; init; }

    /// <summary>A hostname endpoint's name, how it answers, and what it resolved to; null for others.</summary>
    public HostEndpointView? Host { get; init; }
}

/// <summary>An endpoint's check target: the address and port probed, the HTTP Host / TLS SNI sent, and whether config set it apart from the answer.</summary>
public sealed record CheckTargetView(string Address, int Port, string Host, bool ApartFromAnswer);

public sealed record DataCenterView(
    string Name,
    double Latitude,
    double Longitude,
    string Region,
    int Bias,
    bool Drained,
    int UsableEndpoints,
    int Endpoints,
    IReadOnlyDictionary<string, double> RttMsByRegion,
    EntryView? WeightOverride,
    EntryView? Drain,
    EntryView? Override,
    IReadOnlyList<EndpointView> EndpointDetails);

public sealed record PolicyView(string Type, IReadOnlyDictionary<string, object?> Options);

public sealed record ServiceView(
    string Name,
    uint Ttl,
    IReadOnlyList<PolicyView> Policies,
    string WhenAllUnhealthy,
    IReadOnlyList<string> Fallback,
    string? Check,
    int UsableEndpoints,
    IReadOnlyList<EndpointView> Endpoints)
{
    /// <summary>The service's calculated health (<c>health</c>, docs/gslb-config.md): its rules, and whether it counts healthy as a child now.</summary>
    public ServiceHealthView? Health { get; init; }
}

public sealed record AuditView(
    string Id,
    DateTimeOffset At,
    string Actor,
    string Action,
    string Kind,
    string Target,
    JsonElement? Before,
    JsonElement? After,
    string? Reason,
    bool Forced,
    ulong Version);

public sealed record AuditPage(int Count, IReadOnlyList<AuditView> Entries);

public sealed record StateView(string Store, bool Connected, ulong Index, int Count, IReadOnlyList<EntryView> Entries);

public sealed record StatusView(
    string Store,
    bool StoreConnected,
    DateTimeOffset StoreLastSuccess,
    ulong StateIndex,
    DateTimeOffset SnapshotBuiltAt,
    double SnapshotAgeSeconds,
    int Zones,
    int Services,
    int DataCenters,
    IReadOnlyList<string> LiveProbers,
    DateTimeOffset HealthComputedAt);

public sealed record ListView<T>(int Count, IReadOnlyList<T> Items);

/// <summary>A calculated health rule and how it came out now: <paramref name="Usable"/> of <paramref name="Total"/> children usable.</summary>
public sealed record RuleOutcomeView(string Rule, bool Holds, int Usable, int Total);

/// <summary>A child service as its parent's endpoint sees it: healthy by its own <c>health.service</c> rule.</summary>
public sealed record ChildServiceView(string Service, RuleOutcomeView Health);

/// <summary>A service's <c>health</c>: the data-center rule (null: none) and the rule that makes it healthy as a child, with its outcome now.</summary>
public sealed record ServiceHealthView(string? DataCenter, RuleOutcomeView Service);

/// <summary>
/// A hostname endpoint as the background resolver sees it: its addresses (kept after a failure until <paramref name="UsableUntil"/>),
/// the record TTL, and the last failure. <paramref name="Answer"/> is <c>flatten</c> or <c>cname</c>.
/// </summary>
public sealed record HostEndpointView(
    string Name,
    string Answer,
    IReadOnlyList<string> Addresses,
    uint Ttl,
    DateTimeOffset? ResolvedAt,
    DateTimeOffset? UsableUntil,
    bool Usable,
    string? LastError,
    DateTimeOffset? LastFailureAt,
    long Successes,
    long Failures);
