namespace GslbDns.Probing;

/// <summary>How a <see cref="ProbeScheduler"/> paces its probes and reports.</summary>
public sealed record ProbeSchedulerOptions
{
    /// <summary>Probes in flight at once; more wait their turn, so a burst of timeouts cannot exhaust sockets.</summary>
    public int MaxConcurrency { get; init; } = 64;

    /// <summary>
    /// Each wait between two probes of an endpoint is its interval times a random factor in
    /// [1 - Jitter, 1 + Jitter], and the first probe waits a random share of Jitter x interval: endpoints
    /// drift apart instead of being probed in lockstep bursts. 0 gives exact intervals (tests).
    /// </summary>
    public double Jitter { get; init; } = 0.1;

    /// <summary>How often a report is published (one cycle); null: the shortest check interval, 1 s without checks.</summary>
    public TimeSpan? ReportInterval { get; init; }

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConcurrency, 1, nameof(MaxConcurrency));
        if (Jitter is < 0 or >= 1 || double.IsNaN(Jitter))
        {
            throw new ArgumentOutOfRangeException(nameof(Jitter), Jitter, "must be in [0, 1)");
        }

        if (ReportInterval is { } interval && interval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(ReportInterval), interval, "must be positive");
        }
    }
}
