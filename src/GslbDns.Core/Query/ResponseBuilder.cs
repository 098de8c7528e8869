using System.Buffers.Binary;
using GslbDns.Wire;

namespace GslbDns.Query;

/// <summary>
/// Writes one reply into a buffer the listener owns. Owner names are written as compression
/// pointers into the question (which is copied from the request, so QNAME case is preserved);
/// RDATA is copied pre-encoded. Nothing here allocates.
/// </summary>
public sealed class ResponseBuilder
{
    public const int HeaderLength = 12;

    private readonly byte[] _buffer;
    private DnsQuery _query = null!;
    private int _limit;
    private int _questionEnd;

    public ResponseBuilder(int capacity)
    {
        _buffer = new byte[capacity];
    }

    public byte[] Buffer => _buffer;

    public int Position { get; private set; }

    public int AnswerCount { get; private set; }

    public int AuthorityCount { get; private set; }

    public int AdditionalCount { get; private set; }

    public Section CurrentSection { get; private set; }

    public enum Section
    {
        Answer,
        Authority,
        Additional,
    }

    /// <summary>Starts a reply: header placeholder, then the request's question copied byte for byte.</summary>
    public void Begin(DnsQuery query, ReadOnlySpan<byte> request, int limit)
    {
        _query = query;
        _limit = Math.Min(limit, _buffer.Length);
        AnswerCount = AuthorityCount = AdditionalCount = 0;
        CurrentSection = Section.Answer;
        _buffer.AsSpan(0, HeaderLength).Clear();
        Position = HeaderLength;
        if (query.HasQuestion)
        {
            request[HeaderLength..query.QuestionEnd].CopyTo(_buffer.AsSpan(HeaderLength));
            Position = query.QuestionEnd;
        }

        _questionEnd = Position;
    }

    /// <summary>Leaves room for the OPT record that must close the reply.</summary>
    public void Reserve(int bytes) => _limit -= bytes;

    public void Release(int bytes) => _limit += bytes;

    public void StartSection(Section section) => CurrentSection = section;

    /// <summary>Where the reply stands: <see cref="Restore"/> goes back to it when an RRset turns out not to fit, so no RRset is ever sent in part (RFC 2181 9).</summary>
    public readonly record struct Mark(int Position, int AnswerCount, int AuthorityCount, int AdditionalCount);

    public Mark Save() => new(Position, AnswerCount, AuthorityCount, AdditionalCount);

    public void Restore(Mark mark)
    {
        Position = mark.Position;
        AnswerCount = mark.AnswerCount;
        AuthorityCount = mark.AuthorityCount;
        AdditionalCount = mark.AdditionalCount;
    }

    /// <summary>Drops every record written so far (used when a reply must be truncated or replaced by an error).</summary>
    public void ClearRecords()
    {
        Position = _questionEnd;
        AnswerCount = AuthorityCount = AdditionalCount = 0;
        CurrentSection = Section.Answer;
    }

    /// <summary>
    /// Appends a <see cref="PrecompiledAnswer"/>'s sections after the question (right after <see cref="Begin"/>, so
    /// their pointers into the question hold) and takes their counts; false, writing nothing, when they do not fit.
    /// </summary>
    public bool AddPrecompiled(ReadOnlySpan<byte> sections, int answers, int authority, int additional)
    {
        if (Position + sections.Length > _limit)
        {
            return false;
        }

        sections.CopyTo(_buffer.AsSpan(Position));
        Position += sections.Length;
        AnswerCount = answers;
        AuthorityCount = authority;
        AdditionalCount = additional;
        CurrentSection = Section.Additional;
        return true;
    }

    /// <summary>Writes one record whose owner is the QNAME (a pointer to offset 12).</summary>
    public bool AddAtQName(ReadOnlySpan<byte> record) => AddWithOwnerPointer(HeaderLength, record);

    public bool AddWithOwnerPointer(int offset, ReadOnlySpan<byte> record)
    {
        if (Position + 2 + record.Length > _limit)
        {
            return false;
        }

        BinaryPrimitives.WriteUInt16BigEndian(_buffer.AsSpan(Position), (ushort)(0xC000 | offset));
        record.CopyTo(_buffer.AsSpan(Position + 2));
        Position += 2 + record.Length;
        Count();
        return true;
    }

