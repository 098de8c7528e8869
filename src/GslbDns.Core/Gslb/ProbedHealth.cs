using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace GslbDns.Gslb;

/// <summary>
/// The probers' health of every endpoint of one configuration, by endpoint slot (<see cref="EndpointSlots"/>): each slot's
/// tally (how many live probers check it, how many see it down; no voter: no verdict, which reads as healthy) and load
/// figure. Immutable; the health publisher builds the next one sharing the pages it did not change.
/// </summary>
/// <remarks>
/// It is the state's <see cref="GslbState.Health"/> (verdicts by endpoint id, for every reader that has only an id), and
/// <see cref="Tallies"/> and <see cref="Loads"/> are the state's tallies and loads. The query path asks by
/// <see cref="Endpoint"/> (<see cref="SlotDictionary{TValue}.TryGet"/>): an endpoint loaded with the same slot table is read by its slot,
/// any other (a snapshot of an older configuration, an endpoint built by hand) by its id, so a stale slot is never used.
/// </remarks>
public sealed class ProbedHealth : SlotDictionary<bool>
{
    public static readonly ProbedHealth Empty = new(EndpointSlots.Empty, SlotArray.Filled<ProberTally>(0, default), SlotArray.Filled<double>(0, double.NaN), SlotArray.Filled<ulong>(0, 0), 0, 0);

    private readonly SlotArray<ProberTally> _tallies;
    private readonly SlotArray<double> _loads;
    private readonly SlotArray<ulong> _down;

    /// <param name="down">One bit per slot (<see cref="DownWords"/> words): set where the tally says down. Kept apart so the query path reads 1 bit per endpoint (300,000 endpoints: 37 KiB, cache-resident) instead of a tally.</param>
    public ProbedHealth(EndpointSlots slots, SlotArray<ProberTally> tallies, SlotArray<double> loads, SlotArray<ulong> down, int verdicts, int loadFigures)
        : base(slots, verdicts)
    {
        ArgumentNullException.ThrowIfNull(tallies);
        ArgumentNullException.ThrowIfNull(loads);
        ArgumentNullException.ThrowIfNull(down);
        if (tallies.Length != slots.Count || loads.Length != slots.Count || down.Length != DownWords(slots.Count))
        {
            throw new ArgumentException("one tally, one load and one down bit per slot");
        }

        _tallies = tallies;
        _loads = loads;
        _down = down;
        Tallies = new TallyView(this, verdicts);
        Loads = new LoadView(this, loadFigures);
    }

    /// <summary>The votes behind each verdict, by endpoint id (only endpoints with a voter).</summary>
    public SlotDictionary<ProberTally> Tallies { get; }

    /// <summary>The mean load figure over the live probers that read one, by endpoint id (only endpoints with one).</summary>
    public SlotDictionary<double> Loads { get; }

    /// <summary>Words of the down bits for <paramref name="slots"/> slots.</summary>
    public static int DownWords(int slots) => (slots + 63) >> 6;

    /// <summary>
    /// The query path's question: do the probers hold <paramref name="endpoint"/> down (a majority sees it down)? False with
    /// no verdict (fail open). One bit read when the endpoint carries this health's slot table.
    /// </summary>
    public bool IsDown(Endpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        return SlotOf(endpoint, out var slot) && (_down[slot >> 6] & (1UL << (slot & 63))) != 0;
    }

    /// <summary>The tally in <paramref name="slot"/> (no voter: <c>Voters</c> 0).</summary>
    public ProberTally TallyAt(int slot) => _tallies[slot];

    /// <summary>The load figure in <paramref name="slot"/>; NaN when no live prober read one.</summary>
    public double LoadAt(int slot) => _loads[slot];

