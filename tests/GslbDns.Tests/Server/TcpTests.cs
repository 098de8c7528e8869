using System.Diagnostics;
using System.Net;
using GslbDns.Server.Hosting;
using GslbDns.Server.Listeners;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Server;

/// <summary>DNS over TCP per RFC 7766 on the shared servers: connection reuse, pipelining, segmentation.</summary>
[Collection(AuthServerCollection.Name)]
public sealed class TcpTests(AuthServerFixture fixture)
{
    private static void Answers(byte[]? reply, ushort id, string name, int answers)
    {
        Assert.NotNull(reply);
        var message = RawReply.Parse(reply);
        Assert.Equal(id, message.Id);
        Assert.Equal(name + ".", Assert.Single(message.Questions).Name);
        Assert.Equal(0, message.Rcode);
        Assert.Equal(answers, message.Answers.Count);
    }

    [Fact]
    public async Task Several_queries_are_answered_one_after_another_on_one_connection()
    {
        using var connection = await TcpDnsConnection.ConnectAsync(fixture.Servers.V4);
        foreach (var (name, type, count) in new[] { ("www.example.test", DnsWire.TypeA, 2), ("alias.example.test", DnsWire.TypeA, 4), ("bigtxt.example.test", DnsWire.TypeTXT, 7), ("example.test", DnsWire.TypeNS, 2), ("www.example.test", DnsWire.TypeAAAA, 1) })
        {
            var id = DnsWire.NewId();
            await connection.SendAsync(DnsWire.Query(name, type, id, new EdnsSpec()));
            Answers(await connection.ReceiveAsync(), id, name, count);
        }
    }

    [Fact]
    public async Task Pipelined_queries_written_back_to_back_all_get_answers_with_matching_IDs()
    {
        using var connection = await TcpDnsConnection.ConnectAsync(fixture.Servers.V6);
        var queries = new[] { ("www.example.test", DnsWire.TypeA, 2), ("mail.example.test", DnsWire.TypeAAAA, 1), ("txt.example.test", DnsWire.TypeTXT, 1) }
            .Select(q => (Id: DnsWire.NewId(), Name: q.Item1, Type: q.Item2, Count: q.Item3))
            .ToArray();
        var bytes = queries.SelectMany(q => TcpDnsConnection.Frame(DnsWire.Query(q.Name, q.Type, q.Id))).ToArray();
        await connection.SendRawAsync(bytes); // one write: all three are in flight before any reply is read

        var replies = new List<RawReply>();
        for (var i = 0; i < queries.Length; i++)
        {
            replies.Add(RawReply.Parse((await connection.ReceiveAsync())!));
        }

        // RFC 7766 6.2.1.1 allows any order; each reply must match its own query.
        Assert.Equal(queries.Select(q => q.Id).Order(), replies.Select(r => r.Id).Order());
        foreach (var q in queries)
        {
            var reply = replies.Single(r => r.Id == q.Id);
            Assert.Equal(q.Name + ".", Assert.Single(reply.Questions).Name);
            Assert.Equal(q.Count, reply.Answers.Count);
        }
    }

    [Fact]
    public async Task A_query_split_across_many_segments_is_reassembled()
    {
        using var connection = await TcpDnsConnection.ConnectAsync(fixture.Servers.V4);
        var id = DnsWire.NewId();
        var framed = TcpDnsConnection.Frame(DnsWire.Query("www.example.test", DnsWire.TypeA, id));
        foreach (var chunk in framed.Chunk(5))
        {
            await connection.SendRawAsync(chunk);
        }

        Answers(await connection.ReceiveAsync(), id, "www.example.test", 2);
    }
}

