using GslbDns.Dns;

namespace GslbDns.Dnssec;

/// <summary>Where a ZSK is in its life (RFC 7583 3.1, simplified to what a pre-publication rollover needs).</summary>
public enum KeyPhase
{
    /// <summary>In the DNSKEY RRset, not signing yet: resolvers are picking it up with the DNSKEY RRset.</summary>
    Published,

    /// <summary>In the DNSKEY RRset and the key that signs.</summary>
    Active,

    /// <summary>Still in the DNSKEY RRset, no longer signing: cached signatures made by it are expiring from resolvers.</summary>
    Retired,

    /// <summary>Gone from the DNSKEY RRset.</summary>
    Removed,
}

/// <summary>
/// One ZSK and the times of its transitions, absolute and stored with the key: every server of a fleet reads the same
/// times and derives the same phase from its own clock, so nothing has to be coordinated beyond the write that starts
/// a rollover. Null: not scheduled yet (the active key has no retirement until its successor is published).
/// </summary>
public sealed record ZskEntry(DnssecKey Key, DateTimeOffset Published, DateTimeOffset ActiveAt, DateTimeOffset? RetireAt, DateTimeOffset? RemoveAt)
{
    public KeyPhase PhaseAt(DateTimeOffset now) =>
        RemoveAt <= now ? KeyPhase.Removed
        : RetireAt <= now ? KeyPhase.Retired
        : ActiveAt <= now ? KeyPhase.Active
        : KeyPhase.Published;
}

/// <summary>
/// The rollover timings (RFC 7583 3.3.1 and 4.1.1 with Dprp = <see cref="PropagationDelay"/>): a new ZSK signs once
/// every resolver that cached the DNSKEY RRset without it has dropped that copy (DNSKEY TTL + propagation); the old
/// one stays in the DNSKEY RRset until every signature it made has expired from caches (max TTL + propagation).
/// <see cref="MaxTtl"/> bounds both the DNSKEY TTL and every signed RRset's TTL, like Knot's <c>zone-max-ttl</c>.
/// </summary>
public sealed record RolloverTimings(TimeSpan MaxTtl, TimeSpan PropagationDelay, TimeSpan ZskLifetime)
{
    public static readonly RolloverTimings Default = new(TimeSpan.FromDays(1), TimeSpan.FromHours(1), TimeSpan.FromDays(30));

    /// <summary>From publication to signing.</summary>
    public TimeSpan PublishSafety => MaxTtl + PropagationDelay;

    /// <summary>From retirement to removal.</summary>
    public TimeSpan RetireSafety => MaxTtl + PropagationDelay;
}

/// <summary>
/// A zone's keys with their schedule: one KSK and the ZSKs in the order they were made. Immutable; a rollover
/// returns a new state to store. <see cref="KeysAt"/> is what a server publishes and signs with at a given time.
/// </summary>
public sealed class ZoneKeyState
{
    public ZoneKeyState(DnsName zone, DnssecKey ksk, IReadOnlyList<ZskEntry> zsks)
    {
        if (zsks.Count == 0)
        {
            throw new ArgumentException("a zone needs at least one ZSK", nameof(zsks));
        }

        Zone = zone;
        Ksk = ksk;
        Zsks = zsks;
    }

    public DnsName Zone { get; }

    public DnssecKey Ksk { get; }

    public IReadOnlyList<ZskEntry> Zsks { get; }

    /// <summary>A new zone's state: both keys in use from <paramref name="now"/>.</summary>
    public static ZoneKeyState Initial(DnsName zone, DnssecKey ksk, DnssecKey zsk, DateTimeOffset now) =>
        new(zone, ksk, [new ZskEntry(zsk, now, now, null, null)]);

    /// <summary>
    /// The key that signs at <paramref name="now"/>: the newest active one. When none is active (a clock far behind
    /// the store's times), the oldest not yet removed, so a server always signs with a published key.
    /// </summary>
    public ZskEntry SigningAt(DateTimeOffset now) =>
        Zsks.LastOrDefault(z => z.PhaseAt(now) == KeyPhase.Active)
        ?? Zsks.FirstOrDefault(z => z.PhaseAt(now) != KeyPhase.Removed)
        ?? Zsks[^1];

