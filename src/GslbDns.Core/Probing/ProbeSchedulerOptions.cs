namespace GslbDns.Probing;

/// <summary>How a <see cref="ProbeScheduler"/> paces its probes and reports.</summary>
public sealed record ProbeSchedulerOptions
{
    /// <summary>Probes in flight at once; more wait their turn, so a burst of timeouts cannot exhaust sockets.</summary>
    public int MaxConcurrency { get; init; } = 64;

    /// <summary>
    /// Each wait between two probes of an endpoint is its interval times a random factor in
    /// [1 - Jitter, 1], and the first probe waits a random share of Jitter x interval: endpoints
    /// drift apart instead of being probed in lockstep bursts, yet no wait is longer than the interval, so the
    /// interval bounds how long an outage goes unprobed. 0 gives exact intervals (tests).
    /// </summary>
    public double Jitter { get; init; } = 0.1;

    /// <summary>How often a report is published (one cycle); null: the shortest check interval, 1 s without checks.</summary>
    public TimeSpan? ReportInterval { get; init; }

    /// <summary>
    /// While an endpoint is suspect (still up, but its latest probes failed, fewer than the failure threshold) it is
    /// probed again after this share of its interval instead of a whole one, until it is confirmed down or a probe
    /// succeeds. The threshold is unchanged, so one lost probe still changes nothing; what shrinks is the time a real
    /// outage takes to be confirmed: 1 interval + (threshold - 1) x interval x SuspectRecheck instead of threshold x
    /// interval (1.5 s instead of 3 s with the defaults). An endpoint coming back is confirmed at the normal pace.
    /// 1 turns it off. A probe still running after this share of the interval makes the endpoint suspect too, so a silent endpoint gets its re-checks without waiting for
    /// each probe's timeout (see <see cref="ProbePacing"/>).
    /// </summary>
    public double SuspectRecheck { get; init; } = 0.25;

    /// <summary>
    /// Probes of one suspect endpoint in flight at once. With the defaults (re-check every 250 ms, timeout 800 ms) a silent
    /// endpoint has at most 4; 1 turns overlapping probes off (each re-check waits for the previous probe to finish).
    /// </summary>
    public int MaxInFlightPerEndpoint { get; init; } = 4;

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConcurrency, 1, nameof(MaxConcurrency));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxInFlightPerEndpoint, 1, nameof(MaxInFlightPerEndpoint));
        if (Jitter is < 0 or >= 1 || double.IsNaN(Jitter))
        {
            throw new ArgumentOutOfRangeException(nameof(Jitter), Jitter, "must be in [0, 1)");
        }

        if (SuspectRecheck is <= 0 or > 1 || double.IsNaN(SuspectRecheck))
        {
            throw new ArgumentOutOfRangeException(nameof(SuspectRecheck), SuspectRecheck, "must be in (0, 1]");
        }

        if (ReportInterval is { } interval && interval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(ReportInterval), interval, "must be positive");
        }
    }
}
