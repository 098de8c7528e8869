using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using GslbDns.Gslb;
using GslbDns.State;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GslbDns.Api.Drills;

/// <summary>
/// Runs drills in the API process. One runner per drill even with several API processes: a runner first
/// claims the lease (its id and a claim end, by check-and-set on the lease's version), and every later
/// change is a check-and-set too, so a second runner or an abort can never be overwritten blindly.
/// </summary>
/// <remarks>
/// <para>
/// For each drill: re-check the preconditions (a scheduled drill may be refused at its start), ask every
/// authoritative server the drill's questions (each affected name and family, as each client subnet) to
/// record the answers before, mark the lease running, then ask again until no server hands out an
/// evacuated address, recording per server the time from the start. Meanwhile it watches the capacity
/// outside the target (a real failure elsewhere below the floor: the drill aborts itself) and the outcome
/// probe (broken: the drill fails and ends). At the end, or once aborted, it verifies the return the same way.
/// </para>
/// <para>
/// The runner never ends the evacuation by itself: the lease's end time does, on every DNS server's own
/// clock; an abort writes an earlier end into the lease. If this process dies the data centers still come
/// back on time; the lease then stays "running" (past its end, so it evacuates nothing) until another
/// runner's claim takes over after the dead one's lapses and records the outcome.
/// </para>
/// </remarks>
internal sealed partial class DrillRunner : IHostedService, IAsyncDisposable
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan ClaimGrace = TimeSpan.FromSeconds(60);

    private readonly ApiContext _api;
    private readonly DrillOptions _options;
    private readonly ILogger _logger;
    private readonly HttpClient _probeHttp = new() { Timeout = TimeSpan.FromSeconds(2) };
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, Task> _active = new(StringComparer.Ordinal);
    private Task? _loop;
    private int _disposed;

    public DrillRunner(ApiContext api, DrillOptions options, ILogger<DrillRunner> logger)
    {
        _api = api;
        _options = options;
        _logger = logger;
    }

    private string Me => _options.RunnerId;

    private TimeProvider Time => _api.Time;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_options.RunnerEnabled)
        {
            _loop = Task.Run(() => LoopAsync(_stop.Token), CancellationToken.None);
        }

        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        await Task.WhenAll(_active.Values).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None);
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _probeHttp.Dispose();
        _stop.Dispose();
    }

    private async Task LoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var now = Time.GetUtcNow();
                await StartPracticeAsync(now, ct);
                foreach (var drill in _api.Watcher.Current.Drills().Select(d => d.Drill))
                {
                    if (_active.ContainsKey(drill.Id) || !Claimable(drill, now))
                    {
                        continue;
                    }

                    _active[drill.Id] = Task.Run(() => ExecuteGuardedAsync(drill.Id, ct), CancellationToken.None);
                }

                await Task.Delay(Tick, Time, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                // The store is down or a lease unreadable: the DNS servers end drills on their own; try again.
                LogLoopFailed(_logger, ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), Time, ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <summary>
    /// Creates the practice drills that are due (<see cref="PracticeSchedule"/>): the same lease and checks as
    /// <c>POST /v1/drills</c>. One id per schedule period, created only if absent, so several API processes
    /// create it once; a period whose drill was refused waits for the next one.
    /// </summary>
    private async Task StartPracticeAsync(DateTimeOffset now, CancellationToken ct)
    {
        foreach (var schedule in _options.Practice)
        {
            var state = _api.Watcher.Current;
            var mine = state.Drills().Where(d => d.Drill.Id.StartsWith(schedule.IdPrefix, StringComparison.Ordinal)).Select(d => d.Drill).ToList();
            var lastRun = mine.Where(d => d.State != DrillState.Refused).Select(d => (DateTimeOffset?)d.Start).Max();
            if (schedule.DueId(now, lastRun) is not { } id || mine.Any(d => d.Id == id))
            {
                continue;
            }

            var snapshot = _api.Snapshots.Current;
            var targets = schedule.DataCenters.Where(snapshot.Gslb.DataCenters.ContainsKey).ToList();
            var reason = $"practice run (schedule {schedule.Text})";
            var drill = DrillPlanner.NewDrill(id, snapshot.Gslb, targets, null, now, schedule.Duration, _options.DefaultCapacityFloor, null, null, reason, "drill-practice", now);
            try
            {
                await using (await _api.LockForGuardAsync(true, ct))
                {
                    var violations = targets.Count < schedule.DataCenters.Count
                        ? [$"unknown data center in the schedule {schedule.Text}"]
                        : DrillPlanner.Violations(snapshot, await _api.Store.ReadAsync(ct), drill, _options, now);
                    if (drill.Services.Count == 0)
                    {
                        violations.Add("no service has an endpoint in the schedule's data centers");
                    }

                    if (violations.Count > 0)
                    {
                        drill = drill with { State = DrillState.Refused, Violations = violations, Results = drill.Results with { Outcome = "refused: " + string.Join("; ", violations) } };
                    }

                    var created = await DrillLeases.CreateAsync(_api.Store, drill, false, ct);
                    await _api.Watcher.WaitForIndexAsync(created.Version, TimeSpan.FromSeconds(2), ct);
                    LogPractice(_logger, id, DrillStates.Name(drill.State));
                }
            }
            catch (InvalidOperationException)
            {
                // Another API process created this period's drill first.
            }
        }
    }

    /// <summary>Due and nobody (alive) drives it.</summary>
    private bool Claimable(DrillSetting drill, DateTimeOffset now) =>
        drill.State is DrillState.Scheduled or DrillState.Running
        && (drill.State != DrillState.Scheduled || drill.Start <= now)
        && (drill.Runner is null || drill.Runner == Me || drill.RunnerUntil is null || drill.RunnerUntil < now);

    private async Task ExecuteGuardedAsync(string id, CancellationToken ct)
    {
        try
        {
            await ExecuteAsync(id, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Shutting down: the lease ends on its own; another runner records the outcome.
        }
        catch (Exception ex)
        {
            LogRunFailed(_logger, id, ex.Message);
        }
        finally
        {
            // Leave finished drills out of the active set only after the watcher has seen the final write.
            await Task.Delay(TimeSpan.FromSeconds(1), CancellationToken.None);
            _active.TryRemove(id, out _);
        }
    }

    /// <summary>A check-and-set on the lease; once written, this process's watcher has it too (so <see cref="Current"/> never goes back).</summary>
    private async Task<(VersionedDrill? Drill, bool Changed)> UpdateAsync(string id, Func<DrillSetting, DrillSetting?> change, string reason, CancellationToken ct)
    {
        var result = await DrillLeases.UpdateAsync(_api.Store, id, change, "drill-runner " + Me, reason, Time, ct);
        if (result.Drill is { } written)
        {
            await _api.Watcher.WaitForIndexAsync(written.Version, TimeSpan.FromSeconds(2), ct);
        }

        return result;
    }

    private async Task ExecuteAsync(string id, CancellationToken ct)
    {
        var claimedAt = Time.GetUtcNow();
        var (claimed, changed) = await UpdateAsync(
            id,
            d => Claimable(d, claimedAt) && d.Runner != Me ? Claim(d, claimedAt) : null,
            "runner claims the drill",
            ct);
        if (!changed || claimed is null)
        {
            return;
        }

        var drill = claimed.Drill;
        var snapshot = _api.Snapshots.Current;
        var config = snapshot.Gslb;
        var targets = drill.DataCenters.ToHashSet(StringComparer.Ordinal);
        var clients = DrillPlanner.Clients(drill.ClientSubnets, _options, snapshot, drill.DataCenters);
        var questions = DrillPlanner.Questions(config, drill.Services, clients);
        var servers = DrillObserver.Servers(snapshot, drill.Services, _options);
        var evacuated = DrillPlanner.EvacuatedAddresses(config, drill.DataCenters);
        var services = drill.Services.Select(s => ViewBuilder.FindService(config, s)).OfType<ServiceConfig>().ToList();
        var ttl = services.Count == 0 ? 0 : services.Max(s => s.Ttl);
        var bound = _options.ConvergenceSlack + TimeSpan.FromSeconds(ttl);
        var tracks = servers.ToDictionary(s => s, s => new ServerTrack(s.ToString()));
        var mix = new MixCounter();
        LogRunning(_logger, id, servers.Count, questions.Count);

        if (drill.State == DrillState.Scheduled)
        {
            var state = await _api.Store.ReadAsync(ct);
            var violations = DrillPlanner.Violations(snapshot, state, drill, _options, Time.GetUtcNow());
            if (violations.Count > 0 && !drill.Forced)
            {
                var at = Time.GetUtcNow();
                await UpdateAsync(id, d => d.State != DrillState.Scheduled ? null : d with
                {
                    State = DrillState.Refused,
                    Runner = null,
                    Violations = violations,
                    Results = d.Results.With(new DrillStep(at, "refused", string.Join("; ", violations))) with { Outcome = "refused at its start: " + string.Join("; ", violations) },
                }, "preconditions no longer hold at the start", ct);
                return;
            }

            // The answer mix before.
            await Task.WhenAll(tracks.Values.Select(async t =>
            {
                foreach (var q in questions)
                {
                    var answer = await DrillObserver.AskAsync(t.EndPoint, q, _options.QueryTimeout, ct);
                    if (answer is not null)
                    {
                        mix.Add("before", q.Name.ToString(), answer);
                    }
                }
            }));

            var startAt = Time.GetUtcNow();
            var (started, ok) = await UpdateAsync(id, d => d.State != DrillState.Scheduled ? null : d with
            {
                State = DrillState.Running,
                Start = startAt,
                StartedAt = startAt,
                Results = d.Results.With(new DrillStep(startAt, "started", $"evacuating {string.Join(", ", d.DataCenters)} until {(startAt + d.Duration).ToString("O", CultureInfo.InvariantCulture)}")) with { AnswerMix = mix.Snapshot() },
            }, "drill starts", ct);
            if (!ok || started is null)
            {
                return;
            }

            drill = started.Drill;
        }

        var start = drill.Start;
        string? endReason = null;

        // The floor the drill aborts itself below: the configured one, or what was left at the start when a
        // forced drill began below it already (then only a further drop, a real failure, ends it).
        var startState = _api.Snapshots.Current.State;
        var floors = services.SelectMany(s => DrillPlanner.CapacityOutside(s, startState, targets, start).Select(c => (s.Name, c.Family, Floor: Math.Min(drill.CapacityFloor, c.Share))))
            .ToDictionary(c => (c.Name, c.Family), c => c.Floor);
        var lostLast = new List<string>();
        var lastProbe = DateTimeOffset.MinValue;
        var reportedOut = false;

        // ---- Out: until every server stops handing out the target, and on until the end (or an abort).
        while (!ct.IsCancellationRequested)
        {
            var latest = Current(id) ?? drill;
            var now = Time.GetUtcNow();
            if (latest.State != DrillState.Running || now >= latest.EffectiveEnd)
            {
                drill = latest;
                break;
            }

            await Task.WhenAll(tracks.Values.Where(t => t.OutAt is null).Select(async t =>
            {
                var clean = true;
                foreach (var q in questions)
                {
                    var answer = await DrillObserver.AskAsync(t.EndPoint, q, _options.QueryTimeout, ct);
                    t.QueriesOut++;
                    if (answer is null || answer.Any(evacuated.Contains))
                    {
                        clean = false;
                    }

                    if (answer is not null)
                    {
                        mix.Add("during", q.Name.ToString(), answer);
                    }
                }

                if (clean)
                {
                    t.OutAt = Time.GetUtcNow();
                }
            }));

            now = Time.GetUtcNow();
            if (!reportedOut && (tracks.Values.All(t => t.OutAt is not null) || now - start > bound))
            {
                reportedOut = true;
                var servers0 = tracks.Values.Select(t => t.View(start, null)).ToList();
                var steps = tracks.Values.Select(t => t.OutAt is { } o
                    ? new DrillStep(o, "converged-out", $"{t.Name} after {Seconds(o - start)} s")
                    : new DrillStep(now, "not-converged-out", $"{t.Name} still answers the target after {Seconds(now - start)} s")).OrderBy(s => s.At).ToList();
                await UpdateAsync(id, d => d with { Results = d.Results with { Steps = [.. d.Results.Steps, .. steps], Servers = servers0, AnswerMix = mix.Snapshot() } }, "servers converged out", ct);
            }

            // Capacity outside the target, from the live health this process follows.
            var live = _api.Snapshots.Current.State;
            foreach (var service in services)
            {
                foreach (var (family, share) in DrillPlanner.CapacityOutside(service, live, targets, now))
                {
                    if (share <= 0)
                    {
                        var lost = $"service {ViewBuilder.ServiceName(service)} had no usable {DrillPlanner.Family(family)} endpoint outside the target";
                        if (!lostLast.Contains(lost))
                        {
                            lostLast.Add(lost);
                        }
                    }

                    var floor = floors.GetValueOrDefault((service.Name, family), drill.CapacityFloor);
                    if (share < floor && endReason is null)
                    {
                        endReason = $"self-aborted: service {ViewBuilder.ServiceName(service)} has {DrillPlanner.Percent(share)} of its {DrillPlanner.Family(family)} effective weight usable outside the target, below the floor of {DrillPlanner.Percent(floor)} (a real failure elsewhere)";
                    }
                }
            }

            if (endReason is not null)
            {
                drill = await EndEarlyAsync(id, DrillState.Aborted, endReason, ct) ?? drill;
                break;
            }

            if (drill.OutcomeProbe is { } probe && now - lastProbe >= _options.ProbeInterval)
            {
                lastProbe = now;
                if (await ProbeAsync(probe, ct) is { } broken)
                {
                    endReason = $"outcome probe {probe} broke: {broken}";
                    drill = await EndEarlyAsync(id, DrillState.Failed, endReason, ct) ?? drill;
                    break;
                }
            }

            await Task.Delay(_options.PollInterval, Time, ct);
        }

        // ---- Back: from the lease's end (planned, or the abort's), every server answers the target again.
        var end = drill.EffectiveEnd;

        // What the engine answers once the lease is over (worked out before the end, so the
        // measurement starts right at it): the questions that should bring the target back. A
        // server is back once it answers the target to one of them (the lease ends all at once on a server);
        // if none should, once it answers a full round. Comparing with the answers before the drill would
        // not do: a latency or weighted pick may rightly differ afterwards.
        var afterSnapshot = _api.Snapshots.Current;
        var engine = new Answers.Explainer(new Query.QueryEngine(new Query.SnapshotHolder(afterSnapshot), _api.Engine.Options));
        var expectBack = questions.Where(q => engine.Explain(q.Name, q.Type, q.Client, q.Prefix, new FixedTime(end.AddMilliseconds(1))).Records
            .Any(r => r.Section == "answer" && IPAddress.TryParse(r.Data, out var a) && evacuated.Contains(a))).Select(q => q.Key).ToHashSet(StringComparer.Ordinal);
        while (Time.GetUtcNow() < end)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20), Time, ct);
        }

        var giveUp = end + bound + TimeSpan.FromSeconds(5);
        while (!ct.IsCancellationRequested && tracks.Values.Any(t => t.BackAt is null) && Time.GetUtcNow() < giveUp)
        {
            await Task.WhenAll(tracks.Values.Where(t => t.BackAt is null).Select(async t =>
            {
                var seenAll = true;
                foreach (var q in questions)
                {
                    var answer = await DrillObserver.AskAsync(t.EndPoint, q, _options.QueryTimeout, ct);
                    t.QueriesBack++;
                    if (answer is null)
                    {
                        seenAll = false;
                        continue;
                    }

                    mix.Add("after", q.Name.ToString(), answer);
                    if (answer.Any(evacuated.Contains))
                    {
                        t.SeenBack.Add(q.Key);
                    }
                }

                if (expectBack.Count == 0 ? seenAll : t.SeenBack.Count > 0)
                {
                    t.BackAt = Time.GetUtcNow();
                }
            }));

            await Task.Delay(_options.PollInterval, Time, ct);
        }

        // ---- Outcome.
        var done = Time.GetUtcNow();
        var views = tracks.Values.Select(t => t.View(start, end)).ToList();
        var problems = new List<string>();
        foreach (var v in views)
        {
            if (v.OutSeconds is not { } o)
            {
                problems.Add($"{v.Server} never stopped answering the target");
            }
            else if (o > bound.TotalSeconds)
            {
                problems.Add($"{v.Server} converged out after {o} s, over the bound of {bound.TotalSeconds} s");
            }

            if (v.BackSeconds is not { } b)
            {
                problems.Add($"{v.Server} never answered the target again");
            }
            else if (b > bound.TotalSeconds)
            {
                problems.Add($"{v.Server} came back after {b} s, over the bound of {bound.TotalSeconds} s");
            }
        }

        if (servers.Count == 0)
        {
            problems.Add("no authoritative server to verify (no NS addresses in our zone data and no --drill-server)");
        }

        problems.AddRange(lostLast);
        var backSteps = tracks.Values.Select(t => t.BackAt is { } b
            ? new DrillStep(b, "converged-back", $"{t.Name} after {Seconds(b - end)} s")
            : new DrillStep(done, "not-converged-back", $"{t.Name} did not answer the target again within {Seconds(done - end)} s")).OrderBy(s => s.At).ToList();
        await UpdateAsync(id, d =>
        {
            var final = d.State == DrillState.Running ? (problems.Count == 0 ? DrillState.Succeeded : DrillState.Failed) : d.State;
            var outcome = d.Results.Outcome ?? (final == DrillState.Succeeded
                ? $"succeeded: {views.Count} servers converged out and back within {bound.TotalSeconds} s; no service lost its last endpoint"
                : "failed: " + string.Join("; ", problems));
            if (d.State != DrillState.Running && problems.Count > 0)
            {
                outcome += " (verification: " + string.Join("; ", problems) + ")";
            }

            var steps = new List<DrillStep>(d.Results.Steps) { new(end, "ended", d.State == DrillState.Running ? "lease end reached" : $"ended early ({DrillStates.Name(d.State)})") };
            steps.AddRange(backSteps);
            steps.Add(new DrillStep(done, "outcome", outcome));
            return d with
            {
                State = final,
                Runner = null,
                RunnerUntil = null,
                Results = d.Results with { Steps = steps, Servers = views, AnswerMix = mix.Snapshot(), Outcome = outcome },
            };
        }, "drill finished", ct);
        LogFinished(_logger, id, string.Join("; ", problems));
    }

    private DrillSetting Claim(DrillSetting drill, DateTimeOffset at)
    {
        var until = (drill.State == DrillState.Scheduled ? at : drill.Start) + drill.Duration + ClaimGrace + _options.ConvergenceSlack;
        return (drill with { Runner = Me, RunnerUntil = until }).WithStep(at, "claimed", $"runner {Me}");
    }

    private async Task<DrillSetting?> EndEarlyAsync(string id, DrillState state, string reason, CancellationToken ct)
    {
        var at = Time.GetUtcNow();
        var (ended, _) = await UpdateAsync(id, d => d.State != DrillState.Running ? null : d with
        {
            State = state,
            EndedAt = at,
            Results = d.Results.With(new DrillStep(at, state == DrillState.Aborted ? "self-aborted" : "outcome-probe-failed", reason)) with { Outcome = reason },
        }, reason, ct);
        LogEndedEarly(_logger, id, reason);
        return ended?.Drill;
    }

    /// <summary>Null when the probe answered 2xx, else what went wrong.</summary>
    private async Task<string?> ProbeAsync(string url, CancellationToken ct)
    {
        try
        {
            using var response = await _probeHttp.GetAsync(url, ct);
            return response.IsSuccessStatusCode ? null : $"HTTP {(int)response.StatusCode}";
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return ex.Message;
        }
    }

    private DrillSetting? Current(string id) => _api.Watcher.Current.Get<DrillSetting>(StateKind.Drill, id);

    private static double Seconds(TimeSpan span) => Math.Round(span.TotalSeconds, 3);

    private sealed class ServerTrack(string name)
    {
        public string Name { get; } = name;

        public IPEndPoint EndPoint { get; } = IPEndPoint.Parse(name);

        public HashSet<string> SeenBack { get; } = new(StringComparer.Ordinal);

        public DateTimeOffset? OutAt { get; set; }

        public DateTimeOffset? BackAt { get; set; }

        public int QueriesOut { get; set; }

        public int QueriesBack { get; set; }

        public ServerConvergence View(DateTimeOffset start, DateTimeOffset? end) => new(
            Name,
            OutAt is { } o ? Seconds(o - start) : null,
            end is { } e && BackAt is { } b ? Seconds(b - e) : null,
            QueriesOut,
            QueriesBack,
            null);
    }

    /// <summary>Addresses answered per service and phase (before, during, after).</summary>
    private sealed class MixCounter
    {
        private readonly ConcurrentDictionary<(string Phase, string Service), ConcurrentDictionary<string, int>> _counts = new();

        public void Add(string phase, string service, IReadOnlyList<IPAddress> answer)
        {
            var counts = _counts.GetOrAdd((phase, service.TrimEnd('.')), _ => new ConcurrentDictionary<string, int>(StringComparer.Ordinal));
            foreach (var address in answer)
            {
                counts.AddOrUpdate(address.ToString(), 1, (_, n) => n + 1);
            }
        }

        public IReadOnlyList<AnswerMix> Snapshot()
        {
            string[] order = ["before", "during", "after"];
            return [.. _counts.OrderBy(c => c.Key.Service, StringComparer.Ordinal).ThenBy(c => Array.IndexOf(order, c.Key.Phase))
                .Select(c => new AnswerMix(c.Key.Service, c.Key.Phase, new SortedDictionary<string, int>(c.Value, StringComparer.Ordinal)))];
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Drill {Id}: verifying on {Servers} servers with {Questions} questions each")]
    private static partial void LogRunning(ILogger logger, string id, int servers, int questions);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Drill {Id} ended early: {Reason}")]
    private static partial void LogEndedEarly(ILogger logger, string id, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Drill {Id} finished; problems: {Problems}")]
    private static partial void LogFinished(ILogger logger, string id, string problems);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Drill runner: {Reason}; retrying")]
    private static partial void LogLoopFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Practice drill {Id} created ({State})")]
    private static partial void LogPractice(ILogger logger, string id, string state);

    [LoggerMessage(Level = LogLevel.Error, Message = "Drill {Id}: the runner failed: {Reason}")]
    private static partial void LogRunFailed(ILogger logger, string id, string reason);
}
