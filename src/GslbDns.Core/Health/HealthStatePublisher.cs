using GslbDns.Gslb;
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

    /// <summary>The quorum kept from report to report (under the lock), for the config's endpoint slots.</summary>
    private QuorumTally? _tally;

    /// <summary>The health of the tally's previous freeze: while the state still holds it, only the changed slots can have flipped.</summary>
    private ProbedHealth? _lastFrozen;

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
        var slots = _snapshots.Current.Gslb.Slots;
        if (_tally is null || !ReferenceEquals(_tally.Slots, slots))
        {
            // A new config (or the first reports): count the reports kept afresh under its endpoint slots.
            _tally = new QuorumTally(_snapshots.Current.Gslb);
            _lastFrozen = null;
        }

        _tally.Apply(_reports, now, _staleAfter);
        if (_tally.LiveProberCount == 0)
        {
            if (Current.LiveProbers.Count > 0)
            {
                LogNoProbers(_logger, Current.ComputedAt);
            }

            Current = Current with { LiveProbers = [] };
            return;
        }

        var (view, changed) = _tally.Freeze(now);
        var health = (ProbedHealth)view.Health;
        var incrementalBase = _lastFrozen;
        _lastFrozen = health;
        Current = view;

        // The first verdicts change nothing anyone has cached (start-up answers wait for them); later flips shorten the TTL.
        var recordFlips = _published;
        _published = true;
        IReadOnlyList<string> flipped = [];
        _snapshots.Update(s =>
        {
            // A reload may have swapped in another config since the tally read it: publish under the slots it has now.
            var installed = health.RemapTo(s.Gslb.Slots);
            flipped = ReferenceEquals(installed, health) && incrementalBase is not null && ReferenceEquals(s.State.Health, incrementalBase)
                ? Flipped(incrementalBase, health, changed)
                : [.. AnswerChanges.Differing(s.State.Health, installed, missing: true)];
            return s with
            {
                State = s.State with
                {
                    Health = installed,
                    Tallies = installed.Tallies,
                    ProbedLoads = installed.Loads,
                    MeasuredRtt = view.Rtt,
                    AsOf = now,
                    Changes = recordFlips && flipped.Count > 0 ? s.State.Changes.With(flipped, now, now - s.Gslb.Ttl.ChangeWindow) : s.State.Changes,
                },
            };
        });

        foreach (var id in flipped)
        {
            if (view.Verdicts.TryGetValue(id, out var verdict))
            {
                LogVerdict(
                    _logger, id, verdict.Healthy ? "up" : "down", verdict.Voters - verdict.Down, verdict.Down, verdict.Voters,
                    [.. verdict.ByProber.Where(static v => v.Value).Select(static v => v.Key).Order(StringComparer.Ordinal)],
                    [.. verdict.ByProber.Where(static v => !v.Value).Select(static v => v.Key).Order(StringComparer.Ordinal)]);
            }
        }
    }

    /// <summary>The endpoints among <paramref name="changed"/> whose verdict differs (no verdict counts as healthy, as answers read it).</summary>
    private static List<string> Flipped(ProbedHealth before, ProbedHealth after, int[] changed)
    {
        var flipped = new List<string>();
        foreach (var slot in changed)
        {
            var was = before.TallyAt(slot);
            var now = after.TallyAt(slot);
            if ((was.Voters == 0 || was.Healthy) != (now.Voters == 0 || now.Healthy))
            {
                flipped.Add(after.Slots.IdAt(slot));
            }
        }

        return flipped;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "No live prober; keeping the verdicts computed at {Since}")]
    private static partial void LogNoProbers(ILogger logger, DateTimeOffset since);

    /// <summary>The one event per verdict flip, with the quorum that decided it (which probers saw it up, which down).</summary>
    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Endpoint {Endpoint} is {Verdict} ({VotesUp} up, {VotesDown} down of {Voters} live probers; up: {ProbersUp}, down: {ProbersDown})")]
    private static partial void LogVerdict(ILogger logger, string endpoint, string verdict, int votesUp, int votesDown, int voters, string[] probersUp, string[] probersDown);
}
