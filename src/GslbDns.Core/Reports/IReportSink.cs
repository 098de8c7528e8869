namespace GslbDns.Reports;

/// <summary>
/// Where a prober sends its report after each probe cycle (Consul, the embedded store, a test).
/// Implementations should return quickly: the prober's scheduler awaits the call before the next cycle's report.
/// </summary>
public interface IReportSink
{
    ValueTask PublishAsync(ProberReport report, CancellationToken ct);
}
