using GslbDns.Dns;

namespace GslbDns.Dnssec;

/// <summary>Where a key is in its life (RFC 7583 3.1, simplified to what a ZSK pre-publication and a double-KSK rollover need).</summary>
public enum KeyPhase
{
    /// <summary>In the DNSKEY RRset, not signing yet: resolvers are picking it up with the DNSKEY RRset. A new KSK already signs the DNSKEY RRset (harmless: no DS names it yet).</summary>
    Published,

    /// <summary>
    /// A new KSK that has been published for DNSKEY TTL + propagation: every resolver that sees a DS naming it also
    /// finds it in the DNSKEY RRset, so CDS/CDNSKEY name it and the parent may switch its DS (the operator confirms).
    /// </summary>
    Ready,

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
/// One KSK and its transitions (RFC 7583 3.3.2, double-KSK): a new KSK is published and signs the DNSKEY RRset
/// alongside the old one at once; after <see cref="RolloverTimings.KskReadySafety"/> it is ready (CDS/CDNSKEY name it);
/// it becomes active when the operator confirms the parent's DS names it (<see cref="ActiveAt"/>, null until then),
/// which retires the old KSK: still published and still signing the DNSKEY RRset for resolvers holding the old DS,
/// until <see cref="RemoveAt"/>. The zone's first KSK is active from its creation.
/// </summary>
public sealed record KskEntry(DnssecKey Key, DateTimeOffset Published, DateTimeOffset ReadyAt, DateTimeOffset? ActiveAt, DateTimeOffset? RetireAt, DateTimeOffset? RemoveAt)
{
    public KeyPhase PhaseAt(DateTimeOffset now) =>
        RemoveAt <= now ? KeyPhase.Removed
        : RetireAt <= now ? KeyPhase.Retired
        : ActiveAt <= now ? KeyPhase.Active
        : ReadyAt <= now ? KeyPhase.Ready
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

    /// <summary>The TTL of the zone's DS RRset at the parent (the parent's choice; 1 day, like BIND's parent-ds-ttl default): how long resolvers may hold the old DS after the parent changed it.</summary>
    public TimeSpan ParentDsTtl { get; init; } = TimeSpan.FromDays(1);

    /// <summary>From a new KSK's publication until its DS may go to the parent (RFC 7583 3.3.2: DNSKEY TTL + propagation).</summary>
    public TimeSpan KskReadySafety => MaxTtl + PropagationDelay;

    /// <summary>From the confirmed DS change until the old KSK goes (RFC 7583 3.3.2: DS TTL + propagation).</summary>
    public TimeSpan KskRetireSafety => ParentDsTtl + PropagationDelay;

    /// <summary>From publication to signing.</summary>
    public TimeSpan PublishSafety => MaxTtl + PropagationDelay;

    /// <summary>From retirement to removal.</summary>
    public TimeSpan RetireSafety => MaxTtl + PropagationDelay;
}

/// <summary>
/// A zone's keys with their schedule: the KSKs (one, two during a KSK rollover) and the ZSKs, each in the order they
/// were made. Immutable; a rollover returns a new state to store. <see cref="KeysAt"/> is what a server publishes and
/// signs with at a given time.
/// </summary>
public sealed class ZoneKeyState
{
    /// <summary>At most: the active KSK and its successor (a second KSK rollover waits for the first to end).</summary>
    public const int MaxKsks = 2;

    public ZoneKeyState(DnsName zone, IReadOnlyList<KskEntry> ksks, IReadOnlyList<ZskEntry> zsks)
    {
        if (zsks.Count == 0 || ksks.Count is 0 or > MaxKsks)
        {
            throw new ArgumentException($"a zone needs one or {MaxKsks} KSKs and at least one ZSK");
        }

        if (!ksks.Any(k => k.ActiveAt is not null))
        {
            throw new ArgumentException("a zone needs a KSK whose DS the parent has (an active one)", nameof(ksks));
        }

        Zone = zone;
        Ksks = ksks;
        Zsks = zsks;
    }

    public DnsName Zone { get; }

    public IReadOnlyList<KskEntry> Ksks { get; }

    public IReadOnlyList<ZskEntry> Zsks { get; }

    /// <summary>The KSK the parent's DS names, as last confirmed: the newest with an activation time.</summary>
    public DnssecKey Ksk => Ksks.Last(k => k.ActiveAt is not null).Key;

    /// <summary>A new zone's state: both keys in use from <paramref name="now"/>.</summary>
    public static ZoneKeyState Initial(DnsName zone, DnssecKey ksk, DnssecKey zsk, DateTimeOffset now) =>
        new(zone, [new KskEntry(ksk, now, now, now, null, null)], [new ZskEntry(zsk, now, now, null, null)]);

    /// <summary>
    /// The key that signs at <paramref name="now"/>: the newest active one. When none is active (a clock far behind
    /// the store's times), the oldest not yet removed, so a server always signs with a published key.
    /// </summary>
    public ZskEntry SigningAt(DateTimeOffset now) =>
        Zsks.LastOrDefault(z => z.PhaseAt(now) == KeyPhase.Active)
        ?? Zsks.FirstOrDefault(z => z.PhaseAt(now) != KeyPhase.Removed)
        ?? Zsks[^1];

