using System.Net;
using System.Net.Sockets;
using GslbDns.Server.Listeners;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Server;

/// <summary>Stopping: queries already received over TCP are answered while DisposeAsync runs; nothing new is accepted.</summary>
public sealed class ShutdownTests
{
    [Fact]
    public async Task TCP_query_received_before_shutdown_is_answered_while_DisposeAsync_runs()
    {
        using var zones = new TempFolder("shutdown");
        TestZones.WriteParentZones(zones.Path, IPAddress.Parse("127.0.0.53"));
        // A long read timeout: DisposeAsync waits that long for a query in flight, and the test must not race it.
        var server = await InProcessServer.StartAsync(InProcessServer.Options(zones.Path) with
        {
            Tcp = new TcpLimits(MaxConnections: 8, IdleTimeout: TimeSpan.FromSeconds(10), ReadTimeout: TimeSpan.FromSeconds(30)),
        });
        var endPoint = server.TcpListeners[0].LocalEndPoint;
        Task? dispose = null;
        try
        {
            using var connection = await TcpDnsConnection.ConnectAsync(endPoint);

            // One write carrying a whole query and the first half of a second one: once the first is answered, the
            // server has read the second's length and waits for the rest of it, which it must not abandon on shutdown.
            var firstId = DnsWire.NewId();
            var secondId = DnsWire.NewId();
            var second = TcpDnsConnection.Frame(DnsWire.Query("alias.example.test", DnsWire.TypeA, secondId));
            var split = second.Length / 2;
            await connection.SendRawAsync([.. TcpDnsConnection.Frame(DnsWire.Query("www.example.test", DnsWire.TypeA, firstId)), .. second.AsSpan(0, split)]);
            Assert.Equal(firstId, RawReply.Parse((await connection.ReceiveAsync())!).Id);

            dispose = server.DisposeAsync().AsTask();

            // The listener is closed at once: a new connection is refused (or closed unanswered) while the old one is served.
            await Deadline.UntilAsync("the TCP listener closing", TimeSpan.FromSeconds(5), async () =>
            {
                try
                {
                    using var late = await TcpDnsConnection.ConnectAsync(endPoint, TimeSpan.FromSeconds(1));
                    await late.SendAsync(DnsWire.Query("www.example.test", DnsWire.TypeA, DnsWire.NewId()));
                    return (await late.ClosedByPeerAsync(TimeSpan.FromSeconds(1)), "a new connection was accepted");
                }
                catch (SocketException ex)
                {
                    return (true, ex.SocketErrorCode.ToString());
                }
            });
            Assert.False(dispose.IsCompleted, "DisposeAsync finished without waiting for the query in flight");

            await connection.SendRawAsync(second.AsSpan(split).ToArray());
            var reply = RawReply.Parse((await connection.ReceiveAsync(TimeSpan.FromSeconds(5)))!);
            Assert.Equal((secondId, 0, 4), (reply.Id, reply.Rcode, reply.Answers.Count));

            // After answering, the connection is closed rather than kept for more queries, and DisposeAsync completes.
            Assert.True(await connection.ClosedByPeerAsync(TimeSpan.FromSeconds(5)));
            await Deadline.Within(dispose, TimeSpan.FromSeconds(5), "DisposeAsync after the last answer");
        }
        finally
        {
            if (dispose is null)
            {
                await server.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Query_sent_just_before_DisposeAsync_starts_is_answered_every_time()
    {
        // The plain case, repeated because it is a race: the query's bytes are in the server's socket when
        // DisposeAsync cancels the wait for the next query. (Before the fix about 1 in 30 was lost.)
        using var zones = new TempFolder("shutdown-race");
        TestZones.WriteParentZones(zones.Path, IPAddress.Parse("127.0.0.53"));
        const int rounds = 150;
        var lost = new List<string>();
        for (var round = 0; round < rounds; round++)
        {
            var server = await InProcessServer.StartAsync(InProcessServer.Options(zones.Path) with { UdpThreads = 1 });
            Task dispose;
            using (var connection = await TcpDnsConnection.ConnectAsync(server.TcpListeners[0].LocalEndPoint))
            {
                // First a round trip, so the server is sitting in its wait for the next query.
                var warmId = DnsWire.NewId();
                await connection.SendAsync(DnsWire.Query("www.example.test", DnsWire.TypeA, warmId));
                Assert.Equal(warmId, RawReply.Parse((await connection.ReceiveAsync())!).Id);

                var id = DnsWire.NewId();
                await connection.SendAsync(DnsWire.Query("www.example.test", DnsWire.TypeA, id));
                dispose = server.DisposeAsync().AsTask();
                byte[]? reply;
                try
                {
                    reply = await connection.ReceiveAsync(TimeSpan.FromSeconds(10));
                }
                catch (TimeoutException)
                {
                    reply = null;
                }

                if (reply is null || RawReply.Parse(reply).Id != id)
                {
                    lost.Add($"round {round}: {(reply is null ? "closed without an answer" : "wrong id")}");
                }
            }

            await Deadline.Within(dispose, TimeSpan.FromSeconds(10), "DisposeAsync");
        }

        Assert.True(lost.Count == 0, $"{lost.Count} of {rounds} queries lost:\n{string.Join("\n", lost)}");
    }

    [Fact]
    public async Task Idle_TCP_connections_do_not_hold_up_shutdown()
    {
        using var zones = new TempFolder("shutdown-idle");
        TestZones.WriteParentZones(zones.Path, IPAddress.Parse("127.0.0.53"));
        var server = await InProcessServer.StartAsync(InProcessServer.Options(zones.Path));
        using var idle = await TcpDnsConnection.ConnectAsync(server.TcpListeners[0].LocalEndPoint);
        var id = DnsWire.NewId();
        await idle.SendAsync(DnsWire.Query("www.example.test", DnsWire.TypeA, id));
        Assert.Equal(id, RawReply.Parse((await idle.ReceiveAsync())!).Id);

        // The idle timeout is 10 s and the read timeout 5 s; shutdown must not wait for either.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await Deadline.Within(server.DisposeAsync().AsTask(), TimeSpan.FromSeconds(3), "DisposeAsync with an idle TCP client");
        Assert.True(await idle.ClosedByPeerAsync(TimeSpan.FromSeconds(3)));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"shutdown took {clock.Elapsed}");
    }
}
