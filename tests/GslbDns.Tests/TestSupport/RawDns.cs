using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace GslbDns.Tests.TestSupport;

/// <summary>An EDNS option as it goes on the wire (RFC 6891 6.1.2).</summary>
internal readonly record struct EdnsOptionBytes(ushort Code, byte[] Data);

/// <summary>What to put in a query's OPT record.</summary>
internal sealed record EdnsSpec(ushort UdpSize = 1232, byte Version = 0, bool DnssecOk = false, IReadOnlyList<EdnsOptionBytes>? Options = null);

/// <summary>
/// Builds DNS messages byte by byte, so tests can send exactly what they mean, malformed included, with no
/// client library in between that would "fix" the packet.
/// </summary>
internal static class DnsWire
{
    public const ushort TypeA = 1;
    public const ushort TypeNS = 2;
    public const ushort TypeCNAME = 5;
    public const ushort TypeSOA = 6;
    public const ushort TypePTR = 12;
    public const ushort TypeMX = 15;
    public const ushort TypeTXT = 16;
    public const ushort TypeAAAA = 28;
    public const ushort TypeSRV = 33;
    public const ushort TypeOPT = 41;
    public const ushort TypeDS = 43;
    public const ushort TypeCAA = 257;
    public const ushort TypeANY = 255;
    public const ushort ClassIN = 1;
    public const ushort ClassCH = 3;

    public const ushort OptionNsid = 3;
    public const ushort OptionClientSubnet = 8;

    private static int _nextId = Random.Shared.Next(1, 65536);

    public static ushort NewId() => (ushort)Interlocked.Increment(ref _nextId);

    /// <summary>A query: header, one question, and an OPT record when <paramref name="edns"/> is given.</summary>
    public static byte[] Query(string name, ushort type, ushort id, EdnsSpec? edns = null, ushort @class = ClassIN, int opcode = 0, bool recursionDesired = false)
    {
        var message = new List<byte>(64);
        var flags = (ushort)((opcode & 0xF) << 11 | (recursionDesired ? 0x0100 : 0));
        Header(message, id, flags, qd: 1, an: 0, ns: 0, ar: (ushort)(edns is null ? 0 : 1));
        message.AddRange(Name(name));
        U16(message, type);
        U16(message, @class);
        if (edns is not null)
        {
            message.AddRange(Opt(edns));
        }

        return [.. message];
    }

    public static void Header(List<byte> message, ushort id, ushort flags, ushort qd, ushort an, ushort ns, ushort ar)
    {
        U16(message, id);
        U16(message, flags);
        U16(message, qd);
        U16(message, an);
        U16(message, ns);
        U16(message, ar);
    }

    /// <summary>An OPT pseudo-record (owner root, TYPE 41, CLASS = UDP size, TTL = ext-rcode/version/flags).</summary>
    public static byte[] Opt(EdnsSpec edns)
    {
        var rr = new List<byte> { 0 };
        U16(rr, TypeOPT);
        U16(rr, edns.UdpSize);
        rr.Add(0);
        rr.Add(edns.Version);
        rr.Add((byte)(edns.DnssecOk ? 0x80 : 0));
        rr.Add(0);
        var rdata = new List<byte>();
        foreach (var option in edns.Options ?? [])
        {
            U16(rdata, option.Code);
            U16(rdata, (ushort)option.Data.Length);
            rdata.AddRange(option.Data);
        }

        U16(rr, (ushort)rdata.Count);
        rr.AddRange(rdata);
        return [.. rr];
    }

    /// <summary>Uncompressed wire form of a dotted name, case kept; "." is the root.</summary>
    public static byte[] Name(string name)
    {
        var bytes = new List<byte>();
        foreach (var label in name.TrimEnd('.').Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            var text = Encoding.ASCII.GetBytes(label);
            bytes.Add((byte)text.Length);
            bytes.AddRange(text);
        }

        bytes.Add(0);
        return [.. bytes];
    }

    public static void U16(List<byte> buffer, ushort value)
    {
        buffer.Add((byte)(value >> 8));
        buffer.Add((byte)value);
    }

    /// <summary>ECS option data (RFC 7871 6): family, source prefix, scope, address octets.</summary>
    public static byte[] ClientSubnet(ushort family, byte sourcePrefix, byte scope, params byte[] address)
    {
        var data = new List<byte>();
        U16(data, family);
        data.Add(sourcePrefix);
        data.Add(scope);
        data.AddRange(address);
        return [.. data];
    }
}

