using GslbDns.Gslb;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using GslbDns.Reports;

namespace GslbDns.Probing;

/// <summary>
/// Probes every endpoint of every service that has a check, each on its own interval (with jitter), at most
/// <see cref="ProbeSchedulerOptions.MaxConcurrency"/> at a time, and hands a <see cref="ProberReport"/> of
/// all verdicts to the <see cref="IReportSink"/> once per cycle (the report interval), and at once when a
/// verdict flips so a failover does not wait for the next cycle.
/// </summary>
/// <remarks>
/// Each endpoint has its own loop, so a slow or silent endpoint delays only itself. Due times are absolute
/// (previous due time + interval), so probing keeps its cadence however long a probe took, and an endpoint
/// that fell behind is probed once at once rather than in a burst of missed probes. A suspect endpoint (up, but
/// its latest probe failed, or the probe in flight is slow) is probed again after <see cref="ProbeSchedulerOptions.SuspectRecheck"/>
/// of its interval without waiting for the previous probe to finish (<see cref="ProbePacing"/>, at most
/// <see cref="ProbeSchedulerOptions.MaxInFlightPerEndpoint"/> at once), so a real outage, silent or refusing, is
/// confirmed sooner while the failure threshold, counted in completion order, still absorbs a lost probe.
/// </remarks>
public sealed class ProbeScheduler : IAsyncDisposable
{
    private static readonly TimeSpan DefaultReportInterval = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A flip publishes at once, however recently the last cycle's report went out; only a flip within this long of the
    /// previous flip's report waits for the rest of it, so a whole data center going down is one write, not hundreds.
    /// </summary>
    private static readonly TimeSpan MinPublishGap = TimeSpan.FromMilliseconds(100);

    /// <summary>The most start-up waits for the first verdicts (<see cref="SettleAsync"/>).</summary>
    private static readonly TimeSpan MaxSettle = TimeSpan.FromSeconds(5);

    private readonly ProberInfo _prober;
    private readonly ProbeRunner _runner;
    private readonly IReportSink _sink;
    private readonly ProbeSchedulerOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly IProbeObserver? _observer;
    private readonly SemaphoreSlim _concurrency;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _configLock = new();
    private readonly List<Task> _loops = [];
    private Dictionary<string, Slot> _slots = new(StringComparer.Ordinal);
    private TaskCompletionSource _publishNow = NewSignal();
    private TaskCompletionSource _probeFinished = NewSignal();
    private long _reportIntervalTicks = DefaultReportInterval.Ticks;
    private long _published;
    private Task? _publisher;
    private bool _started;
    private bool _disposed;

    public ProbeScheduler(
        ProberInfo prober,
        ProbeRunner runner,
        IReportSink sink,
        ProbeSchedulerOptions? options = null,
        ILogger<ProbeScheduler>? logger = null,
        TimeProvider? timeProvider = null,
        IProbeObserver? observer = null)
    {
        ArgumentNullException.ThrowIfNull(prober);
        ArgumentNullException.ThrowIfNull(runner);
        ArgumentNullException.ThrowIfNull(sink);
        _options = options ?? new ProbeSchedulerOptions();
        _options.Validate();
        _prober = prober;
        _runner = runner;
        _sink = sink;
        _logger = logger ?? NullLogger<ProbeScheduler>.Instance;
        _time = timeProvider ?? TimeProvider.System;
        _observer = observer;
        _concurrency = new SemaphoreSlim(_options.MaxConcurrency, _options.MaxConcurrency);
        ApplyReportInterval([]);
    }

    public ProberInfo Prober => _prober;

    private GslbConfig _config = GslbConfig.Empty;
    private ResolvedHosts _hosts = ResolvedHosts.Empty;

    /// <summary>What is being probed now.</summary>
    public IReadOnlyList<ProbeTarget> Targets => [.. Volatile.Read(ref _slots).Values.Select(s => s.Target)];

    /// <summary>One cycle: how often a report goes to the sink when no verdict flips.</summary>
    public TimeSpan ReportInterval => TimeSpan.FromTicks(Interlocked.Read(ref _reportIntervalTicks));

    /// <summary>Reports handed to the sink without it throwing.</summary>
    public long ReportsPublished => Interlocked.Read(ref _published);

