using GslbDns.Dns;

namespace GslbDns.Zones;

/// <summary>
/// Zone-level rules a master file must meet before it is served; each error names the record that breaks it.
/// Also normalises what RFC 2181 says a server must not serve as written: duplicate RRs (section 5) and RRsets
/// whose TTLs differ (section 5.2: we keep the first TTL and warn rather than reject, as BIND does with
/// "TTL set to prior TTL"; Knot 3.2 instead moves the RRset to the later record's TTL).
/// </summary>
internal static class ZoneValidator
{
    /// <summary>Checks <paramref name="records"/> (in file order) and returns them deduplicated with RRset TTLs unified.</summary>
    public static List<ZoneRecord> Validate(DnsName origin, List<ZoneRecord> records, string file, List<ZoneWarning> warnings)
    {
        var names = new Dictionary<DnsName, NameData>();
        var result = new List<ZoneRecord>(records.Count);
        ZoneRecord? soa = null;
        var apexNs = false;

        foreach (var record in records)
        {
            var owner = record.Owner;
            if (!owner.IsAtOrBelow(origin))
            {
                throw Error(record, $"owner '{owner}' is outside the zone '{origin}'");
            }

            if (!names.TryGetValue(owner, out var data))
            {
                data = new NameData();
                names.Add(owner, data);
            }

            var set = data.Find(record.Type);
            if (set is not null && set.Contains(record.RData))
            {
                warnings.Add(new ZoneWarning(record.Source, $"duplicate {RecordType.ToText(record.Type)} record at '{owner}' ignored (first at {set.First.Source})"));
                continue;
            }

            CheckRules(origin, record, data, set);

            var kept = record;
            if (set is null)
            {
                set = new RRset(record);
                data.Sets.Add(set);
            }
            else if (record.Ttl != set.First.Ttl)
            {
                warnings.Add(new ZoneWarning(
                    record.Source,
                    $"TTL {record.Ttl} differs from the TTL {set.First.Ttl} of the {RecordType.ToText(record.Type)} RRset at '{owner}' (first at {set.First.Source}); using {set.First.Ttl}"));
                kept = record with { Ttl = set.First.Ttl };
            }

            set.Add(record.RData);
            result.Add(kept);
            if (record.Type == RecordType.SOA)
            {
                soa = record;
            }
            else if (record.Type == RecordType.NS && owner == origin)
            {
                apexNs = true;
            }
        }

        // A zone-wide error still points somewhere an editor can jump to (kzonecheck names none): where the SOA
        // should have been, the first record (line 1 of an empty file); for a missing NS, the apex's SOA.
        if (soa is null)
        {
            var where = records.Count > 0 ? records[0].Source : new SourceLocation(file, 1);
            throw new ZoneLoadException(where, $"no SOA record at the zone origin '{origin}' (a zone starts with its SOA; the first record is here)");
        }

        if (!apexNs)
        {
            throw new ZoneLoadException(soa.Source, $"no NS record at the zone origin '{origin}' beside its SOA here");
        }

        return result;
    }

    /// <summary>Rules that a new, non-duplicate record must meet given what its owner already has.</summary>
    private static void CheckRules(DnsName origin, ZoneRecord record, NameData data, RRset? sameType)
    {
        var type = record.Type;
        var owner = record.Owner;
        switch (type)
        {
            case RecordType.SOA when owner != origin:
                throw Error(record, $"SOA record at '{owner}', but a zone has its SOA only at its origin '{origin}'");
            case RecordType.SOA when sameType is not null:
                throw Error(record, $"second SOA record (the first is at {sameType.First.Source}); a zone has exactly one");
            case RecordType.CNAME when owner == origin:
                throw Error(record, "CNAME at the zone apex, which must hold SOA and NS (RFC 1034 3.6.2)");
            case RecordType.CNAME when sameType is not null:
                throw Error(record, $"second CNAME at '{owner}' (the first is at {sameType.First.Source}); a name has at most one (RFC 2181 10.1)");
            case RecordType.DNAME when sameType is not null:
                throw Error(record, $"second DNAME at '{owner}' (the first is at {sameType.First.Source}); a name has at most one (RFC 6672 2.4)");
        }

        if (CoexistsWithCname(type))
        {
            return;
        }

        foreach (var other in data.Sets)
        {
            if (type == RecordType.CNAME && !CoexistsWithCname(other.Type))
            {
                throw Error(record, $"CNAME at '{owner}', which already has {RecordType.ToText(other.Type)} data at {other.First.Source}; a CNAME name has no other data (RFC 1034 3.6.2)");
            }

            if (other.Type == RecordType.CNAME)
            {
                throw Error(record, $"{RecordType.ToText(type)} record at '{owner}', which has a CNAME at {other.First.Source}; a CNAME name has no other data (RFC 1034 3.6.2)");
            }
        }
    }

    /// <summary>DNSSEC's RRSIG and NSEC may sit beside a CNAME (RFC 4035 2.5); nothing else may.</summary>
    private static bool CoexistsWithCname(ushort type) => type is RecordType.RRSIG or RecordType.NSEC;

    private static ZoneLoadException Error(ZoneRecord record, string reason) => new(record.Source, reason);

    /// <summary>The RRsets seen so far at one owner; a short list because a name rarely has many types.</summary>
    private sealed class NameData
    {
        public List<RRset> Sets { get; } = new(2);

        public RRset? Find(ushort type)
        {
            foreach (var set in Sets)
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
    /// RDATA already in one RRset, compared as bytes (names in it are lower-cased, so this is RFC 2181's identity).
    /// Most RRsets hold one or two records, so a short list is scanned and a hash set built only for big ones.
    /// </summary>
    private sealed class RRset(ZoneRecord first)
    {
        private const int ListLimit = 8;
        private readonly List<byte[]> _list = new(1);
        private HashSet<byte[]>? _set;

        public ZoneRecord First { get; } = first;

        public ushort Type => First.Type;

        public bool Contains(byte[] rdata)
        {
            if (_set is not null)
            {
                return _set.Contains(rdata);
            }

            foreach (var item in _list)
            {
                if (item.AsSpan().SequenceEqual(rdata))
                {
                    return true;
                }
            }

            return false;
        }

        public void Add(byte[] rdata)
        {
            if (_set is not null)
            {
                _set.Add(rdata);
                return;
            }

            _list.Add(rdata);
            if (_list.Count > ListLimit)
            {
                // WireNameComparer compares any byte arrays by content; RDATA needs nothing more.
                _set = new HashSet<byte[]>(_list, WireNameComparer.Instance);
            }
        }
    }
}
