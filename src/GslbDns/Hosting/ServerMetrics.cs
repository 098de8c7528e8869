using System.Net;
using Prometheus;

namespace GslbDns.Server.Hosting;

/// <summary>
/// /metrics (Prometheus), /healthz and /readyz of the DNS server. The query path only bumps plain per-thread
/// counters; they are summed here when a scrape arrives, so counting costs the hot path no atomics and no locks.
/// Series and labels: README.md of this folder's project (the table under "Metrics").
/// </summary>
internal sealed class ServerMetrics : IDisposable
{
    private readonly DnsServer _server;
    private readonly CollectorRegistry _registry = Metrics.NewCustomRegistry();
    private readonly GslbDns.Observability.OpsHttpServer _http;
    private readonly GslbDns.Observability.DnsStatsExporter _dns;
    private readonly GslbDns.Observability.GslbStateExporter _gslb;
    private readonly GslbDns.Observability.HostResolutionExporter _hosts;
    private readonly Counter _reloads;
    private readonly Counter _watchErrors;
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
    private readonly Counter _rateLimited;
    private readonly Counter _slipped;
    private readonly Counter _validCookies;
    private readonly Gauge _gcHeap;
    private readonly Counter _gcAllocated;
    private readonly Counter _tcpRejectedPerClient;
    private readonly Counter _tcpEvicted;
    private readonly DnssecMetrics _dnssec;

    public ServerMetrics(DnsServer server, IPEndPoint endPoint)
    {
        _server = server;
        var factory = Metrics.WithCustomRegistry(_registry);
        GslbDns.Observability.BuildInfo.Register(factory);
        _dns = new GslbDns.Observability.DnsStatsExporter(factory);
        _gslb = new GslbDns.Observability.GslbStateExporter(factory);
        _hosts = new GslbDns.Observability.HostResolutionExporter(factory);
        _reloads = factory.CreateCounter("gslbdns_reloads_total", "Zone and GSLB config (re)loads, the first included, by result (success; failure: an error was reported and the last good version kept).", "result");
        _watchErrors = factory.CreateCounter("gslbdns_consul_watch_errors_total", "Failed Consul reads, by watch (health: prober reports; state: operator state), each followed by a backoff.", "watch");
        _truncated = factory.CreateCounter("gslbdns_truncated_total", "UDP responses sent with TC set.", "server");
        _dropped = factory.CreateCounter("gslbdns_dropped_total", "Packets dropped without an answer (responses sent to us, runts, internal errors).", "server");
        _zones = factory.CreateGauge("gslbdns_zones", "Zones being served.");
        _snapshotAge = factory.CreateGauge("gslbdns_snapshot_age_seconds", "Age of the state snapshot answers are built from.");
        _tcpConnections = factory.CreateGauge("gslbdns_tcp_connections", "Open DNS-over-TCP connections.");
        _tcpRejected = factory.CreateCounter("gslbdns_tcp_rejected_total", "TCP connections closed at once because the connection cap was reached.");
        _stateAge = factory.CreateGauge("gslbdns_state_age_seconds", "Age of the health state answers use (time since the last prober data was read).");
        _liveProbers = factory.CreateGauge("gslbdns_live_probers", "Probers whose reports currently vote.");
        _endpointsDown = factory.CreateGauge("gslbdns_endpoints_down", "Endpoints a quorum of live probers sees down.");
        _geoIpLoaded = factory.CreateGauge("gslbdns_geoip_loaded", "1 when a GeoIP database is loaded; 0 when none was found, so clients outside the geo-data overrides get the default location.");
        _rateLimited = factory.CreateCounter("gslbdns_rrl_limited_total", "UDP replies response rate limiting withheld (not sent at all; slipped ones are counted apart).", "server");
        _slipped = factory.CreateCounter("gslbdns_rrl_slipped_total", "Rate-limited UDP replies sent as a small truncated (or BADCOOKIE) reply so a real client retries.", "server");
        _validCookies = factory.CreateCounter("gslbdns_cookies_valid_total", "Queries carrying a valid server cookie (exempt from rate limiting).", "server");
        _gcHeap = factory.CreateGauge("gslbdns_gc_heap_bytes", "Bytes the managed heap holds now, garbage not yet collected included (GC.GetTotalMemory).");
        _gcAllocated = factory.CreateCounter("gslbdns_gc_allocated_bytes_total", "Bytes allocated on the managed heap since start, by every thread (the query path should add none).");
        _tcpRejectedPerClient = factory.CreateCounter("gslbdns_tcp_rejected_per_client_total", "TCP connections closed at once because their client address had its share of connections.");
        _tcpEvicted = factory.CreateCounter("gslbdns_tcp_evicted_total", "TCP connections waiting for input that were closed to make room for a new one at the cap.");
        _dnssec = new DnssecMetrics(factory);
        _registry.AddBeforeCollectCallback(Collect);
        _http = new GslbDns.Observability.OpsHttpServer(endPoint, _registry, server.Readiness);
    }

