using System.Buffers.Binary;
using GslbDns.Dns;
using GslbDns.Zones;

namespace GslbDns.Query;

/// <summary>
/// One RRset with every record pre-encoded as wire bytes from TYPE to the end of RDATA
/// (TYPE, CLASS, TTL, RDLENGTH, RDATA), so answering is one owner pointer plus a copy per record.
/// </summary>
public sealed class CompiledRRset
{
    public CompiledRRset(ushort type, uint ttl, IReadOnlyList<ZoneRecord> records)
    {
        Type = type;
        Ttl = ttl;
        Records = records;
        var offsets = new int[records.Count + 1];
        var size = 0;
        foreach (var r in records)
        {
            size += 10 + r.RData.Length;
        }

        var wire = new byte[size];
        var pos = 0;
        for (var i = 0; i < records.Count; i++)
        {
            offsets[i] = pos;
            var r = records[i];
            BinaryPrimitives.WriteUInt16BigEndian(wire.AsSpan(pos), type);
            BinaryPrimitives.WriteUInt16BigEndian(wire.AsSpan(pos + 2), r.Class);
            BinaryPrimitives.WriteUInt32BigEndian(wire.AsSpan(pos + 4), ttl);
            BinaryPrimitives.WriteUInt16BigEndian(wire.AsSpan(pos + 8), (ushort)r.RData.Length);
            r.RData.CopyTo(wire, pos + 10);
            pos += 10 + r.RData.Length;
        }

        offsets[records.Count] = pos;
        Wire = wire;
        Offsets = offsets;
        var targets = new List<DnsName>();
        foreach (var r in records)
        {
            if (r.Target is not null)
            {
                targets.Add(r.Target);
            }
        }

        Targets = targets.ToArray();
    }

    public ushort Type { get; }

    public uint Ttl { get; }

    public IReadOnlyList<ZoneRecord> Records { get; }

    public int Count => Offsets.Length - 1;

    /// <summary>All records' TYPE..RDATA bytes back to back; record i spans Offsets[i]..Offsets[i+1].</summary>
    public byte[] Wire { get; }

    public int[] Offsets { get; }

    /// <summary>Names in RDATA that call for additional-section A/AAAA (NS, MX, SRV) or a CNAME hop.</summary>
    public DnsName[] Targets { get; }

    public ReadOnlySpan<byte> Record(int index) => Wire.AsSpan(Offsets[index], Offsets[index + 1] - Offsets[index]);

    /// <summary>This RRset's signature in a signed zone, made on first use and replaced when stale (<see cref="Dnssec.ZoneSigner.Static"/>).</summary>
    internal Dnssec.SignedSet? SignatureSlot;
}

/// <summary>A name in a zone: its RRsets (few, so a linear scan beats a dictionary) and what kind of node it is.</summary>
public sealed class ZoneNode
{
    public ZoneNode(DnsName name, CompiledRRset[] rrsets, bool isDelegation)
    {
        Name = name;
        RRsets = rrsets;
        IsDelegation = isDelegation;
        Types = [.. rrsets.Select(s => s.Type)];
        foreach (var set in rrsets)
        {
            if (set.Type == RecordType.CNAME)
            {
                Cname = set;
            }
        }
    }

    public DnsName Name { get; }

    public CompiledRRset[] RRsets { get; }

    /// <summary>NS records below the apex: a zone cut, answered with a referral.</summary>
    public bool IsDelegation { get; }

    public CompiledRRset? Cname { get; }

    /// <summary>The types of the static RRsets, for the NSEC type bitmap of a NODATA proof.</summary>
    public ushort[] Types { get; }

    /// <summary>Set for load-balanced names: the GSLB decision produces its A/AAAA answers per query.</summary>
    public IDynamicAnswerSource? Dynamic { get; init; }

    public CompiledRRset? Find(ushort type)
    {
        foreach (var set in RRsets)
        {
            if (set.Type == type)
            {
                return set;
            }
        }

        return null;
    }
}

/// <summary>
/// A zone compiled for lookup: every owner and every empty non-terminal in one hash table keyed by
/// the lower-cased wire name and probed with a span, so a query finds its node without allocating.
/// </summary>
public sealed class CompiledZone
{
    private readonly Dictionary<byte[], ZoneNode> _nodes;
    private readonly Dictionary<byte[], ZoneNode>.AlternateLookup<ReadOnlySpan<byte>> _lookup;

