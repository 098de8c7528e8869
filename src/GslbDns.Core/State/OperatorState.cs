using System.Collections.Frozen;
using System.Collections.Immutable;
using GslbDns.Gslb;

namespace GslbDns.State;

/// <summary>The kinds of operator state; each is keyed by an endpoint id or a data-center name (a drill: by its id).</summary>
public enum StateKind
{
    /// <summary>A weight that replaces the configured one.</summary>
    Weight,

    /// <summary>Taken out of service on purpose, with a reason.</summary>
    Drain,

    /// <summary>A forced health verdict that wins over the probers until it expires.</summary>
    Override,

    /// <summary>A disaster-recovery drill: a lease that evacuates data centers until it ends (<see cref="DrillSetting"/>).</summary>
    Drill,

    /// <summary>An external monitor's up/down vote and load figure for an endpoint, until it expires (<see cref="FeedSetting"/>).</summary>
    Feed,
}

/// <summary>Names of the kinds as they appear in store keys, JSON and the audit log.</summary>
public static class StateKinds
{
    /// <summary>The key folder: <c>weights</c>, <c>drains</c>, <c>overrides</c>.</summary>
    public static string Folder(StateKind kind) => kind switch
    {
        StateKind.Weight => "weights",
        StateKind.Drain => "drains",
        StateKind.Override => "overrides",
        StateKind.Drill => "drills",
        StateKind.Feed => "feeds",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>The singular name used in the audit log: <c>weight</c>, <c>drain</c>, <c>override</c>.</summary>
    public static string Name(StateKind kind) => kind switch
    {
        StateKind.Weight => "weight",
        StateKind.Drain => "drain",
        StateKind.Override => "override",
        StateKind.Drill => "drill",
        StateKind.Feed => "feed",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    public static bool TryParseFolder(string text, out StateKind kind)
    {
        switch (text)
        {
            case "weights":
                kind = StateKind.Weight;
                return true;
            case "drains":
                kind = StateKind.Drain;
                return true;
            case "overrides":
                kind = StateKind.Override;
                return true;
            case "drills":
                kind = StateKind.Drill;
                return true;
            case "feeds":
                kind = StateKind.Feed;
                return true;
            default:
                kind = default;
                return false;
        }
    }

    public static bool TryParseName(string text, out StateKind kind)
    {
        switch (text)
        {
            case "weight":
                kind = StateKind.Weight;
                return true;
            case "drain":
                kind = StateKind.Drain;
                return true;
            case "override":
                kind = StateKind.Override;
                return true;
            case "drill":
                kind = StateKind.Drill;
                return true;
            case "feed":
                kind = StateKind.Feed;
                return true;
            default:
                kind = default;
                return false;
        }
    }
}

/// <summary>One entry's address: its kind and its target (an endpoint id or a data-center name).</summary>
public readonly record struct StateKey(StateKind Kind, string Target)
{
    public override string ToString() => $"{StateKinds.Folder(Kind)}/{Target}";
}

/// <summary>What an operator set, and who set it when. The concrete type matches the key's <see cref="StateKind"/>.</summary>
public abstract record StateSetting(string? Reason, string By, DateTimeOffset At)
{
    public abstract StateKind Kind { get; }
}

/// <summary>A weight override (0..1000, like the configured weights).</summary>
public sealed record WeightSetting(int Weight, string? Reason, string By, DateTimeOffset At) : StateSetting(Reason, By, At)
{
    public override StateKind Kind => StateKind.Weight;
}

/// <summary>A drain: the target serves no answers until undrained.</summary>
public sealed record DrainSetting(string Reason, string By, DateTimeOffset At) : StateSetting(Reason, By, At)
{
    public override StateKind Kind => StateKind.Drain;
}

/// <summary>A forced verdict that expires by itself.</summary>
public sealed record OverrideSetting(bool Healthy, DateTimeOffset Expires, string Reason, string By, DateTimeOffset At) : StateSetting(Reason, By, At)
{
    public override StateKind Kind => StateKind.Override;
}

/// <summary>
/// A setting with the store's version of it: Consul's ModifyIndex, or the embedded store's row version.
/// The API hands the version out as the ETag, and a write names it to be applied only if nobody wrote since.
/// </summary>
public sealed record VersionedSetting(StateSetting Setting, ulong Version);

/// <summary>
/// All operator state (weights, drains, forced verdicts), immutable, each entry with its version.
/// <see cref="Index"/> is the store-wide version this view reflects: every write gets a larger one,
/// so "has this process seen my write yet" is <c>Index &gt;= version returned by the write</c>.
/// </summary>
public sealed record OperatorState(ImmutableSortedDictionary<StateKey, VersionedSetting> Entries, ulong Index)
{
    private static readonly IComparer<StateKey> KeyOrder = Comparer<StateKey>.Create(static (a, b) =>
    {
        var byKind = a.Kind.CompareTo(b.Kind);
        return byKind != 0 ? byKind : string.CompareOrdinal(a.Target, b.Target);
    });

    public static readonly OperatorState Empty = new(ImmutableSortedDictionary.Create<StateKey, VersionedSetting>(KeyOrder), 0);

    public static OperatorState Create(IEnumerable<KeyValuePair<StateKey, VersionedSetting>> entries, ulong index) =>
        new(ImmutableSortedDictionary.CreateRange(KeyOrder, entries), index);

    public int Count => Entries.Count;

    /// <summary>The entry's version, 0 when it does not exist (0 as an expected version means "must not exist").</summary>
    public ulong VersionOf(StateKey key) => Entries.TryGetValue(key, out var entry) ? entry.Version : 0;

    public VersionedSetting? Get(StateKey key) => Entries.TryGetValue(key, out var entry) ? entry : null;

    public T? Get<T>(StateKind kind, string target)
        where T : StateSetting => Entries.TryGetValue(new StateKey(kind, target), out var entry) ? entry.Setting as T : null;

    public IEnumerable<KeyValuePair<StateKey, VersionedSetting>> OfKind(StateKind kind) => Entries.Where(e => e.Key.Kind == kind);

    /// <summary>This state with one entry set (version given) or removed (<paramref name="setting"/> null).</summary>
    public OperatorState With(StateKey key, StateSetting? setting, ulong version) =>
        setting is null
            ? this with { Entries = Entries.Remove(key) }
            : this with { Entries = Entries.SetItem(key, new VersionedSetting(setting, version)) };

    /// <summary>Weight overrides as the decision engine reads them.</summary>
    public FrozenDictionary<string, int> WeightOverrides() =>
        OfKind(StateKind.Weight).ToFrozenDictionary(e => e.Key.Target, e => ((WeightSetting)e.Value.Setting).Weight, StringComparer.Ordinal);

    /// <summary>Drained endpoint ids and data-center names.</summary>
    public FrozenSet<string> Drained() => OfKind(StateKind.Drain).Select(e => e.Key.Target).ToFrozenSet(StringComparer.Ordinal);

    /// <summary>Forced verdicts, expired ones left out (the engine ignores them anyway).</summary>
    public FrozenDictionary<string, HealthOverride> HealthOverrides(DateTimeOffset now) =>
        OfKind(StateKind.Override)
            .Select(e => (e.Key.Target, Setting: (OverrideSetting)e.Value.Setting))
            .Where(e => e.Setting.Expires > now)
            .ToFrozenDictionary(e => e.Target, e => new HealthOverride(e.Setting.Healthy, e.Setting.Expires, e.Setting.Reason ?? ""), StringComparer.Ordinal);

    /// <summary>Every drill lease, newest first.</summary>
    public IEnumerable<VersionedDrill> Drills() =>
        OfKind(StateKind.Drill).Select(e => new VersionedDrill((DrillSetting)e.Value.Setting, e.Value.Version)).OrderByDescending(d => d.Drill.At);

    /// <summary>
    /// The data centers evacuated by running drills, each with the window the lease gives it. The window is
    /// in the lease, not in this process: every DNS server compares it with the query's time, so the data
    /// center comes back at the end on each server's own clock whatever happens to the API or the store.
    /// </summary>
    public FrozenDictionary<string, EvacuationWindow> Evacuations()
    {
        var windows = new Dictionary<string, EvacuationWindow>(StringComparer.Ordinal);
        foreach (var entry in OfKind(StateKind.Drill))
        {
            var drill = (DrillSetting)entry.Value.Setting;
            if (drill.State != DrillState.Running)
            {
                continue;
            }

            foreach (var dataCenter in drill.DataCenters)
            {
                // Overlapping drills are refused, but a forced one may overlap: the union of the windows holds.
                windows[dataCenter] = windows.TryGetValue(dataCenter, out var other)
                    ? new EvacuationWindow(Min(other.Start, drill.Start), Max(other.End, drill.EffectiveEnd), other.DrillId)
                    : new EvacuationWindow(drill.Start, drill.EffectiveEnd, drill.Id);
            }
        }

        return windows.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>
    /// External feeds by endpoint id, expired ones kept: each DNS server compares the expiry with the query's
    /// time, so a feed stops counting on every server's own clock even if nothing is written again.
    /// </summary>
    public FrozenDictionary<string, FeedSignal> Feeds() =>
        OfKind(StateKind.Feed).ToFrozenDictionary(e => e.Key.Target, e => ((FeedSetting)e.Value.Setting).Signal, StringComparer.Ordinal);

    /// <summary><paramref name="state"/> with its operator parts (weights, drains, overrides, drills, feeds) replaced by this state's; health and RTTs kept.</summary>
    public GslbState ApplyTo(GslbState state, DateTimeOffset now) =>
        state with { WeightOverrides = WeightOverrides(), Drained = Drained(), Overrides = HealthOverrides(now), Evacuated = Evacuations(), Feeds = Feeds() };

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}