    /// <summary>
    /// The KSK that CDS/CDNSKEY name at <paramref name="now"/>: a successor once ready (the parent may switch to it),
    /// else the active one. Every other KSK not removed is published too and signs the DNSKEY RRset as well.
    /// </summary>
    public KskEntry DsKskAt(DateTimeOffset now) =>
        Ksks.LastOrDefault(k => k.PhaseAt(now) is KeyPhase.Ready or KeyPhase.Active)
        ?? Ksks.FirstOrDefault(k => k.PhaseAt(now) != KeyPhase.Removed)
        ?? Ksks[^1];

    /// <summary>What to publish and sign with at <paramref name="now"/>.</summary>
    public ZoneKeys KeysAt(DateTimeOffset now)
    {
        var signing = SigningAt(now);
        var published = Zsks.Where(z => !ReferenceEquals(z, signing) && z.PhaseAt(now) != KeyPhase.Removed).Select(z => z.Key).ToArray();
        var ds = DsKskAt(now);
        var otherKsks = Ksks.Where(k => !ReferenceEquals(k, ds) && k.PhaseAt(now) != KeyPhase.Removed).Select(k => k.Key).ToArray();
        return new ZoneKeys(Zone, ds.Key, signing.Key, published, otherKsks);
    }

    /// <summary>A rollover is under way: a successor is published and not yet signing.</summary>
    public bool RollingAt(DateTimeOffset now) => Zsks.Any(z => z.PhaseAt(now) == KeyPhase.Published);

    /// <summary>A KSK rollover is under way: more than one KSK is still published.</summary>
    public bool RollingKskAt(DateTimeOffset now) => Ksks.Count(k => k.PhaseAt(now) != KeyPhase.Removed) > 1;

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
        return new ZoneKeyState(Zone, LiveKsks(now), [.. kept, new ZskEntry(successor, now, activeAt, null, null)]);
    }

    /// <summary>
    /// Starts a double-KSK rollover at <paramref name="now"/> (RFC 7583 3.3.2): <paramref name="successor"/> is
    /// published now and signs the DNSKEY RRset with the active KSK; it is ready for the parent's DS after
    /// <see cref="RolloverTimings.KskReadySafety"/>. Refused while another KSK rollover has not ended.
    /// </summary>
    public ZoneKeyState StartKskRollover(DateTimeOffset now, RolloverTimings timings, DnssecKey successor)
    {
        if (RollingKskAt(now))
        {
            var other = Ksks.Where(k => k.PhaseAt(now) != KeyPhase.Removed).Select(k => $"KSK {k.Key.KeyTag} {Name(k.PhaseAt(now))}");
            throw new InvalidOperationException($"{Zone}: a KSK rollover is already under way ({string.Join(", ", other)}); it ends when the old KSK is removed");
        }

        return new ZoneKeyState(Zone, [.. LiveKsks(now), new KskEntry(successor, now, now + timings.KskReadySafety, null, null, null)], Zsks);
    }

    /// <summary>
    /// The operator's word that the parent's DS now names the new KSK: it becomes active, and the old KSK retires (it
    /// stays published, and keeps signing the DNSKEY RRset for resolvers still holding the old DS, for
    /// <see cref="RolloverTimings.KskRetireSafety"/>). Refused unless a new KSK is ready: before that, a resolver could
    /// meet the new DS with a cached DNSKEY RRset that lacks the new key.
    /// </summary>
    public ZoneKeyState ConfirmDsPublished(DateTimeOffset now, RolloverTimings timings)
    {
        var successor = Ksks.FirstOrDefault(k => k.ActiveAt is null && k.PhaseAt(now) != KeyPhase.Removed);
        if (successor is null)
        {
            var retired = Ksks.FirstOrDefault(k => k.PhaseAt(now) == KeyPhase.Retired);
            throw new InvalidOperationException(retired is null
                ? $"{Zone}: no KSK rollover is under way (start one with --key ksk)"
                : $"{Zone}: the DS change was already confirmed; KSK {retired.Key.KeyTag} is retired and goes at {retired.RemoveAt:u}");
        }

        if (successor.PhaseAt(now) != KeyPhase.Ready)
        {
            throw new InvalidOperationException(
                $"{Zone}: KSK {successor.Key.KeyTag} is not ready yet: it is published since {successor.Published:u} and ready at {successor.ReadyAt:u} "
                + "(--dnssec-max-ttl + --dnssec-propagation-delay after publication); before that a resolver could meet its DS with a cached DNSKEY RRset "
                + "that lacks it. Give the parent its DS once it is ready (CDS shows it), then confirm");
        }

        var removeAt = now + timings.KskRetireSafety;
        var ksks = LiveKsks(now).Select(k =>
            ReferenceEquals(k, successor) ? k with { ActiveAt = now }
            : k.ActiveAt is not null && k.RetireAt is null ? k with { RetireAt = now, RemoveAt = removeAt }
            : k);
        return new ZoneKeyState(Zone, [.. ksks], Zsks);
    }

