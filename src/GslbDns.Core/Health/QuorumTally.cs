using GslbDns.Gslb;
using GslbDns.Reports;

namespace GslbDns.Health;

/// <summary>
/// The quorum of <see cref="QuorumHealth"/> kept up to date report by report: per endpoint slot a tally of the live
/// probers' votes and their load figures, per prober region and data center the RTT sums. A new set of reports is diffed
/// against each prober's previous one, so only the endpoints whose observation changed are touched (and a prober that
/// goes stale or vanishes takes back only its own votes); <see cref="Freeze"/> then hands out an immutable view that
/// shares every unchanged page with the previous one. One writer (the publisher holds its lock); the views are read freely.
/// </summary>
/// <remarks>
/// Only endpoints of the configuration count (a prober on another version of it reports ids this one lacks; they get a
/// verdict once a reload brings them in, when the publisher starts a new tally over the reports it kept). RTTs are summed
/// in fixed point (1/1024 ms), so taking a value back leaves exactly the sum without it, whatever the order of changes.
/// </remarks>
public sealed class QuorumTally
{
    private const double RttScale = 1024;
    private const double MaxRttMs = 1L << 30;

    private readonly EndpointSlots _slots;
    private readonly Dictionary<string, ProberVotes> _probers = new(StringComparer.Ordinal);
    private readonly SlotArrayBuilder<ProberTally> _tallies;
    private readonly SlotArrayBuilder<double> _loads;
    private readonly SlotArrayBuilder<ulong> _down;
    private readonly int[] _seen;
    private readonly ChangedSlots _changed;
    private readonly ChangedSlots _loadChanged;
    private readonly Dictionary<string, int> _regions = new(StringComparer.Ordinal);
    private readonly List<(string Name, RttCell[] Cells)> _rtt = [];
    private int _stamp;
    private int _verdicts;
    private int _loadFigures;
    private bool _rttChanged = true;
    private bool _membershipChanged = true;
    private RttMatrix _rttMatrix = RttMatrix.Empty;
    private ProberVotes[] _counted = [];
    private string[] _live = [];

    public QuorumTally(GslbConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        _slots = config.Slots;
        _tallies = new SlotArrayBuilder<ProberTally>(SlotArray.Filled<ProberTally>(_slots.Count, default));
        _loads = new SlotArrayBuilder<double>(SlotArray.Filled<double>(_slots.Count, double.NaN));
        _down = new SlotArrayBuilder<ulong>(SlotArray.Filled<ulong>(ProbedHealth.DownWords(_slots.Count), 0));
        _seen = new int[_slots.Count];
        _changed = new ChangedSlots(_slots.Count);
        _loadChanged = new ChangedSlots(_slots.Count);
    }

    /// <summary>The slot table the tallies are kept by (the configuration's).</summary>
    public EndpointSlots Slots => _slots;

    /// <summary>Probers whose report is fresh, as of the last <see cref="Apply"/>.</summary>
    public int LiveProberCount { get; private set; }

    /// <summary>
    /// Makes <paramref name="reports"/> the whole set (a prober missing from it is gone): a report older than
    /// <paramref name="staleAfter"/> at <paramref name="now"/> does not vote. Of two reports by one prober the last counts.
    /// </summary>
    public void Apply(IReadOnlyList<ProberReport> reports, DateTimeOffset now, TimeSpan staleAfter)
    {
        ArgumentNullException.ThrowIfNull(reports);
        var incoming = new Dictionary<string, ProberReport>(reports.Count, StringComparer.Ordinal);
        foreach (var report in reports)
        {
            incoming[report.Prober.Id] = report;
        }

        List<string>? gone = null;
        foreach (var (id, prober) in _probers)
        {
            if (!incoming.ContainsKey(id))
            {
                Retract(prober);
                (gone ??= []).Add(id);
            }
        }

        foreach (var id in gone ?? [])
        {
            _probers.Remove(id);
        }

        foreach (var (id, report) in incoming)
        {
            if (!_probers.TryGetValue(id, out var prober))
            {
                _probers[id] = prober = new ProberVotes(id, _slots.Count);
            }

            if (now - report.PublishedAt > staleAfter)
            {
                Retract(prober);
                continue;
            }

            if (prober.Counted && ReferenceEquals(prober.Report, report))
            {
                continue;
            }

            if (prober.Counted && !string.Equals(prober.Region, report.Prober.Region, StringComparison.Ordinal))
            {
                // Its RTTs were summed under the old region: take them all back, then count it afresh.
                Retract(prober);
            }

            if (!prober.Counted)
            {
                prober.Counted = true;
                prober.Region = report.Prober.Region;
                prober.RegionIndex = RegionIndex(prober.Region);
                _membershipChanged = true;
            }

            Diff(prober, report);
            prober.Report = report;
        }

        if (_membershipChanged)
        {
            _counted = [.. _probers.Values.Where(static p => p.Counted).OrderBy(static p => p.Id, StringComparer.Ordinal)];
        }

        LiveProberCount = _counted.Length;
        RecomputeLoads();
    }