    /// <summary>Writes a record with any owner, compressing the owner against the QNAME's suffixes.</summary>
    public bool Add(ReadOnlySpan<byte> ownerWire, ReadOnlySpan<byte> record)
    {
        var start = Position;
        if (!WriteName(ownerWire))
        {
            Position = start;
            return false;
        }

        if (Position + record.Length > _limit)
        {
            Position = start;
            return false;
        }

        record.CopyTo(_buffer.AsSpan(Position));
        Position += record.Length;
        Count();
        return true;
    }

    /// <summary>Writes an owner (pointer at the QNAME) and a record built in place by the caller: TYPE CLASS TTL then RDATA.</summary>
    public Span<byte> BeginRecordAtQName(int rdataLength, ushort type, ushort @class, uint ttl) => BeginRecord(default, true, rdataLength, type, @class, ttl);

    /// <summary>
    /// Writes the owner (a pointer when it is the QNAME, else compressed against it) and TYPE CLASS TTL
    /// RDLENGTH; returns the RDATA span for the caller to fill, or an empty span when it does not fit.
    /// </summary>
    public Span<byte> BeginRecord(ReadOnlySpan<byte> ownerWire, bool ownerIsQName, int rdataLength, ushort type, ushort @class, uint ttl)
    {
        var start = Position;
        if (ownerIsQName)
        {
            if (Position + 2 > _limit)
            {
                return default;
            }

            BinaryPrimitives.WriteUInt16BigEndian(_buffer.AsSpan(Position), 0xC000 | HeaderLength);
            Position += 2;
        }
        else if (!WriteName(ownerWire))
        {
            Position = start;
            return default;
        }

        var size = 10 + rdataLength;
        if (Position + size > _limit)
        {
            Position = start;
            return default;
        }

        var span = _buffer.AsSpan(Position, size);
        BinaryPrimitives.WriteUInt16BigEndian(span, type);
        BinaryPrimitives.WriteUInt16BigEndian(span[2..], @class);
        BinaryPrimitives.WriteUInt32BigEndian(span[4..], ttl);
        BinaryPrimitives.WriteUInt16BigEndian(span[8..], (ushort)rdataLength);
        Position += size;
        Count();
        return span[10..];
    }

    private void Count()
    {
        switch (CurrentSection)
        {
            case Section.Answer:
                AnswerCount++;
                break;
            case Section.Authority:
                AuthorityCount++;
                break;
            default:
                AdditionalCount++;
                break;
        }
    }

    /// <summary>
    /// Writes <paramref name="name"/>, replacing its longest suffix shared with the QNAME by a pointer
    /// into the question. Pointers only ever target the question, which is always present and intact.
    /// </summary>
    private bool WriteName(ReadOnlySpan<byte> name)
    {
        var q = _query;
        var offset = 0;
        var nameLabels = CountLabels(name);
        for (var i = 0; i < nameLabels; i++)
        {
            var remaining = nameLabels - i;
            if (q.HasQuestion && remaining <= q.LabelCount)
            {
                var skip = q.LabelCount - remaining;
                if (name[offset..].SequenceEqual(q.QNameSuffix(skip)))
                {
                    if (Position + offset + 2 > _limit)
                    {
                        return false;
                    }

                    name[..offset].CopyTo(_buffer.AsSpan(Position));
                    Position += offset;
                    BinaryPrimitives.WriteUInt16BigEndian(_buffer.AsSpan(Position), (ushort)(0xC000 | (HeaderLength + q.LabelOffsets[skip])));
                    Position += 2;
                    return true;
                }
            }

            offset += name[offset] + 1;
        }

        if (Position + name.Length > _limit)
        {
            return false;
        }

        name.CopyTo(_buffer.AsSpan(Position));
        Position += name.Length;
        return true;
    }

    private static int CountLabels(ReadOnlySpan<byte> name)
    {
        var labels = 0;
        var i = 0;
        while (name[i] != 0)
        {
            labels++;
            i += name[i] + 1;
        }

        return labels;
    }

