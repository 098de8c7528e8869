using System.Net;
using GslbDns.Gslb;

namespace GslbDns.Probing;

/// <summary>
/// One endpoint of one service as a prober sees it: what to connect to and how to judge the answer.
/// Value equality: a config reload that leaves all of this unchanged keeps the endpoint's probe loop as it is.
/// </summary>
/// <param name="EndpointId">The endpoint's id (<c>service/data-center/address</c>): the key in <see cref="Reports.ProberReport"/>.</param>
/// <param name="HostName">The service name without the trailing dot: HTTP Host header and TLS SNI.</param>
/// <param name="Address">Where to connect; the prober never resolves the service name, it checks this one address.</param>
public sealed record ProbeTarget(string EndpointId, string HostName, IPAddress Address, HealthCheck Check)
{
    /// <summary>The endpoint's data center (a bounded label for the prober's RTT series).</summary>
    public string DataCenter { get; init; } = string.Empty;

    /// <summary>Every endpoint of every service that has a check; services without one are not probed.</summary>
    public static IReadOnlyList<ProbeTarget> FromConfig(GslbConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var targets = new List<ProbeTarget>();
        foreach (var service in config.Services.Values)
        {
            if (service.Check is not { } check)
            {
                continue;
            }

            var host = service.Name.ToString().TrimEnd('.');
            foreach (var endpoint in service.Endpoints)
            {
                targets.Add(new ProbeTarget(endpoint.Id, host, endpoint.Address, check) { DataCenter = endpoint.DataCenter });
            }
        }

        return targets;
    }
}
