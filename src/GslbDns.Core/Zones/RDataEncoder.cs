using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using GslbDns.Dns;

namespace GslbDns.Zones;

/// <summary>
/// Turns the RDATA fields of one master-file entry into uncompressed wire RDATA, names lower-cased
/// (the form <see cref="ZoneRecord.RData"/> promises). Known types are read in their RFC presentation
/// format; any type, known or not, may also be written in the RFC 3597 generic form <c>\# len hex</c>.
/// One instance per reader: it keeps a 64 KiB scratch buffer so encoding a record allocates only the result.
/// </summary>
internal sealed class RDataEncoder
{
    private readonly byte[] _buffer = new byte[ushort.MaxValue];
    private int _length;
    private string _file = string.Empty;
    private int _entryLine;

    /// <summary>
    /// Encodes <paramref name="fields"/> as RDATA of <paramref name="type"/>; relative names are completed with
    /// <paramref name="origin"/>. Throws <see cref="ZoneLoadException"/> naming the line of the offending field.
    /// </summary>
    public byte[] Encode(ushort type, ReadOnlySpan<ZoneToken> fields, DnsName origin, string file, int entryLine, out DnsName? target)
    {
        _length = 0;
        _file = file;
        _entryLine = entryLine;
        target = null;

        if (fields.Length > 0 && fields[0].Is("\\#"))
        {
            return EncodeGeneric(type, fields, out target);
        }

        switch (type)
        {
            case RecordType.A:
                Expect(type, fields, 1);
                WriteIPv4(fields[0]);
                break;
            case RecordType.AAAA:
                Expect(type, fields, 1);
                WriteIPv6(fields[0]);
                break;
            case RecordType.NS or RecordType.CNAME or RecordType.DNAME:
                Expect(type, fields, 1);
                target = WriteName(fields[0], origin);
                break;
            case RecordType.PTR:
                Expect(type, fields, 1);
                WriteName(fields[0], origin);
                break;
            case RecordType.MX:
                Expect(type, fields, 2);
                WriteUInt16(fields[0], "MX preference");
                target = WriteName(fields[1], origin);
                break;
            case RecordType.TXT:
                if (fields.IsEmpty)
                {
                    throw Error(entryLine, "TXT record needs at least one string");
                }

                foreach (var field in fields)
                {
                    WriteCharacterString(field, "TXT string");
                }

                break;
            case RecordType.HINFO:
                Expect(type, fields, 2);
                WriteCharacterString(fields[0], "HINFO CPU");
                WriteCharacterString(fields[1], "HINFO OS");
                break;
            case RecordType.SOA:
                Expect(type, fields, 7);
                WriteName(fields[0], origin);
                WriteName(fields[1], origin);
                WriteUInt32(fields[2], "SOA serial");
                WriteTime(fields[3], "SOA refresh");
                WriteTime(fields[4], "SOA retry");
                WriteTime(fields[5], "SOA expire");
                WriteTime(fields[6], "SOA minimum");
                break;
            case RecordType.SRV:
                Expect(type, fields, 4);
                WriteUInt16(fields[0], "SRV priority");
                WriteUInt16(fields[1], "SRV weight");
                WriteUInt16(fields[2], "SRV port");
                target = WriteName(fields[3], origin);
                break;
            case RecordType.CAA:
                Expect(type, fields, 3);
                WriteCaa(fields);
                break;
            case RecordType.NAPTR:
                Expect(type, fields, 6);
                WriteUInt16(fields[0], "NAPTR order");
                WriteUInt16(fields[1], "NAPTR preference");
                WriteCharacterString(fields[2], "NAPTR flags");
                WriteCharacterString(fields[3], "NAPTR service");
                WriteCharacterString(fields[4], "NAPTR regexp");
                WriteName(fields[5], origin);
                break;
            default:
                throw Error(
                    fields.IsEmpty ? entryLine : fields[0].Line,
                    $"no presentation format for type {RecordType.ToText(type)} here; write its RDATA in RFC 3597 form: \\# <length> <hex>");
        }

        return _buffer.AsSpan(0, _length).ToArray();
    }

