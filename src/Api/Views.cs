using System.Text.Json;

namespace GslbDns.Api;

// ---- Requests ---------------------------------------------------------------------------------------

/// <summary>PUT .../weight: 0..1000, like the configured weights (0: never picked unless every candidate is 0).</summary>
public sealed record WeightRequest(int? Weight, string? Reason);

/// <summary>PUT .../drain. <c>force</c> (with a reason) overrides the guardrail that keeps a service from losing its last usable endpoint.</summary>
public sealed record DrainRequest(string? Reason, bool? Force);

/// <summary>PUT .../override: force healthy or unhealthy until <c>expires</c> (or for <c>ttlSeconds</c>), at most 30 days ahead.</summary>
public sealed record OverrideRequest(bool? Healthy, DateTimeOffset? Expires, int? TtlSeconds, string? Reason, bool? Force);

/// <summary>
/// PUT .../feed: an external monitor's vote (<c>up</c>) and/or load figure (<c>load</c>, in the unit of the endpoint's
/// <c>capacity</c>), in force for <c>expiresIn</c> (a duration such as "60s", 1s..24h).
/// </summary>
public sealed record FeedRequest(bool? Up, double? Load, string? ExpiresIn, string? Reason);

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
    string? AuditId)
{
    /// <summary>A feed's load figure (kind <c>feed</c>; its vote is <c>healthy</c>).</summary>
    public double? Load { get; init; }
}

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
    /// <summary>The external feed (PUT .../feed) and how it counts; null when none was ever set.</summary>
    public FeedView? Feed { get; init; }

    /// <summary>The load figure in force (feed, else the probers' <c>check.load</c>) against the endpoint's capacity; null when none.</summary>
    public LoadView? Load { get; init; }
}

/// <summary>An endpoint's feed: its vote and load, until when, whether it still counts and how (<c>vote</c>, <c>veto</c>, <c>off</c>).</summary>
public sealed record FeedView(bool? Up, double? Load, DateTimeOffset Expires, bool Expired, string Mode, bool Counted, ulong Version, string? By, DateTimeOffset At, string? Reason);

/// <summary>A load figure, where it came from (<c>feed</c> or <c>probe</c>), the capacity and the utilisation (load / capacity).</summary>
public sealed record LoadView(double Load, string Source, double Capacity, double Utilisation);

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

    /// <summary><c>feed</c>: how the endpoints' external feeds count (vote, veto, off).</summary>
    public string FeedMode { get; init; } = "vote";

    /// <summary><c>loadShedding</c>: the watermarks; null when the service sheds no load.</summary>
    public LoadSheddingView? LoadShedding { get; init; }
}

/// <summary>A service's load-shedding watermarks (utilisations): shedding starts at the low one and is total at the high one.</summary>
public sealed record LoadSheddingView(double LowWatermark, double HighWatermark);

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
