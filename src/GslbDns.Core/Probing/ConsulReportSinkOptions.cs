using GslbDns.Reports;

namespace GslbDns.Probing;

/// <summary>Where and how a <see cref="ConsulReportSink"/> keeps its prober's report in Consul.</summary>
public sealed record ConsulReportSinkOptions
{
    /// <summary>The prober's id: the report lives at <see cref="HealthKeys.ProberReport"/>(<see cref="Prefix"/>, id).</summary>
    public required string ProberId { get; init; }

    public string Prefix { get; init; } = HealthKeys.DefaultPrefix;

    /// <summary>
    /// Session TTL. The report vanishes between 1x and 2x this after the prober stops renewing (crash,
    /// partition), which is the "prober dead" term of the failover budget. Consul's minimum is 10 s unless
    /// the servers lower <c>session_ttl_min</c>.
    /// </summary>
    public TimeSpan SessionTtl { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>First wait after a failed write; doubles (with jitter) on each further failure.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Cap of the backoff: Consul is tried again at least this often while it is down.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(5);

    public string Key => HealthKeys.ProberReport(Prefix, ProberId);

    internal void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(ProberId, nameof(ProberId));
        if (ProberId.Contains('/', StringComparison.Ordinal))
        {
            throw new ArgumentException("a prober id must not contain '/': it is one key under the probers folder", nameof(ProberId));
        }

        ArgumentNullException.ThrowIfNull(Prefix, nameof(Prefix));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(SessionTtl, TimeSpan.Zero, nameof(SessionTtl));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(InitialBackoff, TimeSpan.Zero, nameof(InitialBackoff));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxBackoff, InitialBackoff, nameof(MaxBackoff));
    }
}
