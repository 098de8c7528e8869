using System.Globalization;
using GslbDns.Gslb;
using GslbDns.Reports;
using GslbDns.Probing;
using GslbDns.Tests.TestSupport;
using Microsoft.Extensions.Time.Testing;
using static GslbDns.Tests.Core.Probing.ProbeTestSupport;

namespace GslbDns.Tests.Core.Probing;

/// <summary>
/// A suspect endpoint is re-checked every quarter interval without waiting for the previous probe's timeout, with a
/// bound on probes in flight; the verdict still needs the failure threshold, counted in completion order.
/// </summary>
public sealed class OverlappingProbeTests
{
    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2030-01-01T00:00:00Z", CultureInfo.InvariantCulture);

    [Fact]
    public void Pacing_rule_by_state()
    {
        var last = T0;
        var routine = T0 + Second;

        // Healthy, nothing in flight: the normal interval.
        Assert.Equal(routine, ProbePacing.NextStart(new PaceState(true, 0, 0, false, last, routine), Step, 4));

        // Healthy, the newest probe still running: a second one a step after it started (suspect by slowness).
        Assert.Equal(last + Step, ProbePacing.NextStart(new PaceState(true, 0, 1, true, last, routine), Step, 4));

        // Healthy, an old probe still running but the newest one finished (it succeeded): the normal interval.
        Assert.Equal(routine, ProbePacing.NextStart(new PaceState(true, 0, 1, false, last, routine), Step, 4));

        // Suspect (a failure streak): a step after the last start, overlapping the probes in flight...
        Assert.Equal(last + Step, ProbePacing.NextStart(new PaceState(true, 2, 3, true, last, routine), Step, 4));

        // ...up to the bound, then wait for one to finish.
        Assert.Null(ProbePacing.NextStart(new PaceState(true, 2, 4, true, last, routine), Step, 4));

        // Confirmed down: one probe at a time, at the normal interval.
        Assert.Null(ProbePacing.NextStart(new PaceState(false, 3, 1, true, last, routine), Step, 4));
        Assert.Equal(routine, ProbePacing.NextStart(new PaceState(false, 3, 0, false, last, routine), Step, 4));

        // The re-check never comes later than the routine probe.
        Assert.Equal(last + TimeSpan.FromMilliseconds(100), ProbePacing.NextStart(new PaceState(true, 1, 0, false, last, last + TimeSpan.FromMilliseconds(100)), Step, 4));
    }

    [Fact]
    public async Task A_silent_endpoint_is_down_a_timeout_plus_two_steps_after_its_first_hung_probe_with_at_most_four_in_flight()
    {
        await using var rig = FakeClockRig.Start();
        var (time, check, sink, observer, scheduler) = (rig.Time, rig.Check, rig.Sink, rig.Observer, rig.Scheduler);

        // t=0 and t=1 s: healthy, one probe a second.
        await UntilStarted(check, 1);
        time.Advance(Second);
        await UntilStarted(check, 2);
        await Until(scheduler, "two successes", o => o.ConsecutiveSuccesses == 2);

        // t=2 s: it goes silent. Every 250 ms another probe starts while the earlier ones hang.
        check.Hang = true;
        time.Advance(Second);
        await UntilStarted(check, 3);
        for (var started = 4; started <= 6; started++)
        {
            time.Advance(Step);
            await UntilStarted(check, started);
        }

        Assert.Equal(4, check.InFlight);

        // t=2.8 s: the first hung probe times out: one failure, still up. Four were in flight: the fifth waits for a slot.
        time.Advance(TimeSpan.FromMilliseconds(50));
        await Until(scheduler, "first failure", o => o.ConsecutiveFailures == 1);
        Assert.True(scheduler.CurrentReport().Endpoints.Values.Single().Up);
        Assert.Equal(6, check.Started);

        // t=3.0 s: the next re-check (a step after the one at 2.75 s); t=3.05 s: the second timeout.
        time.Advance(TimeSpan.FromMilliseconds(200));
        await UntilStarted(check, 7);
        time.Advance(TimeSpan.FromMilliseconds(50));
        await Until(scheduler, "second failure", o => o.ConsecutiveFailures == 2);
        Assert.True(scheduler.CurrentReport().Endpoints.Values.Single().Up);

        // t=3.3 s: the third timeout confirms it, 1.3 s after the first hung probe started (3 x 0.8 s = 2.4 s one at a time).
        time.Advance(TimeSpan.FromMilliseconds(200));
        await UntilStarted(check, 8);
        Assert.True(scheduler.CurrentReport().Endpoints.Values.Single().Up);
        time.Advance(TimeSpan.FromMilliseconds(50));
        var down = await TestSupport.Deadline.PollAsync("down published", Patience, () => Task.FromResult((sink.Last is not null, sink.Last, $"{sink.Reports.Count} reports")));
        var verdict = down!.Endpoints.Values.Single();
        Assert.False(verdict.Up);
        Assert.Equal(3, verdict.ConsecutiveFailures);
        Assert.Equal(T0 + TimeSpan.FromMilliseconds(3300), down.PublishedAt);
        Assert.Equal("timed out after 800 ms", verdict.Error);
        Assert.Single(observer.Flips);
        Assert.Equal(4, check.MaxInFlight);

        // Confirmed down: no new probe while the re-checks still in flight time out (they started before the flip, so
        // they do not count), then one per interval from the flip.
        time.Advance(TimeSpan.FromMilliseconds(750));
        await TestSupport.Deadline.UntilAsync("the re-checks in flight finished", Patience, () => Task.FromResult((observer.Probes.Count == 8, $"{observer.Probes.Count} probes")));
        Assert.Equal(3, scheduler.CurrentReport().Endpoints.Values.Single().ConsecutiveFailures);
        Assert.Equal(8, check.Started);
        Assert.Equal(0, check.InFlight);

        // t=4.3 s: a whole interval after the flip.
        time.Advance(TimeSpan.FromMilliseconds(200));
        Assert.Equal(8, check.Started);
        time.Advance(TimeSpan.FromMilliseconds(50));
        await UntilStarted(check, 9);
        Assert.Equal(1, check.InFlight);
    }