    private byte[] EncodeGeneric(ushort type, ReadOnlySpan<ZoneToken> fields, out DnsName? target)
    {
        if (fields.Length < 2)
        {
            throw Error(fields[0].Line, "'\\#' must be followed by the RDATA length in octets");
        }

        if (fields[1].Quoted || !int.TryParse(fields[1].Text, NumberStyles.None, CultureInfo.InvariantCulture, out var length) || length > ushort.MaxValue)
        {
            throw Error(fields[1].Line, $"'\\#' length '{fields[1].Text}' is not a number 0-65535");
        }

        var digits = 0;
        byte pending = 0;
        foreach (var field in fields[2..])
        {
            if (field.Quoted)
            {
                throw Error(field.Line, "quoted text in '\\#' RDATA; expected hex digits");
            }

            foreach (var c in field.Text)
            {
                var nibble = HexValue(c);
                if (nibble < 0)
                {
                    throw Error(field.Line, $"'{field.Text}' is not hex in '\\#' RDATA");
                }

                if (digits / 2 >= length)
                {
                    throw Error(field.Line, $"'\\#' RDATA has more hex than the {length} octets its length says");
                }

                if ((digits & 1) == 0)
                {
                    pending = (byte)(nibble << 4);
                }
                else
                {
                    _buffer[_length++] = (byte)(pending | nibble);
                }

                digits++;
            }
        }

        if (digits != length * 2)
        {
            throw Error(
                fields[^1].Line,
                digits % 2 == 1
                    ? "'\\#' RDATA has an odd number of hex digits"
                    : $"'\\#' length says {length} octets but the hex gives {digits / 2}");
        }

        var wire = _buffer.AsSpan(0, _length).ToArray();
        if (!RDataWire.TryCanonicalize(type, wire, out target, out var error))
        {
            throw Error(fields[0].Line, $"'\\#' RDATA is not a valid {RecordType.ToText(type)} record: {error}");
        }

        return wire;
    }

    private void Expect(ushort type, ReadOnlySpan<ZoneToken> fields, int count)
    {
        if (fields.Length != count)
        {
            var line = fields.Length > count ? fields[count].Line : fields.IsEmpty ? _entryLine : fields[^1].Line;
            throw Error(line, $"{RecordType.ToText(type)} record needs {count} RDATA field(s), found {fields.Length}");
        }
    }

    private void WriteIPv4(ZoneToken field)
    {
        // IPAddress.TryParse also takes inet_aton forms such as "1.2.3" or "0x7f.1", which BIND and Knot reject
        // and which usually mean a typo, so require exactly four decimal octets without leading zeros.
        var text = field.Text.AsSpan();
        Span<byte> octets = stackalloc byte[4];
        var part = 0;
        var ok = !field.Quoted;
        while (ok)
        {
            var dot = text.IndexOf('.');
            var digits = dot < 0 ? text : text[..dot];
            ok = part < 4 && digits.Length is >= 1 and <= 3 && (digits.Length == 1 || digits[0] != '0')
                && byte.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out octets[part]);
            part++;
            if (dot < 0)
            {
                break;
            }

            text = text[(dot + 1)..];
        }

        if (!ok || part != 4)
        {
            throw Error(field.Line, $"'{field.Text}' is not an IPv4 address in dotted-quad form (four decimal numbers 0-255)");
        }

