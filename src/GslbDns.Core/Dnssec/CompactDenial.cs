using System.Buffers.Binary;
using GslbDns.Dns;

namespace GslbDns.Dnssec;

/// <summary>
/// Compact denial of existence (RFC 9824): every negative answer is one NSEC at the name asked about whose next
/// name is its immediate successor <c>\000.name</c>, so it covers no other name (no zone walking, no chain to
/// pre-compute). NXDOMAIN becomes NOERROR with the bitmap RRSIG NSEC NXNAME; NODATA lists the types the name has.
/// </summary>
public static class CompactDenial
{
    /// <summary>Type bitmap windows written: 0 (types 0-255) and 1 (256-511, CAA). Types above are not listed.</summary>
    private const int Windows = 2;

    /// <summary>
    /// Writes the NSEC record (TYPE..RDATA, no owner) for <paramref name="owner"/> (lower-cased wire) into
    /// <paramref name="destination"/>: the types given, plus RRSIG and NSEC; returns its length.
    /// </summary>
    public static int WriteNsec(Span<byte> destination, ReadOnlySpan<byte> owner, uint ttl, ReadOnlySpan<ushort> types)
    {
        Span<byte> bits = stackalloc byte[32 * Windows];
        bits.Clear();
        Set(bits, RecordType.RRSIG);
        Set(bits, RecordType.NSEC);
        foreach (var type in types)
        {
            Set(bits, type);
        }

        BinaryPrimitives.WriteUInt16BigEndian(destination, RecordType.NSEC);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], RecordClass.IN);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], ttl);
        var pos = 10;

        // The successor \000.owner; an owner too long to take one more label names itself (RFC 9824 leaves that case open).
        if (owner.Length + 2 <= DnsName.MaxWireLength)
        {
            destination[pos] = 1;
            destination[pos + 1] = 0;
            pos += 2;
        }

        owner.CopyTo(destination[pos..]);
        pos += owner.Length;
        for (var window = 0; window < Windows; window++)
        {
            var block = bits.Slice(window * 32, 32);
            var last = block.LastIndexOfAnyExcept((byte)0);
            if (last < 0)
            {
                continue;
            }

            destination[pos] = (byte)window;
            destination[pos + 1] = (byte)(last + 1);
            block[..(last + 1)].CopyTo(destination[(pos + 2)..]);
            pos += 2 + last + 1;
        }

        BinaryPrimitives.WriteUInt16BigEndian(destination[8..], (ushort)(pos - 10));
        return pos;
    }

    private static void Set(Span<byte> bits, ushort type)
    {
        if (type >= 256 * Windows)
        {
            return;
        }

        bits[type >> 3] |= (byte)(0x80 >> (type & 7));
    }
}