    /// <summary>
    /// The current verdicts as an immutable view, and the slots whose tally changed since the previous call (the only ones
    /// whose verdict can differ from that view's).
    /// </summary>
    public (HealthView View, int[] Changed) Freeze(DateTimeOffset now)
    {
        var health = new ProbedHealth(_slots, _tallies.ToArray(), _loads.ToArray(), _down.ToArray(), _verdicts, _loadFigures);
        if (_rttChanged)
        {
            var matrix = new Dictionary<(string Region, string DataCenter), double>();
            foreach (var (region, cells) in _rtt)
            {
                for (var dc = 0; dc < cells.Length; dc++)
                {
                    if (cells[dc].Count > 0)
                    {
                        matrix[(region, _slots.DataCenterName(dc))] = cells[dc].Sum / RttScale / cells[dc].Count;
                    }
                }
            }

            _rttMatrix = new RttMatrix(matrix);
            _rttChanged = false;
        }

        if (_membershipChanged)
        {
            _live = [.. _counted.Select(static p => p.Id)];
            _membershipChanged = false;
        }

        var votes = new (string Prober, SlotArray<byte> Votes)[_counted.Length];
        for (var i = 0; i < votes.Length; i++)
        {
            votes[i] = (_counted[i].Id, _counted[i].Votes.ToArray());
        }

        var view = new HealthView(health, _rttMatrix, _live, new ProberVerdicts(health, votes), now)
        {
            Tallies = health.Tallies,
            Loads = health.Loads,
        };
        return (view, _changed.TakeAll());
    }

    /// <summary>Compares one prober's new report with what it reported before; only differences touch the tallies.</summary>
    private void Diff(ProberVotes prober, ProberReport report)
    {
        if (!DiffInStep(prober, report))
        {
            DiffBySlot(prober, report);
        }
    }

    /// <summary>
    /// The usual case, a prober's next report listing the same endpoints in the same order: walks both reports side by side and
    /// touches only the slots whose observation changed, reading nothing else by slot (at 300,000 endpoints, reading every
    /// slot's state costs several cache misses per endpoint). False, having applied part of it, when the lists differ.
    /// </summary>
    private bool DiffInStep(ProberVotes prober, ProberReport report)
    {
        if (prober.Report?.Endpoints is not Dictionary<string, EndpointObservation> before
            || report.Endpoints is not Dictionary<string, EndpointObservation> after
            || before.Count != after.Count || prober.Order.Length != after.Count)
        {
            return false;
        }

        var order = prober.Order;
        var position = 0;
        using var previous = before.GetEnumerator();
        foreach (var (id, observation) in after)
        {
            previous.MoveNext();
            var (previousId, previousObservation) = previous.Current;
            if (!string.Equals(previousId, id, StringComparison.Ordinal))
            {
                return false;
            }

            var slot = order[position++];
            if (slot < 0 || ReferenceEquals(previousObservation, observation) || SameCount(previousObservation, observation))
            {
                continue;
            }

            var up = observation.Up;
            Set(prober, slot, up ? ProberVote.Up : ProberVote.Down, up && observation.RttMs is { } rtt ? rtt : double.NaN, observation.Load ?? double.NaN);
        }

        return true;
    }

    /// <summary>Whether two observations count the same: vote, the RTT of an up one, load figure.</summary>
    private static bool SameCount(EndpointObservation a, EndpointObservation b) =>
        a.Up == b.Up && (!a.Up || Nullable.Equals(a.RttMs, b.RttMs)) && Nullable.Equals(a.Load, b.Load);