    private CompiledZone(ParsedZone source, Dictionary<byte[], ZoneNode> nodes, CompiledRRset soa, CompiledRRset ns, uint negativeTtl, Dnssec.ZoneSigner? signer)
    {
        Signer = signer;
        Source = source;
        _nodes = nodes;
        _lookup = nodes.GetAlternateLookup<ReadOnlySpan<byte>>();
        Soa = soa;
        ApexNs = ns;
        NegativeTtl = negativeTtl;
        NegativeSoaWire = BuildNegativeSoa(soa, negativeTtl);
        MetricSlot = Observability.MetricSlots.Zones.SlotOf(source.Origin.ToString());
    }

    public ParsedZone Source { get; }

    /// <summary>Set when the zone is signed: DNSSEC-OK queries get signatures and compact denial (RFC 9824).</summary>
    public Dnssec.ZoneSigner? Signer { get; }

    /// <summary>The signature of <see cref="NegativeSoaWire"/> (its TTL is the negative TTL, so it is signed apart from the apex SOA).</summary>
    internal Dnssec.SignedSet? NegativeSoaSignature;

    /// <summary>This zone's slot in the per-thread DNS counters (stable for the process, across reloads).</summary>
    public int MetricSlot { get; }

    public DnsName Origin => Source.Origin;

    public CompiledRRset Soa { get; }

    public CompiledRRset ApexNs { get; }

    /// <summary>RFC 2308 3: the lesser of the SOA's own TTL and its MINIMUM field.</summary>
    public uint NegativeTtl { get; }

    /// <summary>The SOA record (TYPE..RDATA) with the negative TTL, for the authority section of NXDOMAIN and NODATA.</summary>
    public byte[] NegativeSoaWire { get; }

    public ZoneNode? Find(ReadOnlySpan<byte> wireName) => _lookup.TryGetValue(wireName, out var node) ? node : null;

    public ZoneNode? Find(DnsName name) => Find(name.Wire);

    /// <summary>Every owner and empty non-terminal of the zone, with the lower-cased wire name it is keyed by (shared, so another table keyed by it costs no copy).</summary>
    internal Dictionary<byte[], ZoneNode> Nodes => _nodes;