/// <summary>One resource record of a parsed reply; names decompressed, RDATA kept raw with its offset for names inside it.</summary>
internal sealed record RawRecord(string Name, ushort Type, ushort Class, uint Ttl, byte[] Message, int RDataOffset, int RDataLength)
{
    public ReadOnlySpan<byte> RData => Message.AsSpan(RDataOffset, RDataLength);

    public IPAddress Address => new(RData);

    /// <summary>The name inside RDATA after <paramref name="skip"/> octets (CNAME/NS/PTR 0, MX 2, SRV 6).</summary>
    public string RDataName(int skip = 0)
    {
        var pos = RDataOffset + skip;
        return RawReply.ReadName(Message, ref pos);
    }

    /// <summary>The character-strings of a TXT record.</summary>
    public IReadOnlyList<string> TxtStrings
    {
        get
        {
            var strings = new List<string>();
            var data = RData;
            var pos = 0;
            while (pos < data.Length)
            {
                var length = data[pos];
                strings.Add(Encoding.UTF8.GetString(data.Slice(pos + 1, length)));
                pos += 1 + length;
            }

            return strings;
        }
    }

    /// <summary>SOA MINIMUM, the last 32 bits of its RDATA.</summary>
    public uint SoaMinimum => BinaryPrimitives.ReadUInt32BigEndian(RData[^4..]);

    public override string ToString() => $"{Name} {Ttl} {Class} {Type} [{Convert.ToHexString(RData)}]";
}

/// <summary>
/// A strict parser for replies: every count must match, every name must decode, compression pointers must
/// point backwards, and nothing may trail the last record. A reply the server wrote wrongly fails here.
/// </summary>
internal sealed class RawReply
{
    private RawReply(byte[] bytes)
    {
        Bytes = bytes;
    }

    public byte[] Bytes { get; }

    public int Size => Bytes.Length;

    public ushort Id { get; private set; }

    public ushort Flags { get; private set; }

    public bool IsResponse => (Flags & 0x8000) != 0;

    public int Opcode => (Flags >> 11) & 0xF;

    public bool Authoritative => (Flags & 0x0400) != 0;

    public bool Truncated => (Flags & 0x0200) != 0;

    public bool RecursionDesired => (Flags & 0x0100) != 0;

    public bool RecursionAvailable => (Flags & 0x0080) != 0;

    /// <summary>The full RCODE: the header's 4 bits plus the OPT's upper 8 (RFC 6891 6.1.3).</summary>
    public int Rcode => (Flags & 0xF) | ((Opt?.ExtendedRcode ?? 0) << 4);

    public int HeaderRcode => Flags & 0xF;

    public List<(string Name, ushort Type, ushort Class)> Questions { get; } = [];

    public List<RawRecord> Answers { get; } = [];

    public List<RawRecord> Authority { get; } = [];

    /// <summary>Additional records other than OPT.</summary>
    public List<RawRecord> Additional { get; } = [];

    public OptRecord? Opt { get; private set; }

    public int OptCount { get; private set; }

    public sealed record OptRecord(ushort UdpSize, byte ExtendedRcode, byte Version, bool DnssecOk, string Owner, IReadOnlyList<EdnsOptionBytes> Options)
    {
        public byte[]? Option(ushort code) => Options.FirstOrDefault(o => o.Code == code).Data;
    }

