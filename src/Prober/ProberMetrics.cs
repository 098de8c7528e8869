using System.Net;
using GslbDns.Probing;
using Prometheus;
using GslbDns.Reports;

namespace GslbDns.Prober;

/// <summary>
/// /metrics, /healthz and /readyz of the prober: probes by endpoint, result and reason, probe latency by check
/// type, the RTT matrix as a histogram (this prober's region by data center), each endpoint's verdict and smoothed
/// RTT, and how the Consul report is doing. Per-endpoint series of endpoints that a reload removed are dropped,
/// so dashboards do not show ghosts. Ready once the report has been written to Consul and is being kept fresh.
/// </summary>
internal sealed class ProberMetrics : IProbeObserver, IDisposable
{
    private readonly CollectorRegistry _registry = Metrics.NewCustomRegistry();
    private readonly GslbDns.Observability.OpsHttpServer _http;
    private readonly GslbDns.Observability.Readiness _readiness = new();
    private readonly string _region;
    private readonly TimeSpan _writeMaxAge;
    private readonly Counter _probes;
    private readonly Histogram _duration;
    private readonly Histogram _rttMatrix;
    private readonly Counter _verdictChanges;
    private readonly Gauge _up;
    private readonly Gauge _rtt;
    private readonly Gauge _endpoints;
    private readonly Counter _reports;
    private readonly Counter _consulWrites;
    private readonly Counter _consulFailures;
    private readonly Gauge _consulWriteAge;
    private readonly Gauge _consulSession;
    private readonly Lock _seenLock = new();
    private HashSet<string> _seen = new(StringComparer.Ordinal);
    private ProbeScheduler? _scheduler;
    private ConsulReportSink? _sink;

    /// <param name="region">This prober's region: the row of the RTT matrix it measures.</param>
    /// <param name="sessionTtl">The report's session TTL: a report not written for three of them is not being kept fresh.</param>
    public ProberMetrics(IPEndPoint endPoint, string region, TimeSpan sessionTtl)
    {
        _region = region;
        _writeMaxAge = 3 * sessionTtl;
        var factory = Metrics.WithCustomRegistry(_registry);
        GslbDns.Observability.BuildInfo.Register(factory);
        _probes = factory.CreateCounter("gslbdns_prober_probes_total", "Probes finished, by endpoint, result (success, failure) and reason (ok, timeout, refused, network, tls, http_status, http_body, dns_rcode, dns_no_answer, config, error).", "endpoint", "result", "reason");
        _rttMatrix = factory.CreateHistogram("gslbdns_prober_rtt_seconds", "Time of successful probes, by this prober's region and the endpoint's data center: the RTT matrix the latency policy uses.", new HistogramConfiguration
        {
            LabelNames = ["region", "datacenter"],
            Buckets = Histogram.ExponentialBuckets(0.0005, 2, 14),
        });
        _duration = factory.CreateHistogram("gslbdns_prober_probe_duration_seconds", "Probe duration (connect to verdict), by check type.", new HistogramConfiguration
        {
            LabelNames = ["type", "result"],
            Buckets = Histogram.ExponentialBuckets(0.0005, 2, 16),
        });
        _verdictChanges = factory.CreateCounter("gslbdns_prober_verdict_changes_total", "Times an endpoint's verdict flipped, by endpoint and new verdict.", "endpoint", "verdict");
        _up = factory.CreateGauge("gslbdns_prober_endpoint_up", "This prober's verdict (after hysteresis): 1 up, 0 down.", "endpoint");
        _rtt = factory.CreateGauge("gslbdns_prober_endpoint_rtt_seconds", "Smoothed (EWMA) RTT of successful probes.", "endpoint");
        _endpoints = factory.CreateGauge("gslbdns_prober_endpoints", "Endpoints being probed.");
        _reports = factory.CreateCounter("gslbdns_prober_reports_total", "Reports handed to the Consul writer.");
        _consulWrites = factory.CreateCounter("gslbdns_prober_consul_writes_total", "Reports written to Consul.");
        _consulFailures = factory.CreateCounter("gslbdns_prober_publish_errors_total", "Failed attempts to publish the report to Consul (session create or renew, or the write; each followed by a backoff).");
        _consulWriteAge = factory.CreateGauge("gslbdns_prober_consul_last_write_age_seconds", "Seconds since the report was last written to Consul (-1: never).");
        _consulSession = factory.CreateGauge("gslbdns_prober_consul_session", "1 while a Consul session holds the report.");
        _registry.AddBeforeCollectCallback(Collect);
        _http = new GslbDns.Observability.OpsHttpServer(endPoint, _registry, _readiness);
    }

