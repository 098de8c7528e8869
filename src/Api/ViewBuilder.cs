using System.Net;
using System.Reflection;
using GslbDns.Gslb;
using Endpoint = GslbDns.Gslb.Endpoint;
using GslbDns.Health;
using GslbDns.Query;
using GslbDns.State;

namespace GslbDns.Api;

/// <summary>Turns the snapshot, the health view and the operator state into the API's views.</summary>
internal static class ViewBuilder
{
    /// <summary>GET /v1/status (and the status page's header).</summary>
    public static StatusView Status(ApiContext api)
    {
        var snapshot = api.Snapshots.Current;
        var now = api.Time.GetUtcNow();
        var health = api.HealthView;
        return new StatusView(
            api.Store.Kind,
            api.Watcher.Connected,
            api.Watcher.LastSuccess,
            api.Watcher.Current.Index,
            snapshot.BuiltAt,
            Math.Round((now - snapshot.BuiltAt).TotalSeconds, 3),
            snapshot.Zones.Count,
            snapshot.Gslb.Services.Count,
            snapshot.Gslb.DataCenters.Count,
            health.LiveProbers,
            health.ComputedAt);
    }

    /// <summary>GET /v1/datacenters: every data center by name.</summary>
    public static IReadOnlyList<DataCenterView> DataCenters(ApiContext api)
    {
        var snapshot = api.Snapshots.Current;
        var now = api.Time.GetUtcNow();
        return snapshot.Gslb.DataCenters.Values.OrderBy(d => d.Name, StringComparer.Ordinal)
            .Select(d => DataCenter(d, snapshot, api.Watcher.Current, api.HealthView, now)).ToList();
    }

    /// <summary>GET /v1/endpoints: every endpoint, by service.</summary>
    public static IReadOnlyList<EndpointView> Endpoints(ApiContext api)
    {
        var snapshot = api.Snapshots.Current;
        var now = api.Time.GetUtcNow();
        return snapshot.Gslb.Services.Values.OrderBy(s => s.Name.ToString(), StringComparer.Ordinal)
            .SelectMany(s => s.Endpoints.Select(e => Endpoint(s, e, snapshot, api.Watcher.Current, api.HealthView, now))).ToList();
    }

    public static EntryView? Entry(OperatorState state, StateKey key, DateTimeOffset now, int? configuredWeight = null, string? auditId = null)
    {
        var entry = state.Get(key);
        return entry is null ? null : Entry(key, entry, now, configuredWeight, auditId);
    }

    public static EntryView Entry(StateKey key, VersionedSetting entry, DateTimeOffset now, int? configuredWeight = null, string? auditId = null) => entry.Setting switch
    {
        WeightSetting w => new EntryView(StateKinds.Name(key.Kind), key.Target, true, entry.Version, w.Weight, configuredWeight, null, null, null, w.Reason, w.By, w.At, auditId),
        OverrideSetting o => new EntryView(StateKinds.Name(key.Kind), key.Target, true, entry.Version, null, null, o.Healthy, o.Expires, o.Expires <= now, o.Reason, o.By, o.At, auditId),
        FeedSetting f => new EntryView(StateKinds.Name(key.Kind), key.Target, true, entry.Version, null, null, f.Up, f.Expires, f.Expires <= now, f.Reason, f.By, f.At, auditId) { Load = f.Load },
        _ => new EntryView(StateKinds.Name(key.Kind), key.Target, true, entry.Version, null, null, null, null, null, entry.Setting.Reason, entry.Setting.By, entry.Setting.At, auditId),
    };

    /// <summary>The entry, or an "unset" view with version 0 (the ETag for "does not exist").</summary>
    public static EntryView EntryOrUnset(OperatorState state, StateKey key, DateTimeOffset now, int? configuredWeight = null, string? auditId = null) =>
        Entry(state, key, now, configuredWeight, auditId)
        ?? new EntryView(StateKinds.Name(key.Kind), key.Target, false, 0, null, configuredWeight, null, null, null, null, null, null, auditId);