    /// <summary>The same health under another configuration's slots (a reload): each endpoint keeps its tally and load by id.</summary>
    public ProbedHealth RemapTo(EndpointSlots slots)
    {
        ArgumentNullException.ThrowIfNull(slots);
        if (ReferenceEquals(slots, Slots))
        {
            return this;
        }

        var tallies = new SlotArrayBuilder<ProberTally>(SlotArray.Filled<ProberTally>(slots.Count, default));
        var loads = new SlotArrayBuilder<double>(SlotArray.Filled<double>(slots.Count, double.NaN));
        var down = new SlotArrayBuilder<ulong>(SlotArray.Filled<ulong>(DownWords(slots.Count), 0));
        int verdicts = 0, loadFigures = 0;
        for (var slot = 0; slot < slots.Count; slot++)
        {
            if (!Slots.TryGetSlot(slots.IdAt(slot), out var old))
            {
                continue;
            }

            var tally = _tallies[old];
            if (tally.Voters > 0)
            {
                tallies[slot] = tally;
                verdicts++;
                if (!tally.Healthy)
                {
                    down[slot >> 6] |= 1UL << (slot & 63);
                }
            }

            var load = _loads[old];
            if (!double.IsNaN(load))
            {
                loads[slot] = load;
                loadFigures++;
            }
        }

        return new ProbedHealth(slots, tallies.ToArray(), loads.ToArray(), down.ToArray(), verdicts, loadFigures);
    }

    protected override bool TryGetAt(int slot, out bool value)
    {
        var tally = _tallies[slot];
        value = tally.Healthy;
        return tally.Voters > 0;
    }

    private sealed class TallyView(ProbedHealth health, int count) : SlotDictionary<ProberTally>(health.Slots, count)
    {
        protected override bool TryGetAt(int slot, out ProberTally value)
        {
            value = health._tallies[slot];
            return value.Voters > 0;
        }
    }

    private sealed class LoadView(ProbedHealth health, int count) : SlotDictionary<double>(health.Slots, count)
    {
        protected override bool TryGetAt(int slot, out double value)
        {
            value = health._loads[slot];
            return !double.IsNaN(value);
        }
    }
}

/// <summary>
/// Values by endpoint slot seen as a read-only dictionary by endpoint id (only the slots that hold a value), for the readers
/// that have an id; <see cref="TryGet"/> reads by the endpoint's slot when it belongs to the same slot table.
/// </summary>
public abstract class SlotDictionary<TValue> : IReadOnlyDictionary<string, TValue>
{
    protected SlotDictionary(EndpointSlots slots, int count)
    {
        ArgumentNullException.ThrowIfNull(slots);
        Slots = slots;
        Count = count;
    }

    /// <summary>The slot table the values are indexed by.</summary>
    public EndpointSlots Slots { get; }

    /// <summary>Slots holding a value.</summary>
    public int Count { get; }

    public IEnumerable<string> Keys => this.Select(static kv => kv.Key);

    public IEnumerable<TValue> Values => this.Select(static kv => kv.Value);

    public TValue this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"no value for endpoint {key}");

    /// <summary>The value for <paramref name="endpoint"/>: by its slot when it was loaded with <see cref="Slots"/>, else by its id.</summary>
    public bool TryGet(Endpoint endpoint, [MaybeNullWhen(false)] out TValue value)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (SlotOf(endpoint, out var slot))
        {
            return TryGetAt(slot, out value);
        }

        value = default;
        return false;
    }

    public bool ContainsKey(string key) => TryGetValue(key, out _);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out TValue value)
    {
        if (Slots.TryGetSlot(key, out var slot))
        {
            return TryGetAt(slot, out value);
        }

        value = default;
        return false;
    }

    public IEnumerator<KeyValuePair<string, TValue>> GetEnumerator()
    {
        for (var slot = 0; slot < Slots.Count; slot++)
        {
            if (TryGetAt(slot, out var value))
            {
                yield return new KeyValuePair<string, TValue>(Slots.IdAt(slot), value);
            }
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>The slot of <paramref name="endpoint"/> in <see cref="Slots"/>: its own when it carries this table (no hashing), else by id.</summary>
    protected bool SlotOf(Endpoint endpoint, out int slot)
    {
        var own = endpoint.Slot;
        if (ReferenceEquals(own.Table, Slots))
        {
            slot = own.Index;
            return true;
        }

        return Slots.TryGetSlot(endpoint.Id, out slot);
    }

    protected abstract bool TryGetAt(int slot, out TValue value);
}
