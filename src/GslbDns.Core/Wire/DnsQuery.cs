using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using GslbDns.Dns;

namespace GslbDns.Wire;

/// <summary>What the parser says of a packet before any answer is looked up.</summary>
public enum ParseOutcome
{
    /// <summary>A well-formed query; answer it.</summary>
    Ok,

    /// <summary>Malformed, but the header is readable: reply FORMERR.</summary>
    FormErr,

    /// <summary>Too short to carry a header, or a response (QR=1): drop silently, as BIND and Knot do.</summary>
    Drop,
}

/// <summary>
/// EDNS Client Subnet (RFC 7871) from the query, as plain values: family 1 (IPv4) or 2 (IPv6),
/// the source prefix and the address bytes zero-padded to 16.
/// </summary>
public readonly record struct ClientSubnet(ushort Family, byte SourcePrefix, UInt128 Address)
{
    public bool IsIPv6 => Family == 2;

    public int AddressBits => Family == 2 ? 128 : 32;
}

/// <summary>
/// The parsed form of one query. A mutable struct that the listener owns and reuses for every
/// packet, so parsing allocates nothing; the lower-cased QNAME lives in <see cref="NameBuffer"/>.
/// </summary>
public sealed class DnsQuery
{
    public const int MaxLabels = 128;

    public byte[] NameBuffer { get; } = new byte[DnsName.MaxWireLength];

    /// <summary>Offset of each label of QNAME inside <see cref="NameBuffer"/>, leftmost first.</summary>
    public int[] LabelOffsets { get; } = new int[MaxLabels];

    public ushort Id { get; private set; }
    public ushort Flags { get; private set; }
    public int Opcode { get; private set; }
    public bool RecursionDesired { get; private set; }
    public bool CheckingDisabled { get; private set; }

    public int QNameLength { get; private set; }
    public int LabelCount { get; private set; }
    public ushort QType { get; private set; }
    public ushort QClass { get; private set; }

    /// <summary>End of the question section in the request (header + question), copied into the reply as it is so QNAME case is preserved.</summary>
    public int QuestionEnd { get; private set; }

    public bool HasQuestion { get; private set; }

    public bool HasEdns { get; private set; }
    public byte EdnsVersion { get; private set; }
    public ushort EdnsUdpSize { get; private set; }
    public bool DnssecOk { get; private set; }
    public bool NsidRequested { get; private set; }
    public bool HasClientSubnet { get; private set; }
    public ClientSubnet ClientSubnet { get; private set; }

    /// <summary>An RFC 7873 COOKIE option: the client cookie (8 bytes), then the server cookie it holds, if any (8 to 32 bytes).</summary>
    public bool HasCookie { get; private set; }

    public int CookieLength { get; private set; }

    private readonly byte[] _cookie = new byte[40];

    public ReadOnlySpan<byte> Cookie => _cookie.AsSpan(0, CookieLength);

    public ReadOnlySpan<byte> QName => NameBuffer.AsSpan(0, QNameLength);

    /// <summary>The wire form of QNAME with its leftmost <paramref name="skip"/> labels removed.</summary>
    public ReadOnlySpan<byte> QNameSuffix(int skip) => skip >= LabelCount ? NameBuffer.AsSpan(QNameLength - 1, 1) : NameBuffer.AsSpan(LabelOffsets[skip], QNameLength - LabelOffsets[skip]);

    private void Reset()
    {
        Id = 0;
        Flags = 0;
        Opcode = 0;
        RecursionDesired = false;
        CheckingDisabled = false;
        QNameLength = 0;
        LabelCount = 0;
        QType = 0;
        QClass = 0;
        QuestionEnd = 0;
        HasQuestion = false;
        HasEdns = false;
        EdnsVersion = 0;
        EdnsUdpSize = 0;
        DnssecOk = false;
        NsidRequested = false;
        HasClientSubnet = false;
        ClientSubnet = default;
        HasCookie = false;
        CookieLength = 0;
    }

