using GslbDns.Gslb;
using GslbDns.Probing;
using GslbDns.Reports;
using GslbDns.Tests.TestSupport;
using Microsoft.Extensions.Time.Testing;
using static GslbDns.Tests.Core.Probing.ProbeTestSupport;

namespace GslbDns.Tests.Core.Probing;

public sealed class ProbeSchedulerTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private static readonly ProberInfo Info = new("p1", "eu", 50.1, 8.7, DateTimeOffset.UnixEpoch);

    [Fact]
    public async Task Each_endpoint_is_probed_on_its_own_interval_and_a_report_follows_each_cycle()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2030-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var check = new ScriptedCheck();
        using var runner = new ProbeRunner(new Dictionary<string, IEndpointCheck> { ["tcp"] = check }, time);
        var sink = new ListSink();
        var config = Config(
            ("fast", Check("tcp", 1, interval: TimeSpan.FromSeconds(1)), ["127.0.0.1", "127.0.0.2"]),
            ("slow", Check("tcp", 1, interval: TimeSpan.FromSeconds(3), timeout: TimeSpan.FromSeconds(2)), ["127.0.0.3"]),
            ("unchecked", null, ["127.0.0.4"]));
        await using var scheduler = new ProbeScheduler(Info, runner, sink, new ProbeSchedulerOptions { Jitter = 0 }, timeProvider: time);
        scheduler.UpdateConfig(config);
        Assert.Equal(3, scheduler.Targets.Count);
        Assert.Equal(TimeSpan.FromSeconds(1), scheduler.ReportInterval);
        scheduler.Start();

        const string fast = "fast.probe.test/dc1/127.0.0.1", fast2 = "fast.probe.test/dc1/127.0.0.2", slow = "slow.probe.test/dc1/127.0.0.3";
        await UntilCalls(check, (fast, 1), (fast2, 1), (slow, 1));
        for (var second = 1; second <= 6; second++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            await UntilCalls(check, (fast, 1 + second), (fast2, 1 + second), (slow, 1 + (second / 3)));
            await TestSupport.Deadline.UntilAsync($"report {second}", Patience, () => Task.FromResult((sink.Reports.Count >= second, $"{sink.Reports.Count} reports")));
        }

        // Exact counts: no probe ran early or twice.
        Assert.Equal(7, check.Calls(fast));
        Assert.Equal(3, check.Calls(slow));
        Assert.Equal(0, check.Calls("unchecked.probe.test/dc1/127.0.0.4"));

        var report = sink.Last!;
        Assert.Equal(Info, report.Prober);
        Assert.Equal(new[] { fast, fast2, slow }, report.Endpoints.Keys.Order(StringComparer.Ordinal));
        Assert.All(report.Endpoints.Values, o => Assert.True(o.Up));
        Assert.Equal(time.GetUtcNow(), report.PublishedAt);
    }

    [Fact]
    public async Task A_verdict_flip_is_published_at_once_not_at_the_next_cycle()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2030-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var check = new ScriptedCheck { Answer = _ => ProbeResult.Fail("refused") };
        using var runner = new ProbeRunner(new Dictionary<string, IEndpointCheck> { ["tcp"] = check }, time);
        var sink = new ListSink();
        await using var scheduler = new ProbeScheduler(
            Info,
            runner,
            sink,
            // The suspect re-check off: this test steps whole intervals (the re-check has its own test below).
            new ProbeSchedulerOptions { Jitter = 0, ReportInterval = TimeSpan.FromMinutes(10), SuspectRecheck = 1 },
            timeProvider: time);
        scheduler.UpdateConfig(Config(("a", Check("tcp", 1, interval: TimeSpan.FromSeconds(1), failureThreshold: 3), ["127.0.0.1"])));
        scheduler.Start();
        const string id = "a.probe.test/dc1/127.0.0.1";

        // Fail open: after one failure the endpoint is still up, and no report has been due yet.
        await UntilCalls(check, (id, 1));
        Assert.True(scheduler.CurrentReport().Endpoints[id].Up);
        Assert.Equal(1, scheduler.CurrentReport().Endpoints[id].ConsecutiveFailures);
        time.Advance(TimeSpan.FromSeconds(1));
        await UntilCalls(check, (id, 2));
        Assert.Empty(sink.Reports);

        // The third failure flips it: published without waiting for the 10-minute cycle.
        time.Advance(TimeSpan.FromSeconds(1));
        var flipped = await TestSupport.Deadline.PollAsync("flip published", Patience, () =>
        {
            var last = sink.Last;
            return Task.FromResult((last is not null, last, $"{sink.Reports.Count} reports"));
        });
        Assert.False(flipped!.Endpoints[id].Up);
        Assert.Equal(3, flipped.Endpoints[id].ConsecutiveFailures);
        Assert.Equal("refused", flipped.Endpoints[id].Error);
    }

    [Fact]
    public async Task Reload_keeps_the_state_of_endpoints_that_remain_and_drops_removed_ones()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2030-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var check = new ScriptedCheck { Answer = _ => ProbeResult.Fail("refused") };
        using var runner = new ProbeRunner(new Dictionary<string, IEndpointCheck> { ["tcp"] = check }, time);
        // The suspect re-check off: this test counts probes per whole interval.
        await using var scheduler = new ProbeScheduler(Info, runner, new ListSink(), new ProbeSchedulerOptions { Jitter = 0, SuspectRecheck = 1 }, timeProvider: time);
        scheduler.UpdateConfig(Config(("a", Check("tcp", 1, failureThreshold: 3), ["127.0.0.1", "127.0.0.2"])));
        scheduler.Start();
        const string kept = "a.probe.test/dc1/127.0.0.1", removed = "a.probe.test/dc1/127.0.0.2", added = "a.probe.test/dc1/127.0.0.3";
        await UntilCalls(check, (kept, 1), (removed, 1));
        time.Advance(TimeSpan.FromSeconds(1));
        await UntilCalls(check, (kept, 2), (removed, 2));
        await TestSupport.Deadline.UntilAsync("two failures recorded", Patience, () => Task.FromResult((scheduler.CurrentReport().Endpoints[kept].ConsecutiveFailures == 2, "")));

        // Same endpoint, a changed check (longer timeout): the streak carries on, so the next failure is the third.
        scheduler.UpdateConfig(Config(("a", Check("tcp", 1, failureThreshold: 3, timeout: TimeSpan.FromMilliseconds(900)), ["127.0.0.1", "127.0.0.3"])));
        Assert.Equal(new[] { kept, added }, scheduler.Targets.Select(t => t.EndpointId).Order(StringComparer.Ordinal));
        await UntilCalls(check, (kept, 3), (added, 1));
        var report = await TestSupport.Deadline.PollAsync("third failure", Patience, () =>
        {
            var r = scheduler.CurrentReport();
            return Task.FromResult((r.Endpoints[kept].ConsecutiveFailures == 3, r, $"{r.Endpoints[kept]}"));
        });
        Assert.False(report.Endpoints[kept].Up);
        Assert.False(report.Endpoints.ContainsKey(removed));
        Assert.True(report.Endpoints[added].Up);

        // The removed endpoint is no longer probed.
        var removedCalls = check.Calls(removed);
        time.Advance(TimeSpan.FromSeconds(1));
        await UntilCalls(check, (kept, 4), (added, 2));
        Assert.Equal(removedCalls, check.Calls(removed));
    }

    [Fact]
    public async Task No_more_than_max_concurrency_probes_run_at_once()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var blocking = new BlockingCheck(gate.Task);
        using var runner = new ProbeRunner(new Dictionary<string, IEndpointCheck> { ["tcp"] = blocking });
        await using var scheduler = new ProbeScheduler(Info, runner, new ListSink(), new ProbeSchedulerOptions { MaxConcurrency = 2, Jitter = 0 });
        scheduler.UpdateConfig(Config(("a", Check("tcp", 1, interval: TimeSpan.FromSeconds(30), timeout: TimeSpan.FromSeconds(20)), ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"])));
        scheduler.Start();

        await TestSupport.Deadline.UntilAsync("two probes in flight", Patience, () => Task.FromResult((blocking.InFlight == 2, $"{blocking.InFlight} in flight")));
        gate.SetResult();
        await TestSupport.Deadline.UntilAsync("all five probed", Patience, () => Task.FromResult((blocking.Started == 5, $"{blocking.Started} started")));
        Assert.Equal(2, blocking.MaxInFlight);
    }

    [Fact]
    public async Task Real_backend_goes_down_after_three_failures_and_up_after_two_successes()
    {
        await using var backend = HttpBackend.Start();
        using var runner = ProbeRunner.CreateDefault();
        var observer = new RecordingObserver();
        var sink = new ListSink();
        await using var scheduler = new ProbeScheduler(Info, runner, sink, new ProbeSchedulerOptions { Jitter = 0 }, observer: observer);
        var check = new HealthCheck("http", backend.Port, "/health", 200, null, null, TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(80), 3, 2);
        scheduler.UpdateConfig(Config(("web", check, ["127.0.0.1"])));
        scheduler.Start();
        const string id = "web.probe.test/dc1/127.0.0.1";

        await TestSupport.Deadline.UntilAsync("healthy and reported", Patience, () => Task.FromResult((sink.Last?.Endpoints.GetValueOrDefault(id) is { Up: true, ConsecutiveSuccesses: >= 2, RttMs: > 0 }, $"{sink.Last?.Endpoints.GetValueOrDefault(id)}")));

        backend.Mode = BackendMode.Unhealthy;
        var down = await TestSupport.Deadline.PollAsync("down", Patience, () =>
        {
            var flip = observer.Flips.FirstOrDefault(f => !f.Up);
            return Task.FromResult((flip is not null, flip, $"{observer.Probes.Count} probes"));
        });
        Assert.Equal(3, down!.ConsecutiveFailures);
        Assert.Equal("HTTP status 500, expected 200", down.Error);
        await TestSupport.Deadline.UntilAsync("down reported", Patience, () => Task.FromResult((sink.Last?.Endpoints[id].Up == false, "")));

        backend.Mode = BackendMode.Healthy;
        var up = await TestSupport.Deadline.PollAsync("up again", Patience, () =>
        {
            var flip = observer.Flips.Skip(1).FirstOrDefault();
            return Task.FromResult((flip is not null, flip, $"{observer.Probes.Count} probes"));
        });
        Assert.True(up!.Up);
        Assert.Equal(2, up.ConsecutiveSuccesses);
        Assert.Equal(2, observer.Flips.Count());
    }

    [Fact]
    public async Task Silent_backend_is_timed_out_and_marked_down_within_threshold_times_interval()
    {
        await using var backend = HttpBackend.Start();
        backend.Mode = BackendMode.Silent;
        using var runner = ProbeRunner.CreateDefault();
        var observer = new RecordingObserver();
        await using var scheduler = new ProbeScheduler(Info, runner, new ListSink(), new ProbeSchedulerOptions { Jitter = 0 }, observer: observer);
        var check = new HealthCheck("http", backend.Port, "/", 200, null, null, TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(100), 3, 2);
        scheduler.UpdateConfig(Config(("hung", check, ["127.0.0.1"])));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        scheduler.Start();

        var down = await TestSupport.Deadline.PollAsync("down", Patience, () =>
        {
            var flip = observer.Flips.FirstOrDefault();
            return Task.FromResult((flip is not null, flip, $"{observer.Probes.Count} probes"));
        });
        Assert.False(down!.Up);
        Assert.Equal("timed out after 100 ms", down.Error);

        // Three probes, each ending after its 100 ms timeout; the suspect re-checks (due 50 ms after the one before)
        // follow at once: about 300 ms.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"took {clock.Elapsed}");
        Assert.All(observer.Probes, p => Assert.InRange(p.Outcome.Elapsed, TimeSpan.FromMilliseconds(90), TimeSpan.FromMilliseconds(900)));
    }

    [Fact]
    public async Task Rtt_of_a_real_backend_reflects_its_latency()
    {
        await using var backend = HttpBackend.Start();
        backend.Latency = TimeSpan.FromMilliseconds(40);
        using var runner = ProbeRunner.CreateDefault();
        var sink = new ListSink();
        await using var scheduler = new ProbeScheduler(Info, runner, sink, new ProbeSchedulerOptions { Jitter = 0 });
        var check = new HealthCheck("http", backend.Port, "/", 200, null, null, TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(250), 3, 2);
        scheduler.UpdateConfig(Config(("slow", check, ["127.0.0.1"])));
        scheduler.Start();
        var observation = await TestSupport.Deadline.PollAsync("three successes", Patience, () =>
        {
            var o = scheduler.CurrentReport().Endpoints.GetValueOrDefault("slow.probe.test/dc1/127.0.0.1");
            return Task.FromResult((o is { ConsecutiveSuccesses: >= 3 }, o, $"{o}"));
        });
        Assert.InRange(observation!.RttMs!.Value, 40, 250);
    }

    [Fact]
    public async Task A_suspect_endpoint_is_rechecked_at_a_quarter_interval_until_confirmed_down_and_recovers_at_the_normal_pace()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2030-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var failing = true;
        var check = new ScriptedCheck { Answer = _ => failing ? ProbeResult.Fail("refused") : ProbeResult.Ok };
        using var runner = new ProbeRunner(new Dictionary<string, IEndpointCheck> { ["tcp"] = check }, time);
        var sink = new ListSink();
        await using var scheduler = new ProbeScheduler(Info, runner, sink, new ProbeSchedulerOptions { Jitter = 0, ReportInterval = TimeSpan.FromMinutes(10) }, timeProvider: time);
        Assert.Equal(0.25, new ProbeSchedulerOptions().SuspectRecheck);
        scheduler.UpdateConfig(Config(("a", Check("tcp", 1, interval: TimeSpan.FromSeconds(1), failureThreshold: 3, successThreshold: 2), ["127.0.0.1"])));
        scheduler.Start();
        const string id = "a.probe.test/dc1/127.0.0.1";

        // t=0: first failure, suspect. The next probes come 250 ms apart, not 1 s.
        await UntilCalls(check, (id, 1));
        time.Advance(TimeSpan.FromMilliseconds(250));
        await UntilCalls(check, (id, 2));
        Assert.True(scheduler.CurrentReport().Endpoints[id].Up);
        time.Advance(TimeSpan.FromMilliseconds(250));
        await UntilCalls(check, (id, 3));

        // t=500 ms: the third failure confirms it; the flip is published at once.
        var down = await TestSupport.Deadline.PollAsync("down published", Patience, () => Task.FromResult((sink.Last is not null, sink.Last, $"{sink.Reports.Count} reports")));
        Assert.False(down!.Endpoints[id].Up);
        Assert.Equal(3, down.Endpoints[id].ConsecutiveFailures);
        Assert.Equal(time.GetUtcNow(), down.PublishedAt);

        // Confirmed down: back to the whole interval (a down endpoint is not hammered).
        time.Advance(TimeSpan.FromMilliseconds(750));
        Assert.Equal(3, check.Calls(id));
        time.Advance(TimeSpan.FromMilliseconds(250));
        await UntilCalls(check, (id, 4));

        // Recovering is confirmed at the normal pace: successes at 2.5 s and 3.5 s, up at the second.
        failing = false;
        time.Advance(TimeSpan.FromSeconds(1));
        await UntilCalls(check, (id, 5));
        await TestSupport.Deadline.UntilAsync("one success recorded", Patience, () => Task.FromResult((scheduler.CurrentReport().Endpoints[id].ConsecutiveSuccesses == 1, "")));
        time.Advance(TimeSpan.FromMilliseconds(750));
        Assert.Equal(5, check.Calls(id));
        Assert.False(scheduler.CurrentReport().Endpoints[id].Up);
        time.Advance(TimeSpan.FromMilliseconds(250));
        await UntilCalls(check, (id, 6));
        await TestSupport.Deadline.UntilAsync("up again", Patience, () => Task.FromResult((sink.Last?.Endpoints[id].Up == true, $"{sink.Last?.Endpoints[id]}")));

        // One failure, then a success: suspect for one re-check only, then the normal interval again.
        failing = true;
        time.Advance(TimeSpan.FromSeconds(1));
        await UntilCalls(check, (id, 7));
        await TestSupport.Deadline.UntilAsync("one failure recorded", Patience, () => Task.FromResult((scheduler.CurrentReport().Endpoints[id].ConsecutiveFailures == 1, "")));
        failing = false;
        time.Advance(TimeSpan.FromMilliseconds(250));
        await UntilCalls(check, (id, 8));
        await TestSupport.Deadline.UntilAsync("streak reset", Patience, () => Task.FromResult((scheduler.CurrentReport().Endpoints[id].ConsecutiveSuccesses == 1, "")));
        time.Advance(TimeSpan.FromMilliseconds(750));
        Assert.Equal(8, check.Calls(id));
        time.Advance(TimeSpan.FromMilliseconds(250));
        await UntilCalls(check, (id, 9));
        Assert.True(scheduler.CurrentReport().Endpoints[id].Up);
    }

    [Fact]
    public async Task A_flip_right_after_a_routine_report_is_published_at_once()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2030-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var failing = false;
        var check = new ScriptedCheck { Answer = _ => failing ? ProbeResult.Fail("refused") : ProbeResult.Ok };
        using var runner = new ProbeRunner(new Dictionary<string, IEndpointCheck> { ["tcp"] = check }, time);
        var sink = new ListSink();
        await using var scheduler = new ProbeScheduler(
            Info,
            runner,
            sink,
            new ProbeSchedulerOptions { Jitter = 0, ReportInterval = TimeSpan.FromMilliseconds(950) },
            timeProvider: time);
        scheduler.UpdateConfig(Config(("a", Check("tcp", 1, interval: TimeSpan.FromSeconds(1), failureThreshold: 1), ["127.0.0.1"])));
        scheduler.Start();
        const string id = "a.probe.test/dc1/127.0.0.1";
        await UntilCalls(check, (id, 1));
        await TestSupport.Deadline.UntilAsync("first probe recorded", Patience, () => Task.FromResult((scheduler.CurrentReport().Endpoints.ContainsKey(id), "")));

        // t=950 ms: the routine report.
        time.Advance(TimeSpan.FromMilliseconds(950));
        await TestSupport.Deadline.UntilAsync("routine report", Patience, () => Task.FromResult((sink.Reports.Count == 1, $"{sink.Reports.Count} reports")));
        Assert.True(sink.Last!.Endpoints[id].Up);

        // t=1 s, 50 ms later: the probe fails and flips the verdict (threshold 1). Out at once, not 100 ms after the last report.
        failing = true;
        time.Advance(TimeSpan.FromMilliseconds(50));
        await UntilCalls(check, (id, 2));
        var flipped = await TestSupport.Deadline.PollAsync("flip published", Patience, () => Task.FromResult((sink.Reports.Count == 2, sink.Last, $"{sink.Reports.Count} reports")));
        Assert.False(flipped!.Endpoints[id].Up);
        Assert.Equal(time.GetUtcNow(), flipped.PublishedAt);
    }

    private static Task UntilCalls(ScriptedCheck check, params (string Id, int Calls)[] expected) =>
        TestSupport.Deadline.UntilAsync(
            "probe counts " + string.Join(", ", expected.Select(e => $"{e.Id}={e.Calls}")),
            Patience,
            () => Task.FromResult((expected.All(e => check.Calls(e.Id) == e.Calls), string.Join(", ", expected.Select(e => $"{e.Id}={check.Calls(e.Id)}")))));

    private sealed class BlockingCheck(Task gate) : IEndpointCheck
    {
        private int _inFlight;
        private int _max;
        private int _started;

        public int InFlight => Volatile.Read(ref _inFlight);

        public int MaxInFlight => Volatile.Read(ref _max);

        public int Started => Volatile.Read(ref _started);

        public async ValueTask<ProbeResult> CheckAsync(ProbeTarget target, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _started);
            var now = Interlocked.Increment(ref _inFlight);
            int seen;
            while ((seen = Volatile.Read(ref _max)) < now && Interlocked.CompareExchange(ref _max, now, seen) != seen)
            {
            }

            try
            {
                await gate.WaitAsync(cancellationToken);
                return ProbeResult.Ok;
            }
            finally
            {
                Interlocked.Decrement(ref _inFlight);
            }
        }
    }
}