    /// <summary>
    /// Applies a (re)loaded config: endpoints that still exist keep their verdict, streaks and RTT (a reload
    /// must not reset health); endpoints whose address or check changed restart their probe loop; removed
    /// ones stop. Safe to call before or after <see cref="Start"/>, from any thread.
    /// </summary>
    public void UpdateConfig(GslbConfig config) => Apply(config);

    /// <summary>The targets of <paramref name="config"/> (null: the config in force) with the hostname addresses in force, read under the lock so a config and a hosts update cannot undo each other.</summary>
    private void Apply(GslbConfig? config)
    {
        IReadOnlyList<ProbeTarget> targets;
        int added = 0, changed = 0, removed;
        lock (_configLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _config = config ?? _config;
            targets = ProbeTarget.FromConfig(_config, _hosts);
            var current = _slots;
            var next = new Dictionary<string, Slot>(targets.Count, StringComparer.Ordinal);
            foreach (var target in targets)
            {
                if (next.ContainsKey(target.EndpointId))
                {
                    continue;
                }

                if (current.TryGetValue(target.EndpointId, out var old))
                {
                    if (old.Target == target)
                    {
                        next.Add(target.EndpointId, old);
                        continue;
                    }

                    old.Stop();
                    old.Tracker.SetThresholds(target.Check.FailureThreshold, target.Check.SuccessThreshold);
                    next.Add(target.EndpointId, StartIfRunning(new Slot(target, old.Tracker)));
                    changed++;
                    continue;
                }

                next.Add(target.EndpointId, StartIfRunning(new Slot(target, new EndpointTracker(target.Check.FailureThreshold, target.Check.SuccessThreshold))));
                added++;
            }

            removed = 0;
            foreach (var (id, old) in current)
            {
                if (!next.ContainsKey(id))
                {
                    old.Stop();
                    removed++;
                }
            }

            Volatile.Write(ref _slots, next);
            ApplyReportInterval(targets);
            _loops.RemoveAll(static t => t.IsCompleted);
        }

        ProbingLog.ConfigApplied(_logger, targets.Count, added, changed, removed, ReportInterval);
    }

    /// <summary>
    /// New addresses of hostname endpoints: the endpoints whose first address moved restart their probe loop there (the
    /// others keep theirs, as for a reload); nothing happens when no first address moved.
    /// </summary>
    public void UpdateHosts(ResolvedHosts hosts)
    {
        ArgumentNullException.ThrowIfNull(hosts);
        ResolvedHosts previous;
        lock (_configLock)
        {
            previous = _hosts;
            _hosts = hosts;
        }

        var moved = hosts.Hosts.Count != previous.Hosts.Count
            || hosts.Hosts.Any(h => !Equals(previous.Find(h.Key)?.First, h.Value.First));
        if (moved && !_disposed)
        {
            Apply(null);
        }
    }

