using GslbDns.Dns;

namespace GslbDns.Gslb;

/// <summary>
/// A dense integer slot for every endpoint of one compiled configuration (0 .. <see cref="Count"/> - 1, by endpoint id),
/// so health is kept in arrays indexed by slot and read at query time without hashing the id. The loader gives each
/// <see cref="Endpoint"/> its <see cref="Endpoint.Slot"/> (an index into this table, and the table); a health
/// snapshot remembers the table it was built for, and a reader uses the slot only when the two are the same table, so
/// a snapshot built for an older configuration is never read by the slots of a newer one. Immutable.
/// </summary>
public sealed class EndpointSlots
{
    public static readonly EndpointSlots Empty = new([], []);

    private readonly Dictionary<string, int> _byId;
    private readonly string[] _ids;
    private readonly int[] _dataCenterOf;
    private readonly string[] _dataCenters;

    private EndpointSlots(IReadOnlyList<string> ids, IReadOnlyList<string> dataCenterOfSlot)
    {
        _ids = [.. ids];
        _byId = new Dictionary<string, int>(_ids.Length, StringComparer.Ordinal);
        for (var i = 0; i < _ids.Length; i++)
        {
            _byId.Add(_ids[i], i);
        }

        var dataCenters = new Dictionary<string, int>(StringComparer.Ordinal);
        _dataCenterOf = new int[_ids.Length];
        for (var i = 0; i < _ids.Length; i++)
        {
            if (!dataCenters.TryGetValue(dataCenterOfSlot[i], out var index))
            {
                dataCenters[dataCenterOfSlot[i]] = index = dataCenters.Count;
            }

            _dataCenterOf[i] = index;
        }

        _dataCenters = new string[dataCenters.Count];
        foreach (var (name, index) in dataCenters)
        {
            _dataCenters[index] = name;
        }
    }

    /// <summary>Endpoints (distinct ids) in the configuration.</summary>
    public int Count => _ids.Length;

    /// <summary>Distinct data centers of those endpoints (<see cref="DataCenterIndexAt"/> ranges over 0 .. this - 1).</summary>
    public int DataCenterCount => _dataCenters.Length;

    /// <summary>The slot of the endpoint with id <paramref name="id"/>; false when this configuration has no such endpoint.</summary>
    public bool TryGetSlot(string id, out int slot) => _byId.TryGetValue(id, out slot);

    /// <summary>The id of the endpoint in <paramref name="slot"/>.</summary>
    public string IdAt(int slot) => _ids[slot];

    /// <summary>The data center of the endpoint in <paramref name="slot"/>, as an index into the data centers of this table.</summary>
    public int DataCenterIndexAt(int slot) => _dataCenterOf[slot];

    /// <summary>The name of data center <paramref name="index"/>.</summary>
    public string DataCenterName(int index) => _dataCenters[index];

    /// <summary>
    /// Slots for every endpoint of <paramref name="services"/> in their order (an id seen twice keeps its first slot) and the
    /// services with each endpoint carrying its slot. Child-service links are not followed: link after slotting.
    /// </summary>
    public static (EndpointSlots Slots, Dictionary<DnsName, ServiceConfig> Services) Assign(IReadOnlyDictionary<DnsName, ServiceConfig> services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var slots = Of(services.Values);
        var slotted = new Dictionary<DnsName, ServiceConfig>(services.Count);
        foreach (var (key, service) in services)
        {
            var endpoints = new Endpoint[service.Endpoints.Count];
            for (var i = 0; i < endpoints.Length; i++)
            {
                var endpoint = service.Endpoints[i];
                slots.TryGetSlot(endpoint.Id, out var slot);
                endpoints[i] = endpoint with { Slot = new EndpointSlot(slot, slots) };
            }

            slotted[key] = service with { Endpoints = endpoints };
        }

        return (slots, slotted);
    }

    /// <summary>A table over the endpoints of <paramref name="services"/> without touching them (configurations built by hand read by id).</summary>
    public static EndpointSlots Of(IEnumerable<ServiceConfig> services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var ids = new List<string>();
        var dataCenters = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var service in services)
        {
            foreach (var endpoint in service.Endpoints)
            {
                if (seen.Add(endpoint.Id))
                {
                    ids.Add(endpoint.Id);
                    dataCenters.Add(endpoint.DataCenter);
                }
            }
        }

        return ids.Count == 0 ? Empty : new EndpointSlots(ids, dataCenters);
    }
}