    /// <summary>What to publish and sign with at <paramref name="now"/>.</summary>
    public ZoneKeys KeysAt(DateTimeOffset now)
    {
        var signing = SigningAt(now);
        var published = Zsks.Where(z => !ReferenceEquals(z, signing) && z.PhaseAt(now) != KeyPhase.Removed).Select(z => z.Key).ToArray();
        return new ZoneKeys(Zone, Ksk, signing.Key, published);
    }

    /// <summary>A rollover is under way: a successor is published and not yet signing.</summary>
    public bool RollingAt(DateTimeOffset now) => Zsks.Any(z => z.PhaseAt(now) == KeyPhase.Published);

    /// <summary>The signing key has reached the end of its lifetime and no successor is on its way.</summary>
    public bool RolloverDueAt(DateTimeOffset now, RolloverTimings timings) =>
        !RollingAt(now) && SigningAt(now).ActiveAt + timings.ZskLifetime <= now;

    /// <summary>
    /// Starts a pre-publication rollover at <paramref name="now"/>: <paramref name="successor"/> is published now and
    /// signs after <see cref="RolloverTimings.PublishSafety"/>; the signing key retires then and is removed after
    /// <see cref="RolloverTimings.RetireSafety"/>. Keys already removed are dropped from the state.
    /// </summary>
    public ZoneKeyState StartZskRollover(DateTimeOffset now, RolloverTimings timings, DnssecKey successor)
    {
        if (RollingAt(now))
        {
            throw new InvalidOperationException($"{Zone}: a ZSK rollover is already under way (key {Zsks.First(z => z.PhaseAt(now) == KeyPhase.Published).Key.KeyTag} is published, not yet signing)");
        }

        var signing = SigningAt(now);
        var activeAt = now + timings.PublishSafety;
        var kept = Zsks
            .Where(z => z.PhaseAt(now) != KeyPhase.Removed)
            .Select(z => ReferenceEquals(z, signing) ? z with { RetireAt = activeAt, RemoveAt = activeAt + timings.RetireSafety } : z);
        return new ZoneKeyState(Zone, Ksk, [.. kept, new ZskEntry(successor, now, activeAt, null, null)]);
    }

    /// <summary>Drops the keys removed by <paramref name="now"/> (their files can go).</summary>
    public ZoneKeyState WithoutRemoved(DateTimeOffset now)
    {
        var kept = Zsks.Where(z => z.PhaseAt(now) != KeyPhase.Removed).ToArray();
        return kept.Length == Zsks.Count || kept.Length == 0 ? this : new ZoneKeyState(Zone, Ksk, kept);
    }

    /// <summary>The next time anything changes for a server (a transition, or the signing key's end of life); null: none scheduled.</summary>
    public DateTimeOffset? NextChangeAfter(DateTimeOffset now, RolloverTimings timings)
    {
        var times = Zsks.SelectMany(z => new DateTimeOffset?[] { z.ActiveAt, z.RetireAt, z.RemoveAt })
            .Append(SigningAt(now).ActiveAt + timings.ZskLifetime)
            .Where(t => t > now)
            .Select(t => t!.Value)
            .ToArray();
        return times.Length == 0 ? null : times.Min();
    }

    /// <summary>One line per ZSK for the operator: tag, phase and times.</summary>
    public IEnumerable<string> Describe(DateTimeOffset now) =>
        Zsks.Select(z => $"{Zone} ZSK {z.Key.KeyTag} {z.PhaseAt(now).ToString().ToLowerInvariant()} published {z.Published:u} active {z.ActiveAt:u}"
            + (z.RetireAt is { } retire ? $" retire {retire:u}" : "") + (z.RemoveAt is { } remove ? $" remove {remove:u}" : ""));
}
