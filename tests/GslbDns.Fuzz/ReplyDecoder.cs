using System.Buffers.Binary;
using GslbDns.Dns;

namespace GslbDns.Fuzz;

/// <summary>One resource record of a decoded reply: its owner (lower-cased wire form), type, class and, for names in RDATA, the first one.</summary>
public readonly record struct DecodedRecord(byte[] Owner, ushort Type, ushort Class, byte[]? TargetName);

/// <summary>A reply decoded by <see cref="ReplyDecoder"/>.</summary>
public sealed class DecodedReply
{
    public ushort Id { get; init; }
    public ushort Flags { get; init; }
    public int QuestionCount { get; init; }
    public List<DecodedRecord> Answers { get; } = [];
    public List<DecodedRecord> Authority { get; } = [];
    public List<DecodedRecord> Additional { get; } = [];
    public int OptCount { get; set; }

    /// <summary>The OPT record's EDNS version and options (code, data), when there is one.</summary>
    public int EdnsVersion { get; set; }
    public List<(ushort Code, byte[] Data)> EdnsOptions { get; } = [];

    /// <summary>The highest TTL of any record but OPT (RFC 2181 8: the top bit must be clear).</summary>
    public uint MaxTtl { get; set; }
    public byte[]? QuestionName { get; set; }
    public ushort QuestionType { get; set; }
    public ushort QuestionClass { get; set; }

    public bool Truncated => (Flags & 0x0200) != 0;
    public int Opcode => (Flags >> 11) & 0xF;
    public int Rcode => Flags & 0xF;
}

/// <summary>
/// A strict RFC 1035 decoder for replies, independent of the server's writer: every name (compression pointers only
/// backwards, labels of at most 63 octets, at most 255 octets in all), every record inside the packet, the names inside
/// NS/CNAME/PTR/DNAME/MX/SRV/SOA RDATA consuming it exactly, fixed-size A/AAAA, at most one OPT (owner root, in additional,
/// options laid end to end), and no octet after the last record. Anything else is an <see cref="InvariantViolationException"/>.
/// </summary>
public static class ReplyDecoder
{
    public static DecodedReply Decode(ReadOnlySpan<byte> packet)
    {
        Check.That(packet.Length >= 12, $"reply of {packet.Length} octets is shorter than a header");
        var qd = BinaryPrimitives.ReadUInt16BigEndian(packet[4..]);
        var counts = new[] { BinaryPrimitives.ReadUInt16BigEndian(packet[6..]), BinaryPrimitives.ReadUInt16BigEndian(packet[8..]), BinaryPrimitives.ReadUInt16BigEndian(packet[10..]) };
        var reply = new DecodedReply { Id = BinaryPrimitives.ReadUInt16BigEndian(packet), Flags = BinaryPrimitives.ReadUInt16BigEndian(packet[2..]), QuestionCount = qd };
        Check.That(qd <= 1, $"reply has {qd} questions");
        var pos = 12;
        if (qd == 1)
        {
            reply.QuestionName = ReadName(packet, ref pos);
            Check.That(pos + 4 <= packet.Length, "question type and class run past the end");
            reply.QuestionType = BinaryPrimitives.ReadUInt16BigEndian(packet[pos..]);
            reply.QuestionClass = BinaryPrimitives.ReadUInt16BigEndian(packet[(pos + 2)..]);
            pos += 4;
        }

        var sections = new[] { reply.Answers, reply.Authority, reply.Additional };
        for (var s = 0; s < 3; s++)
        {
            for (var i = 0; i < counts[s]; i++)
            {
                var record = ReadRecord(packet, ref pos, s, reply);
                sections[s].Add(record);
            }
        }

        Check.That(pos == packet.Length, $"{packet.Length - pos} octets after the last record (counts {qd}/{counts[0]}/{counts[1]}/{counts[2]})");
        return reply;
    }