        Append(octets);
    }

    private void WriteIPv6(ZoneToken field)
    {
        var text = field.Text;
        var plain = !field.Quoted && text.Contains(':');
        foreach (var c in text)
        {
            // Keep out what IPAddress accepts beyond RFC 4291 text: scope ids (%eth0), brackets, ports.
            plain &= char.IsAsciiHexDigit(c) || c is ':' or '.';
        }

        if (!plain || !IPAddress.TryParse(text, out var address) || address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            throw Error(field.Line, $"'{text}' is not an IPv6 address");
        }

        address.TryWriteBytes(_buffer.AsSpan(_length, 16), out _);
        _length += 16;
    }

    private DnsName WriteName(ZoneToken field, DnsName origin)
    {
        if (!DnsName.TryParse(field.Text, origin, out var name, out var error))
        {
            throw Error(field.Line, $"bad name '{field.Text}': {error}");
        }

        Append(name.Wire);
        return name;
    }

    private void WriteUInt16(ZoneToken field, string what)
    {
        if (field.Quoted || !ushort.TryParse(field.Text, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            throw Error(field.Line, $"{what} '{field.Text}' is not a number 0-65535");
        }

        BinaryPrimitives.WriteUInt16BigEndian(Reserve(2), value);
    }

    private void WriteUInt32(ZoneToken field, string what)
    {
        if (field.Quoted || !uint.TryParse(field.Text, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            throw Error(field.Line, $"{what} '{field.Text}' is not a number 0-4294967295");
        }

        BinaryPrimitives.WriteUInt32BigEndian(Reserve(4), value);
    }

    private void WriteTime(ZoneToken field, string what)
    {
        if (field.Quoted)
        {
            throw Error(field.Line, $"{what} '{field.Text}' is quoted");
        }

        if (!TtlText.TryParse(field.Text, uint.MaxValue, out var value, out var error))
        {
            throw Error(field.Line, $"{what}: {error}");
        }

        BinaryPrimitives.WriteUInt32BigEndian(Reserve(4), value);
    }

    /// <summary>A &lt;character-string&gt; (RFC 1035 3.3): one length octet, then at most 255 octets.</summary>
    private void WriteCharacterString(ZoneToken field, string what)
    {
        var lengthAt = _length;
        Reserve(1);
        var length = DecodeText(field);
        if (length > 255)
        {
            throw Error(field.Line, $"{what} is {length} octets; a character-string holds at most 255 (split it into several quoted strings)");
        }

        _buffer[lengthAt] = (byte)length;
    }

    /// <summary>CAA (RFC 8659 4.1): flags, tag length and tag, then the value as raw octets to the end.</summary>
    private void WriteCaa(ReadOnlySpan<ZoneToken> fields)
    {
        if (fields[0].Quoted || !byte.TryParse(fields[0].Text, NumberStyles.None, CultureInfo.InvariantCulture, out var flags))
        {
            throw Error(fields[0].Line, $"CAA flags '{fields[0].Text}' is not a number 0-255");
        }

        var tag = fields[1].Text;
        if (!RDataWire.IsCaaTag(tag))
        {
            throw Error(fields[1].Line, $"CAA tag '{tag}' must be 1-15 ASCII letters or digits");
        }

        Append([flags, (byte)tag.Length]);
        foreach (var c in tag)
        {
            _buffer[_length++] = (byte)c;
        }

        DecodeText(fields[2]);
    }

    /// <summary>Appends the octets a token stands for (escapes decoded, non-ASCII as UTF-8); returns how many.</summary>
    private int DecodeText(ZoneToken field)
    {
        var start = _length;
        var text = field.Text;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (_length >= _buffer.Length - 4)
            {
                throw Error(field.Line, "RDATA longer than 65535 octets");
            }

            if (c == '\\')
            {
                if (i + 1 >= text.Length)
                {
                    throw Error(field.Line, $"dangling backslash in '{text}'");
                }

                if (char.IsAsciiDigit(text[i + 1]))
                {
                    if (i + 3 >= text.Length || !char.IsAsciiDigit(text[i + 2]) || !char.IsAsciiDigit(text[i + 3]))
                    {
                        throw Error(field.Line, $"bad \\DDD escape in '{text}' (needs three digits)");
                    }

                    var value = ((text[i + 1] - '0') * 100) + ((text[i + 2] - '0') * 10) + (text[i + 3] - '0');
                    if (value > 255)
                    {
                        throw Error(field.Line, $"\\DDD escape above 255 in '{text}'");
                    }

                    _buffer[_length++] = (byte)value;
                    i += 3;
                    continue;
                }

                c = text[++i];
            }

            if (c < 0x80)
            {
                _buffer[_length++] = (byte)c;
                continue;
            }

            // Files are decoded as UTF-8, so writing non-ASCII text back as UTF-8 keeps the file's octets.
            Rune rune;
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && Rune.TryCreate(c, text[i + 1], out rune))
            {
                i++;
            }
            else if (!Rune.TryCreate(c, out rune))
            {
                throw Error(field.Line, $"invalid character U+{(int)c:X4} in '{text}'");
            }

            _length += rune.EncodeToUtf8(_buffer.AsSpan(_length));
        }

        return _length - start;
    }

    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };

    private void Append(ReadOnlySpan<byte> bytes) => bytes.CopyTo(Reserve(bytes.Length));

    private Span<byte> Reserve(int count)
    {
        if (_length + count > _buffer.Length)
        {
            throw Error(_entryLine, "RDATA longer than 65535 octets");
        }

        var span = _buffer.AsSpan(_length, count);
        _length += count;
        return span;
    }

    private ZoneLoadException Error(int line, string reason) => new(new SourceLocation(_file, line), reason);
}