    /// <summary>Any other report: each entry found by slot (the slot it had at this position last time, else by id).</summary>
    private void DiffBySlot(ProberVotes prober, ProberReport report)
    {
        if (++_stamp == int.MaxValue)
        {
            Array.Clear(_seen);
            _stamp = 1;
        }

        var stamp = _stamp;
        var count = report.Endpoints.Count;
        var previous = prober.Order;

        // Two buffers per prober, swapped each report: the previous order is still needed to find what went missing.
        var order = prober.Spare.Length == count ? prober.Spare : new int[count];
        var observedBefore = prober.Observed;
        var kept = 0;
        var position = 0;
        if (report.Endpoints is Dictionary<string, EndpointObservation> dictionary)
        {
            foreach (var (id, observation) in dictionary)
            {
                Observe(id, observation);
            }
        }
        else
        {
            foreach (var (id, observation) in report.Endpoints)
            {
                Observe(id, observation);
            }
        }

        for (var i = position; i < order.Length; i++)
        {
            order[i] = -1;
        }

        if (kept < observedBefore)
        {
            // Some endpoint it reported last time is missing now: its observation goes.
            foreach (var slot in previous)
            {
                if (slot >= 0 && _seen[slot] != stamp && prober.Votes[slot] != ProberVote.None)
                {
                    Set(prober, slot, ProberVote.None, double.NaN, double.NaN);
                }
            }
        }

        prober.Spare = previous;
        prober.Order = order;

        void Observe(string id, EndpointObservation observation)
        {
            // A prober lists its endpoints in the same order every cycle: try the slot at this position last time before hashing.
            int slot;
            if (position < previous.Length && previous[position] is var guess and >= 0 && string.Equals(_slots.IdAt(guess), id, StringComparison.Ordinal))
            {
                slot = guess;
            }
            else if (!_slots.TryGetSlot(id, out slot))
            {
                slot = -1;
            }

            if (position < order.Length)
            {
                order[position] = slot;
            }

            position++;
            if (slot < 0 || _seen[slot] == stamp)
            {
                return;
            }

            _seen[slot] = stamp;
            if (prober.Votes[slot] != ProberVote.None)
            {
                kept++;
            }

            var up = observation.Up;
            Set(prober, slot, up ? ProberVote.Up : ProberVote.Down, up && observation.RttMs is { } rtt ? rtt : double.NaN, observation.Load ?? double.NaN);
        }
    }

    /// <summary>The prober's votes no longer count (stale, gone, or about to be counted afresh): it takes back only its own.</summary>
    private void Retract(ProberVotes prober)
    {
        if (!prober.Counted)
        {
            return;
        }

        foreach (var slot in prober.Order)
        {
            if (slot >= 0 && prober.Votes[slot] != ProberVote.None)
            {
                Set(prober, slot, ProberVote.None, double.NaN, double.NaN);
            }
        }

        prober.Order = [];
        prober.Report = null;
        prober.Counted = false;
        _membershipChanged = true;
    }

    /// <summary>Replaces one prober's observation of one endpoint, adjusting that endpoint's tally, the RTT sums and its load.</summary>
    private void Set(ProberVotes prober, int slot, byte vote, double rtt, double load)
    {
        var before = prober.Votes[slot];
        if (before != vote)
        {
            var tally = _tallies[slot];
            var voters = tally.Voters - (before == ProberVote.None ? 0 : 1) + (vote == ProberVote.None ? 0 : 1);
            var down = tally.Down - (before == ProberVote.Down ? 1 : 0) + (vote == ProberVote.Down ? 1 : 0);
            _verdicts += (voters > 0 ? 1 : 0) - (tally.Voters > 0 ? 1 : 0);
            prober.Observed += (vote == ProberVote.None ? 0 : 1) - (before == ProberVote.None ? 0 : 1);
            _tallies[slot] = new ProberTally(voters, down);
            if ((tally.Voters > 0 && !tally.Healthy) != (voters > 0 && !ProberTally.IsHealthy(voters, down)))
            {
                _down[slot >> 6] ^= 1UL << (slot & 63);
            }
            prober.Votes[slot] = vote;
            _changed.Add(slot);
        }

        var rttBefore = prober.Rtt?[slot] ?? double.NaN;
        if (!rttBefore.Equals(rtt))
        {
            var cells = _rtt[prober.RegionIndex].Cells;
            ref var cell = ref cells[_slots.DataCenterIndexAt(slot)];
            if (!double.IsNaN(rttBefore))
            {
                cell = new RttCell(cell.Sum - Fixed(rttBefore), cell.Count - 1);
            }

            if (!double.IsNaN(rtt))
            {
                cell = new RttCell(cell.Sum + Fixed(rtt), cell.Count + 1);
            }

            (prober.Rtt ??= NaNs(_slots.Count))[slot] = rtt;
            _rttChanged = true;
        }

        var loadBefore = prober.Load?[slot] ?? double.NaN;
        if (!loadBefore.Equals(load))
        {
            (prober.Load ??= NaNs(_slots.Count))[slot] = load;
            _loadChanged.Add(slot);
        }
    }

