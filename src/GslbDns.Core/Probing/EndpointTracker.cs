using GslbDns.Reports;

namespace GslbDns.Probing;

/// <summary>
/// One endpoint's verdict with hysteresis, and its smoothed RTT. A single failed probe is noise, a single
/// success after an outage may be a flap: <see cref="Up"/> turns false only after
/// <c>failureThreshold</c> consecutive failures and true again only after <c>successThreshold</c>
/// consecutive successes. Thread-safe; a probe loop records while the report builder reads.
/// </summary>
public sealed class EndpointTracker
{
    /// <summary>EWMA weight of the newest sample: reacts within a few probes, yet one slow answer moves it by less than a third.</summary>
    public const double RttAlpha = 0.3;

    private readonly Lock _lock = new();
    private int _failureThreshold;
    private int _successThreshold;

    // A new endpoint starts up (fail open): the DNS server should not drop it before any evidence.
    private bool _up = true;
    private int _failures;
    private int _successes;
    private double? _rttMs;
    private DateTimeOffset? _checkedAt;
    private string? _error;
    private double? _load;

    // Probes started up to this number began before the last flip and no longer count (see Record).
    private long _staleUpTo;
    private long _sequence;

    public EndpointTracker(int failureThreshold, int successThreshold)
    {
        SetThresholds(failureThreshold, successThreshold);
    }

    public bool Up
    {
        get
        {
            lock (_lock)
            {
                return _up;
            }
        }
    }

    /// <summary>
    /// Still up, but the latest probes failed (fewer than the failure threshold): the scheduler probes a suspect
    /// endpoint again sooner (<see cref="ProbeSchedulerOptions.SuspectRecheck"/>) until it is confirmed down or recovers.
    /// </summary>
    public static bool IsSuspect(EndpointObservation observation)
    {
        ArgumentNullException.ThrowIfNull(observation);
        return observation.Up && observation.ConsecutiveFailures > 0;
    }

    /// <summary>What the probe pacing needs: the verdict and the failure streak.</summary>
    public (bool Up, int ConsecutiveFailures) Pace
    {
        get
        {
            lock (_lock)
            {
                return (_up, _failures);
            }
        }
    }

    /// <summary>
    /// The first probe has finished and the endpoint is not suspect: either it is up with no failure streak, or it is
    /// confirmed down. Start-up waits for this so the first answers do not guess.
    /// </summary>
    public bool Settled
    {
        get
        {
            lock (_lock)
            {
                return _checkedAt is not null && (!_up || _failures == 0);
            }
        }
    }

    /// <summary>Null until the first probe finished: there is nothing true to report before that.</summary>
    public EndpointObservation? Observation
    {
        get
        {
            lock (_lock)
            {
                return _checkedAt is { } at ? Observe(at) : null;
            }
        }
    }

    /// <summary>
    /// New thresholds from a config reload. Streaks and verdict are kept; the new thresholds decide from the
    /// next probe on, so a reload alone never flips a verdict.
    /// </summary>
    public void SetThresholds(int failureThreshold, int successThreshold)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(failureThreshold, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(successThreshold, 1);
        lock (_lock)
        {
            _failureThreshold = failureThreshold;
            _successThreshold = successThreshold;
        }
    }

    /// <summary>Applies one probe (probes that never overlap); returns the observation after it and whether the verdict flipped.</summary>
    public (EndpointObservation Observation, bool VerdictChanged) Record(ProbeOutcome outcome)
    {
        lock (_lock)
        {
            var sequence = ++_sequence;
            var (observation, changed, _) = Record(outcome, sequence, sequence);
            return (observation, changed);
        }
    }

    /// <summary>
    /// Applies one probe of an endpoint whose probes may overlap (a suspect endpoint is re-checked before the previous
    /// probe timed out). They count in the order they finish, each under the lock, so a streak is always a run of
    /// consecutive completions. A probe that started before the verdict last flipped is evidence about the state
    /// before the flip: it is not counted (<c>Counted</c> false, the observation unchanged), so a straggler cannot
    /// start the way back, and coming back still takes <c>successThreshold</c> probes started after going down.
    /// </summary>
    /// <param name="sequence">The probe's start number (1, 2, ... in start order).</param>
    /// <param name="startedSoFar">The highest start number handed out so far (read when the probe finished).</param>
    public (EndpointObservation Observation, bool VerdictChanged, bool Counted) Record(ProbeOutcome outcome, long sequence, long startedSoFar)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        lock (_lock)
        {
            if (sequence <= _staleUpTo && _checkedAt is { } at)
            {
                return (Observe(at), false, false);
            }

            var wasUp = _up;
            if (outcome.Success)
            {
                _successes++;
                _failures = 0;
                _error = null;
                _load = outcome.Load;
                var sample = outcome.Elapsed.TotalMilliseconds;
                _rttMs = _rttMs is { } previous ? (RttAlpha * sample) + ((1 - RttAlpha) * previous) : sample;
                if (!_up && _successes >= _successThreshold)
                {
                    _up = true;
                }
            }
            else
            {
                _failures++;
                _successes = 0;
                _error = outcome.Error ?? "failed";
                if (_up && _failures >= _failureThreshold)
                {
                    _up = false;
                }
            }

            if (wasUp != _up)
            {
                _staleUpTo = Math.Max(_staleUpTo, startedSoFar);
            }

            _checkedAt = outcome.CompletedAt;
            return (Observe(outcome.CompletedAt), wasUp != _up, true);
        }
    }

    private EndpointObservation Observe(DateTimeOffset checkedAt) => new(_up, _failures, _successes, _rttMs, checkedAt, _error) { Load = _load };
}
