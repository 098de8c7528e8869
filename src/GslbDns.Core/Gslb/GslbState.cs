using System.Collections.Frozen;

namespace GslbDns.Gslb;

/// <summary>Smoothed round-trip times in milliseconds from prober regions to data centers.</summary>
public sealed class RttMatrix
{
    public static readonly RttMatrix Empty = new(new Dictionary<(string Region, string DataCenter), double>());

    private readonly FrozenDictionary<(string Region, string DataCenter), double> _rtt;

    public RttMatrix(IDictionary<(string Region, string DataCenter), double> rtt)
    {
        _rtt = rtt.ToFrozenDictionary();
    }

    public int Count => _rtt.Count;

    public bool TryGet(string region, string dataCenter, out double milliseconds) => _rtt.TryGetValue((region, dataCenter), out milliseconds);

    public IEnumerable<KeyValuePair<(string Region, string DataCenter), double>> Entries => _rtt;
}

/// <summary>An operator's forced verdict, which wins over the probers until it expires.</summary>
public sealed record HealthOverride(bool Healthy, DateTimeOffset Expires, string Reason);

/// <summary>
/// A data center taken out by a running drill, from <see cref="Start"/> until <see cref="End"/>. The end
/// comes from the drill's lease and is compared with each query's time, so no process has to act for the
/// data center to come back.
/// </summary>
public sealed record EvacuationWindow(DateTimeOffset Start, DateTimeOffset End, string DrillId)
{
    public bool Covers(DateTimeOffset now) => now >= Start && now < End;
}