    public static EndpointView Endpoint(ServiceConfig service, Endpoint endpoint, ServerSnapshot snapshot, OperatorState operatorState, HealthView health, DateTimeOffset now)
    {
        var state = snapshot.State;
        var drainedBy = state.Drained.Contains(endpoint.Id) ? endpoint.Id : state.Drained.Contains(endpoint.DataCenter) ? endpoint.DataCenter : null;
        bool? forced = null;
        if ((state.Overrides.TryGetValue(endpoint.Id, out var o) || state.Overrides.TryGetValue(endpoint.DataCenter, out o)) && o.Expires > now)
        {
            forced = o.Healthy;
        }

        HealthDetail detail;
        if (health.Verdicts.TryGetValue(endpoint.Id, out var verdict))
        {
            detail = new HealthDetail(verdict.Healthy ? "healthy" : "unhealthy", verdict.Voters, verdict.Down, verdict.ByProber);
        }
        else
        {
            detail = state.Health.TryGetValue(endpoint.Id, out var healthy)
                ? new HealthDetail(healthy ? "healthy" : "unhealthy", 0, 0, new Dictionary<string, bool>())
                : new HealthDetail("unknown", 0, 0, new Dictionary<string, bool>());
        }

        return new EndpointView(
            endpoint.Id,
            ServiceName(service),
            endpoint.DataCenter,
            AnswerText(endpoint),
            endpoint.Priority,
            endpoint.Weight,
            state.WeightOf(endpoint),
            IsUsable(service, endpoint, snapshot, now),
            drainedBy is not null,
            drainedBy,
            forced,
            detail,
            RttByRegion(snapshot, endpoint.DataCenter),
            Entry(operatorState, new StateKey(StateKind.Weight, endpoint.Id), now, endpoint.Weight),
            Entry(operatorState, new StateKey(StateKind.Drain, endpoint.Id), now),
            Entry(operatorState, new StateKey(StateKind.Override, endpoint.Id), now))
        {
            CheckTarget = service.Check is { } check ? CheckTargetView(service, check, endpoint, snapshot.Hosts) : null,
            Host = endpoint.Host is { } host ? HostView(service, host, snapshot.Hosts, now) : null,
            ChildService = endpoint.Child is { } nested ? new ChildServiceView(ServiceName(nested), ServiceHealth(nested, snapshot, now)) : null,
            DataCenterHealth = service.DataCenterHealth is { } rule ? DataCenterHealth(service, rule, endpoint.DataCenter, snapshot, now) : null,
            Feed = FeedView(endpoint, operatorState, now),
            Load = LoadView(endpoint, state, now),
        };
    }

    private static FeedView? FeedView(Endpoint endpoint, OperatorState operatorState, DateTimeOffset now)
    {
        if (operatorState.Get(new StateKey(StateKind.Feed, endpoint.Id)) is not { Setting: FeedSetting feed } entry)
        {
            return null;
        }

        var live = feed.Expires > now;
        return new FeedView(
            feed.Up, feed.Load, feed.Expires, !live, FeedModes.Name(endpoint.FeedMode), live && feed.Up is not null && endpoint.FeedMode != FeedMode.Off,
            entry.Version, feed.By, feed.At, feed.Reason);
    }

    private static LoadView? LoadView(Endpoint endpoint, GslbState state, DateTimeOffset now) =>
        state.TryGetLoad(endpoint, now, out var load, out var fromFeed)
            ? new LoadView(load, fromFeed ? "feed" : "probe", endpoint.Capacity, Math.Round(load / endpoint.Capacity, 6))
            : null;

    /// <summary>Usable as answers see it: the endpoint's own verdict and calculated health (child services, data-center rules).</summary>
    private static bool IsUsable(ServiceConfig service, Endpoint endpoint, ServerSnapshot snapshot, DateTimeOffset now)
    {
        for (var i = 0; i < service.Endpoints.Count; i++)
        {
            if (ReferenceEquals(service.Endpoints[i], endpoint))
            {
                return CalculatedHealth.IsUsable(service, i, snapshot.State, now, snapshot.Hosts);
            }
        }

        return snapshot.State.IsUsable(endpoint, now);
    }

