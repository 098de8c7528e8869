using System.Buffers.Binary;
using GslbDns.Dns;

namespace GslbDns.Dnssec;

/// <summary>
/// How long signatures are good for. Inception is backdated for validators whose clocks run behind; a signature is
/// replaced once less than <see cref="RefreshBefore"/> of its lifetime is left, so a snapshot that lives for weeks
/// keeps serving fresh signatures, and a cached answer never outlives its signature.
/// </summary>
public sealed record SignatureValidity(TimeSpan Backdate, TimeSpan Lifetime, TimeSpan RefreshBefore)
{
    public static readonly SignatureValidity Default = new(TimeSpan.FromHours(1), TimeSpan.FromDays(14), TimeSpan.FromDays(7));
}

/// <summary>
/// The signing stage of one compiled zone (one snapshot's lifetime): its keys, the signatures of its static RRsets
/// (one slot per RRset, kept by the RRset itself) and a bounded cache for everything that varies per query.
/// Signatures are made when first needed and re-made when stale; readers never lock.
/// </summary>
public sealed class ZoneSigner
{
    public const int DefaultCacheSlots = 4096;

    public ZoneSigner(ZoneKeys keys, SignatureValidity? validity = null, int cacheSlots = DefaultCacheSlots)
    {
        Keys = keys;
        Validity = validity ?? SignatureValidity.Default;
        Cache = new SignatureCache(cacheSlots);
    }

    public ZoneKeys Keys { get; }

    public DnsName Origin => Keys.Zone;

    public SignatureValidity Validity { get; }

    public SignatureCache Cache { get; }

    /// <summary>Signatures made so far (static and cached), for tests and metrics.</summary>
    public long Signatures => Interlocked.Read(ref _signatures);

    private long _signatures;

    /// <summary>
    /// The records the apex publishes: DNSKEY (the KSKs, the signing ZSK and any ZSK of a rollover under way), and CDS
    /// and CDNSKEY of the KSK the parent's DS should name (RFC 7344) for parents that poll.
    /// </summary>
    public IReadOnlyList<(ushort Type, byte[] RData)> ApexRecords() =>
    [
        (RecordType.DNSKEY, Keys.Ksk.DnskeyRData),
        .. Keys.OtherKsks.Select(k => (RecordType.DNSKEY, k.DnskeyRData)),
        (RecordType.DNSKEY, Keys.Zsk.DnskeyRData),
        .. Keys.OtherZsks.Select(k => (RecordType.DNSKEY, k.DnskeyRData)),
        (RecordType.CDS, Keys.Ksk.DsRData(Origin)),
        (RecordType.CDNSKEY, Keys.Ksk.DnskeyRData),
    ];

    /// <summary>The DNSKEY RRset and the CDS/CDNSKEY the parent reads are signed by the KSK; the rest by the ZSK.</summary>
    public DnssecKey KeyFor(ushort type) => IsKeySigned(type) ? Keys.Ksk : Keys.Zsk;

    private static bool IsKeySigned(ushort type) => type is RecordType.DNSKEY or RecordType.CDS or RecordType.CDNSKEY;

    /// <summary>
    /// Signs now; <paramref name="key"/> is stored with the signature for cache lookups. During a KSK rollover the
    /// RRsets the KSK signs get one signature per KSK (<see cref="SignedSet.More"/>): a resolver holding the old DS
    /// and one holding the new both find a signature by the key their DS names.
    /// </summary>
    public SignedSet Sign(byte[]? key, ReadOnlySpan<byte> owner, ushort type, uint ttl, ReadOnlySpan<byte> records, long now)
    {
        var inception = (uint)(now - (long)Validity.Backdate.TotalSeconds);
        var expiration = now + (long)Validity.Lifetime.TotalSeconds;
        var rrsig = RRsetSignature.Sign(KeyFor(type), Origin, owner, type, ttl, records, inception, (uint)expiration);
        var more = Array.Empty<byte[]>();
        if (IsKeySigned(type) && Keys.OtherKsks.Count > 0)
        {
            more = new byte[Keys.OtherKsks.Count][];
            for (var i = 0; i < more.Length; i++)
            {
                more[i] = RRsetSignature.Sign(Keys.OtherKsks[i], Origin, owner, type, ttl, records, inception, (uint)expiration);
            }
        }

        Interlocked.Add(ref _signatures, 1 + more.Length);
        return new SignedSet(key, rrsig, expiration - (long)Validity.RefreshBefore.TotalSeconds) { More = more };
    }

