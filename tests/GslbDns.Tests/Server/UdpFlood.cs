using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using GslbDns.Server.Hosting;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Server;

/// <summary>What a flood sent and got back, in UDP payload bytes.</summary>
internal sealed record FloodResult(int Sent, long SentBytes, int Replies, long ReplyBytes, int Full, int Truncated, int BadCookie)
{
    /// <summary>Outbound bytes per inbound byte: the amplification an attacker gets by spoofing a victim's address.</summary>
    public double Factor => SentBytes == 0 ? 0 : (double)ReplyBytes / SentBytes;

    public override string ToString() => $"{Sent} queries ({SentBytes} B) -> {Replies} replies ({ReplyBytes} B; {Full} with answers, {Truncated} TC, {BadCookie} BADCOOKIE), factor {Factor:0.000}";
}

/// <summary>
/// A spoofed-source flood on loopback: one UDP socket bound to each source address (all of 127.0.0.0/8 is local on
/// Linux), each sending the same query. Paced by the server's own count of queries handled, so nothing is lost to a
/// full receive buffer, and drained until every handled query's reply (if any) has been read.
/// </summary>
internal static class UdpFlood
{
    public static IPAddress[] Sources(byte second, byte third, int count)
        => [.. Enumerable.Range(2, count).Select(i => new IPAddress([127, second, third, (byte)i]))];

    /// <summary>Queries handled by the server's UDP threads: replied to, withheld by RRL, or dropped.</summary>
    public static long Handled(DnsServer server)
        => server.UdpListeners.SelectMany(u => u.Contexts).Sum(c => c.Counters.ByRcode.Sum() + c.Counters.RateLimited + c.Counters.Dropped);

    /// <summary>Replies response rate limiting withheld (sent nothing).</summary>
    public static long Withheld(DnsServer server) => server.UdpListeners.SelectMany(u => u.Contexts).Sum(c => c.Counters.RateLimited);

    public static async Task<FloodResult> RunAsync(DnsServer server, IPEndPoint target, IReadOnlyList<IPAddress> sources, byte[] query, int perSource)
    {
        var sockets = sources.Select(source =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(source, 0));
            return socket;
        }).ToArray();
        try
        {
            var start = Handled(server);
            var limitedAtStart = Withheld(server);
            var sent = 0;
            long sentBytes = 0;
            var tally = new Tally();
            var packet = (byte[])query.Clone();
            for (var round = 0; round < perSource; round++)
            {
                foreach (var socket in sockets)
                {
                    BinaryPrimitives.WriteUInt16BigEndian(packet, (ushort)sent);
                    sentBytes += socket.SendTo(packet, target);
                    sent++;
                }

                // Let the server keep up (its receive buffer is finite), and read replies so ours do not overflow.
                var expected = sent;
                await Deadline.UntilAsync("the server handling the flood", TimeSpan.FromSeconds(20), () =>
                {
                    var handled = Handled(server) - start;
                    return Task.FromResult((handled >= expected - 200, $"{handled} of {expected} handled"));
                }, TimeSpan.FromMilliseconds(1));
                Drain(sockets, tally);
            }

            var total = sent;
            await Deadline.UntilAsync("the server handling the whole flood", TimeSpan.FromSeconds(20), () =>
            {
                var handled = Handled(server) - start;
                return Task.FromResult((handled >= total, $"{handled} of {total} handled"));
            }, TimeSpan.FromMilliseconds(5));

            // The server counts a query before its thread sends the reply: drain until every query not withheld has its reply.
            await Deadline.UntilAsync("every reply of the flood", TimeSpan.FromSeconds(20), () =>
            {
                Drain(sockets, tally);
                var withheld = Withheld(server) - limitedAtStart;
                return Task.FromResult((tally.Replies + withheld >= total, $"{tally.Replies} replies + {withheld} withheld of {total}"));
            }, TimeSpan.FromMilliseconds(5));
            return new FloodResult(sent, sentBytes, tally.Replies, tally.Bytes, tally.Full, tally.Truncated, tally.BadCookie);
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket.Dispose();
            }
        }
    }

    private sealed class Tally
    {
        public int Replies;
        public long Bytes;
        public int Full;
        public int Truncated;
        public int BadCookie;
    }

    private static void Drain(Socket[] sockets, Tally tally)
    {
        var buffer = new byte[65536];
        foreach (var socket in sockets)
        {
            while (socket.Available > 0)
            {
                var n = socket.Receive(buffer);
                var reply = RawReply.Parse(buffer[..n]);
                tally.Replies++;
                tally.Bytes += n;
                if (reply.Truncated)
                {
                    // A slipped reply: the question only, so a real client retries over TCP.
                    Assert.Empty(reply.Answers);
                    tally.Truncated++;
                }
                else if (reply.Rcode == 23)
                {
                    tally.BadCookie++;
                }
                else if (reply.Answers.Count > 0)
                {
                    tally.Full++;
                }
            }
        }
    }
}