    public static RawReply Parse(byte[] bytes)
    {
        if (bytes.Length < 12)
        {
            throw new FormatException($"reply of {bytes.Length} bytes has no complete header");
        }

        var m = new RawReply(bytes)
        {
            Id = BinaryPrimitives.ReadUInt16BigEndian(bytes),
            Flags = BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(2)),
        };
        var qd = BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(4));
        var an = BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(6));
        var ns = BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(8));
        var ar = BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(10));
        var pos = 12;
        for (var i = 0; i < qd; i++)
        {
            var name = ReadName(bytes, ref pos);
            Need(bytes, pos, 4);
            m.Questions.Add((name, BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(pos)), BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(pos + 2))));
            pos += 4;
        }

        for (var i = 0; i < an; i++)
        {
            m.Answers.Add(ReadRecord(bytes, ref pos));
        }

        for (var i = 0; i < ns; i++)
        {
            m.Authority.Add(ReadRecord(bytes, ref pos));
        }

        for (var i = 0; i < ar; i++)
        {
            var record = ReadRecord(bytes, ref pos);
            if (record.Type == DnsWire.TypeOPT)
            {
                m.OptCount++;
                var options = new List<EdnsOptionBytes>();
                var rdata = record.RData;
                var p = 0;
                while (p < rdata.Length)
                {
                    if (p + 4 > rdata.Length)
                    {
                        throw new FormatException("OPT option header runs past RDATA");
                    }

                    var code = BinaryPrimitives.ReadUInt16BigEndian(rdata[p..]);
                    var length = BinaryPrimitives.ReadUInt16BigEndian(rdata[(p + 2)..]);
                    if (p + 4 + length > rdata.Length)
                    {
                        throw new FormatException("OPT option data runs past RDATA");
                    }

                    options.Add(new EdnsOptionBytes(code, rdata.Slice(p + 4, length).ToArray()));
                    p += 4 + length;
                }

                m.Opt = new OptRecord(record.Class, (byte)(record.Ttl >> 24), (byte)(record.Ttl >> 16), (record.Ttl & 0x8000) != 0, record.Name, options);
            }
            else
            {
                m.Additional.Add(record);
            }
        }

        if (pos != bytes.Length)
        {
            throw new FormatException($"{bytes.Length - pos} bytes trail the last record");
        }

        return m;
    }

    private static RawRecord ReadRecord(byte[] bytes, ref int pos)
    {
        var name = ReadName(bytes, ref pos);
        Need(bytes, pos, 10);
        var type = BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(pos));
        var @class = BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(pos + 2));
        var ttl = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(pos + 4));
        var length = BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(pos + 8));
        pos += 10;
        Need(bytes, pos, length);
        var record = new RawRecord(name, type, @class, ttl, bytes, pos, length);
        pos += length;
        return record;
    }

    /// <summary>Decodes a possibly compressed name; case kept, absolute with a trailing dot.</summary>
    public static string ReadName(byte[] bytes, ref int pos)
    {
        var text = new StringBuilder();
        var cursor = pos;
        var jumped = false;
        var hops = 0;
        while (true)
        {
            Need(bytes, cursor, 1);
            var length = bytes[cursor];
            if ((length & 0xC0) == 0xC0)
            {
                Need(bytes, cursor, 2);
                var target = ((length & 0x3F) << 8) | bytes[cursor + 1];
                if (target >= cursor || ++hops > 64)
                {
                    throw new FormatException($"compression pointer at {cursor} to {target} does not point backwards");
                }

                if (!jumped)
                {
                    pos = cursor + 2;
                    jumped = true;
                }

                cursor = target;
                continue;
            }

            if ((length & 0xC0) != 0)
            {
                throw new FormatException($"label type 0x{length:x2} at {cursor}");
            }

            if (length == 0)
            {
                if (!jumped)
                {
                    pos = cursor + 1;
                }

                return text.Length == 0 ? "." : text.ToString();
            }

            Need(bytes, cursor + 1, length);
            text.Append(Encoding.ASCII.GetString(bytes, cursor + 1, length)).Append('.');
            if (text.Length > 255)
            {
                throw new FormatException("name longer than 255 octets");
            }

            cursor += 1 + length;
        }
    }

    private static void Need(byte[] bytes, int pos, int count)
    {
        if (pos + count > bytes.Length)
        {
            throw new FormatException($"message ends at {bytes.Length}, needed {count} bytes at {pos}");
        }
    }

    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append($"id {Id} opcode {Opcode} rcode {Rcode} flags{(IsResponse ? " qr" : "")}{(Authoritative ? " aa" : "")}{(Truncated ? " tc" : "")}{(RecursionDesired ? " rd" : "")}{(RecursionAvailable ? " ra" : "")} size {Size}");
        foreach (var q in Questions)
        {
            text.Append($"\n? {q.Name} {q.Class} {q.Type}");
        }

        foreach (var (section, records) in new[] { ("AN", Answers), ("NS", Authority), ("AR", Additional) })
        {
            foreach (var r in records)
            {
                text.Append($"\n{section} {r}");
            }
        }

        if (Opt is { } opt)
        {
            text.Append($"\nOPT udp {opt.UdpSize} version {opt.Version} ext-rcode {opt.ExtendedRcode} options {opt.Options.Count}");
        }

        return text.ToString();
    }
}

