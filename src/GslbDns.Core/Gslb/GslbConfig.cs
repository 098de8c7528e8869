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

    /// <summary>The endpoint's own <c>check</c> object: where its probe goes instead of the service check's target. Null: the service's.</summary>
    public EndpointCheck? Check { get; init; }

    /// <summary>
    /// <c>service</c>: the child service this endpoint stands for (nested services; see <see cref="CalculatedHealth"/>), linked by the
    /// loader once every service is read. Null for an address endpoint; <see cref="Address"/> is then a placeholder never answered.
    /// </summary>
    public ServiceConfig? Child { get; init; }

    /// <summary>
    /// <c>host</c>: a hostname endpoint (a cloud load balancer's name), answered as a CNAME or flattened into the addresses the
    /// background resolver found for it (<see cref="ResolvedHosts"/>). Null for an address endpoint; <see cref="Address"/> is then a placeholder.
    /// </summary>
    public DnsName? Host { get; init; }
    /// <summary>How this endpoint's external feed counts in its verdict: the service's <c>feed</c>, else the config's top-level <c>feed</c>, else vote.</summary>
    public FeedMode FeedMode { get; init; }

    /// <summary><c>capacity</c>: what the endpoint can carry, in the unit of its load figures (default 1: a load figure is then a utilisation).</summary>
    public double Capacity { get; init; } = 1;

    /// <summary>
    /// Where its health sits: its slot in the slot table of the configuration it was loaded with (none for an endpoint built by
    /// hand, which is then looked up by id). Not part of what the endpoint is: two endpoints that say the same are equal
    /// wherever they were loaded.
    /// </summary>
    public EndpointSlot Slot { get; init; }
}