/// <summary>
/// Run-time state that the probers and the API change: health, weights, drains, forced verdicts and
/// the measured RTT matrix. Immutable; a change builds a new one that is swapped in whole.
/// Unknown endpoints are healthy: with no health signal the service fails open.
/// </summary>
public sealed record GslbState(
    IReadOnlyDictionary<string, bool> Health,
    FrozenDictionary<string, int> WeightOverrides,
    FrozenSet<string> Drained,
    FrozenDictionary<string, HealthOverride> Overrides,
    RttMatrix? MeasuredRtt,
    DateTimeOffset AsOf)
{
    /// <summary>External feeds by endpoint id (expired ones too: <see cref="FeedSignal.IsLive"/> is checked per query).</summary>
    public FrozenDictionary<string, FeedSignal> Feeds { get; init; } = FrozenDictionary<string, FeedSignal>.Empty;

    /// <summary>The live probers' votes behind <see cref="Health"/>, so a feed can be counted as one more voter at query time.</summary>
    public IReadOnlyDictionary<string, ProberTally> Tallies { get; init; } = FrozenDictionary<string, ProberTally>.Empty;

    /// <summary>Load figures the probers read from health responses (<c>check.load</c>), the mean over the live probers, by endpoint id.</summary>
    public IReadOnlyDictionary<string, double> ProbedLoads { get; init; } = FrozenDictionary<string, double>.Empty;

    /// <summary>Data centers evacuated by running drills, with their windows (see <see cref="EvacuationWindow"/>).</summary>
    public FrozenDictionary<string, EvacuationWindow> Evacuated { get; init; } = FrozenDictionary<string, EvacuationWindow>.Empty;

    public static readonly GslbState Empty = new(
        FrozenDictionary<string, bool>.Empty,
        FrozenDictionary<string, int>.Empty,
        FrozenSet<string>.Empty,
        FrozenDictionary<string, HealthOverride>.Empty,
        null,
        DateTimeOffset.UnixEpoch);

    /// <summary>
    /// When answers changed or will change, per endpoint or data center: near such an instant a service answers with
    /// the short TTL (<see cref="AnswerChanges"/>). The health and operator-state publishers record their changes
    /// here; anything else that changes answers on a schedule (a drill's start and end) records its instants too.
    /// </summary>
    public AnswerChanges Changes { get; init; } = AnswerChanges.Empty;

    /// <summary>
    /// Healthy, not drained (endpoint id or its data center drained) and not evacuated by a running drill at
    /// <paramref name="now"/>, honouring unexpired overrides. Precedence: a drill only ever takes an endpoint
    /// out, so it never makes a real failure or a drain look healthy; and a forced-healthy verdict does not
    /// bring back a data center a drill is evacuating.
    /// </summary>
    public bool IsUsable(Endpoint endpoint, DateTimeOffset now)
    {
        if (Drained.Contains(endpoint.Id) || Drained.Contains(endpoint.DataCenter))
        {
            return false;
        }

        if (Evacuated.Count > 0 && Evacuated.TryGetValue(endpoint.DataCenter, out var window) && window.Covers(now))
        {
            return false;
        }

        if (Overrides.Count > 0 && (Overrides.TryGetValue(endpoint.Id, out var forced) || Overrides.TryGetValue(endpoint.DataCenter, out forced)) && forced.Expires > now)
        {
            return forced.Healthy;
        }

        return ProbedAndFed(endpoint, now);
    }

    /// <summary>
    /// The probers' verdict with the endpoint's live feed counted as its <see cref="Endpoint.FeedMode"/> says:
    /// one more voter (with no prober, the feed alone decides), or a veto that only ever takes it out.
    /// </summary>
    public bool ProbedAndFed(Endpoint endpoint, DateTimeOffset now)
    {
        var probed = Health is ProbedHealth slotted ? !slotted.IsDown(endpoint) : !Health.TryGetValue(endpoint.Id, out var healthy) || healthy;
        if (Feeds.Count == 0 || endpoint.FeedMode == FeedMode.Off
            || !Feeds.TryGetValue(endpoint.Id, out var feed) || feed.Up is not { } up || !feed.IsLive(now))
        {
            return probed;
        }

        if (endpoint.FeedMode == FeedMode.Veto)
        {
            return probed && up;
        }

        return Lookup(Tallies, endpoint, out var tally) ? tally.With(up).Healthy : up;
    }

    /// <summary>The endpoint's load figure in force: a live feed's, else the probers' (<c>check.load</c>); false when neither has one.</summary>
    public bool TryGetLoad(Endpoint endpoint, DateTimeOffset now, out double load, out bool fromFeed)
    {
        if (Feeds.Count > 0 && Feeds.TryGetValue(endpoint.Id, out var feed) && feed.Load is { } fed && feed.IsLive(now))
        {
            load = fed;
            fromFeed = true;
            return true;
        }

        fromFeed = false;
        return Lookup(ProbedLoads, endpoint, out load);
    }

    /// <summary>
    /// The same configuration's state under <paramref name="config"/> (a reload): probed health kept by endpoint slot is
    /// moved to the new slots by endpoint id, so answers keep reading it by slot. Everything else is keyed by id already.
    /// </summary>
    public GslbState ForConfig(GslbConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (Health is not ProbedHealth probed || ReferenceEquals(probed.Slots, config.Slots))
        {
            return this;
        }

        var moved = probed.RemapTo(config.Slots);
        return this with
        {
            Health = moved,
            Tallies = ReferenceEquals(Tallies, probed.Tallies) ? moved.Tallies : Tallies,
            ProbedLoads = ReferenceEquals(ProbedLoads, probed.Loads) ? moved.Loads : ProbedLoads,
        };
    }

    /// <summary>
    /// By the endpoint's slot when the state's map is kept by slot (the publisher's), so a query hashes no id; by id for any
    /// other map (a state built by hand or by a test).
    /// </summary>
    private static bool Lookup<T>(IReadOnlyDictionary<string, T> map, Endpoint endpoint, out T value)
    {
        if (map is SlotDictionary<T> slotted)
        {
            return slotted.TryGet(endpoint, out value!);
        }

        return map.TryGetValue(endpoint.Id, out value!);
    }

    /// <summary>Weight in force: an operator's override (by endpoint id, then data center) or the configured weight.</summary>
    public int WeightOf(Endpoint endpoint)
    {
        if (WeightOverrides.Count == 0)
        {
            return endpoint.Weight;
        }

        if (WeightOverrides.TryGetValue(endpoint.Id, out var weight) || WeightOverrides.TryGetValue(endpoint.DataCenter, out weight))
        {
            return weight;
        }

        return endpoint.Weight;
    }
}
