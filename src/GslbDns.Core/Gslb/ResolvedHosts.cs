using System.Collections.Frozen;
using System.Net;
using GslbDns.Dns;

namespace GslbDns.Gslb;

/// <summary>How a service answers for its hostname endpoints (<c>hostAnswer</c>).</summary>
public enum HostAnswerMode
{
    /// <summary>Resolved off the query path and served as A/AAAA under the service's name ("ALIAS", as Route 53 and Cloudflare do). The default.</summary>
    Flatten,

    /// <summary>A CNAME to the first-ranked hostname; the client's resolver follows it.</summary>
    Cname,
}

/// <summary>Where hostname endpoints are resolved and how long their addresses are trusted (<c>resolvers</c>, docs/gslb-config.md).</summary>
/// <param name="Servers">Upstream resolvers, tried in order; empty: the system's (<c>/etc/resolv.conf</c>).</param>
/// <param name="Timeout">Per query to one upstream.</param>
/// <param name="MinRefresh">The floor of the re-resolution interval, and the retry interval after a failure.</param>
/// <param name="MaxRefresh">The ceiling of the re-resolution interval, however long the record's TTL.</param>
/// <param name="KeepLastGood">After a refresh falls due and fails, how long the last good addresses keep serving; then the endpoint is unusable.</param>
public sealed record HostResolution(IReadOnlyList<IPEndPoint> Servers, TimeSpan Timeout, TimeSpan MinRefresh, TimeSpan MaxRefresh, TimeSpan KeepLastGood)
{
    public static readonly HostResolution Default = new([], TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(5));

    /// <summary>When to resolve again after an answer with <paramref name="ttl"/>: at three quarters of the TTL, within the floor and ceiling, so the addresses are renewed before the record expires.</summary>
    public TimeSpan RefreshAfter(uint ttl)
    {
        var wanted = TimeSpan.FromSeconds(ttl * 0.75);
        return wanted < MinRefresh ? MinRefresh : wanted > MaxRefresh ? MaxRefresh : wanted;
    }
}

/// <summary>
/// One hostname as last resolved: its addresses (sorted, so probes and answers are stable across refreshes), the lowest TTL of
/// the answer, and until when they may serve. Immutable; the resolver replaces it.
/// </summary>
public sealed class HostAddresses
{
    public HostAddresses(DnsName host, IReadOnlyList<IPAddress> addresses, uint ttl, DateTimeOffset resolvedAt, DateTimeOffset usableUntil)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        Host = host;
        V4 = [.. addresses.Where(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork).Distinct().OrderBy(a => a.ToString(), StringComparer.Ordinal)];
        V6 = [.. addresses.Where(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6).Distinct().OrderBy(a => a.ToString(), StringComparer.Ordinal)];
        V4Wire = [.. V4.Select(a => a.GetAddressBytes())];
        V6Wire = [.. V6.Select(a => a.GetAddressBytes())];
        Ttl = ttl;
        ResolvedAt = resolvedAt;
        UsableUntil = usableUntil;
    }

    public DnsName Host { get; }

    public IPAddress[] V4 { get; }

    public IPAddress[] V6 { get; }

    /// <summary>The addresses as A/AAAA RDATA, written on the query path without conversion.</summary>
    public byte[][] V4Wire { get; }

    /// <inheritdoc cref="V4Wire"/>
    public byte[][] V6Wire { get; }

    /// <summary>The lowest TTL of the answer (CNAME chain included): flattened answers carry no more than this.</summary>
    public uint Ttl { get; init; }

    /// <summary>When the addresses were last resolved successfully; <see cref="DateTimeOffset.MinValue"/> when never.</summary>
    public DateTimeOffset ResolvedAt { get; init; }

    /// <summary>Until when these addresses serve: the refresh's due time plus <see cref="HostResolution.KeepLastGood"/>, moved on by every success.</summary>
    public DateTimeOffset UsableUntil { get; init; }

    /// <summary>The last failure's reason (timeout, SERVFAIL, no addresses), cleared by a success.</summary>
    public string? LastError { get; init; }

    public DateTimeOffset? LastFailureAt { get; init; }

    public long Successes { get; init; }

    public long Failures { get; init; }

    /// <summary>The first address probes go to: the lowest IPv4 address, else the lowest IPv6; null when none.</summary>
    public IPAddress? First => V4.Length > 0 ? V4[0] : V6.Length > 0 ? V6[0] : null;

    /// <summary>True when there are addresses and they are still within their bound at <paramref name="now"/>.</summary>
    public bool IsUsable(DateTimeOffset now) => (V4.Length > 0 || V6.Length > 0) && now < UsableUntil;

    public byte[][] Wire(bool ipv6) => ipv6 ? V6Wire : V4Wire;
}

/// <summary>Every hostname endpoint's addresses, as the background resolver last published them; swapped whole into the snapshot.</summary>
public sealed class ResolvedHosts
{
    public static readonly ResolvedHosts Empty = new(FrozenDictionary<DnsName, HostAddresses>.Empty);

    public ResolvedHosts(FrozenDictionary<DnsName, HostAddresses> hosts)
    {
        Hosts = hosts;
    }

    public FrozenDictionary<DnsName, HostAddresses> Hosts { get; }

    public HostAddresses? Find(DnsName host) => Hosts.Count > 0 && Hosts.TryGetValue(host, out var found) ? found : null;
}

/// <summary>Where a hostname endpoint is probed: its check target, with the host's first resolved address standing in for the answer.</summary>
public static class HostTargets
{
    /// <summary>
    /// <see cref="CheckTarget.Of"/>, except that a hostname endpoint with no <c>check.address</c> (its own or the service's) is probed
    /// at its first resolved address; null when it has not resolved (nothing to probe yet).
    /// </summary>
    public static CheckTarget? Of(ServiceConfig service, HealthCheck check, Endpoint endpoint, ResolvedHosts hosts)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(hosts);
        var target = CheckTarget.Of(service, check, endpoint);
        if (endpoint.Host is not { } host || endpoint.Check?.Address is not null || check.Address is not null)
        {
            return target;
        }

        return hosts.Find(host)?.First is { } first ? target with { Address = first } : null;
    }
}
