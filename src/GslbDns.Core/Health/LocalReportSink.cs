using GslbDns.Reports;

namespace GslbDns.Health;

/// <summary>
/// Embedded mode: the in-process prober's reports go straight to the quorum, as a fleet of one.
/// Same rule, same state type as with Consul; only the transport is missing.
/// </summary>
public sealed class LocalReportSink : IReportSink
{
    private readonly HealthStatePublisher _publisher;

    public LocalReportSink(HealthStatePublisher publisher)
    {
        _publisher = publisher;
    }

    public ValueTask PublishAsync(ProberReport report, CancellationToken ct)
    {
        _publisher.OnReports([report]);
        return ValueTask.CompletedTask;
    }
}
