using System.Text;

namespace GslbDns.Dns;

/// <summary>
/// A domain name held as its uncompressed wire form, lower-cased, so that two names compare
/// and hash as raw bytes (RFC 4343 case-insensitivity) and can be written to a packet by copy.
/// </summary>
public sealed class DnsName : IEquatable<DnsName>
{
    public const int MaxWireLength = 255;
    public const int MaxLabelLength = 63;

    public static readonly DnsName Root = new([0], 0);

    private readonly byte[] _wire;

    private DnsName(byte[] wire, int labelCount)
    {
        _wire = wire;
        LabelCount = labelCount;
    }

    /// <summary>Lower-cased uncompressed wire form, ending with the root label.</summary>
    public ReadOnlySpan<byte> Wire => _wire;

    public int WireLength => _wire.Length;

    public int LabelCount { get; }

    public bool IsRoot => LabelCount == 0;

    /// <summary>Builds a name from wire bytes (uncompressed, ending with the root label); the input is validated and lower-cased.</summary>
    public static DnsName FromWire(ReadOnlySpan<byte> wire)
    {
        if (wire.Length == 0 || wire.Length > MaxWireLength)
        {
            throw new FormatException("name length out of range");
        }

        var copy = wire.ToArray();
        var labels = 0;
        var i = 0;
        while (true)
        {
            var len = copy[i];
            if (len == 0)
            {
                if (i != copy.Length - 1)
                {
                    throw new FormatException("bytes after the root label");
                }

                break;
            }

            if (len > MaxLabelLength || i + 1 + len >= copy.Length)
            {
                throw new FormatException("bad label length");
            }

            AsciiLower(copy.AsSpan(i + 1, len));
            labels++;
            i += 1 + len;
        }

        return new DnsName(copy, labels);
    }

    /// <summary>
    /// Parses presentation format (RFC 1035 5.1): <c>\.</c> and <c>\DDD</c> escapes, a trailing dot
    /// for absolute names, <c>@</c> for the origin. A relative name is appended to <paramref name="origin"/>.
    /// </summary>
    public static DnsName Parse(string text, DnsName? origin = null)
    {
        if (!TryParse(text, origin, out var name, out var error))
        {
            throw new FormatException(error);
        }

        return name;
    }

    public static bool TryParse(string text, DnsName? origin, out DnsName name, out string error)
    {
        name = Root;
        error = string.Empty;
        if (text.Length == 0)
        {
            error = "empty name";
            return false;
        }

        if (text == "@")
        {
            if (origin is null)
            {
                error = "'@' used with no origin";
                return false;
            }

            name = origin;
            return true;
        }

        if (text == ".")
        {
            name = Root;
            return true;
        }

        Span<byte> buffer = stackalloc byte[MaxWireLength + 1];
        var length = 0;
        var labels = 0;
        var labelStart = 0;
        var labelLength = 0;
        var absolute = false;
        buffer[0] = 0;
        length = 1;

        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '.')
            {
                if (labelLength == 0)
                {
                    error = $"empty label in '{text}'";
                    return false;
                }

                buffer[labelStart] = (byte)labelLength;
                labels++;
                labelStart = length;
                labelLength = 0;
                if (length >= buffer.Length)
                {
                    error = $"name too long: '{text}'";
                    return false;
                }

                buffer[length++] = 0;
                if (i == text.Length - 1)
                {
                    absolute = true;
                }

                continue;
            }

            byte value;
            if (c == '\\')
            {
                if (i + 1 >= text.Length)
                {
                    error = $"dangling escape in '{text}'";
                    return false;
                }

                if (char.IsAsciiDigit(text[i + 1]))
                {
                    if (i + 3 >= text.Length || !char.IsAsciiDigit(text[i + 2]) || !char.IsAsciiDigit(text[i + 3]))
                    {
                        error = $"bad \\DDD escape in '{text}'";
                        return false;
                    }

                    var v = ((text[i + 1] - '0') * 100) + ((text[i + 2] - '0') * 10) + (text[i + 3] - '0');
                    if (v > 255)
                    {
                        error = $"\\DDD escape above 255 in '{text}'";
                        return false;
                    }

                    value = (byte)v;
                    i += 3;
                }
                else
                {
                    value = (byte)text[i + 1];
                    i++;
                }
            }
            else
            {
                if (c > 0x7f)
                {
                    error = $"non-ASCII character in '{text}' (use IDNA A-labels)";
                    return false;
                }

                value = (byte)c;
            }

            if (labelLength == MaxLabelLength)
            {
                error = $"label longer than 63 octets in '{text}'";
                return false;
            }

            if (length >= buffer.Length)
            {
                error = $"name too long: '{text}'";
                return false;
            }