    private static HostEndpointView HostView(ServiceConfig service, GslbDns.Dns.DnsName host, ResolvedHosts hosts, DateTimeOffset now)
    {
        var answer = service.HostAnswer == HostAnswerMode.Cname ? "cname" : "flatten";
        if (hosts.Find(host) is not { } found)
        {
            return new HostEndpointView(host.ToString(), answer, [], 0, null, null, false, null, null, 0, 0);
        }

        return new HostEndpointView(
            host.ToString(),
            answer,
            [.. found.V4.Concat(found.V6).Select(a => a.ToString())],
            found.Ttl,
            found.ResolvedAt == DateTimeOffset.MinValue ? null : found.ResolvedAt,
            found.UsableUntil == DateTimeOffset.MinValue ? null : found.UsableUntil,
            found.IsUsable(now),
            found.LastError,
            found.LastFailureAt,
            found.Successes,
            found.Failures);
    }

    private static RuleOutcomeView ServiceHealth(ServiceConfig service, ServerSnapshot snapshot, DateTimeOffset now)
    {
        var holds = CalculatedHealth.IsHealthy(service, snapshot.State, now, out var usable, snapshot.Hosts);
        return new RuleOutcomeView(service.ServiceHealth.ToString(), holds, usable, service.Endpoints.Count);
    }

    private static RuleOutcomeView DataCenterHealth(ServiceConfig service, HealthRule rule, string dataCenter, ServerSnapshot snapshot, DateTimeOffset now)
    {
        var holds = CalculatedHealth.DataCenterHolds(service, rule, dataCenter, snapshot.State, now, out var usable, out var total, snapshot.Hosts);
        return new RuleOutcomeView(rule.ToString(), holds, usable, total);
    }

    private static CheckTargetView? CheckTargetView(ServiceConfig service, HealthCheck check, Endpoint endpoint, ResolvedHosts hosts)
    {
        // A hostname endpoint not resolved yet has no target: nothing is probed until it resolves.
        if (HostTargets.Of(service, check, endpoint, hosts) is not { } target)
        {
            return null;
        }

        return new CheckTargetView(target.Address.ToString(), target.Port, target.Host, GslbDns.Gslb.CheckTarget.IsSet(check, endpoint) || endpoint.Host is not null);
    }

    public static DataCenterView DataCenter(DataCenter dc, ServerSnapshot snapshot, OperatorState operatorState, HealthView health, DateTimeOffset now)
    {
        var endpoints = new List<EndpointView>();
        foreach (var service in snapshot.Gslb.Services.Values.OrderBy(s => s.Name.ToString(), StringComparer.Ordinal))
        {
            foreach (var endpoint in service.Endpoints)
            {
                if (endpoint.DataCenter == dc.Name)
                {
                    endpoints.Add(Endpoint(service, endpoint, snapshot, operatorState, health, now));
                }
            }
        }

        return new DataCenterView(
            dc.Name,
            dc.Latitude,
            dc.Longitude,
            dc.Region,
            dc.Bias,
            snapshot.State.Drained.Contains(dc.Name),
            endpoints.Count(e => e.Usable),
            endpoints.Count,
            RttByRegion(snapshot, dc.Name),
            Entry(operatorState, new StateKey(StateKind.Weight, dc.Name), now),
            Entry(operatorState, new StateKey(StateKind.Drain, dc.Name), now),
            Entry(operatorState, new StateKey(StateKind.Override, dc.Name), now),
            endpoints);
    }

    public static ServiceView Service(ServiceConfig service, ServerSnapshot snapshot, OperatorState operatorState, HealthView health, DateTimeOffset now)
    {
        var endpoints = service.Endpoints.Select(e => Endpoint(service, e, snapshot, operatorState, health, now)).ToList();
        return new ServiceView(
            ServiceName(service),
            service.Ttl,
            service.Policies.Select(Policy).ToList(),
            service.WhenAllUnhealthy == AllUnhealthyBehavior.FailOpen ? "fail-open" : "fallback",
            service.FallbackAddresses.Select(a => a.ToString()).ToList(),
            service.Check?.Type,
            endpoints.Count(e => e.Usable),
            endpoints)
        {
            Health = new ServiceHealthView(service.DataCenterHealth?.ToString(), ServiceHealth(service, snapshot, now)),
            FeedMode = FeedModes.Name(service.FeedMode),
            LoadShedding = service.Shedding is { } shed ? new LoadSheddingView(shed.LowWatermark, shed.HighWatermark) : null,
        };
    }