    /// <summary>Parses a query packet (RFC 1035 4.1, RFC 6891 OPT, RFC 7871 ECS).</summary>
    public ParseOutcome Parse(ReadOnlySpan<byte> packet)
    {
        Reset();
        if (packet.Length < 12)
        {
            return ParseOutcome.Drop;
        }

        Id = BinaryPrimitives.ReadUInt16BigEndian(packet);
        Flags = BinaryPrimitives.ReadUInt16BigEndian(packet[2..]);
        if ((Flags & 0x8000) != 0)
        {
            // A response sent to us: answering could start a reflection loop between servers.
            return ParseOutcome.Drop;
        }

        Opcode = (Flags >> 11) & 0xF;
        RecursionDesired = (Flags & 0x0100) != 0;
        CheckingDisabled = (Flags & 0x0010) != 0;
        var qdCount = BinaryPrimitives.ReadUInt16BigEndian(packet[4..]);
        var anCount = BinaryPrimitives.ReadUInt16BigEndian(packet[6..]);
        var nsCount = BinaryPrimitives.ReadUInt16BigEndian(packet[8..]);
        var arCount = BinaryPrimitives.ReadUInt16BigEndian(packet[10..]);

        if (qdCount != 1)
        {
            // No question (or several, which no server supports) cannot be answered.
            return qdCount == 0 && Opcode != 0 ? ParseOutcome.Ok : ParseOutcome.FormErr;
        }

        var pos = 12;
        if (!ReadQuestionName(packet, ref pos))
        {
            return ParseOutcome.FormErr;
        }

        if (pos + 4 > packet.Length)
        {
            return ParseOutcome.FormErr;
        }

        QType = BinaryPrimitives.ReadUInt16BigEndian(packet[pos..]);
        QClass = BinaryPrimitives.ReadUInt16BigEndian(packet[(pos + 2)..]);
        pos += 4;
        QuestionEnd = pos;
        HasQuestion = true;

        // Answer and authority sections have no business in a query, but they are legal wire:
        // walk over them so the OPT record in additional is found.
        for (var i = 0; i < anCount + nsCount; i++)
        {
            if (!SkipRecord(packet, ref pos, out _, out _, out _, out _))
            {
                return ParseOutcome.FormErr;
            }
        }

        for (var i = 0; i < arCount; i++)
        {
            if (!SkipRecord(packet, ref pos, out var type, out var rdStart, out var rdLength, out var ownerIsRoot))
            {
                return ParseOutcome.FormErr;
            }

            if (type != RecordType.OPT)
            {
                continue;
            }

            if (HasEdns || !ownerIsRoot)
            {
                // RFC 6891 6.1.1: more than one OPT, or an OPT owner other than root, is FORMERR.
                return ParseOutcome.FormErr;
            }

            HasEdns = true;
            var fixedStart = rdStart - 8;
            EdnsUdpSize = BinaryPrimitives.ReadUInt16BigEndian(packet[fixedStart..]);
            EdnsVersion = packet[fixedStart + 3];
            DnssecOk = (packet[fixedStart + 4] & 0x80) != 0;
            if (!ParseOptions(packet.Slice(rdStart, rdLength)))
            {
                return ParseOutcome.FormErr;
            }

        }

        // Trailing bytes after the last record: BIND answers FORMERR, so do we.
        return pos == packet.Length ? ParseOutcome.Ok : ParseOutcome.FormErr;
    }

    private bool ReadQuestionName(ReadOnlySpan<byte> packet, ref int pos)
    {
        var start = pos;
        var labels = 0;
        while (true)
        {
            if (pos >= packet.Length)
            {
                return false;
            }

            var len = packet[pos];
            if (len == 0)
            {
                pos++;
                break;
            }

            if (len > DnsName.MaxLabelLength)
            {
                // Compression pointers cannot point anywhere useful inside the first name of a packet.
                return false;
            }

            if (pos + 1 + len > packet.Length || pos - start + 1 + len + 1 > DnsName.MaxWireLength || labels == MaxLabels)
            {
                return false;
            }

            LabelOffsets[labels++] = pos - start;
            pos += 1 + len;
        }

        // One pass over the whole name, length octets included: they are at most 63, below 'A', so lower-casing
        // leaves them as they are. Bytes above 127 (legal in a label) stop the vector pass; the loop does those names.
        var name = packet[start..pos];
        if (Ascii.ToLower(name, NameBuffer, out _) != OperationStatus.Done)
        {
            for (var i = 0; i < name.Length; i++)
            {
                var b = name[i];
                NameBuffer[i] = b is >= (byte)'A' and <= (byte)'Z' ? (byte)(b + 32) : b;
            }
        }

        QNameLength = name.Length;
        LabelCount = labels;
        return true;
    }