            buffer[length++] = value is >= (byte)'A' and <= (byte)'Z' ? (byte)(value + 32) : value;
            labelLength++;
        }

        if (labelLength > 0)
        {
            buffer[labelStart] = (byte)labelLength;
            labels++;
        }
        else
        {
            // The trailing dot already closed the last label; drop the extra placeholder byte.
            length--;
        }

        if (!absolute)
        {
            if (origin is null)
            {
                error = $"relative name '{text}' with no origin";
                return false;
            }

            if (length + origin.WireLength > MaxWireLength)
            {
                error = $"name too long: '{text}' + origin";
                return false;
            }

            origin.Wire.CopyTo(buffer[length..]);
            length += origin.WireLength;
            labels += origin.LabelCount;
        }
        else
        {
            buffer[length++] = 0;
        }

        if (length > MaxWireLength)
        {
            error = $"name too long: '{text}'";
            return false;
        }

        name = new DnsName(buffer[..length].ToArray(), labels);
        return true;
    }

    /// <summary>The name with its leftmost label removed; the root's parent is the root.</summary>
    public DnsName Parent()
    {
        if (IsRoot)
        {
            return this;
        }

        return new DnsName(_wire[(_wire[0] + 1)..], LabelCount - 1);
    }

    /// <summary>Prepends one label, e.g. <c>*</c> for the wildcard at this name.</summary>
    public DnsName Prepend(ReadOnlySpan<byte> label)
    {
        if (label.Length is 0 or > MaxLabelLength || _wire.Length + label.Length + 1 > MaxWireLength)
        {
            throw new FormatException("label does not fit");
        }

        var wire = new byte[_wire.Length + label.Length + 1];
        wire[0] = (byte)label.Length;
        label.CopyTo(wire.AsSpan(1));
        AsciiLower(wire.AsSpan(1, label.Length));
        _wire.CopyTo(wire, label.Length + 1);
        return new DnsName(wire, LabelCount + 1);
    }

    public bool IsWildcard => LabelCount > 0 && _wire[0] == 1 && _wire[1] == (byte)'*';

    /// <summary>True when this name equals <paramref name="ancestor"/> or lies below it.</summary>
    public bool IsAtOrBelow(DnsName ancestor)
    {
        if (ancestor.LabelCount > LabelCount || ancestor.WireLength > WireLength)
        {
            return false;
        }

        return _wire.AsSpan(_wire.Length - ancestor.WireLength).SequenceEqual(ancestor._wire)
            && IsLabelBoundary(_wire.Length - ancestor.WireLength);
    }

    private bool IsLabelBoundary(int offset)
    {
        var i = 0;
        while (i < offset)
        {
            i += _wire[i] + 1;
        }

        return i == offset;
    }

    public bool Equals(DnsName? other) => other is not null && _wire.AsSpan().SequenceEqual(other._wire);

    public override bool Equals(object? obj) => obj is DnsName other && Equals(other);

    public override int GetHashCode() => WireNameComparer.Hash(_wire);

    public static bool operator ==(DnsName? left, DnsName? right) => left is null ? right is null : left.Equals(right);

    public static bool operator !=(DnsName? left, DnsName? right) => !(left == right);

    /// <summary>Presentation format, absolute (trailing dot), with RFC 1035 escapes.</summary>
    public override string ToString() => WireToText(_wire);

    public static string WireToText(ReadOnlySpan<byte> wire)
    {
        if (wire.Length <= 1)
        {
            return ".";
        }

        var sb = new StringBuilder(wire.Length + 4);
        var i = 0;
        while (i < wire.Length && wire[i] != 0)
        {
            var len = wire[i];
            for (var j = 1; j <= len; j++)
            {
                var b = wire[i + j];
                if (b is (byte)'.' or (byte)'\\' or (byte)'"' or (byte)'(' or (byte)')' or (byte)';' or (byte)'$' or (byte)'@')
                {
                    sb.Append('\\').Append((char)b);
                }
                else if (b is <= 0x20 or >= 0x7f)
                {
                    sb.Append('\\').Append(b.ToString("D3", System.Globalization.CultureInfo.InvariantCulture));
                }
                else
                {
                    sb.Append((char)b);
                }
            }

            sb.Append('.');
            i += len + 1;
        }

        return sb.ToString();
    }

    internal static void AsciiLower(Span<byte> bytes)
    {
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] is >= (byte)'A' and <= (byte)'Z')
            {
                bytes[i] += 32;
            }
        }
    }

    /// <summary>Writes the name as uncompressed wire bytes; returns the bytes written.</summary>
    public int WriteTo(Span<byte> destination)
    {
        _wire.CopyTo(destination);
        return _wire.Length;
    }
}

/// <summary>
/// Compares lower-cased wire names as byte arrays and lets a dictionary keyed by them be probed
/// with a span, so the query path looks names up without allocating.
/// </summary>
public sealed class WireNameComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
{
    public static readonly WireNameComparer Instance = new();

    public bool Equals(byte[]? x, byte[]? y) => x is null ? y is null : y is not null && x.AsSpan().SequenceEqual(y);

    public int GetHashCode(byte[] obj) => Hash(obj);

    public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);

    public int GetHashCode(ReadOnlySpan<byte> alternate) => Hash(alternate);

    public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();

    public static int Hash(ReadOnlySpan<byte> bytes)
    {
        var hash = new HashCode();
        hash.AddBytes(bytes);
        return hash.ToHashCode();
    }
}
