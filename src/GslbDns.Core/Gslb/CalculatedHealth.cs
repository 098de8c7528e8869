using System.Globalization;

namespace GslbDns.Gslb;

/// <summary>How many of a group's children must be usable for the group to count healthy (Route 53's calculated health checks).</summary>
public enum HealthRuleKind
{
    /// <summary>Every child.</summary>
    All,

    /// <summary>At least one child.</summary>
    Any,

    /// <summary>At least <see cref="HealthRule.Count"/> children.</summary>
    AtLeast,
}

/// <summary>A calculated health rule: <c>"all"</c>, <c>"any"</c> or <c>{"atLeast": N}</c>.</summary>
public sealed record HealthRule(HealthRuleKind Kind, int Count)
{
    public static readonly HealthRule All = new(HealthRuleKind.All, 0);

    public static readonly HealthRule Any = new(HealthRuleKind.Any, 1);

    /// <summary>True when <paramref name="usable"/> of <paramref name="total"/> children satisfy the rule; an empty group never does.</summary>
    public bool Holds(int usable, int total) => total > 0 && Kind switch
    {
        HealthRuleKind.All => usable == total,
        HealthRuleKind.Any => usable > 0,
        _ => usable >= Count,
    };

    /// <summary>Config form, as explain and the API show it.</summary>
    public override string ToString() => Kind switch
    {
        HealthRuleKind.All => "all",
        HealthRuleKind.Any => "any",
        _ => "atLeast " + Count.ToString(CultureInfo.InvariantCulture),
    };
}

/// <summary>
/// Whether an endpoint may take traffic once calculated health is counted in: its own verdict (<see cref="GslbState.IsUsable"/>),
/// then, for a child-service endpoint, whether the child counts healthy (<see cref="ServiceConfig.ServiceHealth"/> over the
/// child's own usable endpoints, recursively), then the service's <see cref="ServiceConfig.DataCenterHealth"/> over the
/// endpoints of its data center. The loader rejects cycles and bounds the nesting depth, so the recursion ends; nothing
/// here allocates, because the healthy step runs it on every query.
/// </summary>
public static class CalculatedHealth
{
    /// <summary>The deepest chain of nested services the loader accepts (a region name over data-center names is 1).</summary>
    public const int MaxNesting = 4;

    /// <summary>Endpoint <paramref name="index"/> of <paramref name="service"/> may take traffic at <paramref name="now"/>.</summary>
    /// <param name="hosts">Hostname endpoints' addresses: a flattened one without usable addresses is unusable. Null: none resolved.</param>
    public static bool IsUsable(ServiceConfig service, int index, GslbState state, DateTimeOffset now, ResolvedHosts? hosts = null)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(state);
        hosts ??= ResolvedHosts.Empty;
        var endpoints = service.Endpoints;
        if (!OwnVerdict(service, endpoints[index], state, now, hosts))
        {
            return false;
        }

        return service.DataCenterHealth is not { } rule || DataCenterHolds(service, rule, endpoints[index].DataCenter, state, now, out _, out _, hosts);
    }

    /// <summary>
    /// The endpoint's verdict before its data center's rule: its own state; for a child service the child's calculated health;
    /// for a flattened hostname endpoint, addresses still within their bound (a CNAME leaves resolving to the client's resolver).
    /// </summary>
    public static bool OwnVerdict(ServiceConfig service, Endpoint endpoint, GslbState state, DateTimeOffset now, ResolvedHosts hosts)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(hosts);
        if (endpoint.Host is { } host && service.HostAnswer == HostAnswerMode.Flatten && hosts.Find(host)?.IsUsable(now) != true)
        {
            return false;
        }

        return state.IsUsable(endpoint, now) && (endpoint.Child is not { } child || IsHealthy(child, state, now, out _, hosts));
    }

    /// <summary>The service counts healthy (as a child): <see cref="ServiceConfig.ServiceHealth"/> over its usable endpoints.</summary>
    public static bool IsHealthy(ServiceConfig service, GslbState state, DateTimeOffset now, out int usable, ResolvedHosts? hosts = null)
    {
        ArgumentNullException.ThrowIfNull(service);
        usable = 0;
        var count = service.Endpoints.Count;
        for (var i = 0; i < count; i++)
        {
            if (IsUsable(service, i, state, now, hosts))
            {
                usable++;
            }
        }

        return service.ServiceHealth.Holds(usable, count);
    }

    /// <summary>The rule over the service's endpoints in <paramref name="dataCenter"/>, counting each one's own verdict.</summary>
    public static bool DataCenterHolds(ServiceConfig service, HealthRule rule, string dataCenter, GslbState state, DateTimeOffset now, out int usable, out int total, ResolvedHosts? hosts = null)
    {
        hosts ??= ResolvedHosts.Empty;
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(rule);
        usable = 0;
        total = 0;
        var endpoints = service.Endpoints;
        for (var i = 0; i < endpoints.Count; i++)
        {
            var endpoint = endpoints[i];
            if (!string.Equals(endpoint.DataCenter, dataCenter, StringComparison.Ordinal))
            {
                continue;
            }

            total++;
            if (OwnVerdict(service, endpoint, state, now, hosts))
            {
                usable++;
            }
        }

        return rule.Holds(usable, total);
    }

    /// <summary>Whether the endpoint can ever answer this family: an address by its own, a child service when any of its endpoints can.</summary>
    public static bool MayServe(Endpoint endpoint, bool ipv6)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (endpoint.Host is not null)
        {
            return true; // decided per query by what the host resolves to (Serves)
        }

        if (endpoint.Child is not { } child)
        {
            return endpoint.IsIPv6 == ipv6;
        }

        // An index loop: foreach over the list interface would box an enumerator on every query.
        var endpoints = child.Endpoints;
        for (var i = 0; i < endpoints.Count; i++)
        {
            if (MayServe(endpoints[i], ipv6))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Whether the endpoint answers this family now: a flattened hostname endpoint when it resolved to addresses of it, a
    /// CNAME one always (the client's resolver asks the target), others as <see cref="MayServe"/>.
    /// </summary>
    public static bool Serves(ServiceConfig service, Endpoint endpoint, bool ipv6, ResolvedHosts hosts)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(hosts);
        if (endpoint.Host is not { } host)
        {
            return MayServe(endpoint, ipv6);
        }

        return service.HostAnswer == HostAnswerMode.Cname || hosts.Find(host)?.Wire(ipv6).Length > 0;
    }
}
