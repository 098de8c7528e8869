using GslbDns.Dns;

namespace GslbDns.Dnssec;

/// <summary>
/// Drives key rollovers off the query path: reads a zone's key state, starts the ZSK rollover the schedule calls for
/// (the signing key's lifetime is over) or the rollover the operator asked for (ZSK, or KSK and its DS confirmation), drops removed keys, and says which keys to
/// publish and sign with now. Writes are check-and-set, so when several servers (or the dnssec-rollover command)
/// act at once one wins and the others read its state: the schedule is data, each server's clock does the rest.
/// </summary>
public sealed class ZoneKeyRollover(IZoneKeyStateStore store, RolloverTimings timings, TimeProvider time)
{
    private const int Attempts = 5;

    public RolloverTimings Timings => timings;

    public string Where(DnsName zone) => store.Where(zone);

    /// <summary>The zone's state after any transition due now has been stored.</summary>
    public async Task<ZoneKeyState> EvaluateAsync(DnsName zone, CancellationToken cancellationToken = default)
    {
        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            var now = time.GetUtcNow();
            var read = await store.LoadOrCreateStateAsync(zone, now, cancellationToken);
            var next = read.State.WithoutRemoved(now);
            if (next.RolloverDueAt(now, timings))
            {
                next = next.StartZskRollover(now, timings, NewKey(next, DnssecKey.ZoneKeyFlags));
            }

            if (ReferenceEquals(next, read.State) || await store.TrySaveStateAsync(read, next, cancellationToken))
            {
                return next;
            }
        }

        throw new InvalidOperationException($"{store.Where(zone)}: the key state kept changing under this server");
    }

    /// <summary>Starts a ZSK rollover now (the operator's command); fails when one is under way.</summary>
    public Task<ZoneKeyState> StartZskRolloverAsync(DnsName zone, CancellationToken cancellationToken = default) =>
        UpdateAsync(zone, (state, now) => state.StartZskRollover(now, timings, NewKey(state, DnssecKey.ZoneKeyFlags)), cancellationToken);

    /// <summary>Starts a double-KSK rollover now (the operator's command); fails when one is under way.</summary>
    public Task<ZoneKeyState> StartKskRolloverAsync(DnsName zone, CancellationToken cancellationToken = default) =>
        UpdateAsync(zone, (state, now) => state.StartKskRollover(now, timings, NewKey(state, DnssecKey.KeySigningFlags)), cancellationToken);

    /// <summary>The operator's confirmation that the parent's DS names the new KSK; fails unless it is ready.</summary>
    public Task<ZoneKeyState> ConfirmDsPublishedAsync(DnsName zone, CancellationToken cancellationToken = default) =>
        UpdateAsync(zone, (state, now) => state.ConfirmDsPublished(now, timings), cancellationToken);

    /// <summary>The zone's state as stored, nothing changed (the operator's view).</summary>
    public async Task<ZoneKeyState> ReadAsync(DnsName zone, CancellationToken cancellationToken = default) =>
        (await store.LoadOrCreateStateAsync(zone, time.GetUtcNow(), cancellationToken)).State;

    /// <summary>Applies an operator's change to the state read now (removed keys dropped first), check-and-set, read again when another writer won.</summary>
    private async Task<ZoneKeyState> UpdateAsync(DnsName zone, Func<ZoneKeyState, DateTimeOffset, ZoneKeyState> change, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            var now = time.GetUtcNow();
            var read = await store.LoadOrCreateStateAsync(zone, now, cancellationToken);
            var next = change(read.State.WithoutRemoved(now), now);
            if (await store.TrySaveStateAsync(read, next, cancellationToken))
            {
                return next;
            }
        }

        throw new InvalidOperationException($"{store.Where(zone)}: the key state kept changing");
    }

    /// <summary>A new key whose key tag no key of the zone has (tags name files and RRSIGs' key tag fields).</summary>
    private static DnssecKey NewKey(ZoneKeyState state, ushort flags)
    {
        while (true)
        {
            var key = DnssecKey.Generate(flags);
            if (state.Ksks.All(k => k.Key.KeyTag != key.KeyTag) && state.Zsks.All(z => z.Key.KeyTag != key.KeyTag))
            {
                return key;
            }

            key.Dispose();
        }
    }
}