    private static bool SkipName(ReadOnlySpan<byte> packet, ref int pos, out bool isRoot)
    {
        isRoot = pos < packet.Length && packet[pos] == 0;
        while (true)
        {
            if (pos >= packet.Length)
            {
                return false;
            }

            var len = packet[pos];
            if (len == 0)
            {
                pos++;
                return true;
            }

            if ((len & 0xC0) == 0xC0)
            {
                if (pos + 2 > packet.Length)
                {
                    return false;
                }

                pos += 2;
                return true;
            }

            if ((len & 0xC0) != 0)
            {
                return false;
            }

            pos += 1 + len;
        }
    }

    private static bool SkipRecord(ReadOnlySpan<byte> packet, ref int pos, out ushort type, out int rdStart, out int rdLength, out bool ownerIsRoot)
    {
        type = 0;
        rdStart = 0;
        rdLength = 0;
        if (!SkipName(packet, ref pos, out ownerIsRoot) || pos + 10 > packet.Length)
        {
            return false;
        }

        type = BinaryPrimitives.ReadUInt16BigEndian(packet[pos..]);
        rdLength = BinaryPrimitives.ReadUInt16BigEndian(packet[(pos + 8)..]);
        rdStart = pos + 10;
        pos = rdStart + rdLength;
        return pos <= packet.Length;
    }

    private bool ParseOptions(ReadOnlySpan<byte> options)
    {
        var pos = 0;
        while (pos < options.Length)
        {
            if (pos + 4 > options.Length)
            {
                return false;
            }

            var code = BinaryPrimitives.ReadUInt16BigEndian(options[pos..]);
            var length = BinaryPrimitives.ReadUInt16BigEndian(options[(pos + 2)..]);
            pos += 4;
            if (pos + length > options.Length)
            {
                return false;
            }

            var data = options.Slice(pos, length);
            pos += length;
            switch (code)
            {
                case EdnsOption.Nsid:
                    NsidRequested = true;
                    break;
                case EdnsOption.ClientSubnet:
                    if (HasClientSubnet || !ParseClientSubnet(data))
                    {
                        return false;
                    }

                    break;
                case EdnsOption.Cookie:
                    // RFC 7873 5.2.2: a client cookie is 8 bytes, a server cookie 8 to 32 more; anything else is FORMERR.
                    if (data.Length != 8 && data.Length is < 16 or > 40)
                    {
                        return false;
                    }

                    if (!HasCookie)
                    {
                        HasCookie = true;
                        CookieLength = data.Length;
                        data.CopyTo(_cookie);
                    }

                    break;
            }
        }

        return true;
    }

    /// <summary>RFC 7871 6 and 7.1.2: a malformed ECS option is FORMERR.</summary>
    private bool ParseClientSubnet(ReadOnlySpan<byte> data)
    {
        if (data.Length < 4)
        {
            return false;
        }

        var family = BinaryPrimitives.ReadUInt16BigEndian(data);
        var source = data[2];
        var scope = data[3];
        var maxBits = family switch
        {
            1 => 32,
            2 => 128,
            _ => -1,
        };
        if (maxBits < 0 || source > maxBits || scope != 0)
        {
            return false;
        }

        var addressBytes = data[4..];
        if (addressBytes.Length != (source + 7) / 8)
        {
            return false;
        }

        Span<byte> full = stackalloc byte[16];
        full.Clear();
        addressBytes.CopyTo(full);
        if (source % 8 != 0 && addressBytes.Length > 0)
        {
            // Bits beyond the source prefix must be zero (RFC 7871 6).
            var mask = (byte)(0xFF >> (source % 8));
            if ((addressBytes[^1] & mask) != 0)
            {
                return false;
            }
        }

        HasClientSubnet = true;
        ClientSubnet = new ClientSubnet(family, source, BinaryPrimitives.ReadUInt128BigEndian(full));
        return true;
    }
}

public static class EdnsOption
{
    public const ushort Nsid = 3;
    public const ushort ClientSubnet = 8;
    public const ushort Cookie = 10;
}