    /// <summary>Starts probing and publishing.</summary>
    public void Start()
    {
        lock (_configLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_started)
            {
                throw new InvalidOperationException("already started");
            }

            _started = true;
            foreach (var slot in _slots.Values)
            {
                StartSlot(slot);
            }

            // The first cycle counts from now, not from whenever the pool runs the loop: a late start must not delay the first report.
            var started = _time.GetUtcNow();
            _publisher = Task.Run(() => PublishLoopAsync(started, _stop.Token));
        }
    }

    /// <summary>
    /// Start-up: waits until every endpoint's first probe has finished and none is left suspect (a failed first probe is
    /// re-checked at the suspect pace until it is confirmed down or a probe succeeds, so the threshold still decides),
    /// then hands a report to the sink at once. Bounded by the slowest endpoint's first jitter, timeout and re-checks
    /// (<see cref="SettleBound"/>); past it the endpoints not settled yet keep the fail-open default. Call after
    /// <see cref="Start"/>; returns whether every endpoint settled.
    /// </summary>
    public async Task<bool> SettleAsync(CancellationToken cancellationToken = default)
    {
        var deadline = _time.GetUtcNow() + SettleBound();
        bool settled;
        while (true)
        {
            var signal = NewSignal();
            Volatile.Write(ref _probeFinished, signal);
            settled = Volatile.Read(ref _slots).Values.All(static s => s.Tracker.Settled);
            var left = deadline - _time.GetUtcNow();
            if (settled || left <= TimeSpan.Zero)
            {
                break;
            }

            using var delayCancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            await Task.WhenAny(signal.Task, Task.Delay(left, _time, delayCancel.Token));
            await delayCancel.CancelAsync();
            cancellationToken.ThrowIfCancellationRequested();
        }

        await _sink.PublishAsync(CurrentReport(), cancellationToken);
        Interlocked.Increment(ref _published);
        return settled;
    }

    /// <summary>
    /// How long <see cref="SettleAsync"/> waits at most: for the slowest endpoint, its first probe's jitter, then
    /// <c>failureThreshold - 1</c> re-checks and the last one's timeout (a silent endpoint's probes overlap), plus
    /// a scheduling margin; never more than 5 s, so a huge threshold cannot hold start-up back.
    /// </summary>
    public TimeSpan SettleBound()
    {
        var longest = TimeSpan.Zero;
        foreach (var slot in Volatile.Read(ref _slots).Values)
        {
            var check = slot.Target.Check;
            var recheck = check.Interval * _options.SuspectRecheck;
            var bound = (check.Interval * _options.Jitter) + check.Timeout + (recheck * Math.Max(0, check.FailureThreshold - 1));
            if (_options.MaxInFlightPerEndpoint == 1)
            {
                bound = (check.Interval * _options.Jitter) + ((check.Timeout + recheck) * check.FailureThreshold);
            }

            longest = bound > longest ? bound : longest;
        }

        var withMargin = longest + TimeSpan.FromMilliseconds(250);
        return withMargin < MaxSettle ? withMargin : MaxSettle;
    }

    /// <summary>The verdicts now, as the next report will carry them; endpoints not yet probed once are left out.</summary>
    public ProberReport CurrentReport()
    {
        var endpoints = new Dictionary<string, EndpointObservation>(StringComparer.Ordinal);
        foreach (var slot in Volatile.Read(ref _slots).Values)
        {
            if (slot.Tracker.Observation is { } observation)
            {
                endpoints[slot.Target.EndpointId] = observation;
            }
        }

        return new ProberReport(_prober, endpoints, _time.GetUtcNow());
    }

    public async ValueTask DisposeAsync()
    {
        Task[] running;
        lock (_configLock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            running = [.. _loops, .. _publisher is null ? [] : new[] { _publisher }];
        }

        await _stop.CancelAsync();
        await Task.WhenAll(running).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        foreach (var slot in _slots.Values)
        {
            slot.Stop();
        }

        _stop.Dispose();
        _concurrency.Dispose();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private void ApplyReportInterval(IReadOnlyList<ProbeTarget> targets)
    {
        var interval = _options.ReportInterval
            ?? (targets.Count == 0 ? DefaultReportInterval : targets.Min(t => t.Check.Interval));
        Interlocked.Exchange(ref _reportIntervalTicks, Math.Max(interval.Ticks, MinPublishGap.Ticks));
    }

    private Slot StartIfRunning(Slot slot)
    {
        if (_started)
        {
            StartSlot(slot);
        }

        return slot;
    }

    // Called under _configLock.
    private void StartSlot(Slot slot)
    {
        slot.Cancellation = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        var token = slot.Cancellation.Token;
        _loops.Add(Task.Run(() => ProbeLoopAsync(slot, token)));
    }

    private async Task ProbeLoopAsync(Slot slot, CancellationToken ct)
    {
        try
        {
            await ProbeForeverAsync(slot, ct);
        }
        finally
        {
            // Unregisters the slot's link to _stop; a later Stop() of a disposed source is ignored.
            slot.Cancellation?.Dispose();
        }
    }

    private async Task ProbeForeverAsync(Slot slot, CancellationToken ct)
    {
        var target = slot.Target;
        var interval = target.Check.Interval;
        var recheck = interval * _options.SuspectRecheck;
        var routineDue = _time.GetUtcNow() + (interval * (_options.Jitter * Random.Shared.NextDouble()));
        var lastStart = DateTimeOffset.MinValue;
        long started = 0;
        var inFlight = new List<Task>(_options.MaxInFlightPerEndpoint);
        try
        {
            while (!ct.IsCancellationRequested)
            {
                // A new wake-up signal before reading the state: a probe finishing after the read signals this one.
                var wake = slot.ResetWake();
                inFlight.RemoveAll(static t => t.IsCompleted);
                if (slot.TakeFlip() is { } flippedAt)
                {
                    lastStart = flippedAt;
                    routineDue = flippedAt + (interval * (1 - (_options.Jitter * Random.Shared.NextDouble())));
                }

                var (up, failures) = slot.Tracker.Pace;
                // The slot's own count, not the task list: a probe task is marked complete only after its finally has
                // already signalled the wake-up, and counting it as still running then would wait for a signal that never comes.
                var state = new PaceState(up, failures, slot.InFlight, slot.NewestFinished < started, lastStart, routineDue);
                var next = ProbePacing.NextStart(state, recheck, _options.MaxInFlightPerEndpoint);
                var now = _time.GetUtcNow();
                if (next is { } at && at <= now)
                {
                    // Keep the cadence from the due time; after a long wait (the endpoint was down, a probe was slow) start afresh.
                    lastStart = now - at > recheck ? now : at;
                    // Jitter only shortens the wait: the interval is the longest an outage can go unprobed, a bound to budget with.
                    routineDue = lastStart + (interval * (1 - (_options.Jitter * Random.Shared.NextDouble())));
                    var sequence = ++started;
                    slot.Starting(sequence);
                    inFlight.Add(Task.Run(() => ProbeOnceAsync(slot, sequence, ct), CancellationToken.None));
                    continue;
                }

                // Waiting for a probe to finish is also bounded by an interval: the decision is re-taken at least that often.
                await WaitAsync(wake.Task, next ?? now + interval, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Stopped (reload or dispose).
        }
        finally
        {
            await Task.WhenAll(inFlight).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>One probe: runs it (within the global concurrency bound), records it, logs and publishes a flip.</summary>
    private async Task ProbeOnceAsync(Slot slot, long sequence, CancellationToken ct)
    {
        var target = slot.Target;
        try
        {
            await _concurrency.WaitAsync(ct);
            ProbeOutcome outcome;
            try
            {
                outcome = await _runner.RunAsync(target, ct);
            }
            finally
            {
                _concurrency.Release();
            }

            // A reload may have replaced this loop while the probe ran; its result belongs to the old target.
            if (ct.IsCancellationRequested)
            {
                return;
            }

            var (observation, flipped, _) = slot.Tracker.Record(outcome, sequence, slot.LastStarted);
            if (flipped)
            {
                if (observation.Up)
                {
                    ProbingLog.EndpointUp(_logger, target.EndpointId, observation.ConsecutiveSuccesses);
                }
                else
                {
                    ProbingLog.EndpointDown(_logger, target.EndpointId, observation.ConsecutiveFailures, observation.Error);
                }

                // The next routine probe is a whole interval after the flip, not after the flipping probe's start: with
                // overlapping probes that start was up to a timeout ago, and coming back must still take the normal pace.
                slot.FlippedAt(outcome.CompletedAt);
                Volatile.Read(ref _publishNow).TrySetResult();
            }

            Observe(target, outcome, observation, flipped);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (ObjectDisposedException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            ProbingLog.ProbeLoopFailed(_logger, ex, target.EndpointId);
        }
        finally
        {
            slot.Finished(sequence);
            Volatile.Read(ref _probeFinished).TrySetResult();
        }
    }

    /// <summary>Until <paramref name="due"/> (null: no time set), or until a probe of the endpoint finishes.</summary>
    private async Task WaitAsync(Task wake, DateTimeOffset? due, CancellationToken ct)
    {
        if (due is not { } at)
        {
            await wake.WaitAsync(ct);
            return;
        }

        var wait = at - _time.GetUtcNow();
        if (wait <= TimeSpan.Zero || wake.IsCompleted)
        {
            ct.ThrowIfCancellationRequested();
            return;
        }

        using var delayCancel = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var delay = Task.Delay(wait, _time, delayCancel.Token);
        await Task.WhenAny(wake, delay);
        await delayCancel.CancelAsync();
        ct.ThrowIfCancellationRequested();
    }

    private void Observe(ProbeTarget target, ProbeOutcome outcome, EndpointObservation observation, bool flipped)
    {
        if (_observer is null)
        {
            return;
        }

        try
        {
            _observer.OnProbeCompleted(target, outcome, observation, flipped);
        }
        catch (Exception ex)
        {
            ProbingLog.ObserverFailed(_logger, ex, target.EndpointId);
        }
    }

    private async Task PublishLoopAsync(DateTimeOffset started, CancellationToken ct)
    {
        var last = started;
        var lastFlip = DateTimeOffset.MinValue;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                if (await WaitForCycleAsync(last + ReportInterval, ct))
                {
                    // Coalesce only a burst of flips; a flip right after a routine report still goes out at once.
                    await DelayUntilAsync(lastFlip + MinPublishGap, ct);
                    lastFlip = _time.GetUtcNow();
                }

                last = _time.GetUtcNow();
                await _sink.PublishAsync(CurrentReport(), ct);
                Interlocked.Increment(ref _published);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // The sink owns retries; a failed cycle is simply superseded by the next one.
                ProbingLog.PublishFailed(_logger, ex);
            }
        }
    }

    /// <summary>Returns at <paramref name="due"/> (false) or earlier when a verdict flips (true).</summary>
    private async Task<bool> WaitForCycleAsync(DateTimeOffset due, CancellationToken ct)
    {
        var signal = Volatile.Read(ref _publishNow);
        var wait = due - _time.GetUtcNow();
        if (wait > TimeSpan.Zero && !signal.Task.IsCompleted)
        {
            using var delayCancel = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var delay = Task.Delay(wait, _time, delayCancel.Token);
            await Task.WhenAny(signal.Task, delay);
            await delayCancel.CancelAsync();
        }

        ct.ThrowIfCancellationRequested();
        if (signal.Task.IsCompleted)
        {
            // Reset before reading the verdicts: a flip after this point signals the new source.
            Interlocked.CompareExchange(ref _publishNow, NewSignal(), signal);
            return true;
        }

        return false;
    }

    private async Task DelayUntilAsync(DateTimeOffset due, CancellationToken ct)
    {
        var wait = due - _time.GetUtcNow();
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, _time, ct);
        }
        else
        {
            ct.ThrowIfCancellationRequested();
        }
    }

    private sealed class Slot(ProbeTarget target, EndpointTracker tracker)
    {
        public ProbeTarget Target { get; } = target;

        public EndpointTracker Tracker { get; } = tracker;

        public CancellationTokenSource? Cancellation { get; set; }

        private TaskCompletionSource _wake = NewSignal();
        private long _newestFinished;
        private long _lastStarted;
        private int _inFlight;
        private long _flippedAtTicks;

        /// <summary>The start number of the newest probe.</summary>
        public long LastStarted => Interlocked.Read(ref _lastStarted);

        /// <summary>Probes started and not finished; decremented before the wake-up signal.</summary>
        public int InFlight => Volatile.Read(ref _inFlight);

        public void Starting(long sequence)
        {
            Interlocked.Increment(ref _inFlight);
            Interlocked.Exchange(ref _lastStarted, sequence);
        }

        /// <summary>A probe flipped the verdict at <paramref name="at"/>: the loop restarts the routine cadence from there.</summary>
        public void FlippedAt(DateTimeOffset at) => Interlocked.Exchange(ref _flippedAtTicks, at.UtcTicks);

        public DateTimeOffset? TakeFlip()
        {
            var ticks = Interlocked.Exchange(ref _flippedAtTicks, 0);
            return ticks == 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        }

        /// <summary>The highest sequence number of a finished probe: the newest probe is in flight while this is below its number.</summary>
        public long NewestFinished => Interlocked.Read(ref _newestFinished);

        public TaskCompletionSource ResetWake()
        {
            var fresh = NewSignal();
            Volatile.Write(ref _wake, fresh);
            return fresh;
        }

        /// <summary>Probe number <paramref name="sequence"/> finished: wake the endpoint's loop to decide again.</summary>
        public void Finished(long sequence)
        {
            long seen;
            while ((seen = Interlocked.Read(ref _newestFinished)) < sequence && Interlocked.CompareExchange(ref _newestFinished, sequence, seen) != seen)
            {
            }

            Interlocked.Decrement(ref _inFlight);
            Volatile.Read(ref _wake).TrySetResult();
        }

        public void Stop()
        {
            try
            {
                Cancellation?.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Already stopped and cleaned up.
            }
        }
    }
}
