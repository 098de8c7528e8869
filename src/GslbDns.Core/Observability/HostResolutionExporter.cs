using GslbDns.Gslb;
using Prometheus;

namespace GslbDns.Observability;

/// <summary>
/// The <c>gslbdns_hostname_resolution_*</c> series, read from the resolved hosts at scrape time: per hostname endpoint, its
/// addresses, whether they may serve, how old they are, and the resolutions that succeeded and failed. Hosts a reload
/// removed are dropped.
/// </summary>
public sealed class HostResolutionExporter
{
    private readonly Lock _lock = new();
    private readonly Gauge _addresses;
    private readonly Gauge _usable;
    private readonly Gauge _age;
    private readonly Counter _resolutions;
    private HashSet<string> _seen = new(StringComparer.Ordinal);

    public HostResolutionExporter(MetricFactory factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        _addresses = factory.CreateGauge("gslbdns_hostname_resolution_addresses", "Addresses a hostname endpoint resolved to last (kept after a failure until its bound).", "host");
        _usable = factory.CreateGauge("gslbdns_hostname_resolution_usable", "1 while a hostname endpoint's addresses may serve (resolved, or within keepLastGood after a failure), else 0.", "host");
        _age = factory.CreateGauge("gslbdns_hostname_resolution_age_seconds", "Seconds since a hostname endpoint last resolved successfully; absent when it never did.", "host");
        _resolutions = factory.CreateCounter("gslbdns_hostname_resolutions_total", "Resolutions of hostname endpoints by result (success, failure).", "host", "result");
    }

    public void Collect(ResolvedHosts hosts, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(hosts);
        lock (_lock)
        {
            var current = new HashSet<string>(StringComparer.Ordinal);
            foreach (var entry in hosts.Hosts.Values)
            {
                var host = entry.Host.ToString();
                current.Add(host);
                _addresses.WithLabels(host).Set(entry.V4.Length + entry.V6.Length);
                _usable.WithLabels(host).Set(entry.IsUsable(now) ? 1 : 0);
                if (entry.ResolvedAt == DateTimeOffset.MinValue)
                {
                    _age.RemoveLabelled(host);
                }
                else
                {
                    _age.WithLabels(host).Set(Math.Round((now - entry.ResolvedAt).TotalSeconds, 3));
                }

                _resolutions.WithLabels(host, "success").IncTo(entry.Successes);
                _resolutions.WithLabels(host, "failure").IncTo(entry.Failures);
            }

            foreach (var host in _seen.Where(h => !current.Contains(h)))
            {
                _addresses.RemoveLabelled(host);
                _usable.RemoveLabelled(host);
                _age.RemoveLabelled(host);
                _resolutions.RemoveLabelled(host, "success");
                _resolutions.RemoveLabelled(host, "failure");
            }

            _seen = current;
        }
    }
}
