using System.Buffers.Binary;
using GslbDns.Dns;

namespace GslbDns.Dnssec;

/// <summary>
/// Builds RRSIG records (RFC 4034 3, RFC 4035 2.2) over RRsets given as records in the engine's pre-encoded form:
/// TYPE, CLASS, TTL, RDLENGTH, RDATA back to back (no owner). The signed data is the RFC 4034 6 canonical form:
/// lower-cased owner, names in RDATA lower-cased for the RFC 4034 6.2 types we serve, records in canonical order.
/// Runs on cache misses only, so it may allocate.
/// </summary>
public static class RRsetSignature
{
    public const int RrsigFixedLength = 18;

    /// <summary>The RRSIG record (TYPE..RDATA, no owner) over the records, signed by <paramref name="key"/>.</summary>
    /// <param name="owner">The RRset's owner, lower-cased wire; a wildcard owner ("*.x") signs for its expansions.</param>
    public static byte[] Sign(DnssecKey key, DnsName signer, ReadOnlySpan<byte> owner, ushort type, uint ttl, ReadOnlySpan<byte> records, uint inception, uint expiration)
    {
        var rdatas = SplitCanonical(type, records, out var @class);
        var labels = CountLabels(owner);
        if (owner.Length > 1 && owner[0] == 1 && owner[1] == (byte)'*')
        {
            labels--;
        }

        var fixedLength = RrsigFixedLength + signer.WireLength;
        var rrsig = new byte[10 + fixedLength + DnssecKey.SignatureLength];
        var rdata = rrsig.AsSpan(10);
        BinaryPrimitives.WriteUInt16BigEndian(rrsig, RecordType.RRSIG);
        BinaryPrimitives.WriteUInt16BigEndian(rrsig.AsSpan(2), @class);
        BinaryPrimitives.WriteUInt32BigEndian(rrsig.AsSpan(4), ttl);
        BinaryPrimitives.WriteUInt16BigEndian(rrsig.AsSpan(8), (ushort)(fixedLength + DnssecKey.SignatureLength));
        BinaryPrimitives.WriteUInt16BigEndian(rdata, type);
        rdata[2] = DnssecKey.Algorithm;
        rdata[3] = (byte)labels;
        BinaryPrimitives.WriteUInt32BigEndian(rdata[4..], ttl);
        BinaryPrimitives.WriteUInt32BigEndian(rdata[8..], expiration);
        BinaryPrimitives.WriteUInt32BigEndian(rdata[12..], inception);
        BinaryPrimitives.WriteUInt16BigEndian(rdata[16..], key.KeyTag);
        signer.Wire.CopyTo(rdata[18..]);

        var size = fixedLength;
        foreach (var r in rdatas)
        {
            size += owner.Length + 10 + r.Length;
        }

        var data = new byte[size];
        rdata[..fixedLength].CopyTo(data);
        var pos = fixedLength;
        foreach (var r in rdatas)
        {
            owner.CopyTo(data.AsSpan(pos));
            pos += owner.Length;
            BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(pos), type);
            BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(pos + 2), @class);
            BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(pos + 4), ttl);
            BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(pos + 8), (ushort)r.Length);
            r.CopyTo(data, pos + 10);
            pos += 10 + r.Length;
        }

        key.Sign(data, rdata[fixedLength..]);
        return rrsig;
    }

    /// <summary>The signed data of an RRSIG record made by <see cref="Sign"/> for these records (tests verify signatures with it).</summary>
    public static byte[] SignedData(ReadOnlySpan<byte> rrsigRecord, ReadOnlySpan<byte> owner, ReadOnlySpan<byte> records)
    {
        var rdata = rrsigRecord[10..];
        var type = BinaryPrimitives.ReadUInt16BigEndian(rdata);
        var ttl = BinaryPrimitives.ReadUInt32BigEndian(rdata[4..]);
        var fixedLength = rdata.Length - DnssecKey.SignatureLength;
        var rdatas = SplitCanonical(type, records, out var @class);
        using var stream = new MemoryStream();
        stream.Write(rdata[..fixedLength]);
        Span<byte> head = stackalloc byte[10];
        foreach (var r in rdatas)
        {
            stream.Write(owner);
            BinaryPrimitives.WriteUInt16BigEndian(head, type);
            BinaryPrimitives.WriteUInt16BigEndian(head[2..], @class);
            BinaryPrimitives.WriteUInt32BigEndian(head[4..], ttl);
            BinaryPrimitives.WriteUInt16BigEndian(head[8..], (ushort)r.Length);
            stream.Write(head);
            stream.Write(r);
        }

        return stream.ToArray();
    }

    /// <summary>The RDATAs of the records in canonical form and order (RFC 4034 6.2, 6.3), duplicates dropped.</summary>
    private static List<byte[]> SplitCanonical(ushort type, ReadOnlySpan<byte> records, out ushort @class)
    {
        var list = new List<byte[]>();
        @class = RecordClass.IN;
        var pos = 0;
        while (pos < records.Length)
        {
            @class = BinaryPrimitives.ReadUInt16BigEndian(records[(pos + 2)..]);
            var length = BinaryPrimitives.ReadUInt16BigEndian(records[(pos + 8)..]);
            var rdata = records.Slice(pos + 10, length).ToArray();
            LowerCaseNames(type, rdata);
            list.Add(rdata);
            pos += 10 + length;
        }

        list.Sort(static (a, b) => a.AsSpan().SequenceCompareTo(b));
        for (var i = list.Count - 1; i > 0; i--)
        {
            if (list[i].AsSpan().SequenceEqual(list[i - 1]))
            {
                list.RemoveAt(i);
            }
        }

        return list;
    }

    /// <summary>RFC 4034 6.2 (as narrowed by RFC 6840 5.1): names inside these types' RDATA are signed lower-cased.</summary>
    private static void LowerCaseNames(ushort type, Span<byte> rdata)
    {
        switch (type)
        {
            case RecordType.NS or RecordType.CNAME or RecordType.PTR or RecordType.DNAME:
                LowerCaseName(rdata);
                break;
            case RecordType.SOA:
                var next = LowerCaseName(rdata);
                LowerCaseName(rdata[next..]);
                break;
            case RecordType.MX:
                LowerCaseName(rdata[2..]);
                break;
            case RecordType.SRV:
                LowerCaseName(rdata[6..]);
                break;
        }
    }

    private static int LowerCaseName(Span<byte> name)
    {
        var i = 0;
        while (i < name.Length && name[i] != 0 && name[i] < 64)
        {
            var end = Math.Min(name.Length, i + 1 + name[i]);
            for (var j = i + 1; j < end; j++)
            {
                if (name[j] is >= (byte)'A' and <= (byte)'Z')
                {
                    name[j] += 32;
                }
            }

            i = end;
        }

        return i + 1;
    }

    public static int CountLabels(ReadOnlySpan<byte> name)
    {
        var labels = 0;
        var i = 0;
        while (i < name.Length && name[i] != 0)
        {
            labels++;
            i += name[i] + 1;
        }

        return labels;
    }
}