    /// <summary>Starts serving; throws <see cref="HttpListenerException"/> when the address cannot be bound.</summary>
    public void Start(ProbeScheduler scheduler, ConsulReportSink sink)
    {
        _scheduler = scheduler;
        _sink = sink;
        _readiness.Add("config", () => scheduler.Targets.Count > 0 ? null : "no endpoint with a health check in the config");
        _readiness.Add("consul_report", () => sink.LastWriteAt is not { } at ? "the report has not been written to Consul yet"
            : DateTimeOffset.UtcNow - at > _writeMaxAge ? $"the report was last written to Consul {(DateTimeOffset.UtcNow - at).TotalSeconds:0} s ago (limit {_writeMaxAge.TotalSeconds:0} s)"
            : null);
        _http.Start();
    }

    public void OnProbeCompleted(ProbeTarget target, ProbeOutcome outcome, EndpointObservation observation, bool verdictChanged)
    {
        var result = outcome.Success ? "success" : "failure";
        _probes.WithLabels(target.EndpointId, result, outcome.Reason).Inc();
        _duration.WithLabels(target.Check.Type, result).Observe(outcome.Elapsed.TotalSeconds);
        if (outcome.Success)
        {
            _rttMatrix.WithLabels(_region, target.DataCenter).Observe(outcome.Elapsed.TotalSeconds);
        }
        if (verdictChanged)
        {
            _verdictChanges.WithLabels(target.EndpointId, observation.Up ? "up" : "down").Inc();
        }
    }

    public void Dispose() => _http.Dispose();

    private void Collect()
    {
        if (_scheduler is { } scheduler)
        {
            var report = scheduler.CurrentReport();
            var ids = scheduler.Targets.Select(t => t.EndpointId).ToHashSet(StringComparer.Ordinal);
            _endpoints.Set(ids.Count);
            foreach (var (id, observation) in report.Endpoints)
            {
                _up.WithLabels(id).Set(observation.Up ? 1 : 0);
                if (observation.RttMs is { } rtt)
                {
                    _rtt.WithLabels(id).Set(rtt / 1000);
                }
            }

            RemoveDeparted(ids);
            _reports.IncTo(scheduler.ReportsPublished);
        }

        if (_sink is { } sink)
        {
            _consulWrites.IncTo(sink.Writes);
            _consulFailures.IncTo(sink.Failures);
            _consulWriteAge.Set(sink.LastWriteAt is { } at ? (DateTimeOffset.UtcNow - at).TotalSeconds : -1);
            _consulSession.Set(sink.SessionId is null ? 0 : 1);
        }
    }

    private void RemoveDeparted(HashSet<string> current)
    {
        lock (_seenLock)
        {
            foreach (var id in _seen)
            {
                if (current.Contains(id))
                {
                    continue;
                }

                _up.RemoveLabelled(id);
                _rtt.RemoveLabelled(id);
                foreach (var result in (string[])["success", "failure"])
                {
                    foreach (var reason in ProbeReasons.All)
                    {
                        _probes.RemoveLabelled(id, result, reason);
                    }
                }

                foreach (var verdict in (string[])["up", "down"])
                {
                    _verdictChanges.RemoveLabelled(id, verdict);
                }
            }

            _seen = current;
        }
    }
}