    [Fact]
    public async Task A_straggler_that_started_before_the_flip_to_down_does_not_count_towards_coming_back()
    {
        await using var rig = FakeClockRig.Start();
        var (time, check, observer, scheduler) = (rig.Time, rig.Check, rig.Observer, rig.Scheduler);
        await UntilStarted(check, 1);

        // t=1 s it goes silent: probes at 1.0, 1.25, 1.5, 1.75, then re-checks at 2.0 and 2.25; the third timeout (2.3 s) takes it down.
        check.Hang = true;
        time.Advance(Second);
        await UntilStarted(check, 2);
        for (var started = 3; started <= 5; started++)
        {
            time.Advance(Step);
            await UntilStarted(check, started);
        }

        time.Advance(TimeSpan.FromMilliseconds(50));
        await Until(scheduler, "first failure", o => o.ConsecutiveFailures == 1);
        time.Advance(TimeSpan.FromMilliseconds(200));
        await UntilStarted(check, 6);
        time.Advance(TimeSpan.FromMilliseconds(50));
        await Until(scheduler, "second failure", o => o.ConsecutiveFailures == 2);
        time.Advance(TimeSpan.FromMilliseconds(200));
        await UntilStarted(check, 7);
        time.Advance(TimeSpan.FromMilliseconds(50));
        await Until(scheduler, "down", o => !o.Up);

        // It answers again; the probes of 1.75, 2.0 and 2.25 s (started before the flip) are released and succeed at once.
        check.Hang = false;
        check.ReleaseHung();
        await TestSupport.Deadline.UntilAsync("stragglers finished", Patience, () => Task.FromResult((check.InFlight == 0, $"{check.InFlight} in flight")));
        var report = scheduler.CurrentReport().Endpoints.Values.Single();
        Assert.False(report.Up);
        Assert.Equal(0, report.ConsecutiveSuccesses);

        // Back only after two probes started after the flip, a whole interval apart: 3.3 s and 4.3 s.
        time.Advance(TimeSpan.FromMilliseconds(950));
        Assert.Equal(7, check.Started);
        time.Advance(TimeSpan.FromMilliseconds(50));
        await UntilStarted(check, 8);
        await Until(scheduler, "one success", o => o.ConsecutiveSuccesses == 1 && !o.Up);
        time.Advance(Second);
        await UntilStarted(check, 9);
        await Until(scheduler, "up", o => o.Up && o.ConsecutiveSuccesses == 2);
        Assert.Equal(2, observer.Flips.Count());
    }