/// <summary>
/// Talks DNS over real sockets with raw bytes. UDP replies are matched by ID, so a late answer to an earlier
/// packet is never mistaken for the one awaited.
/// </summary>
internal static class RawDnsClient
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(3);

    /// <summary>Sends one datagram from a fresh socket and returns the first reply carrying <paramref name="id"/>, or null if none came in time.</summary>
    public static async Task<byte[]?> UdpAsync(IPEndPoint server, byte[] packet, ushort id, TimeSpan? timeout = null)
    {
        using var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.Connect(server);
        await socket.SendAsync(packet);
        return await ReceiveUdpAsync(socket, id, timeout ?? DefaultTimeout);
    }

    public static async Task<RawReply> UdpQueryAsync(IPEndPoint server, byte[] packet, ushort id, TimeSpan? timeout = null)
    {
        var reply = await UdpAsync(server, packet, id, timeout) ?? throw new TimeoutException($"no UDP reply with id {id} from {server}");
        return RawReply.Parse(reply);
    }

    public static async Task<RawReply> UdpQueryAsync(IPEndPoint server, string name, ushort type, EdnsSpec? edns = null, ushort @class = DnsWire.ClassIN)
    {
        var id = DnsWire.NewId();
        return await UdpQueryAsync(server, DnsWire.Query(name, type, id, edns, @class), id);
    }

    /// <summary>Waits on a connected UDP socket for a reply with <paramref name="id"/>; replies with other IDs are collected in <paramref name="others"/>.</summary>
    public static async Task<byte[]?> ReceiveUdpAsync(Socket socket, ushort id, TimeSpan timeout, List<byte[]>? others = null)
    {
        var buffer = new byte[65536];
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            int received;
            try
            {
                received = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            }
            catch (OperationCanceledException)
            {
                return null;
            }

            var reply = buffer.AsSpan(0, received).ToArray();
            if (received >= 2 && BinaryPrimitives.ReadUInt16BigEndian(reply) == id)
            {
                return reply;
            }

            others?.Add(reply);
        }
    }

    public static async Task<RawReply> TcpQueryAsync(IPEndPoint server, string name, ushort type, EdnsSpec? edns = null)
    {
        using var connection = await TcpDnsConnection.ConnectAsync(server);
        var id = DnsWire.NewId();
        await connection.SendAsync(DnsWire.Query(name, type, id, edns));
        var reply = await connection.ReceiveAsync() ?? throw new IOException($"{server} closed the TCP connection without a reply");
        var message = RawReply.Parse(reply);
        if (message.Id != id)
        {
            throw new IOException($"TCP reply id {message.Id}, expected {id}");
        }

        return message;
    }
}

/// <summary>One DNS-over-TCP connection (RFC 1035 4.2.2 / RFC 7766): two-byte length, then the message.</summary>
internal sealed class TcpDnsConnection : IDisposable
{
    private readonly Socket _socket;

    private TcpDnsConnection(Socket socket)
    {
        _socket = socket;
    }

    public Socket Socket => _socket;

    public static async Task<TcpDnsConnection> ConnectAsync(IPEndPoint server, TimeSpan? timeout = null)
    {
        var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var cts = new CancellationTokenSource(timeout ?? RawDnsClient.DefaultTimeout);
        try
        {
            await socket.ConnectAsync(server, cts.Token);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new TcpDnsConnection(socket);
    }

    public static byte[] Frame(byte[] message)
    {
        var framed = new byte[message.Length + 2];
        BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)message.Length);
        message.CopyTo(framed, 2);
        return framed;
    }

    public Task SendAsync(byte[] message) => SendRawAsync(Frame(message));

    public async Task SendRawAsync(byte[] bytes)
    {
        using var cts = new CancellationTokenSource(RawDnsClient.DefaultTimeout);
        await _socket.SendAsync(bytes, SocketFlags.None, cts.Token);
    }

    /// <summary>The next message, or null when the server closed (or reset) the connection; throws on timeout.</summary>
    public async Task<byte[]?> ReceiveAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? RawDnsClient.DefaultTimeout);
        var prefix = new byte[2];
        if (!await ReadExactlyAsync(prefix, cts.Token))
        {
            return null;
        }

        var message = new byte[BinaryPrimitives.ReadUInt16BigEndian(prefix)];
        if (!await ReadExactlyAsync(message, cts.Token))
        {
            throw new IOException("connection closed in the middle of a message");
        }

        return message;
    }

    /// <summary>True if the server closes (FIN or RST) the connection within <paramref name="timeout"/> without sending anything.</summary>
    public async Task<bool> ClosedByPeerAsync(TimeSpan timeout)
    {
        var buffer = new byte[1];
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            return await _socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token) == 0;
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task<bool> ReadExactlyAsync(byte[] buffer, CancellationToken token)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            int n;
            try
            {
                n = await _socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, token);
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
            {
                return false;
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"no complete TCP message within the deadline ({read} of {buffer.Length} bytes read)");
            }

            if (n == 0)
            {
                return false;
            }

            read += n;
        }

        return true;
    }

    public void Dispose() => _socket.Dispose();
}