/// <summary>TCP limits, each on its own server so a short timeout or a cap of 2 never touches other tests.</summary>
public sealed class TcpLimitTests
{
    private static async Task<(DnsServer Server, TempFolder Zones)> StartAsync(TcpLimits limits)
    {
        var zones = new TempFolder("tcp");
        TestZones.WriteParentZones(zones.Path, IPAddress.Parse("127.0.0.53"));
        var server = await InProcessServer.StartAsync(InProcessServer.Options(zones.Path) with { Tcp = limits });
        return (server, zones);
    }

    private static async Task AnsweredAsync(TcpDnsConnection connection)
    {
        var id = DnsWire.NewId();
        await connection.SendAsync(DnsWire.Query("www.example.test", DnsWire.TypeA, id));
        var reply = await connection.ReceiveAsync();
        Assert.True(reply is not null, "connection closed instead of answering");
        Assert.Equal(id, RawReply.Parse(reply!).Id);
    }

    [Fact]
    public async Task Idle_connection_is_closed_after_the_idle_timeout()
    {
        var (server, zones) = await StartAsync(new TcpLimits(MaxConnections: 8, IdleTimeout: TimeSpan.FromSeconds(1), ReadTimeout: TimeSpan.FromSeconds(5)));
        await using var _ = server;
        using var __ = zones;
        using var connection = await TcpDnsConnection.ConnectAsync(server.TcpListeners[0].LocalEndPoint);
        await AnsweredAsync(connection);

        var idle = Stopwatch.StartNew();
        Assert.True(await connection.ClosedByPeerAsync(TimeSpan.FromSeconds(10)), "the idle connection was not closed");
        Assert.InRange(idle.Elapsed, TimeSpan.FromSeconds(0.8), TimeSpan.FromSeconds(5));

        // The idle time restarts after every query: a connection in use stays open.
        using var busy = await TcpDnsConnection.ConnectAsync(server.TcpListeners[0].LocalEndPoint);
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(1.5))
        {
            await AnsweredAsync(busy);
            Assert.False(await busy.ClosedByPeerAsync(TimeSpan.FromMilliseconds(300)));
        }
    }

    [Fact]
    public async Task Connection_over_the_cap_is_closed_at_once_and_the_others_keep_working()
    {
        // No connection is old enough to make room (by default the longest-waiting one would: see TcpGuardTests).
        var (server, zones) = await StartAsync(new TcpLimits(MaxConnections: 2, IdleTimeout: TimeSpan.FromSeconds(30), ReadTimeout: TimeSpan.FromSeconds(5)) { EvictableAfter = TimeSpan.FromMinutes(5) });
        await using var _ = server;
        using var __ = zones;
        var endPoint = server.TcpListeners[0].LocalEndPoint;
        using var first = await TcpDnsConnection.ConnectAsync(endPoint);
        using var second = await TcpDnsConnection.ConnectAsync(endPoint);
        await AnsweredAsync(first);
        await AnsweredAsync(second);
        Assert.Equal(2, server.TcpListeners[0].ActiveConnections);

        using (var third = await TcpDnsConnection.ConnectAsync(endPoint))
        {
            await third.SendAsync(DnsWire.Query("www.example.test", DnsWire.TypeA, DnsWire.NewId()));
            var clock = Stopwatch.StartNew();
            Assert.True(await third.ClosedByPeerAsync(TimeSpan.FromSeconds(5)), "the connection over the cap was served");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"closed only after {clock.Elapsed}");
        }

        Assert.Equal(1, server.TcpListeners[0].Rejected);
        await AnsweredAsync(first);
        await AnsweredAsync(second);

        // Once one closes, a new connection gets its place (the count drops when the server sees the close).
        first.Dispose();
        await Deadline.UntilAsync("a freed connection slot", TimeSpan.FromSeconds(5), async () =>
        {
            var active = server.TcpListeners[0].ActiveConnections;
            await Task.CompletedTask;
            return (active < 2, $"{active} active");
        });
        using var fourth = await TcpDnsConnection.ConnectAsync(endPoint);
        await AnsweredAsync(fourth);
    }
}