    public void Start() => _http.Start();

    private void Collect()
    {
        _dns.Collect(_server.UdpListeners.Select(u => u.Stats).Concat(_server.TcpListeners.Select(t => t.Stats)));
        // Per listener address (CoreDNS's server label): its UDP threads' counters and its TCP connections'.
        var byServer = new Dictionary<string, Query.QueryCounters>(StringComparer.Ordinal);
        foreach (var udp in _server.UdpListeners)
        {
            var totals = Totals(byServer, udp.Stats.Server);
            foreach (var context in udp.Contexts)
            {
                totals.Add(context.Counters);
            }
        }

        foreach (var tcp in _server.TcpListeners)
        {
            var totals = Totals(byServer, tcp.Stats.Server);
            lock (tcp.Counters)
            {
                totals.Add(tcp.Counters);
            }
        }

        foreach (var (server, totals) in byServer)
        {
            _truncated.WithLabels(server).IncTo(totals.Truncated);
            _dropped.WithLabels(server).IncTo(totals.Dropped);
            _rateLimited.WithLabels(server).IncTo(totals.RateLimited);
            _slipped.WithLabels(server).IncTo(totals.Slipped);
            _validCookies.WithLabels(server).IncTo(totals.ValidCookies);
        }

        _gcHeap.Set(GC.GetTotalMemory(forceFullCollection: false));
        _gcAllocated.IncTo(GC.GetTotalAllocatedBytes(precise: false));
        var snapshot = _server.Snapshots.Current;
        _zones.Set(snapshot.Zones.Count);
        _snapshotAge.Set((DateTimeOffset.UtcNow - snapshot.BuiltAt).TotalSeconds);
        _tcpConnections.Set(_server.TcpListeners.Sum(t => t.ActiveConnections));
        _tcpRejected.IncTo(_server.TcpListeners.Sum(t => t.Rejected));
        _tcpRejectedPerClient.IncTo(_server.TcpListeners.Sum(t => t.RejectedPerClient));
        _tcpEvicted.IncTo(_server.TcpListeners.Sum(t => t.Evicted));
        _stateAge.Set(snapshot.State.AsOf == DateTimeOffset.UnixEpoch ? -1 : (DateTimeOffset.UtcNow - snapshot.State.AsOf).TotalSeconds);
        var view = _server.HealthPublisher.Current;
        _liveProbers.Set(view.LiveProbers.Count);
        _endpointsDown.Set(view.Health.Count(h => !h.Value));
        _geoIpLoaded.Set(_server.Builder.GeoIpLoaded ? 1 : 0);
        _gslb.Collect(snapshot, view, DateTimeOffset.UtcNow);
        _hosts.Collect(snapshot.Hosts, DateTimeOffset.UtcNow);
        _dnssec.Collect(snapshot, _server.DnssecView());
        _reloads.WithLabels("success").IncTo(_server.Builder.ReloadsSucceeded);
        _reloads.WithLabels("failure").IncTo(_server.Builder.ReloadsFailed);
        if (_server.ConsulWatchErrors is { } errors)
        {
            _watchErrors.WithLabels("health").IncTo(errors.Health);
            _watchErrors.WithLabels("state").IncTo(errors.State);
        }
    }

    private static Query.QueryCounters Totals(Dictionary<string, Query.QueryCounters> byServer, string server) =>
        byServer.TryGetValue(server, out var totals) ? totals : byServer[server] = new Query.QueryCounters();

    public void Dispose() => _http.Dispose();
}