    /// <summary>Whether a zone cut (a delegation) is at <paramref name="name"/> or above it, below the apex: the walk down stops there.</summary>
    internal bool IsAtOrBelowCut(DnsName name)
    {
        for (var n = name; n.LabelCount > Origin.LabelCount; n = n.Parent())
        {
            if (Find(n) is { IsDelegation: true })
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Builds the lookup structure; <paramref name="dynamicNodes"/> marks load-balanced names (they may have no static records).
    /// With a <paramref name="signer"/> the apex also publishes its DNSKEY, CDS and CDNSKEY records.
    /// </summary>
    public static CompiledZone Build(ParsedZone zone, IReadOnlyDictionary<DnsName, IDynamicAnswerSource>? dynamicNodes = null, Dnssec.ZoneSigner? signer = null)
    {
        var byOwner = new Dictionary<DnsName, List<ZoneRecord>>();
        var source = zone.Records.AsEnumerable();
        if (signer is not null)
        {
            var soaTtl = zone.Records.FirstOrDefault(r => r.Type == RecordType.SOA && r.Owner == zone.Origin)?.Ttl ?? 3600;
            var at = new SourceLocation(zone.File, 0);
            source = source
                .Where(r => !(r.Owner == zone.Origin && r.Type is RecordType.DNSKEY or RecordType.CDS or RecordType.CDNSKEY))
                .Concat(signer.ApexRecords().Select(a => new ZoneRecord(zone.Origin, a.Type, RecordClass.IN, soaTtl, a.RData, null, at)));
        }

        foreach (var record in source)
        {
            if (!byOwner.TryGetValue(record.Owner, out var list))
            {
                byOwner[record.Owner] = list = [];
            }

            list.Add(record);
        }

        if (dynamicNodes is not null)
        {
            foreach (var name in dynamicNodes.Keys)
            {
                if (!byOwner.ContainsKey(name))
                {
                    byOwner[name] = [];
                }
            }
        }

        var nodes = new Dictionary<byte[], ZoneNode>(WireNameComparer.Instance);
        foreach (var (owner, records) in byOwner)
        {
            var sets = records
                .GroupBy(r => r.Type)
                .Select(g => new CompiledRRset(g.Key, g.First().Ttl, g.ToList()))
                .ToArray();
            var isDelegation = owner != zone.Origin && sets.Any(s => s.Type == RecordType.NS);
            IDynamicAnswerSource? dynamic = null;
            dynamicNodes?.TryGetValue(owner, out dynamic);
            nodes[owner.Wire.ToArray()] = new ZoneNode(owner, sets, isDelegation) { Dynamic = dynamic };

            // Every ancestor up to the apex exists, even with no records (empty non-terminals).
            for (var parent = owner.Parent(); parent.LabelCount > zone.Origin.LabelCount; parent = parent.Parent())
            {
                var key = parent.Wire.ToArray();
                if (!nodes.ContainsKey(key) && !byOwner.ContainsKey(parent))
                {
                    nodes[key] = new ZoneNode(parent, [], false);
                }
            }
        }

        var apex = nodes[zone.Origin.Wire.ToArray()];
        var soa = apex.Find(RecordType.SOA) ?? throw new ZoneLoadException(new SourceLocation(zone.File, 0), "zone has no SOA at its origin");
        var ns = apex.Find(RecordType.NS) ?? throw new ZoneLoadException(new SourceLocation(zone.File, 0), "zone has no NS at its origin");
        var soaRdata = soa.Records[0].RData;
        var minimum = BinaryPrimitives.ReadUInt32BigEndian(soaRdata.AsSpan(soaRdata.Length - 4));
        return new CompiledZone(zone, nodes, soa, ns, Math.Min(soa.Ttl, minimum), signer);
    }

    private static byte[] BuildNegativeSoa(CompiledRRset soa, uint ttl)
    {
        var wire = soa.Record(0).ToArray();
        BinaryPrimitives.WriteUInt32BigEndian(wire.AsSpan(4), ttl);
        return wire;
    }
}

/// <summary>
/// Every served zone, keyed by origin. Immutable: a reload builds a new one and swaps the reference,
/// so a query sees either the old set or the new one, never a mix.
/// </summary>
public sealed class ZoneSet
{
    private readonly Dictionary<byte[], CompiledZone> _zones;
    private readonly Dictionary<byte[], CompiledZone>.AlternateLookup<ReadOnlySpan<byte>> _lookup;
    private readonly Dictionary<byte[], KnownName>.AlternateLookup<ReadOnlySpan<byte>> _known;

    public ZoneSet(IEnumerable<CompiledZone> zones)
    {
        _zones = new Dictionary<byte[], CompiledZone>(WireNameComparer.Instance);
        foreach (var zone in zones)
        {
            _zones[zone.Origin.Wire.ToArray()] = zone;
            AnySigned |= zone.Signer is not null;
        }

        _lookup = _zones.GetAlternateLookup<ReadOnlySpan<byte>>();

        // After the zones: a precompiled reply may follow a CNAME into another zone of the set, or take glue from it.
        _known = (_zones.Count == 0 ? new Dictionary<byte[], KnownName>(WireNameComparer.Instance) : KnownNameCompiler.Compile(this))
            .GetAlternateLookup<ReadOnlySpan<byte>>();
    }

    public static readonly ZoneSet Empty = new([]);

    public int Count => _zones.Count;

    public IEnumerable<CompiledZone> Zones => _zones.Values;

    public CompiledZone? FindExact(ReadOnlySpan<byte> origin) => _lookup.TryGetValue(origin, out var zone) ? zone : null;

    /// <summary>A signed zone is in the set: a DNSSEC-OK query cannot take a precompiled reply (a CNAME may lead into that zone).</summary>
    public bool AnySigned { get; }

    /// <summary>Names the set holds below no zone cut, by lower-cased wire name (see <see cref="KnownName"/>).</summary>
    public int KnownNameCount => _known.Dictionary.Count;

    public KnownName? FindKnown(ReadOnlySpan<byte> wireName) => _known.TryGetValue(wireName, out var known) ? known : null;

    /// <summary>The most specific zone of the set at or above <paramref name="wireName"/>, as a query's zone search finds it.</summary>
    public CompiledZone? FindZoneOf(ReadOnlySpan<byte> wireName)
    {
        for (var i = 0; ; i += wireName[i] + 1)
        {
            if (FindExact(wireName[i..]) is { } zone)
            {
                return zone;
            }

            if (wireName[i] == 0)
            {
                return null;
            }
        }
    }
}