/// <summary>
/// An endpoint's slot in one compiled configuration's <see cref="EndpointSlots"/>. Health readers compare <see cref="Table"/>
/// with the table a health snapshot was built for before trusting <see cref="Index"/>. A struct, so reading it costs no
/// extra memory access on the query path; equal to every other slot, so it stays out of the endpoint's value equality.
/// </summary>
public readonly struct EndpointSlot(int index, EndpointSlots table) : IEquatable<EndpointSlot>
{
    public int Index { get; } = index;

    /// <summary>The table <see cref="Index"/> belongs to; null: no slot.</summary>
    public EndpointSlots? Table { get; } = table;

    public static bool operator ==(EndpointSlot left, EndpointSlot right) => left.Equals(right);

    public static bool operator !=(EndpointSlot left, EndpointSlot right) => !left.Equals(right);

    public bool Equals(EndpointSlot other) => true;

    public override bool Equals(object? obj) => obj is EndpointSlot;

    public override int GetHashCode() => 0;

    public override string ToString() => Table is null ? "none" : Index.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>An endpoint's <c>check</c>: each part given replaces the service check's (or the answer's) for this endpoint's probe.</summary>
public sealed record EndpointCheck(IPAddress? Address, int? Port, string? Host);

/// <summary>Where one endpoint's probe goes and whom it names: the check target, which may differ from the answered address.</summary>
/// <param name="Host">HTTP Host header and TLS SNI, without the trailing dot.</param>
public sealed record CheckTarget(IPAddress Address, int Port, string Host)
{
    /// <summary>The target for <paramref name="endpoint"/> of <paramref name="service"/>: the endpoint's <c>check</c>, then the service check's, then the answer (address) and the service name (host).</summary>
    public static CheckTarget Of(ServiceConfig service, HealthCheck check, Endpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(check);
        ArgumentNullException.ThrowIfNull(endpoint);
        var own = endpoint.Check;
        return new CheckTarget(
            own?.Address ?? check.Address ?? endpoint.Address,
            own?.Port ?? check.Port,
            own?.Host ?? check.Host ?? service.Name.ToString().TrimEnd('.'));
    }

    /// <summary>True when config sets any part of the target apart from the answer (<c>check.address</c>/<c>host</c>, or the endpoint's own <c>check</c>): worth showing in explain.</summary>
    public static bool IsSet(HealthCheck check, Endpoint endpoint) =>
        endpoint.Check is not null || check.Address is not null || check.Host is not null;

    public override string ToString()
    {
        var address = Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{Address}]" : Address.ToString();
        return $"{address}:{Port.ToString(System.Globalization.CultureInfo.InvariantCulture)} host {Host}";
    }
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
    int SuccessThreshold)
{
    /// <summary><c>check.address</c>: every endpoint's probe goes here instead of the endpoint's address (a sidecar, a monitor). Null: the endpoint's.</summary>
    public IPAddress? Address { get; init; }

    /// <summary><c>check.host</c>: HTTP Host header and TLS SNI instead of the service name, without the trailing dot. http and https only.</summary>
    public string? Host { get; init; }

    /// <summary><c>check.url</c> of a <c>prometheus</c> check: the Prometheus server whose <c>/api/v1/query</c> is asked.</summary>
    public Uri? Url { get; init; }

    /// <summary><c>check.query</c> of a <c>prometheus</c> check: the PromQL expression, with <c>$address</c> and <c>$endpoint</c> not yet replaced.</summary>
    public string? Query { get; init; }

    /// <summary><c>check.load</c> of an http or https check: where a successful response carries the endpoint's load figure. Null: none.</summary>
    public LoadSource? LoadFrom { get; init; }
}

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
    IReadOnlyList<IPAddress> FallbackAddresses)
{
    /// <summary><c>health.dataCenter</c>: a data center's endpoints of this service take traffic only while this rule holds over them. Null: each endpoint on its own.</summary>
    public HealthRule? DataCenterHealth { get; init; }

    /// <summary><c>health.service</c>: when this service counts healthy as the child of another service (default: any usable endpoint).</summary>
    public HealthRule ServiceHealth { get; init; } = HealthRule.Any;

    /// <summary><c>hostAnswer</c>: how hostname endpoints answer (flattened by default).</summary>
    public HostAnswerMode HostAnswer { get; init; }
    /// <summary><c>feed</c>: how its endpoints' external feeds count (each endpoint carries it too, for the query path).</summary>
    public FeedMode FeedMode { get; init; }

    /// <summary><c>loadShedding</c>: watermarks at which the ranking steps move clients off an overloaded data center. Null: never.</summary>
    public LoadShedding? Shedding { get; init; }
}

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
    /// <summary><c>resolvers</c>: where hostname endpoints are resolved, and how long their addresses are trusted.</summary>
    public HostResolution Resolution { get; init; } = HostResolution.Default;

    private readonly IReadOnlyDictionary<DnsName, ServiceConfig> _services = Services;
    private EndpointSlots? _slots;

    public IReadOnlyDictionary<DnsName, ServiceConfig> Services
    {
        get => _services;

        // A copy with other services (tests build configs with "with") must not keep the slots of the original.
        init
        {
            _services = value;
            _slots = null;
        }
    }

    /// <summary>
    /// The slot of every endpoint (the loader assigns them and puts them on the endpoints too); for a configuration built by
    /// hand, a table over its services made on first use, which its endpoints do not carry, so they are read by id.
    /// </summary>
    public EndpointSlots Slots
    {
        get
        {
            if (Volatile.Read(ref _slots) is { } slots)
            {
                return slots;
            }

            // One table per config even when two threads ask first at once: the health snapshot and its readers compare references.
            Interlocked.CompareExchange(ref _slots, EndpointSlots.Of(_services.Values), null);
            return _slots!;
        }

        internal init => _slots = value;
    }

    public static readonly GslbConfig Empty = new(
        new Dictionary<string, DataCenter>(),
        new Dictionary<DnsName, ServiceConfig>(),
        new Dictionary<string, ProberRegion>(),
        RttMatrix.Empty,
        TtlLimits.Standard,
        new GeoLocation(0, 0, null, null, null, null, null));
}
