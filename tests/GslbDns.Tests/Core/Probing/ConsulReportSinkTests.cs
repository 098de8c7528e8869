using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using GslbDns.Consul;
using GslbDns.Probing;
using GslbDns.Reports;
using GslbDns.Tests.Core.Consul;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Core.Probing;

/// <summary>The Consul report sink against real dev agents (session_ttl_min 1 s, so TTL waits take seconds).</summary>
public sealed class ConsulReportSinkTests(ConsulDevAgent agent) : IClassFixture<ConsulDevAgent>
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private readonly ConsulClient _client = agent.CreateClient();

    [Fact]
    public async Task Report_appears_under_its_key_held_by_the_session_newer_ones_replace_it_and_dispose_removes_it()
    {
        var prefix = ConsulTestSupport.UniquePrefix("sink");
        var sink = new ConsulReportSink(_client, new ConsulReportSinkOptions { ProberId = "p-basic", Prefix = prefix, SessionTtl = Ttl });
        var key = HealthKeys.ProberReport(prefix, "p-basic");
        Assert.Equal(key, sink.Key);
        try
        {
            sink.Start();
            var first = Report("p-basic", 1);
            await sink.PublishAsync(first, default);
            var stored = await UntilStoredAsync(key, first);
            Assert.Equal(sink.SessionId, stored.Session);

            var second = Report("p-basic", 2);
            await sink.PublishAsync(second, default);
            await UntilStoredAsync(key, second);
            Assert.True(sink.Writes >= 2);
            Assert.NotNull(sink.LastWriteAt);
        }
        finally
        {
            await sink.DisposeAsync();
        }

        // Destroyed with the session: gone now, not after the TTL.
        Assert.Null(await _client.KvGetAsync(key));
    }

    [Fact]
    public async Task Stopped_without_destroying_the_report_expires_within_twice_the_ttl()
    {
        var prefix = ConsulTestSupport.UniquePrefix("sink-expire");
        var sink = new ConsulReportSink(_client, new ConsulReportSinkOptions { ProberId = "p-crash", Prefix = prefix, SessionTtl = Ttl });
        var key = sink.Key;
        sink.Start();
        var report = Report("p-crash", 1);
        await sink.PublishAsync(report, default);
        await UntilStoredAsync(key, report);

        // Like a crash: renewals stop, the session is left to Consul's TTL.
        await sink.StopAsync(destroySession: false);
        var stopped = Stopwatch.StartNew();
        Assert.NotNull(await _client.KvGetAsync(key));
        await TestSupport.Deadline.UntilAsync("report expired", (2 * Ttl) + TimeSpan.FromSeconds(1.5), async () => (await _client.KvGetAsync(key) is null, "still there"), TimeSpan.FromMilliseconds(50));
        Assert.True(stopped.Elapsed <= (2 * Ttl) + TimeSpan.FromSeconds(1.5), $"gone after {stopped.Elapsed}");
    }

    [Fact]
    public async Task A_key_held_by_a_previous_session_is_taken_over_once_that_session_ends()
    {
        var prefix = ConsulTestSupport.UniquePrefix("sink-held");
        var key = HealthKeys.ProberReport(prefix, "p-held");
        var previous = await _client.SessionCreateAsync("previous process", TimeSpan.FromSeconds(30));
        Assert.True(await _client.KvAcquireAsync(key, "{}"u8.ToArray(), previous));

        await using var sink = new ConsulReportSink(
            _client,
            new ConsulReportSinkOptions { ProberId = "p-held", Prefix = prefix, SessionTtl = Ttl, MaxBackoff = TimeSpan.FromMilliseconds(500) });
        sink.Start();
        var report = Report("p-held", 1);
        await sink.PublishAsync(report, default);
        await TestSupport.Deadline.UntilAsync("write refused", Patience, () => Task.FromResult((sink.Failures >= 1, $"{sink.Failures} failures")));
        Assert.Equal(previous, (await _client.KvGetAsync(key))?.Session);

        await _client.SessionDestroyAsync(previous);
        var stored = await UntilStoredAsync(key, report);
        Assert.Equal(sink.SessionId, stored.Session);
    }

    [Fact]
    public async Task A_hung_first_agent_costs_one_timeout_then_the_next_agent_takes_the_report()
    {
        // Accepts TCP connections (the kernel does) but never reads or answers: a hung agent.
        var hung = new TcpListener(IPAddress.Loopback, 0);
        hung.Start();
        try
        {
            var client = ConsulTestSupport.Client([new Uri($"http://127.0.0.1:{((IPEndPoint)hung.LocalEndpoint).Port}/"), agent.HttpAddress], requestTimeout: TimeSpan.FromMilliseconds(300));
            var prefix = ConsulTestSupport.UniquePrefix("sink-hung");
            await using var sink = new ConsulReportSink(client, new ConsulReportSinkOptions { ProberId = "p-hung", Prefix = prefix, SessionTtl = Ttl });
            sink.Start();
            var report = Report("p-hung", 1);
            await sink.PublishAsync(report, default);
            await UntilStoredAsync(sink.Key, report);
            Assert.Equal(agent.HttpAddress, client.CurrentAddress);
        }
        finally
        {
            hung.Stop();
        }
    }

    [Fact]
    public async Task Publishing_never_blocks_or_throws_while_consul_is_unreachable()
    {
        var closedPort = new TcpListener(IPAddress.Loopback, 0);
        closedPort.Start();
        var port = ((IPEndPoint)closedPort.LocalEndpoint).Port;
        closedPort.Stop();

        var client = ConsulTestSupport.Client([new Uri($"http://127.0.0.1:{port}/")], requestTimeout: TimeSpan.FromMilliseconds(300));
        var sink = new ConsulReportSink(client, new ConsulReportSinkOptions { ProberId = "p-down", SessionTtl = Ttl, InitialBackoff = TimeSpan.FromMilliseconds(20), MaxBackoff = TimeSpan.FromMilliseconds(100) });
        sink.Start();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < 100; i++)
        {
            var publish = sink.PublishAsync(Report("p-down", i), default);
            Assert.True(publish.IsCompletedSuccessfully);
        }

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"100 publishes took {clock.Elapsed}");
        await TestSupport.Deadline.UntilAsync("retrying with backoff", Patience, () => Task.FromResult((sink.Failures >= 3, $"{sink.Failures} failures")));
        Assert.Equal(0, sink.Writes);
        Assert.Null(sink.SessionId);
        await TestSupport.Deadline.Within(sink.DisposeAsync().AsTask(), TimeSpan.FromSeconds(5), "dispose while Consul is down");
    }

    [Fact]
    public async Task After_a_consul_restart_the_newest_report_comes_back_under_a_new_session()
    {
        using var restartable = new RestartableConsulAgent();
        await restartable.StartAsync();
        var client = ConsulTestSupport.Client([restartable.HttpAddress], requestTimeout: TimeSpan.FromSeconds(1));
        await using var sink = new ConsulReportSink(
            client,
            new ConsulReportSinkOptions { ProberId = "p-restart", SessionTtl = Ttl, MaxBackoff = TimeSpan.FromSeconds(1) });
        sink.Start();
        var before = Report("p-restart", 1);
        await sink.PublishAsync(before, default);
        await UntilStoredAsync(sink.Key, before, client);
        var oldSession = sink.SessionId;

        restartable.Kill();

        // Reports keep coming while Consul is gone; only the last one matters.
        for (var i = 2; i <= 5; i++)
        {
            await sink.PublishAsync(Report("p-restart", i), default);
        }

        await TestSupport.Deadline.UntilAsync("Consul failures noticed", Patience, () => Task.FromResult((sink.Failures >= 1, $"{sink.Failures} failures")));
        var newest = Report("p-restart", 6);
        await sink.PublishAsync(newest, default);

        await restartable.StartAsync();
        var stored = await TestSupport.Deadline.PollAsync("report back after restart", Patience, async () =>
        {
            var pair = await client.KvGetAsync(sink.Key);
            return (pair is not null, pair, "missing");
        });

        // The first report Consul sees again is the newest one: no backlog of reports 2..5.
        AssertSameReport(newest, stored!);
        Assert.NotEqual(oldSession, stored!.Session);
        Assert.Equal(sink.SessionId, stored.Session);
    }

    internal static ProberReport Report(string id, int sequence) => new(
        new ProberInfo(id, "eu", 50.1, 8.7, DateTimeOffset.Parse("2030-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture)),
        new Dictionary<string, EndpointObservation>
        {
            ["www.example.com/eu-west/192.0.2.10"] = new(true, 0, sequence, 12.5, DateTimeOffset.Parse("2030-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture).AddSeconds(sequence), null),
            ["www.example.com/us-east/192.0.2.20"] = new(false, 3 + sequence, 0, null, DateTimeOffset.Parse("2030-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture).AddSeconds(sequence), "timed out after 800 ms"),
        },
        DateTimeOffset.Parse("2030-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture).AddSeconds(sequence));

    internal static void AssertSameReport(ProberReport expected, ConsulKvPair stored)
    {
        var actual = JsonSerializer.Deserialize(stored.Value, HealthJsonContext.Default.ProberReport);
        Assert.NotNull(actual);
        Assert.Equal(expected.Prober, actual.Prober);
        Assert.Equal(expected.PublishedAt, actual.PublishedAt);
        Assert.Equal(expected.Endpoints.OrderBy(e => e.Key), actual.Endpoints.OrderBy(e => e.Key));
    }

    private async Task<ConsulKvPair> UntilStoredAsync(string key, ProberReport expected, ConsulClient? client = null)
    {
        client ??= _client;
        var expectedJson = JsonSerializer.Serialize(expected, HealthJsonContext.Default.ProberReport);
        var pair = await TestSupport.Deadline.PollAsync($"{key} holds report at {expected.PublishedAt:O}", Patience, async () =>
        {
            var p = await client.KvGetAsync(key);
            var text = p is null ? "<missing>" : System.Text.Encoding.UTF8.GetString(p.Value);
            return (text == expectedJson, p, text);
        });
        AssertSameReport(expected, pair!);
        return pair!;
    }
}
