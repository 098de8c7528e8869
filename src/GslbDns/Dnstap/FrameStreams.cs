using System.Buffers.Binary;
using System.Text;

namespace GslbDns.Server.Dnstap;

/// <summary>
/// Frame Streams (fstrm), the framing dnstap travels in: a data frame is a 32-bit big-endian length and the
/// payload; a control frame is an escape (length 0), its own length, a control type and fields (here only
/// the content type). A file is START, data frames, STOP; a socket adds READY / ACCEPT before START and
/// FINISH after STOP, so the reader can refuse a content type it does not understand.
/// </summary>
internal static class FrameStreams
{
    public const string DnstapContentType = "protobuf:dnstap.Dnstap";

    /// <summary>libfstrm's limit on a control frame; a longer one is a protocol error.</summary>
    public const int MaxControlFrameLength = 512;

    private const uint FieldContentType = 0x01;

    public static void WriteControl(Stream output, ControlType type, bool withContentType)
    {
        var contentType = Encoding.ASCII.GetBytes(DnstapContentType);
        var fieldsLength = withContentType ? 8 + contentType.Length : 0;
        var frame = new byte[12 + fieldsLength];
        BinaryPrimitives.WriteUInt32BigEndian(frame, 0); // escape: not a data frame
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(4), (uint)(4 + fieldsLength));
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(8), (uint)type);
        if (withContentType)
        {
            BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(12), FieldContentType);
            BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(16), (uint)contentType.Length);
            contentType.CopyTo(frame.AsSpan(20));
        }

        output.Write(frame);
        output.Flush();
    }

    /// <summary>Reads one control frame (a reader's ACCEPT or FINISH) and returns its type and content types.</summary>
    /// <exception cref="InvalidDataException">Not a control frame, or malformed.</exception>
    /// <exception cref="EndOfStreamException">The peer closed first.</exception>
    public static (ControlType Type, IReadOnlyList<string> ContentTypes) ReadControl(Stream input)
    {
        Span<byte> head = stackalloc byte[8];
        input.ReadExactly(head);
        if (BinaryPrimitives.ReadUInt32BigEndian(head) != 0)
        {
            throw new InvalidDataException("expected a Frame Streams control frame, got a data frame");
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(head[4..]);
        if (length < 4 || length > MaxControlFrameLength)
        {
            throw new InvalidDataException($"control frame length {length} is outside 4..{MaxControlFrameLength}");
        }

        var body = new byte[length];
        input.ReadExactly(body);
        var type = (ControlType)BinaryPrimitives.ReadUInt32BigEndian(body);
        var contentTypes = new List<string>();
        for (var at = 4; at < body.Length;)
        {
            if (at + 8 > body.Length)
            {
                throw new InvalidDataException("control field header is cut short");
            }

            var field = BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(at));
            var fieldLength = (int)BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(at + 4));
            at += 8;
            if (fieldLength < 0 || at + fieldLength > body.Length)
            {
                throw new InvalidDataException("control field is longer than its frame");
            }

            if (field == FieldContentType)
            {
                contentTypes.Add(Encoding.ASCII.GetString(body, at, fieldLength));
            }

            at += fieldLength;
        }

        return (type, contentTypes);
    }
}

/// <summary>Frame Streams control frame types (libfstrm's <c>fstrm_control_type</c>).</summary>
internal enum ControlType : uint
{
    Accept = 0x01,
    Start = 0x02,
    Stop = 0x03,
    Ready = 0x04,
    Finish = 0x05,
}