    [Fact]
    public async Task One_lost_probe_overlapped_by_a_success_never_flips_the_verdict_and_streaks_follow_completion_order()
    {
        await using var rig = FakeClockRig.Start();
        var (time, check, sink, observer, scheduler) = (rig.Time, rig.Check, rig.Sink, rig.Observer, rig.Scheduler);
        await UntilStarted(check, 1);

        // t=1 s: this probe is lost (hangs into its timeout); t=1.25 s the overlapping re-check succeeds.
        check.HangNext = 1;
        time.Advance(Second);
        await UntilStarted(check, 2);
        time.Advance(Step);
        await UntilStarted(check, 3);
        await Until(scheduler, "re-check succeeded", o => o.ConsecutiveSuccesses == 2 && o.ConsecutiveFailures == 0);

        // The newest probe succeeded: back to the normal pace although the lost one still hangs.
        time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.Equal(3, check.Started);

        // t=1.8 s: the lost probe times out. It finished last, so it is the latest word: one failure, suspect, re-checked at once.
        time.Advance(TimeSpan.FromMilliseconds(50));
        await Until(scheduler, "lost probe counted", o => o.ConsecutiveFailures == 1 || o.ConsecutiveSuccesses == 1);
        await UntilStarted(check, 4);
        await Until(scheduler, "success after it", o => o.ConsecutiveSuccesses == 1 && o.ConsecutiveFailures == 0);
        Assert.Contains(observer.Probes, p => !p.Outcome.Success && p.Observation.ConsecutiveFailures == 1 && p.Observation.Up);

        // Ten more seconds of healthy probes, one a second from the re-check at 1.8 s: never a flip, never a report with it down.
        for (var started = 5; started <= 14; started++)
        {
            time.Advance(Second);
            await UntilStarted(check, started);
        }

        Assert.Empty(observer.Flips);
        Assert.All(sink.Reports, r => Assert.True(r.Endpoints.Values.Single().Up));
        Assert.Equal(1, observer.Probes.Count(p => !p.Outcome.Success));
        Assert.Equal(2, check.MaxInFlight);
    }

    [Fact]
    public async Task A_real_silent_backend_at_default_settings_is_confirmed_by_overlapping_probes()
    {
        await using var backend = HttpBackend.Start();
        using var runner = ProbeRunner.CreateDefault();
        var observer = new RecordingObserver();
        await using var scheduler = new ProbeScheduler(TestProber, runner, new ListSink(), new ProbeSchedulerOptions { Jitter = 0 }, observer: observer);
        var check = new HealthCheck("http", backend.Port, "/", 200, null, null, Second, TimeSpan.FromMilliseconds(800), 3, 2);
        scheduler.UpdateConfig(Config(("hung", check, ["127.0.0.1"])));
        scheduler.Start();
        await TestSupport.Deadline.UntilAsync("healthy", Patience, () => Task.FromResult((observer.Probes.Any(p => p.Outcome.Success), $"{observer.Probes.Count} probes")));

        backend.Mode = BackendMode.Silent;
        var down = await TestSupport.Deadline.PollAsync("down", Patience, () =>
        {
            var flip = observer.Probes.FirstOrDefault(p => p.Flipped);
            return Task.FromResult((flip.Observation is not null, flip, $"{observer.Probes.Count} probes"));
        });
        Assert.False(down.Observation.Up);
        Assert.Equal("timed out after 800 ms", down.Observation.Error);

        // The three failures overlapped: the one that confirmed it started before the first of them had timed out.
        var failures = observer.Probes.Where(p => !p.Outcome.Success).Take(3).ToArray();
        Assert.Equal(3, failures.Length);
        Assert.All(failures, f => Assert.InRange(f.Outcome.Elapsed, TimeSpan.FromMilliseconds(790), TimeSpan.FromSeconds(3)));
        var thirdStarted = failures[2].Outcome.CompletedAt - failures[2].Outcome.Elapsed;
        var timeline = string.Join("; ", observer.Probes.Select(p => $"{p.Outcome.CompletedAt - p.Outcome.Elapsed:ss.fff}-{p.Outcome.CompletedAt:ss.fff} {(p.Outcome.Success ? "ok" : "fail")}"));
        Assert.True(thirdStarted < failures[0].Outcome.CompletedAt, $"third started {thirdStarted:HH:mm:ss.fff}, first timed out {failures[0].Outcome.CompletedAt:HH:mm:ss.fff}: {timeline}");
        Assert.Same(failures[2].Observation, down.Observation);
    }

