using GslbDns.Geo;
using GslbDns.Gslb;

namespace GslbDns.Query;

/// <summary>
/// Everything a query reads, frozen. A reload or a state change builds a new snapshot and swaps
/// the reference; readers never lock and never see a half-built state.
/// </summary>
/// <param name="Zones">Every served zone, with load-balanced names compiled into their nodes.</param>
/// <param name="Gslb">Data centers, services and policies (config: changes on reload).</param>
/// <param name="State">Health, weights, drains, overrides, RTTs (data: changes at run time).</param>
/// <param name="Locator">Client location: geo-data overrides, then GeoIP, then the configured default.</param>
/// <param name="BuiltAt">When this snapshot was built; its age is exported so staleness is visible.</param>
public sealed record ServerSnapshot(ZoneSet Zones, GslbConfig Gslb, GslbState State, IClientLocator? Locator, DateTimeOffset BuiltAt)
{
    public static readonly ServerSnapshot Empty = new(ZoneSet.Empty, GslbConfig.Empty, GslbState.Empty, null, DateTimeOffset.UnixEpoch);

    /// <summary>Hostname endpoints' addresses as the background resolver last published them (data: changes at run time).</summary>
    public ResolvedHosts Hosts { get; init; } = ResolvedHosts.Empty;
}

/// <summary>Holds the current snapshot; writers swap it atomically, readers take one volatile read per query.</summary>
public sealed class SnapshotHolder
{
    private ServerSnapshot _current;

    public SnapshotHolder(ServerSnapshot initial)
    {
        _current = initial;
    }

    public ServerSnapshot Current => Volatile.Read(ref _current);

    /// <summary>
    /// Replaces the snapshot with <paramref name="change"/> applied to the current one. Config reloads and
    /// state updates come from different threads; the compare-and-swap loop keeps either from undoing the other.
    /// </summary>
    public ServerSnapshot Update(Func<ServerSnapshot, ServerSnapshot> change)
    {
        while (true)
        {
            var current = Volatile.Read(ref _current);
            var next = change(current);
            if (ReferenceEquals(Interlocked.CompareExchange(ref _current, next, current), current))
            {
                return next;
            }
        }
    }
}