    /// <summary>Drops the keys removed by <paramref name="now"/> (their files can go).</summary>
    public ZoneKeyState WithoutRemoved(DateTimeOffset now)
    {
        var kept = Zsks.Where(z => z.PhaseAt(now) != KeyPhase.Removed).ToArray();
        var ksks = LiveKsks(now);
        return (kept.Length == Zsks.Count || kept.Length == 0) && ksks.Length == Ksks.Count ? this : new ZoneKeyState(Zone, ksks, kept.Length == 0 ? Zsks : kept);
    }

    /// <summary>The next time anything changes for a server (a transition, or the signing key's end of life); null: none scheduled.</summary>
    public DateTimeOffset? NextChangeAfter(DateTimeOffset now, RolloverTimings timings)
    {
        var times = Zsks.SelectMany(z => new DateTimeOffset?[] { z.ActiveAt, z.RetireAt, z.RemoveAt })
            .Concat(Ksks.SelectMany(k => new DateTimeOffset?[] { k.ReadyAt, k.RetireAt, k.RemoveAt }))
            .Append(SigningAt(now).ActiveAt + timings.ZskLifetime)
            .Where(t => t > now)
            .Select(t => t!.Value)
            .ToArray();
        return times.Length == 0 ? null : times.Min();
    }

    /// <summary>The phase as the operator reads it (lower case, as in <see cref="Describe"/>, the API and explain).</summary>
    public static string Name(KeyPhase phase) => phase switch
    {
        KeyPhase.Published => "published",
        KeyPhase.Ready => "ready",
        KeyPhase.Active => "active",
        KeyPhase.Retired => "retired",
        _ => "removed",
    };

    /// <summary>Every key for the operator: role, tag, phase, its times and the next event, in one list (the API, explain and dnssec-rollover share it).</summary>
    public IReadOnlyList<KeyView> View(DateTimeOffset now) =>
    [
        .. Ksks.Select(k => KeyView.Of("KSK", k.Key.KeyTag, k.PhaseAt(now), k.Published, k.ReadyAt, k.ActiveAt, k.RetireAt, k.RemoveAt, now)),
        .. Zsks.Select(z => KeyView.Of("ZSK", z.Key.KeyTag, z.PhaseAt(now), z.Published, null, z.ActiveAt, z.RetireAt, z.RemoveAt, now)),
    ];

    /// <summary>One line per key for the operator: role, tag, phase and times.</summary>
    public IEnumerable<string> Describe(DateTimeOffset now) => View(now).Select(k => $"{Zone} {k.Describe()}");

    private KskEntry[] LiveKsks(DateTimeOffset now)
    {
        var live = Ksks.Where(k => k.PhaseAt(now) != KeyPhase.Removed).ToArray();
        return live.Length == 0 ? [.. Ksks] : live;
    }
}

/// <summary>
/// One key as the operator sees it at <see cref="SignedZoneView.AsOf"/>: role (KSK or ZSK), tag, phase, its stored
/// times, its next transition (null: none scheduled, as for an active key or a KSK waiting for the operator) and what
/// it waits for, if anything.
/// </summary>
public sealed record KeyView(string Role, ushort Tag, string Phase, DateTimeOffset Published, DateTimeOffset? Ready, DateTimeOffset? Active, DateTimeOffset? Retire, DateTimeOffset? Remove, DateTimeOffset? NextEvent, string? Waiting)
{
    public static KeyView Of(string role, ushort tag, KeyPhase phase, DateTimeOffset published, DateTimeOffset? ready, DateTimeOffset? active, DateTimeOffset? retire, DateTimeOffset? remove, DateTimeOffset now) =>
        new(role, tag, ZoneKeyState.Name(phase), published, ready, active, retire, remove,
            new[] { ready, active, retire, remove }.Where(t => t > now).Min(),
            role == "KSK" && phase == KeyPhase.Ready ? "the parent's DS for this key, then dnssec-rollover --key ksk --ds-published" : null);

    public string Describe() =>
        $"{Role} {Tag} {Phase} published {Published:u}"
        + (Ready is { } ready ? $" ready {ready:u}" : "")
        + (Active is { } active ? $" active {active:u}" : "")
        + (Retire is { } retire ? $" retire {retire:u}" : "")
        + (Remove is { } remove ? $" remove {remove:u}" : "")
        + (Waiting is { } waiting ? $" (waiting for {waiting})" : "");
}

/// <summary>A signed zone's keys for the operator (the API's /dnssec, explain, metrics): each key's phase and times, and the zone's next key event.</summary>
public sealed record SignedZoneView(string Zone, DateTimeOffset AsOf, DateTimeOffset? NextKeyEvent, IReadOnlyList<KeyView> Keys)
{
    public static SignedZoneView Of(ZoneKeyState state, DateTimeOffset now, RolloverTimings timings) =>
        new(state.Zone.ToString(), now, state.NextChangeAfter(now, timings), state.View(now));
}