    /// <summary>Appends the OPT pseudo-record (RFC 6891 6.1.2); space for it was reserved up front.</summary>
    public void WriteOpt(ushort udpSize, int extendedRcode, bool dnssecOk, ReadOnlySpan<byte> nsid, in ClientSubnet? subnet, byte scope, ReadOnlySpan<byte> cookie = default)
    {
        var rdLength = cookie.IsEmpty ? 0 : 4 + cookie.Length;
        if (!nsid.IsEmpty)
        {
            rdLength += 4 + nsid.Length;
        }

        var subnetBytes = 0;
        if (subnet is { } s)
        {
            subnetBytes = (s.SourcePrefix + 7) / 8;
            rdLength += 4 + 4 + subnetBytes;
        }

        var span = _buffer.AsSpan(Position, 11 + rdLength);
        span[0] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(span[1..], Dns.RecordType.OPT);
        BinaryPrimitives.WriteUInt16BigEndian(span[3..], udpSize);
        span[5] = (byte)(extendedRcode >> 4);
        span[6] = 0;
        span[7] = (byte)(dnssecOk ? 0x80 : 0);
        span[8] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(span[9..], (ushort)rdLength);
        var pos = 11;
        if (!nsid.IsEmpty)
        {
            BinaryPrimitives.WriteUInt16BigEndian(span[pos..], EdnsOption.Nsid);
            BinaryPrimitives.WriteUInt16BigEndian(span[(pos + 2)..], (ushort)nsid.Length);
            nsid.CopyTo(span[(pos + 4)..]);
            pos += 4 + nsid.Length;
        }

        if (subnet is { } ecs)
        {
            BinaryPrimitives.WriteUInt16BigEndian(span[pos..], EdnsOption.ClientSubnet);
            BinaryPrimitives.WriteUInt16BigEndian(span[(pos + 2)..], (ushort)(4 + subnetBytes));
            BinaryPrimitives.WriteUInt16BigEndian(span[(pos + 4)..], ecs.Family);
            span[pos + 6] = ecs.SourcePrefix;
            span[pos + 7] = scope;
            Span<byte> address = stackalloc byte[16];
            BinaryPrimitives.WriteUInt128BigEndian(address, ecs.Address);
            address[..subnetBytes].CopyTo(span[(pos + 8)..]);
            pos += 8 + subnetBytes;
        }

        if (!cookie.IsEmpty)
        {
            // RFC 7873 4: the client cookie echoed, then our server cookie.
            BinaryPrimitives.WriteUInt16BigEndian(span[pos..], EdnsOption.Cookie);
            BinaryPrimitives.WriteUInt16BigEndian(span[(pos + 2)..], (ushort)cookie.Length);
            cookie.CopyTo(span[(pos + 4)..]);
        }

        Position += 11 + rdLength;
        AdditionalCount++;
    }

    public static int OptSize(int nsidLength, in ClientSubnet? subnet, int cookieLength = 0)
        => 11 + (nsidLength > 0 ? 4 + nsidLength : 0) + (subnet is { } s ? 8 + ((s.SourcePrefix + 7) / 8) : 0) + (cookieLength > 0 ? 4 + cookieLength : 0);

    /// <summary>Fills in the header; returns the reply length.</summary>
    public int Finish(ushort id, int opcode, bool authoritative, bool truncated, bool recursionDesired, bool checkingDisabled, int rcode)
    {
        var h = _buffer.AsSpan(0, HeaderLength);
        BinaryPrimitives.WriteUInt16BigEndian(h, id);
        var flags = 0x8000 | ((opcode & 0xF) << 11) | (rcode & 0xF);
        if (authoritative)
        {
            flags |= 0x0400;
        }

        if (truncated)
        {
            flags |= 0x0200;
        }

        if (recursionDesired)
        {
            flags |= 0x0100;
        }

        if (checkingDisabled)
        {
            flags |= 0x0010;
        }

        BinaryPrimitives.WriteUInt16BigEndian(h[2..], (ushort)flags);
        BinaryPrimitives.WriteUInt16BigEndian(h[4..], (ushort)(_questionEnd > HeaderLength ? 1 : 0));
        BinaryPrimitives.WriteUInt16BigEndian(h[6..], (ushort)AnswerCount);
        BinaryPrimitives.WriteUInt16BigEndian(h[8..], (ushort)AuthorityCount);
        BinaryPrimitives.WriteUInt16BigEndian(h[10..], (ushort)AdditionalCount);
        return Position;
    }
}
