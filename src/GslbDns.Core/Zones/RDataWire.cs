using GslbDns.Dns;

namespace GslbDns.Zones;

/// <summary>
/// Checks RFC 3597 generic RDATA (<c>\# len hex</c>) of a known type against that type's wire layout and
/// lower-cases the names inside it, so a record written generically is byte-identical to the same record
/// written in presentation format (needed for RFC 2181 duplicate removal and for the query path).
/// Types without a layout here (DS, DNSKEY, unknown codes) are kept as opaque octets.
/// </summary>
internal static class RDataWire
{
    /// <summary>Validates <paramref name="wire"/> in place (names are lower-cased in it) and finds the target name.</summary>
    public static bool TryCanonicalize(ushort type, byte[] wire, out DnsName? target, out string error)
    {
        target = null;
        error = string.Empty;
        var offset = 0;
        switch (type)
        {
            case RecordType.A:
                return Length(wire, 4, ref error);
            case RecordType.AAAA:
                return Length(wire, 16, ref error);
            case RecordType.NS or RecordType.CNAME or RecordType.DNAME or RecordType.PTR:
                if (!TryName(wire, ref offset, out var name, ref error))
                {
                    return false;
                }

                target = type == RecordType.PTR ? null : name;
                return End(wire, offset, ref error);
            case RecordType.MX:
                offset = 2;
                return Fixed(wire, 2, ref error) && TryName(wire, ref offset, out target, ref error) && End(wire, offset, ref error);
            case RecordType.SRV:
                offset = 6;
                return Fixed(wire, 6, ref error) && TryName(wire, ref offset, out target, ref error) && End(wire, offset, ref error);
            case RecordType.SOA:
                return TryName(wire, ref offset, out _, ref error) && TryName(wire, ref offset, out _, ref error)
                    && Length(wire.AsSpan(offset), 20, ref error);
            case RecordType.TXT:
                if (wire.Length == 0)
                {
                    error = "TXT needs at least one character-string";
                    return false;
                }

                while (offset < wire.Length)
                {
                    if (!TryString(wire, ref offset, ref error))
                    {
                        return false;
                    }
                }

                return true;
            case RecordType.HINFO:
                return TryString(wire, ref offset, ref error) && TryString(wire, ref offset, ref error) && End(wire, offset, ref error);
            case RecordType.NAPTR:
                offset = 4;
                return Fixed(wire, 4, ref error) && TryString(wire, ref offset, ref error) && TryString(wire, ref offset, ref error)
                    && TryString(wire, ref offset, ref error) && TryName(wire, ref offset, out _, ref error) && End(wire, offset, ref error);
            case RecordType.CAA:
                if (wire.Length < 2 || 2 + wire[1] > wire.Length)
                {
                    error = "CAA needs flags, a tag length and the tag";
                    return false;
                }

                var tag = System.Text.Encoding.Latin1.GetString(wire, 2, wire[1]);
                if (!IsCaaTag(tag))
                {
                    error = "CAA tag must be 1-15 ASCII letters or digits";
                    return false;
                }

                return true;
            default:
                return true;
        }
    }

    /// <summary>RFC 8659 4.1: a tag is 1-15 ASCII letters and digits.</summary>
    public static bool IsCaaTag(string tag)
    {
        if (tag.Length is 0 or > 15)
        {
            return false;
        }

        foreach (var c in tag)
        {
            if (!char.IsAsciiLetterOrDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    private static bool Length(ReadOnlySpan<byte> wire, int expected, ref string error)
    {
        if (wire.Length != expected)
        {
            error = $"expected {expected} octets, got {wire.Length}";
            return false;
        }

        return true;
    }

    private static bool Fixed(byte[] wire, int length, ref string error)
    {
        if (wire.Length < length)
        {
            error = $"shorter than its {length} fixed octets";
            return false;
        }

        return true;
    }

    private static bool End(byte[] wire, int offset, ref string error)
    {
        if (offset != wire.Length)
        {
            error = $"{wire.Length - offset} octet(s) after the last field";
            return false;
        }

        return true;
    }

    private static bool TryString(byte[] wire, ref int offset, ref string error)
    {
        if (offset >= wire.Length || offset + 1 + wire[offset] > wire.Length)
        {
            error = "character-string runs past the end";
            return false;
        }

        offset += 1 + wire[offset];
        return true;
    }

    /// <summary>Reads an uncompressed name at <paramref name="offset"/> and writes it back lower-cased.</summary>
    private static bool TryName(byte[] wire, ref int offset, out DnsName? name, ref string error)
    {
        name = null;
        var start = offset;
        while (true)
        {
            if (offset >= wire.Length)
            {
                error = "name runs past the end";
                return false;
            }

            var length = wire[offset];
            if (length == 0)
            {
                offset++;
                break;
            }

            if (length > DnsName.MaxLabelLength)
            {
                // 0xC0 and up would be a compression pointer, which never appears in zone data (RFC 3597 4).
                error = $"label length octet {length} (labels are at most 63 octets; no compression)";
                return false;
            }

            offset += 1 + length;
        }

        if (offset - start > DnsName.MaxWireLength)
        {
            error = "name longer than 255 octets";
            return false;
        }

        name = DnsName.FromWire(wire.AsSpan(start, offset - start));
        name.Wire.CopyTo(wire.AsSpan(start));
        return true;
    }
}