    /// <summary>A policy step's type and its simple public settings (count, sticky ...).</summary>
    public static PolicyView Policy(ISelectionPolicy policy)
    {
        var options = new SortedDictionary<string, object?>(StringComparer.Ordinal);
        foreach (var property in policy.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.Name == nameof(ISelectionPolicy.Name) || property.GetIndexParameters().Length > 0)
            {
                continue;
            }

            var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (type.IsPrimitive || type == typeof(string) || type.IsEnum || type == typeof(TimeSpan))
            {
                var value = property.GetValue(policy);
                options[JsonNamingCamel(property.Name)] = value is Enum or TimeSpan ? value.ToString() : value;
            }
        }

        return new PolicyView(policy.Name, options);
    }

    public static AuditView Audit(AuditEntry entry) => new(
        entry.Id,
        entry.At,
        entry.Actor,
        entry.Action,
        entry.Kind,
        entry.Target,
        ParseJson(entry.Before),
        ParseJson(entry.After),
        entry.Reason,
        entry.Forced,
        entry.Version);

    public static string ServiceName(ServiceConfig service) => service.Name.ToString().TrimEnd('.');

    /// <summary>Measured RTTs from each prober region to the data center, with the static matrix filling gaps.</summary>
    public static IReadOnlyDictionary<string, double> RttByRegion(ServerSnapshot snapshot, string dataCenter)
    {
        var result = new SortedDictionary<string, double>(StringComparer.Ordinal);
        foreach (var ((region, dc), ms) in snapshot.Gslb.StaticRtt.Entries)
        {
            if (dc == dataCenter)
            {
                result[region] = ms;
            }
        }

        if (snapshot.State.MeasuredRtt is { } measured)
        {
            foreach (var ((region, dc), ms) in measured.Entries)
            {
                if (dc == dataCenter)
                {
                    result[region] = Math.Round(ms, 3);
                }
            }
        }

        return result;
    }

    /// <summary>
    /// The endpoint with this id (<c>service/data-center/answer</c>), service name case-insensitively; an address compared by
    /// value, a child service's name (nested services) case-insensitively.
    /// </summary>
    public static (ServiceConfig Service, Endpoint Endpoint)? FindEndpoint(GslbConfig config, string service, string dataCenter, string address)
    {
        var isAddress = IPAddress.TryParse(address, out var ip);
        var name = service.TrimEnd('.');
        foreach (var candidate in config.Services.Values)
        {
            if (!string.Equals(ServiceName(candidate), name, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            foreach (var endpoint in candidate.Endpoints)
            {
                var matches = isAddress
                    ? endpoint.Child is null && endpoint.Host is null && endpoint.Address.Equals(ip)
                    : string.Equals(AnswerText(endpoint), address.TrimEnd('.'), StringComparison.OrdinalIgnoreCase);
                if (endpoint.DataCenter == dataCenter && matches)
                {
                    return (candidate, endpoint);
                }
            }
        }

        return null;
    }

    /// <summary>What the endpoint answers, as its id ends: the address, or the child service's name (nested services).</summary>
    public static string AnswerText(Endpoint endpoint) =>
        endpoint.Child is { } child ? ServiceName(child) : endpoint.Host is { } host ? host.ToString().TrimEnd('.') : endpoint.Address.ToString();

    public static ServiceConfig? FindService(GslbConfig config, string name)
    {
        var trimmed = name.TrimEnd('.');
        return config.Services.Values.FirstOrDefault(s => string.Equals(ServiceName(s), trimmed, StringComparison.OrdinalIgnoreCase));
    }

    private static System.Text.Json.JsonElement? ParseJson(string? json)
    {
        if (json is null)
        {
            return null;
        }

        using var document = System.Text.Json.JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    private static string JsonNamingCamel(string name) => name.Length == 0 ? name : char.ToLowerInvariant(name[0]) + name[1..];
}