    private static DecodedRecord ReadRecord(ReadOnlySpan<byte> packet, ref int pos, int section, DecodedReply reply)
    {
        var ownerStart = pos;
        var owner = ReadName(packet, ref pos);
        Check.That(pos + 10 <= packet.Length, $"record at {ownerStart} runs past the end of the reply");
        var type = BinaryPrimitives.ReadUInt16BigEndian(packet[pos..]);
        var @class = BinaryPrimitives.ReadUInt16BigEndian(packet[(pos + 2)..]);
        var rdLength = BinaryPrimitives.ReadUInt16BigEndian(packet[(pos + 8)..]);
        var rdStart = pos + 10;
        var rdEnd = rdStart + rdLength;
        Check.That(rdEnd <= packet.Length, $"RDATA of the type {type} record at {ownerStart} runs past the end of the reply");
        byte[]? target = null;
        var p = rdStart;
        if (type != RecordType.OPT)
        {
            reply.MaxTtl = Math.Max(reply.MaxTtl, BinaryPrimitives.ReadUInt32BigEndian(packet[(pos + 4)..]));
        }

        switch (type)
        {
            case RecordType.A:
                Check.That(rdLength == 4, $"A record with {rdLength} octets of RDATA");
                p = rdEnd;
                break;
            case RecordType.AAAA:
                Check.That(rdLength == 16, $"AAAA record with {rdLength} octets of RDATA");
                p = rdEnd;
                break;
            case RecordType.NS or RecordType.CNAME or RecordType.PTR or RecordType.DNAME:
                target = ReadName(packet, ref p);
                break;
            case RecordType.MX:
                p += 2;
                Check.That(p <= rdEnd, "MX RDATA too short");
                target = ReadName(packet, ref p);
                break;
            case RecordType.SRV:
                p += 6;
                Check.That(p <= rdEnd, "SRV RDATA too short");
                target = ReadName(packet, ref p);
                break;
            case RecordType.SOA:
                target = ReadName(packet, ref p);
                ReadName(packet, ref p);
                p += 20;
                break;
            case RecordType.OPT:
                Check.That(section == 2, "OPT outside the additional section");
                Check.That(owner.Length == 1, "OPT owner is not the root");
                Check.That(++reply.OptCount == 1, "more than one OPT record");
                reply.EdnsVersion = packet[pos + 5];
                while (p < rdEnd)
                {
                    Check.That(p + 4 <= rdEnd, "EDNS option header runs past the OPT RDATA");
                    var optionLength = BinaryPrimitives.ReadUInt16BigEndian(packet[(p + 2)..]);
                    Check.That(p + 4 + optionLength <= rdEnd, "EDNS option runs past the OPT RDATA");
                    reply.EdnsOptions.Add((BinaryPrimitives.ReadUInt16BigEndian(packet[p..]), packet.Slice(p + 4, optionLength).ToArray()));
                    p += 4 + optionLength;
                }

                break;
            default:
                p = rdEnd;
                break;
        }

        Check.That(p == rdEnd, $"type {type} RDATA at {rdStart}: the fields take {p - rdStart} octets, RDLENGTH says {rdLength}");
        pos = rdEnd;
        return new DecodedRecord(owner, type, @class, target);
    }

    /// <summary>Reads a possibly compressed name; returns it uncompressed and lower-cased.</summary>
    public static byte[] ReadName(ReadOnlySpan<byte> packet, ref int pos)
    {
        Span<byte> name = stackalloc byte[DnsName.MaxWireLength];
        var length = 0;
        var at = pos;
        var end = -1;
        var lowestPointer = pos;
        while (true)
        {
            Check.That(at < packet.Length, $"name at {pos} runs past the end of the reply");
            var len = packet[at];
            if ((len & 0xC0) == 0xC0)
            {
                Check.That(at + 1 < packet.Length, $"compression pointer at {at} cut off");
                var target = ((len & 0x3F) << 8) | packet[at + 1];

                // Only backwards, and each jump further back than the last: no loops, nothing not yet written.
                Check.That(target < lowestPointer, $"compression pointer at {at} to {target} does not point backwards");
                lowestPointer = target;
                if (end < 0)
                {
                    end = at + 2;
                }

                at = target;
                continue;
            }

            Check.That((len & 0xC0) == 0, $"label type 0x{len:x2} at {at}");
            Check.That(length + 1 + len <= DnsName.MaxWireLength, $"name at {pos} longer than 255 octets");
            Check.That(at + 1 + len <= packet.Length, $"label at {at} runs past the end of the reply");
            name[length++] = len;
            if (len == 0)
            {
                break;
            }

            for (var i = 0; i < len; i++)
            {
                var b = packet[at + 1 + i];
                name[length++] = b is >= (byte)'A' and <= (byte)'Z' ? (byte)(b + 32) : b;
            }

            at += 1 + len;
        }

        pos = end >= 0 ? end : at + 1;
        return name[..length].ToArray();
    }
}
