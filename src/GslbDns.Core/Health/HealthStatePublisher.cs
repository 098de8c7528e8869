using GslbDns.Query;
using Microsoft.Extensions.Logging;
using GslbDns.Reports;

namespace GslbDns.Health;

/// <summary>
/// Turns prober reports into the health and RTT parts of the snapshot's state. Whatever the source
/// (Consul watch, or the in-process prober in embedded mode) the same quorum rule applies. When no
/// prober is alive the last verdicts stay in force (static stability): losing every prober must not
/// turn into failing every data center, nor into forgetting which ones were down.
/// </summary>
public sealed partial class HealthStatePublisher
{
    private readonly SnapshotHolder _snapshots;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly TimeSpan _staleAfter;
    private readonly Lock _lock = new();
    private IReadOnlyList<ProberReport> _reports = [];
    private bool _published;

    public HealthStatePublisher(SnapshotHolder snapshots, ILogger logger, TimeSpan staleAfter, TimeProvider? time = null)
    {
        _snapshots = snapshots;
        _logger = logger;
        _staleAfter = staleAfter;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The view behind the current verdicts (for /metrics and the API's per-prober detail).</summary>
    public HealthView Current { get; private set; } = HealthView.Empty;

    /// <summary>A new set of reports arrived.</summary>
    public void OnReports(IReadOnlyList<ProberReport> reports)
    {
        lock (_lock)
        {
            _reports = reports;
            Recompute();
        }
    }

    /// <summary>Re-applies the staleness rule as time passes; call only while the report source is reachable.</summary>
    public void Tick()
    {
        lock (_lock)
        {
            Recompute();
        }
    }

    private void Recompute()
    {
        var now = _time.GetUtcNow();
        var view = QuorumHealth.Compute(_reports, _snapshots.Current.Gslb, now, _staleAfter);
        if (view.LiveProbers.Count == 0)
        {
            if (Current.LiveProbers.Count > 0)
            {
                LogNoProbers(_logger, Current.ComputedAt);
            }

            Current = Current with { LiveProbers = [] };
            return;
        }

        var previous = Current;
        var changed = !SameVerdicts(previous, view);
        Current = view;

        // The first verdicts change nothing anyone has cached (start-up answers wait for them); later flips shorten the TTL.
        var recordFlips = _published;
        _published = true;
        _snapshots.Update(s => s with
        {
            State = s.State with
            {
                Health = view.Health,
                Tallies = view.Tallies,
                ProbedLoads = view.Loads,
                MeasuredRtt = view.Rtt,
                AsOf = now,
                Changes = recordFlips ? RecordFlips(s, view.Health, now) : s.State.Changes,
            },
        });
        if (changed)
        {
            foreach (var (id, verdict) in view.Verdicts)
            {
                var before = !previous.Verdicts.TryGetValue(id, out var old) || old.Healthy;
                if (before != verdict.Healthy)
                {
                    LogVerdict(
                        _logger, id, verdict.Healthy ? "up" : "down", verdict.Voters - verdict.Down, verdict.Down, verdict.Voters,
                        [.. verdict.ByProber.Where(static v => v.Value).Select(static v => v.Key).Order(StringComparer.Ordinal)],
                        [.. verdict.ByProber.Where(static v => !v.Value).Select(static v => v.Key).Order(StringComparer.Ordinal)]);
                }
            }
        }
    }

    /// <summary>Every endpoint whose verdict flipped is marked changed now, so its service answers with the short TTL for a while.</summary>
    private static GslbDns.Gslb.AnswerChanges RecordFlips(ServerSnapshot snapshot, IReadOnlyDictionary<string, bool> health, DateTimeOffset now)
    {
        var changes = snapshot.State.Changes;
        var flipped = GslbDns.Gslb.AnswerChanges.Differing(snapshot.State.Health, health, missing: true).ToList();
        return flipped.Count == 0 ? changes : changes.With(flipped, now, now - snapshot.Gslb.Ttl.ChangeWindow);
    }

    private static bool SameVerdicts(HealthView a, HealthView b)
    {
        if (a.Health.Count != b.Health.Count)
        {
            return false;
        }

        foreach (var (id, healthy) in b.Health)
        {
            if (!a.Health.TryGetValue(id, out var before) || before != healthy)
            {
                return false;
            }
        }

        return true;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "No live prober; keeping the verdicts computed at {Since}")]
    private static partial void LogNoProbers(ILogger logger, DateTimeOffset since);

    /// <summary>The one event per verdict flip, with the quorum that decided it (which probers saw it up, which down).</summary>
    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Endpoint {Endpoint} is {Verdict} ({VotesUp} up, {VotesDown} down of {Voters} live probers; up: {ProbersUp}, down: {ProbersDown})")]
    private static partial void LogVerdict(ILogger logger, string endpoint, string verdict, int votesUp, int votesDown, int voters, string[] probersUp, string[] probersDown);
}
