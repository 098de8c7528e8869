using GslbDns.Health;

namespace GslbDns.Probing;

/// <summary>
/// Where a <see cref="ProbeScheduler"/> sends its report after each cycle (Consul, the embedded store, a test).
/// Implementations should return quickly: the scheduler awaits the call before the next cycle's report.
/// </summary>
public interface IReportSink
{
    ValueTask PublishAsync(ProberReport report, CancellationToken ct);
}