    [Fact]
    public async Task A_real_backend_that_loses_one_probe_stays_up()
    {
        await using var backend = HttpBackend.Start();
        using var runner = ProbeRunner.CreateDefault();
        var observer = new RecordingObserver();
        await using var scheduler = new ProbeScheduler(TestProber, runner, new ListSink(), new ProbeSchedulerOptions { Jitter = 0 }, observer: observer);
        var check = new HealthCheck("http", backend.Port, "/", 200, null, null, TimeSpan.FromMilliseconds(400), TimeSpan.FromMilliseconds(300), 3, 2);
        scheduler.UpdateConfig(Config(("web", check, ["127.0.0.1"])));
        scheduler.Start();
        await TestSupport.Deadline.UntilAsync("healthy", Patience, () => Task.FromResult((observer.Probes.Count(p => p.Outcome.Success) >= 2, $"{observer.Probes.Count} probes")));

        backend.LoseNext(1);
        await TestSupport.Deadline.UntilAsync("the lost probe timed out, then three successes", Patience, () =>
        {
            var probes = observer.Probes.ToArray();
            var lost = Array.FindIndex(probes, p => !p.Outcome.Success);
            return Task.FromResult((lost >= 0 && probes.Skip(lost + 1).Count(p => p.Outcome.Success) >= 3, $"{probes.Length} probes, lost at {lost}"));
        });

        Assert.Empty(observer.Flips);
        Assert.Equal(0, backend.ToLose);
        var failed = observer.Probes.Where(p => !p.Outcome.Success).ToArray();
        Assert.Single(failed);
        Assert.Equal("timed out after 300 ms", failed[0].Outcome.Error);
        Assert.All(observer.Probes, p => Assert.True(p.Observation.Up));
    }

    private static Task UntilStarted(HangingCheck check, int started) =>
        TestSupport.Deadline.UntilAsync($"{started} probes started", Patience, () => Task.FromResult((check.Started == started, $"{check.Started} started, {check.InFlight} in flight")));

    private static Task Until(ProbeScheduler scheduler, string what, Func<EndpointObservation, bool> condition) =>
        TestSupport.Deadline.UntilAsync(what, Patience, () =>
        {
            var observation = scheduler.CurrentReport().Endpoints.Values.SingleOrDefault();
            return Task.FromResult((observation is not null && condition(observation), $"{observation}"));
        });

    /// <summary>One endpoint at the default check timing (1 s, 800 ms timeout, thresholds 3 and 2) on a fake clock, no jitter.</summary>
    private sealed class FakeClockRig : IAsyncDisposable
    {
        private readonly ProbeRunner _runner;

        private FakeClockRig()
        {
            _runner = new ProbeRunner(new Dictionary<string, IEndpointCheck> { ["tcp"] = Check }, Time);
            Scheduler = new ProbeScheduler(TestProber, _runner, Sink, new ProbeSchedulerOptions { Jitter = 0, ReportInterval = TimeSpan.FromMinutes(10) }, timeProvider: Time, observer: Observer);
        }

        public FakeTimeProvider Time { get; } = new(T0);

        public HangingCheck Check { get; } = new();

        public ListSink Sink { get; } = new();

        public RecordingObserver Observer { get; } = new();

        public ProbeScheduler Scheduler { get; }

        public static FakeClockRig Start()
        {
            var rig = new FakeClockRig();
            rig.Scheduler.UpdateConfig(Config(("a", ProbeTestSupport.Check("tcp", 1, interval: Second, timeout: TimeSpan.FromMilliseconds(800)), ["127.0.0.1"])));
            rig.Scheduler.Start();
            return rig;
        }

        public async ValueTask DisposeAsync()
        {
            await Scheduler.DisposeAsync();
            _runner.Dispose();
        }
    }

    /// <summary>Answers at once, or hangs until cancelled (the probe's timeout) while <see cref="Hang"/> is set or for the next <see cref="HangNext"/> calls.</summary>
    private sealed class HangingCheck : IEndpointCheck
    {
        private int _started;
        private int _inFlight;
        private int _max;
        private int _hangNext;
        private TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public volatile bool Hang;

        public int HangNext { set => Volatile.Write(ref _hangNext, value); }

        /// <summary>Lets every hung probe answer now (a straggler's late success).</summary>
        public void ReleaseHung() => Interlocked.Exchange(ref _release, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

        public int Started => Volatile.Read(ref _started);

        public int InFlight => Volatile.Read(ref _inFlight);

        public int MaxInFlight => Volatile.Read(ref _max);

        public async ValueTask<ProbeResult> CheckAsync(ProbeTarget target, CancellationToken cancellationToken)
        {
            var hang = Hang || Interlocked.Decrement(ref _hangNext) >= 0;
            var now = Interlocked.Increment(ref _inFlight);
            int seen;
            while ((seen = Volatile.Read(ref _max)) < now && Interlocked.CompareExchange(ref _max, now, seen) != seen)
            {
            }

            // Counted last: a test that sees the start also sees the in-flight count and the timeout already armed.
            Interlocked.Increment(ref _started);
            try
            {
                if (hang)
                {
                    await Volatile.Read(ref _release).Task.WaitAsync(cancellationToken);
                }

                return ProbeResult.Ok;
            }
            finally
            {
                Interlocked.Decrement(ref _inFlight);
            }
        }
    }
}
