namespace GslbDns.Observability;

/// <summary>
/// Stable small numbers for label values the query path counts by (zones, services, data centers), so a
/// per-thread counter is a plain array index. A name keeps its slot for the life of the process, across
/// reloads, so a counter never moves to another label. Bounded: names beyond the capacity share the last
/// slot, labelled <c>other</c>; only names from our own config ever get a slot, never anything a client sent.
/// Assigned when a snapshot is built, never on the query path.
/// </summary>
public sealed class MetricSlots
{
    public const string OtherLabel = "other";

    private readonly Lock _lock = new();
    private readonly Dictionary<string, int> _slots = new(StringComparer.Ordinal);
    private string[] _names;

    /// <param name="capacity">Slots in all, the overflow slot included.</param>
    /// <param name="reserved">Labels of the first slots, taken before any name (e.g. <c>dropped</c> for queries in no zone).</param>
    public MetricSlots(int capacity, params string[] reserved)
    {
        ArgumentNullException.ThrowIfNull(reserved);
        Capacity = capacity;
        _names = [.. reserved];
        foreach (var name in reserved)
        {
            _slots[name] = _slots.Count;
        }
    }

    /// <summary>Zones we serve; slot 0 counts queries that reach no zone of ours (CoreDNS's <c>dropped</c>).</summary>
    public static MetricSlots Zones { get; } = new(256, "dropped");

    /// <summary>Load-balanced services.</summary>
    public static MetricSlots Services { get; } = new(512);

    /// <summary>Data centers; slot 0 counts answers that came from a service's fallback addresses.</summary>
    public static MetricSlots DataCenters { get; } = new(64, "fallback");

    public int Capacity { get; }

    /// <summary>A service's label: its name without the root dot, as in its endpoints' ids (<c>www.example.com/eu/192.0.2.1</c>).</summary>
    public static string ServiceLabel(Gslb.ServiceConfig service)
    {
        ArgumentNullException.ThrowIfNull(service);
        return service.Name.ToString().TrimEnd('.');
    }

    /// <summary>The slot past the last named one: where names beyond the capacity are counted.</summary>
    public int OverflowSlot => Capacity - 1;

    public int SlotOf(string name)
    {
        lock (_lock)
        {
            if (_slots.TryGetValue(name, out var slot))
            {
                return slot;
            }

            if (_slots.Count >= Capacity - 1)
            {
                return OverflowSlot;
            }

            slot = _slots.Count;
            _slots[name] = slot;
            _names = [.. _names, name];
            return slot;
        }
    }

    /// <summary>The label of a slot (for the scraper).</summary>
    public string NameOf(int slot)
    {
        var names = Volatile.Read(ref _names);
        return slot < names.Length ? names[slot] : OtherLabel;
    }
}
