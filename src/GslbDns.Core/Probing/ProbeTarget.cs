using System.Net;
using GslbDns.Gslb;

namespace GslbDns.Probing;

/// <summary>
/// One endpoint of one service as a prober sees it: what to connect to and how to judge the answer.
/// Value equality: a config reload that leaves all of this unchanged keeps the endpoint's probe loop as it is.
/// </summary>
/// <param name="EndpointId">The endpoint's id (<c>service/data-center/address</c>): the key in <see cref="Reports.ProberReport"/>.</param>
/// <param name="HostName">HTTP Host header and TLS SNI: <c>check.host</c>, else the service name without the trailing dot.</param>
/// <param name="Address">Where to connect: the check target (<see cref="Gslb.CheckTarget"/>), which may differ from the answered address; probes never resolve a name themselves (a hostname endpoint's first address comes from the background resolver, <see cref="Resolution.HostResolver"/>).</param>
/// <param name="Check">The service's check, with the endpoint's own port when it sets one.</param>
public sealed record ProbeTarget(string EndpointId, string HostName, IPAddress Address, HealthCheck Check)
{
    /// <summary>The endpoint's data center (a bounded label for the prober's RTT series).</summary>
    public string DataCenter { get; init; } = string.Empty;

    /// <summary>Every endpoint of every service that has a check; services without one are not probed.</summary>
    /// <param name="hosts">Hostname endpoints' addresses: such an endpoint is probed at its first address (<see cref="HostAddresses.First"/>), and not at all before it resolved.</param>
    public static IReadOnlyList<ProbeTarget> FromConfig(GslbConfig config, ResolvedHosts? hosts = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var targets = new List<ProbeTarget>();
        foreach (var service in config.Services.Values)
        {
            if (service.Check is not { } check)
            {
                continue;
            }

            foreach (var endpoint in service.Endpoints)
            {
                if (endpoint.Child is not null)
                {
                    // A child service's endpoints are probed as its own; this endpoint's health is calculated from them.
                    continue;
                }

                if (HostTargets.Of(service, check, endpoint, hosts ?? ResolvedHosts.Empty) is not { } target)
                {
                    continue;
                }

                targets.Add(new ProbeTarget(endpoint.Id, target.Host, target.Address, target.Port == check.Port ? check : check with { Port = target.Port }) { DataCenter = endpoint.DataCenter });
            }
        }

        return targets;
    }
}