    /// <summary>The signature of a static RRset, from its own slot while fresh; made (and the slot replaced) otherwise.</summary>
    public byte[] Static(ref SignedSet? slot, ReadOnlySpan<byte> owner, ushort type, uint ttl, ReadOnlySpan<byte> records, long now) =>
        StaticSet(ref slot, owner, type, ttl, records, now).Rrsig;

    /// <summary>As <see cref="Static"/>, with the further signatures of a KSK rollover (<see cref="SignedSet.More"/>).</summary>
    public SignedSet StaticSet(ref SignedSet? slot, ReadOnlySpan<byte> owner, ushort type, uint ttl, ReadOnlySpan<byte> records, long now)
    {
        var current = Volatile.Read(ref slot);
        if (current is not null && current.RefreshAt > now)
        {
            return current;
        }

        var signed = Sign(null, owner, type, ttl, records, now);
        Volatile.Write(ref slot, signed);
        return signed;
    }

    /// <summary>
    /// The signature of an RRset that varies per query, looked up by its content in the bounded cache: the key is
    /// owner, type, TTL and the RDATAs in sorted order, so one answer set shuffled differently shares one signature.
    /// </summary>
    public byte[] Cached(SigningScratch scratch, ReadOnlySpan<byte> owner, ushort type, uint ttl, ReadOnlySpan<byte> records, long now)
    {
        var length = BuildKey(scratch, owner, type, ttl, records);
        if (length < 0)
        {
            return Sign(null, owner, type, ttl, records, now).Rrsig;
        }

        var key = scratch.Key.AsSpan(0, length);
        var hash = SignatureCache.Hash(key);
        if (Cache.Find(key, hash, now) is { } found)
        {
            return found.Rrsig;
        }

        var signed = Sign(key.ToArray(), owner, type, ttl, records, now);
        Cache.Store(hash, signed);
        return signed.Rrsig;
    }

    /// <summary>Writes the cache key into the scratch; -1 when the set is too large to key (signed uncached).</summary>
    private static int BuildKey(SigningScratch scratch, ReadOnlySpan<byte> owner, ushort type, uint ttl, ReadOnlySpan<byte> records)
    {
        var order = scratch.Order;
        var count = 0;
        for (var pos = 0; pos < records.Length; pos += 10 + BinaryPrimitives.ReadUInt16BigEndian(records[(pos + 8)..]))
        {
            if (count == order.Length)
            {
                return -1;
            }

            order[count++] = pos;
        }

        if (owner.Length + 6 + records.Length > SigningScratch.MaxKey)
        {
            return -1;
        }

        // Insertion sort by RDATA: answer sets are a handful of records.
        for (var i = 1; i < count; i++)
        {
            var current = order[i];
            var j = i - 1;
            while (j >= 0 && RData(records, order[j]).SequenceCompareTo(RData(records, current)) > 0)
            {
                order[j + 1] = order[j];
                j--;
            }

            order[j + 1] = current;
        }

        var key = scratch.Key.AsSpan();
        owner.CopyTo(key);
        var at = owner.Length;
        BinaryPrimitives.WriteUInt16BigEndian(key[at..], type);
        BinaryPrimitives.WriteUInt32BigEndian(key[(at + 2)..], ttl);
        at += 6;
        for (var i = 0; i < count; i++)
        {
            var rdata = records.Slice(order[i] + 8, 2 + BinaryPrimitives.ReadUInt16BigEndian(records[(order[i] + 8)..]));
            rdata.CopyTo(key[at..]);
            at += rdata.Length;
        }

        return at;
    }

    private static ReadOnlySpan<byte> RData(ReadOnlySpan<byte> records, int at) =>
        records.Slice(at + 10, BinaryPrimitives.ReadUInt16BigEndian(records[(at + 8)..]));
}