    /// <summary>Each changed endpoint's load: the mean over the live probers that read one, summed in prober-id order.</summary>
    private void RecomputeLoads()
    {
        foreach (var slot in _loadChanged.TakeAll())
        {
            double sum = 0;
            var count = 0;
            foreach (var prober in _counted)
            {
                if (prober.Load is { } loads && !double.IsNaN(loads[slot]))
                {
                    sum += loads[slot];
                    count++;
                }
            }

            var mean = count == 0 ? double.NaN : sum / count;
            _loadFigures += (double.IsNaN(mean) ? 0 : 1) - (double.IsNaN(_loads[slot]) ? 0 : 1);
            _loads[slot] = mean;
        }
    }

    private int RegionIndex(string region)
    {
        if (!_regions.TryGetValue(region, out var index))
        {
            _regions[region] = index = _rtt.Count;
            _rtt.Add((region, new RttCell[_slots.DataCenterCount]));
        }

        return index;
    }

    private static long Fixed(double rttMs) => (long)Math.Round(Math.Clamp(rttMs, 0, MaxRttMs) * RttScale);

    private static double[] NaNs(int length)
    {
        var values = new double[length];
        Array.Fill(values, double.NaN);
        return values;
    }

    private readonly record struct RttCell(long Sum, int Count);

    /// <summary>What one prober last reported that counts: its vote, RTT and load figure per endpoint slot.</summary>
    private sealed class ProberVotes(string id, int slots)
    {
        public string Id { get; } = id;

        public string Region { get; set; } = string.Empty;

        public int RegionIndex { get; set; }

        /// <summary>Its observations are in the tallies (its report is fresh).</summary>
        public bool Counted { get; set; }

        public ProberReport? Report { get; set; }

        /// <summary><see cref="ProberVote"/> per slot; copy-on-write pages, so a frozen view keeps the votes it was made with.</summary>
        public SlotArrayBuilder<byte> Votes { get; } = new(SlotArray.Filled<byte>(slots, ProberVote.None));

        /// <summary>RTT of an up observation per slot (NaN: none); made on the first one.</summary>
        public double[]? Rtt { get; set; }

        /// <summary>Load figure per slot (NaN: none); made on the first one.</summary>
        public double[]? Load { get; set; }

        /// <summary>The slot of each entry of its last report, in the report's order (-1: not an endpoint of the config).</summary>
        public int[] Order { get; set; } = [];

        /// <summary>The buffer the next report's order is written into (the one before <see cref="Order"/>).</summary>
        public int[] Spare { get; set; } = [];

        /// <summary>Slots it has a vote on.</summary>
        public int Observed { get; set; }
    }

    /// <summary>A set of slots with their insertion order, emptied by <see cref="TakeAll"/>.</summary>
    private sealed class ChangedSlots(int slots)
    {
        private readonly bool[] _in = new bool[slots];
        private readonly List<int> _list = [];

        public void Add(int slot)
        {
            if (!_in[slot])
            {
                _in[slot] = true;
                _list.Add(slot);
            }
        }

        public int[] TakeAll()
        {
            var all = _list.ToArray();
            foreach (var slot in all)
            {
                _in[slot] = false;
            }

            _list.Clear();
            return all;
        }
    }
}

/// <summary>One prober's vote on one endpoint, as a byte per slot (a fresh page reads as no vote).</summary>
internal static class ProberVote
{
    public const byte None = 0;
    public const byte Up = 1;
    public const byte Down = 2;
}

/// <summary>
/// Each endpoint's verdict with the live probers' votes behind it (explain, the API, /metrics), made when asked for from a
/// frozen view's tallies and the probers' frozen votes: a publish builds none of them.
/// </summary>
internal sealed class ProberVerdicts(ProbedHealth health, (string Prober, SlotArray<byte> Votes)[] votes) : SlotDictionary<EndpointVerdict>(health.Slots, health.Count)
{
    protected override bool TryGetAt(int slot, out EndpointVerdict value)
    {
        var tally = health.TallyAt(slot);
        if (tally.Voters == 0)
        {
            value = null!;
            return false;
        }

        var byProber = new Dictionary<string, bool>(tally.Voters, StringComparer.Ordinal);
        foreach (var (prober, slots) in votes)
        {
            var vote = slots[slot];
            if (vote != ProberVote.None)
            {
                byProber[prober] = vote == ProberVote.Up;
            }
        }

        value = new EndpointVerdict(tally.Healthy, tally.Voters, tally.Down, byProber);
        return true;
    }
}
