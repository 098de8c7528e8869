using GslbDns.Gslb;
using GslbDns.Health;
using GslbDns.Query;
using Prometheus;

namespace GslbDns.Observability;

/// <summary>
/// The GSLB series read from the serving snapshot and the quorum view at scrape time: each endpoint's health as
/// answers see it (1 healthy, 0 unhealthy, 2 drained or evacuated by a drill), the quorum votes behind each
/// verdict, and drills by state. Series of endpoints a reload removed are dropped, so dashboards show no ghosts.
/// </summary>
public sealed class GslbStateExporter
{
    private readonly Lock _lock = new();
    private readonly Gauge _health;
    private readonly Gauge _votes;
    private readonly Gauge _drills;
    private readonly Gauge _feedUp;
    private readonly Gauge _feedLoad;
    private readonly Gauge _feedExpires;
    private HashSet<(string Service, string DataCenter, string Endpoint)> _seen = [];

    public GslbStateExporter(MetricFactory factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        _health = factory.CreateGauge("gslbdns_gslb_endpoint_health", "Each endpoint as answers use it now: 1 healthy, 0 unhealthy (quorum or forced), 2 drained (endpoint or data center) or evacuated by a running drill.", "service", "datacenter", "endpoint");
        _votes = factory.CreateGauge("gslbdns_gslb_quorum_votes", "Live probers' votes behind each endpoint's verdict, by verdict (up, down); absent for endpoints no live prober checks.", "service", "datacenter", "endpoint", "verdict");
        _feedUp = factory.CreateGauge("gslbdns_feed_up", "Each endpoint's live external feed vote (PUT .../feed): 1 up, 0 down; absent when no unexpired feed votes.", "service", "datacenter", "endpoint");
        _feedLoad = factory.CreateGauge("gslbdns_feed_load", "Each endpoint's live external feed load figure, in the unit of its capacity; absent when no unexpired feed carries one.", "service", "datacenter", "endpoint");
        _feedExpires = factory.CreateGauge("gslbdns_feed_expires_seconds", "Seconds until each endpoint's external feed expires; absent when it has none or it has expired.", "service", "datacenter", "endpoint");
        _drills = factory.CreateGauge("gslbdns_drills", "Drills whose evacuation windows this server holds, by state (scheduled: window not begun; running: in its window).", "state");
    }

    public void Collect(ServerSnapshot snapshot, HealthView view, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(view);
        lock (_lock)
        {
            var state = snapshot.State;
            var current = new HashSet<(string, string, string)>();
            foreach (var service in snapshot.Gslb.Services.Values)
            {
                var name = MetricSlots.ServiceLabel(service);
                for (var index = 0; index < service.Endpoints.Count; index++)
                {
                    var endpoint = service.Endpoints[index];
                    var labels = (name, endpoint.DataCenter, endpoint.Id);
                    current.Add(labels);
                    var drained = state.Drained.Contains(endpoint.Id) || state.Drained.Contains(endpoint.DataCenter)
                        || (state.Evacuated.TryGetValue(endpoint.DataCenter, out var window) && window.Covers(now));
                    _health.WithLabels(name, endpoint.DataCenter, endpoint.Id).Set(drained ? 2 : CalculatedHealth.IsUsable(service, index, state, now, snapshot.Hosts) ? 1 : 0);
                    CollectFeed(state, endpoint, name, now);
                    // The tallies, not the verdicts: those are made per lookup with their per-prober votes, which a scrape does not need.
                    if (view.Tallies.TryGetValue(endpoint.Id, out var tally))
                    {
                        _votes.WithLabels(name, endpoint.DataCenter, endpoint.Id, "up").Set(tally.Voters - tally.Down);
                        _votes.WithLabels(name, endpoint.DataCenter, endpoint.Id, "down").Set(tally.Down);
                    }
                    else
                    {
                        // No live prober checks it (no health check, or no prober): no votes, rather than a misleading 0.
                        _votes.RemoveLabelled(name, endpoint.DataCenter, endpoint.Id, "up");
                        _votes.RemoveLabelled(name, endpoint.DataCenter, endpoint.Id, "down");
                    }
                }
            }

            foreach (var (service, dataCenter, endpoint) in _seen)
            {
                if (!current.Contains((service, dataCenter, endpoint)))
                {
                    _health.RemoveLabelled(service, dataCenter, endpoint);
                    _votes.RemoveLabelled(service, dataCenter, endpoint, "up");
                    _votes.RemoveLabelled(service, dataCenter, endpoint, "down");
                    _feedUp.RemoveLabelled(service, dataCenter, endpoint);
                    _feedLoad.RemoveLabelled(service, dataCenter, endpoint);
                    _feedExpires.RemoveLabelled(service, dataCenter, endpoint);
                }
            }

            _seen = current;
            var windows = state.Evacuated.Values.DistinctBy(w => w.DrillId).ToList();
            _drills.WithLabels("running").Set(windows.Count(w => w.Covers(now)));
            _drills.WithLabels("scheduled").Set(windows.Count(w => w.Start > now));
        }
    }

    private void CollectFeed(GslbDns.Gslb.GslbState state, GslbDns.Gslb.Endpoint endpoint, string service, DateTimeOffset now)
    {
        var feed = state.Feeds.TryGetValue(endpoint.Id, out var found) && found.IsLive(now) ? found : null;
        Set(_feedUp, feed?.Up is { } up ? (up ? 1 : 0) : null);
        Set(_feedLoad, feed?.Load);
        Set(_feedExpires, feed is null ? null : (feed.Expires - now).TotalSeconds);

        void Set(Gauge gauge, double? value)
        {
            if (value is { } v)
            {
                gauge.WithLabels(service, endpoint.DataCenter, endpoint.Id).Set(v);
            }
            else
            {
                gauge.RemoveLabelled(service, endpoint.DataCenter, endpoint.Id);
            }
        }
    }
}
