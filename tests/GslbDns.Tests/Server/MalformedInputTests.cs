using System.Net;
using System.Net.Sockets;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Server;

/// <summary>
/// Broken and hostile packets: each gets FORMERR when its header is readable (and it is a query), nothing
/// when it is not or when it is a response, and is always followed by a normal query that must still be answered.
/// </summary>
[Collection(AuthServerCollection.Name)]
public sealed class MalformedInputTests(AuthServerFixture fixture)
{
    private const ushort BadId = 0xBEEF;

    public enum Expect
    {
        /// <summary>FORMERR, question section echoed.</summary>
        FormErrWithQuestion,

        /// <summary>FORMERR with no question (the question itself was unreadable).</summary>
        FormErrWithoutQuestion,

        /// <summary>No reply at all.</summary>
        Drop,

        /// <summary>Random bytes: any of the above, as long as the server keeps answering.</summary>
        Anything,
    }

    private static byte[] Header(ushort qd = 1, ushort an = 0, ushort ns = 0, ushort ar = 0, ushort flags = 0)
    {
        var header = new List<byte>();
        DnsWire.Header(header, BadId, flags, qd, an, ns, ar);
        return [.. header];
    }

    private static byte[] Question(string name = "www.example.test", ushort type = DnsWire.TypeA)
    {
        var q = new List<byte>(DnsWire.Name(name));
        DnsWire.U16(q, type);
        DnsWire.U16(q, DnsWire.ClassIN);
        return [.. q];
    }

    private static byte[] Opt(params EdnsOptionBytes[] options) => DnsWire.Opt(new EdnsSpec(Options: options));

    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    private static byte[] Garbage(int seed, int length, bool? response)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        bytes[0] = (byte)(BadId >> 8);
        bytes[1] = BadId & 0xFF;
        if (response is { } qr)
        {
            bytes[2] = (byte)(qr ? bytes[2] | 0x80 : bytes[2] & 0x7F);
        }

