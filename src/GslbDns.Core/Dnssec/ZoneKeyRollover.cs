using GslbDns.Dns;

namespace GslbDns.Dnssec;

/// <summary>
/// Drives ZSK rollovers off the query path: reads a zone's key state, starts the rollover the schedule calls for
/// (the signing key's lifetime is over) or the operator asked for, drops removed keys, and says which keys to
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
                next = next.StartZskRollover(now, timings, NewZsk(next));
            }

            if (ReferenceEquals(next, read.State) || await store.TrySaveStateAsync(read, next, cancellationToken))
            {
                return next;
            }
        }

        throw new InvalidOperationException($"{store.Where(zone)}: the key state kept changing under this server");
    }

    /// <summary>Starts a ZSK rollover now (the operator's command); fails when one is under way.</summary>
    public async Task<ZoneKeyState> StartZskRolloverAsync(DnsName zone, CancellationToken cancellationToken = default)
    {
        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            var now = time.GetUtcNow();
            var read = await store.LoadOrCreateStateAsync(zone, now, cancellationToken);
            var next = read.State.WithoutRemoved(now).StartZskRollover(now, timings, NewZsk(read.State));
            if (await store.TrySaveStateAsync(read, next, cancellationToken))
            {
                return next;
            }
        }

        throw new InvalidOperationException($"{store.Where(zone)}: the key state kept changing");
    }

    /// <summary>A new ZSK whose key tag no key of the zone has (tags name files and RRSIGs' key tag fields).</summary>
    private static DnssecKey NewZsk(ZoneKeyState state)
    {
        while (true)
        {
            var key = DnssecKey.Generate(DnssecKey.ZoneKeyFlags);
            if (key.KeyTag != state.Ksk.KeyTag && state.Zsks.All(z => z.Key.KeyTag != key.KeyTag))
            {
                return key;
            }

            key.Dispose();
        }
    }
}
