using GslbDns.Query;

namespace GslbDns.Observability;

/// <summary>The readiness checks the processes share (the DNS server, the API; the prober has its own).</summary>
public static class ReadinessChecks
{
    /// <summary>
    /// How old the health state may be before /readyz says the snapshot is stale. Generous on purpose: a server
    /// whose prober data stopped keeps answering with its last verdicts (static stability), so being out of
    /// rotation is for a source that is gone for minutes, not for one slow round.
    /// </summary>
    public static readonly TimeSpan StateMaxAge = TimeSpan.FromMinutes(2);

    /// <summary><c>zones</c>: at least one zone is being served.</summary>
    public static ReadinessCheck ZonesLoaded(SnapshotHolder snapshots, string folder) => new("zones", () =>
        snapshots.Current.Zones.Count > 0 ? null : $"no zone loaded from {folder}");

    /// <summary>
    /// <c>snapshot</c>: a snapshot was built, and (when health comes from probers and the config has endpoints) the
    /// health state answers use was refreshed within <see cref="StateMaxAge"/>.
    /// </summary>
    public static ReadinessCheck SnapshotFresh(SnapshotHolder snapshots, bool healthFromProbers, TimeProvider? time = null) => new("snapshot", () =>
    {
        var snapshot = snapshots.Current;
        if (snapshot.BuiltAt == DateTimeOffset.UnixEpoch)
        {
            return "no snapshot built yet";
        }

        if (!healthFromProbers || !snapshot.Gslb.Services.Values.Any(s => s.Endpoints.Count > 0))
        {
            return null;
        }

        if (snapshot.State.AsOf == DateTimeOffset.UnixEpoch)
        {
            return "no health verdicts from any prober yet";
        }

        var age = (time ?? TimeProvider.System).GetUtcNow() - snapshot.State.AsOf;
        return age <= StateMaxAge ? null : $"health state is {age.TotalSeconds:0} s old (limit {StateMaxAge.TotalSeconds:0} s)";
    });

    /// <summary>A watch that must have read its source once (<c>consul_watch</c>, <c>operator_state</c>).</summary>
    public static ReadinessCheck SyncedOnce(string name, string source, Func<bool> synced) => new(name, () =>
        synced() ? null : $"no successful read of {source} yet");
}
