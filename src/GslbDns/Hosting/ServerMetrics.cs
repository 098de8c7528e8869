using System.Net;
using Prometheus;

namespace GslbDns.Server.Hosting;

/// <summary>
/// /metrics for Prometheus. The query path only bumps plain per-thread counters; they are summed
/// here when a scrape arrives, so counting costs the hot path no atomics and no locks.
/// </summary>
internal sealed class ServerMetrics : IDisposable
{
    private static readonly string[] RcodeNames = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"];

    private readonly DnsServer _server;
    private readonly CollectorRegistry _registry = Metrics.NewCustomRegistry();
    private readonly MetricServer _http;
    private readonly Counter _responses;
    private readonly Counter _truncated;
    private readonly Counter _dropped;
    private readonly Gauge _zones;
    private readonly Gauge _snapshotAge;
    private readonly Gauge _tcpConnections;
    private readonly Counter _tcpRejected;
    private readonly Gauge _stateAge;
    private readonly Gauge _liveProbers;
    private readonly Gauge _endpointsDown;
    private readonly Gauge _geoIpLoaded;

    public ServerMetrics(DnsServer server, IPEndPoint endPoint)
    {
        _server = server;
        var factory = Metrics.WithCustomRegistry(_registry);
        _responses = factory.CreateCounter("gslbdns_responses_total", "DNS responses sent, by RCODE.", "rcode");
        _truncated = factory.CreateCounter("gslbdns_truncated_total", "UDP responses sent with TC set.");
        _dropped = factory.CreateCounter("gslbdns_dropped_total", "Packets dropped without an answer (responses sent to us, runts, internal errors).");
        _zones = factory.CreateGauge("gslbdns_zones", "Zones being served.");
        _snapshotAge = factory.CreateGauge("gslbdns_snapshot_age_seconds", "Age of the state snapshot answers are built from.");
        _tcpConnections = factory.CreateGauge("gslbdns_tcp_connections", "Open DNS-over-TCP connections.");
        _tcpRejected = factory.CreateCounter("gslbdns_tcp_rejected_total", "TCP connections closed at once because the connection cap was reached.");
        _stateAge = factory.CreateGauge("gslbdns_state_age_seconds", "Age of the health state answers use (time since the last prober data was read).");
        _liveProbers = factory.CreateGauge("gslbdns_live_probers", "Probers whose reports currently vote.");
        _endpointsDown = factory.CreateGauge("gslbdns_endpoints_down", "Endpoints a quorum of live probers sees down.");
        _geoIpLoaded = factory.CreateGauge("gslbdns_geoip_loaded", "1 when a GeoIP database is loaded; 0 when none was found, so clients outside the geo-data overrides get the default location.");
        _registry.AddBeforeCollectCallback(Collect);
        _http = new MetricServer(GslbDns.Hosting.HttpListenerHost.Of(endPoint.Address), endPoint.Port, "metrics/", _registry);
    }

    public void Start() => _http.Start();

    private void Collect()
    {
        var byRcode = new long[24];
        long truncated = 0, dropped = 0;
        foreach (var udp in _server.UdpListeners)
        {
            foreach (var context in udp.Contexts)
            {
                Add(context.Counters, byRcode, ref truncated, ref dropped);
            }
        }

        foreach (var tcp in _server.TcpListeners)
        {
            lock (tcp.Counters)
            {
                Add(tcp.Counters, byRcode, ref truncated, ref dropped);
            }
        }

        for (var i = 0; i < byRcode.Length; i++)
        {
            if (byRcode[i] > 0)
            {
                var name = i < RcodeNames.Length ? RcodeNames[i] : i == 16 ? "BADVERS" : i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                _responses.WithLabels(name).IncTo(byRcode[i]);
            }
        }

        _truncated.IncTo(truncated);
        _dropped.IncTo(dropped);
        var snapshot = _server.Snapshots.Current;
        _zones.Set(snapshot.Zones.Count);
        _snapshotAge.Set((DateTimeOffset.UtcNow - snapshot.BuiltAt).TotalSeconds);
        _tcpConnections.Set(_server.TcpListeners.Sum(t => t.ActiveConnections));
        _tcpRejected.IncTo(_server.TcpListeners.Sum(t => t.Rejected));
        _stateAge.Set(snapshot.State.AsOf == DateTimeOffset.UnixEpoch ? -1 : (DateTimeOffset.UtcNow - snapshot.State.AsOf).TotalSeconds);
        var view = _server.HealthPublisher.Current;
        _liveProbers.Set(view.LiveProbers.Count);
        _endpointsDown.Set(view.Health.Count(h => !h.Value));
        _geoIpLoaded.Set(_server.Builder.GeoIpLoaded ? 1 : 0);
    }

    private static void Add(Query.QueryCounters counters, long[] byRcode, ref long truncated, ref long dropped)
    {
        for (var i = 0; i < byRcode.Length; i++)
        {
            byRcode[i] += counters.ByRcode[i];
        }

        truncated += counters.Truncated;
        dropped += counters.Dropped;
    }

    public void Dispose() => _http.Dispose();
}