        return bytes;
    }

    public static TheoryData<string, byte[], Expect> Cases => new()
    {
        { "0 bytes", [], Expect.Drop },
        { "truncated header (7 bytes)", Header().AsSpan(0, 7).ToArray(), Expect.Drop },
        { "header only, QDCOUNT=1", Header(), Expect.FormErrWithoutQuestion },
        { "truncated question: name ends, type and class missing", Concat(Header(), DnsWire.Name("www.example.test"), [0]), Expect.FormErrWithoutQuestion },
        { "truncated question: name cut mid-label", Concat(Header(), DnsWire.Name("www.example.test").AsSpan(0, 9).ToArray()), Expect.FormErrWithoutQuestion },
        { "label length runs past the end", Concat(Header(), [3, (byte)'w', (byte)'w', (byte)'w', 63, (byte)'a', (byte)'b']), Expect.FormErrWithoutQuestion },
        { "compression pointer in the question", Concat(Header(), [3, (byte)'w', (byte)'w', (byte)'w', 0xC0, 12, 0, 1, 0, 1]), Expect.FormErrWithoutQuestion },
        { "compression pointer as the whole QNAME", Concat(Header(), [0xC0, 12, 0, 1, 0, 1]), Expect.FormErrWithoutQuestion },
        { "label type 0x40 (extended label)", Concat(Header(), [0x41, 0, 0, 1, 0, 1]), Expect.FormErrWithoutQuestion },
        { "QDCOUNT=0 for QUERY", Header(qd: 0), Expect.FormErrWithoutQuestion },
        { "QDCOUNT=2", Concat(Header(qd: 2), Question(), Question("mail.example.test")), Expect.FormErrWithoutQuestion },
        { "ANCOUNT=1 but no answer record", Concat(Header(an: 1), Question()), Expect.FormErrWithQuestion },
        { "bytes after the question", Concat(Header(), Question(), [1, 2, 3]), Expect.FormErrWithQuestion },
        { "OPT twice", Concat(Header(ar: 2), Question(), Opt(), Opt()), Expect.FormErrWithQuestion },
        { "OPT owner not the root", Concat(Header(ar: 1), Question(), [1, (byte)'x'], Opt()), Expect.FormErrWithQuestion },
        { "OPT option length past its RDATA", Concat(Header(ar: 1), Question(), BadOptionLength()), Expect.FormErrWithQuestion },
        { "OPT RDLENGTH past the packet", Concat(Header(ar: 1), Question(), Opt().AsSpan(0, 9).ToArray(), [0, 40]), Expect.FormErrWithQuestion },
        { "ECS with non-zero bits past the source prefix", Concat(Header(ar: 1), Question(), Opt(new EdnsOptionBytes(DnsWire.OptionClientSubnet, DnsWire.ClientSubnet(1, 20, 0, 198, 51, 0x6F)))), Expect.FormErrWithQuestion },
        { "ECS with more address octets than the prefix needs", Concat(Header(ar: 1), Question(), Opt(new EdnsOptionBytes(DnsWire.OptionClientSubnet, DnsWire.ClientSubnet(1, 8, 0, 198, 51)))), Expect.FormErrWithQuestion },
        { "ECS with a non-zero scope in a query", Concat(Header(ar: 1), Question(), Opt(new EdnsOptionBytes(DnsWire.OptionClientSubnet, DnsWire.ClientSubnet(1, 24, 24, 198, 51, 100)))), Expect.FormErrWithQuestion },
        { "ECS of unknown family", Concat(Header(ar: 1), Question(), Opt(new EdnsOptionBytes(DnsWire.OptionClientSubnet, DnsWire.ClientSubnet(7, 8, 0, 1)))), Expect.FormErrWithQuestion },
        { "a response (QR=1)", Concat(Header(flags: 0x8400), Question()), Expect.Drop },
        { "a response with answers (QR=1)", Concat(Header(an: 1, flags: 0x8400), Question(), [0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]), Expect.Drop },
        { "65000 random bytes (query bit)", Garbage(1, 65000, response: false), Expect.Anything },
        { "65000 random bytes (response bit)", Garbage(2, 65000, response: true), Expect.Drop },
        { "65000 random bytes (as they come)", Garbage(3, 65000, response: null), Expect.Anything },
        { "12 random bytes", Garbage(4, 12, response: false), Expect.Anything },
        { "300 random bytes", Garbage(5, 300, response: false), Expect.Anything },
    };

    private static byte[] BadOptionLength()
    {
        // One option claiming 10 bytes of data with only 2 present, inside a correctly sized RDATA.
        var opt = DnsWire.Opt(new EdnsSpec(Options: [new EdnsOptionBytes(10, [1, 2])]));
        opt[^3] = 10;
        return opt;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Malformed_UDP_packet_gets_FORMERR_or_nothing_and_the_server_keeps_answering(string what, byte[] packet, Expect expect)
    {
        _ = what;
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Connect(fixture.Servers.V4);
        await socket.SendAsync(packet);

        // Then a normal query from the same socket: the server reads the two in order (one 4-tuple, one receive
        // thread), so a reply to the bad packet, if any, arrives before the good one's.
        var goodId = DnsWire.NewId();
        await socket.SendAsync(DnsWire.Query("www.example.test", DnsWire.TypeA, goodId, new EdnsSpec()));
        var before = new List<byte[]>();
        var good = await RawDnsClient.ReceiveUdpAsync(socket, goodId, TimeSpan.FromSeconds(5), before);
        Assert.True(good is not null, "the server did not answer the normal query that followed");
        var answer = RawReply.Parse(good!);
        Assert.Equal(0, answer.Rcode);
        Assert.Equal(2, answer.Answers.Count);

        switch (expect)
        {
            case Expect.Drop:
                Assert.Empty(before);
                break;
            case Expect.FormErrWithQuestion or Expect.FormErrWithoutQuestion:
                var reply = RawReply.Parse(Assert.Single(before));
                Assert.True(reply.IsResponse);
                Assert.Equal(BadId, reply.Id);
                Assert.Equal(1, reply.Rcode);
                Assert.False(reply.Authoritative);
                Assert.False(reply.RecursionAvailable);
                Assert.Empty(reply.Answers);
                Assert.Equal(0, reply.OptCount); // the OPT may be what was wrong (RFC 6891 7)
                Assert.Equal(expect == Expect.FormErrWithQuestion ? 1 : 0, reply.Questions.Count);
                break;
            default:
                // Random header bits may make it FORMERR, NOTIMP (a random opcode) or nothing; any reply must be well formed.
                foreach (var other in before)
                {
                    var parsed = RawReply.Parse(other);
                    Assert.True(parsed.IsResponse);
                    Assert.Equal(BadId, parsed.Id);
                    Assert.NotEqual(0, parsed.Rcode);
                }

                break;
        }
    }

    [Fact]
    public async Task FORMERR_over_TCP_keeps_the_connection_and_a_response_packet_closes_it()
    {
        var server = fixture.Servers.V4;
        using (var connection = await TcpDnsConnection.ConnectAsync(server))
        {
            await connection.SendAsync(Concat(Header(qd: 2), Question(), Question()));
            var formErr = RawReply.Parse((await connection.ReceiveAsync())!);
            Assert.Equal((BadId, 1), (formErr.Id, formErr.Rcode));

            var id = DnsWire.NewId();
            await connection.SendAsync(DnsWire.Query("www.example.test", DnsWire.TypeA, id));
            var ok = RawReply.Parse((await connection.ReceiveAsync())!);
            Assert.Equal((id, 0, 2), (ok.Id, ok.Rcode, ok.Answers.Count));

            // A response sent to us has no reply, and a stream cannot skip one: the connection ends.
            await connection.SendAsync(Concat(Header(flags: 0x8000), Question()));
            Assert.Null(await connection.ReceiveAsync());
        }

        using (var connection = await TcpDnsConnection.ConnectAsync(server))
        {
            // 65000 random bytes framed as one message, then a normal query on a new connection.
            await connection.SendAsync(Garbage(6, 65000, response: false));
            var reply = await connection.ReceiveAsync();
            if (reply is not null)
            {
                Assert.Equal(BadId, RawReply.Parse(reply).Id);
            }
        }

        var after = await RawDnsClient.TcpQueryAsync(server, "www.example.test", DnsWire.TypeA);
        Assert.Equal(0, after.Rcode);
    }

    [Fact]
    public async Task Zero_length_TCP_frame_closes_the_connection_and_the_server_keeps_answering()
    {
        using (var connection = await TcpDnsConnection.ConnectAsync(fixture.Servers.V4))
        {
            await connection.SendRawAsync([0, 0]);
            Assert.True(await connection.ClosedByPeerAsync(TimeSpan.FromSeconds(5)));
        }

        var after = await RawDnsClient.TcpQueryAsync(fixture.Servers.V4, "www.example.test", DnsWire.TypeA);
        Assert.Equal(0, after.Rcode);
    }
}
