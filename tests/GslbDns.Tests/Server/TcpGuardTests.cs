using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using GslbDns.Server.Hosting;
using GslbDns.Server.Listeners;
using GslbDns.Tests.TestSupport;
using Xunit.Abstractions;

namespace GslbDns.Tests.Server;

/// <summary>TCP under abuse: slowloris crowds, slow readers, one address hoarding connections. Real sockets throughout.</summary>
public sealed class TcpGuardTests(ITestOutputHelper output)
{
    private static async Task<(DnsServer Server, TempFolder Zones)> StartAsync(TcpLimits limits)
    {
        var zones = new TempFolder("tcp-guard");
        TestZones.WriteParentZones(zones.Path, IPAddress.Parse("127.0.0.53"));
        var server = await InProcessServer.StartAsync(InProcessServer.Options(zones.Path) with { Tcp = limits });
        return (server, zones);
    }

    private static async Task<Socket?> TryConnectAsync(IPAddress source, IPEndPoint server)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.Bind(new IPEndPoint(source, 0));
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await socket.ConnectAsync(server, timeout.Token);
            return socket;
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            socket.Dispose();
            return null;
        }
    }

    /// <summary>True when the peer has closed: readable with nothing to read.</summary>
    private static bool Closed(Socket socket)
    {
        try
        {
            return socket.Poll(0, SelectMode.SelectRead) && socket.Available == 0;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            return true;
        }
    }

    private static async Task<bool> AnsweredAsync(Socket socket)
    {
        var id = DnsWire.NewId();
        await socket.SendAsync(TcpDnsConnection.Frame(DnsWire.Query("www.example.test", DnsWire.TypeA, id)));
        var prefix = new byte[2];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        try
        {
            using var stream = new NetworkStream(socket, ownsSocket: false);
            await stream.ReadExactlyAsync(prefix, timeout.Token);
            var reply = new byte[(prefix[0] << 8) | prefix[1]];
            await stream.ReadExactlyAsync(reply, timeout.Token);
            return RawReply.Parse(reply).Id == id;
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or EndOfStreamException or IOException)
        {
            return false;
        }
    }

    [Fact]
    public async Task Three_hundred_slowloris_connections_dripping_a_byte_a_second_cannot_starve_a_normal_TCP_client()
    {
        // The defaults an operator gets: 256 connections, 32 per address, 10 s idle, 5 s for a query to arrive whole.
        var (server, zones) = await StartAsync(new TcpLimits(MaxConnections: 256, IdleTimeout: TimeSpan.FromSeconds(10), ReadTimeout: TimeSpan.FromSeconds(5)));
        await using var _ = server;
        using var __ = zones;
        var endPoint = server.TcpListeners[0].LocalEndPoint;
        var drip = TcpDnsConnection.Frame(DnsWire.Query("www.example.test", DnsWire.TypeA, 7));

        // 30 addresses x 10 connections, each sending one byte of a query per second, reconnecting whenever closed.
        var slots = Enumerable.Range(0, 300).Select(i => (Source: new IPAddress([127, 0, 9, (byte)(1 + (i / 10))]), Socket: (Socket?)null, Sent: 0)).ToArray();
        using var stop = new CancellationTokenSource();
        var reconnects = 0;
        var attack = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var tick = Stopwatch.StartNew();
                await Task.WhenAll(slots.Select(async (slot, i) =>
                {
                    if (slots[i].Socket is { } s && Closed(s))
                    {
                        s.Dispose();
                        slots[i].Socket = null;
                    }

                    if (slots[i].Socket is null)
                    {
                        slots[i].Socket = await TryConnectAsync(slot.Source, endPoint);
                        slots[i].Sent = 0;
                        Interlocked.Increment(ref reconnects);
                    }

                    if (slots[i].Socket is { } socket)
                    {
                        try
                        {
                            await socket.SendAsync(drip.AsMemory(slots[i].Sent % drip.Length, 1));
                            slots[i].Sent++;
                        }
                        catch (SocketException)
                        {
                            socket.Dispose();
                            slots[i].Socket = null;
                        }
                    }
                }));

                // One byte a second per connection: pace the next round (load shaping, not a wait for a condition).
                var rest = TimeSpan.FromSeconds(1) - tick.Elapsed;
                if (rest > TimeSpan.Zero)
                {
                    await Task.Delay(rest);
                }
            }
        });

        try
        {
            await Deadline.UntilAsync("the slowloris crowd filling the connection table", TimeSpan.FromSeconds(15), () =>
            {
                var active = server.TcpListeners[0].ActiveConnections;
                return Task.FromResult((active >= 250, $"{active} connections open"));
            }, TimeSpan.FromMilliseconds(50));

            // A normal client: 25 queries, each on a new connection like dig +tcp, paced over about 6 s of attack.
            var failures = new List<string>();
            for (var i = 0; i < 25; i++)
            {
                using var socket = await TryConnectAsync(IPAddress.Loopback, endPoint);
                if (socket is null || !await AnsweredAsync(socket))
                {
                    failures.Add($"query {i}: {(socket is null ? "no connection" : "closed without an answer")}");
                }

                await Task.Delay(250);
            }

            var listener = server.TcpListeners[0];
            output.WriteLine($"open {listener.ActiveConnections}, evicted {listener.Evicted}, rejected {listener.Rejected}, rejected per client {listener.RejectedPerClient}, attacker connects {reconnects}");
            Assert.Empty(failures);
            Assert.True(listener.Evicted > 0, "the cap was never reached, so the test proved nothing");
        }
        finally
        {
            await stop.CancelAsync();
            await attack;
            foreach (var slot in slots)
            {
                slot.Socket?.Dispose();
            }
        }
    }

    [Fact]
    public async Task At_the_cap_the_connection_waiting_longest_makes_room_for_a_new_one()
    {
        var (server, zones) = await StartAsync(new TcpLimits(MaxConnections: 2, IdleTimeout: TimeSpan.FromSeconds(30), ReadTimeout: TimeSpan.FromSeconds(5)));
        await using var _ = server;
        using var __ = zones;
        var endPoint = server.TcpListeners[0].LocalEndPoint;
        using var oldest = await TryConnectAsync(IPAddress.Loopback, endPoint) ?? throw new IOException("no connection");
        Assert.True(await AnsweredAsync(oldest));
        using var second = await TryConnectAsync(IPAddress.Loopback, endPoint) ?? throw new IOException("no connection");
        Assert.True(await AnsweredAsync(second));
        Assert.True(await AnsweredAsync(second)); // second has waited less since its last query than oldest

        using var third = await TryConnectAsync(IPAddress.Loopback, endPoint) ?? throw new IOException("no connection");
        Assert.True(await AnsweredAsync(third), "the new connection at the cap was not served");
        await Deadline.UntilAsync("the longest-waiting connection being closed", TimeSpan.FromSeconds(5), () => Task.FromResult((Closed(oldest), "still open")));
        Assert.True(await AnsweredAsync(second), "a connection that was not the longest waiting was closed");
        Assert.Equal(1, server.TcpListeners[0].Evicted);
    }

    [Fact]
    public async Task A_query_dribbled_in_slower_than_the_read_timeout_is_cut_off_although_bytes_keep_coming()
    {
        var (server, zones) = await StartAsync(new TcpLimits(MaxConnections: 16, IdleTimeout: TimeSpan.FromSeconds(30), ReadTimeout: TimeSpan.FromSeconds(1)));
        await using var _ = server;
        using var __ = zones;
        using var socket = await TryConnectAsync(IPAddress.Loopback, server.TcpListeners[0].LocalEndPoint) ?? throw new IOException("no connection");
        var framed = TcpDnsConnection.Frame(DnsWire.Query("www.example.test", DnsWire.TypeA, 9));
        var clock = Stopwatch.StartNew();
        var sent = 0;
        await Deadline.UntilAsync("the slow query being cut off", TimeSpan.FromSeconds(6), async () =>
        {
            if (Closed(socket))
            {
                return (true, "closed");
            }

            try
            {
                await socket.SendAsync(framed.AsMemory(sent++ % framed.Length, 1));
            }
            catch (SocketException)
            {
                return (true, "reset");
            }

            return (false, $"{sent} bytes sent, still open after {clock.Elapsed.TotalSeconds:0.0} s");
        }, TimeSpan.FromMilliseconds(200));
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.8), TimeSpan.FromSeconds(4));
    }

    [Fact]
    public async Task One_address_gets_its_share_of_connections_and_another_address_is_still_served()
    {
        var (server, zones) = await StartAsync(new TcpLimits(MaxConnections: 64, IdleTimeout: TimeSpan.FromSeconds(30), ReadTimeout: TimeSpan.FromSeconds(5)) { MaxPerClient = 3 });
        await using var _ = server;
        using var __ = zones;
        var endPoint = server.TcpListeners[0].LocalEndPoint;
        var hoarder = IPAddress.Parse("127.0.11.1");
        var held = new List<Socket>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var socket = await TryConnectAsync(hoarder, endPoint) ?? throw new IOException("no connection");
                held.Add(socket);
                Assert.True(await AnsweredAsync(socket), $"connection {i} within the share was not served");
            }

            using (var fourth = await TryConnectAsync(hoarder, endPoint) ?? throw new IOException("no connection"))
            {
                Assert.False(await AnsweredAsync(fourth), "the fourth connection from one address was served");
            }

            Assert.Equal(1, server.TcpListeners[0].RejectedPerClient);
            using var other = await TryConnectAsync(IPAddress.Parse("127.0.11.2"), endPoint) ?? throw new IOException("no connection");
            Assert.True(await AnsweredAsync(other));
            Assert.True(await AnsweredAsync(held[0]), "the held connections keep working");
        }
        finally
        {
            held.ForEach(s => s.Dispose());
        }
    }
}
