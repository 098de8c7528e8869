using System.Globalization;
using System.Net;
using System.Net.Sockets;
using GslbDns.Dns;
using GslbDns.Geo;
using GslbDns.Answers;
using GslbDns.Gslb;
using GslbDns.Query;
using GslbDns.State;
using Endpoint = GslbDns.Gslb.Endpoint;

namespace GslbDns.Api.Drills;

/// <summary>A client a drill asks as (its ECS subnet) and why it is in the set.</summary>
public sealed record DrillClient(string Subnet, string Label);

/// <summary>
/// What a drill would do and whether it may: its target, the services it touches, every precondition it
/// breaks, and the dry run. Every answer it shows comes from <see cref="Explainer"/>, i.e. the query engine
/// that answers DNS, run on the serving snapshot with the drill applied to it: there is no second
/// selection path to drift from the real one.
/// </summary>
internal static class DrillPlanner
{
    /// <summary>Default clients: one per continent (the ECS subnets are only ever sent to our own servers).</summary>
    public static readonly DrillClient[] Continents =
    [
        new("81.2.69.0/24", "Europe"),
        new("8.8.8.0/24", "North America"),
        new("200.160.2.0/24", "South America"),
        new("202.12.27.0/24", "Asia"),
        new("203.2.218.0/24", "Oceania"),
        new("196.216.2.0/24", "Africa"),
    ];

    /// <summary>The data centers named, or a region's; throws a 400 naming the field.</summary>
    public static (IReadOnlyList<string> DataCenters, string? Region) Targets(GslbConfig config, IReadOnlyList<string>? dataCenters, string? region)
    {
        if ((dataCenters is null || dataCenters.Count == 0) == string.IsNullOrWhiteSpace(region))
        {
            throw new InvalidFieldException("dataCenters", "give the data centers to evacuate, or a region, not both");
        }

        if (region is not null && !string.IsNullOrWhiteSpace(region))
        {
            var inRegion = config.DataCenters.Values.Where(d => string.Equals(d.Region, region, StringComparison.Ordinal)).Select(d => d.Name).Order(StringComparer.Ordinal).ToList();
            return inRegion.Count == 0 ? throw new InvalidFieldException("region", $"no data center is in region '{region}'") : (inRegion, region);
        }

        var names = new List<string>();
        foreach (var name in dataCenters!)
        {
            if (!config.DataCenters.ContainsKey(name))
            {
                throw new InvalidFieldException("dataCenters", $"unknown data center '{name}'");
            }

            if (!names.Contains(name))
            {
                names.Add(name);
            }
        }

        return (names, null);
    }

    /// <summary>A new lease, scheduled, with its "created" step.</summary>
    public static DrillSetting NewDrill(
        string id, GslbConfig config, IReadOnlyList<string> dataCenters, string? region, DateTimeOffset start, TimeSpan duration, double floor,
        string? outcomeProbe, IReadOnlyList<string>? clientSubnets, string reason, string actor, DateTimeOffset now) => new(
            id, dataCenters, region, [.. Affected(config, dataCenters).Select(ViewBuilder.ServiceName)], start, duration, DrillState.Scheduled, floor, outcomeProbe,
            clientSubnets is { Count: > 0 } ? clientSubnets : null, false, [], null, null, null, null,
            DrillResults.Empty.With(new DrillStep(now, "created", $"by {actor}: {reason}")), reason, actor, now);

    public static List<ServiceConfig> Affected(GslbConfig config, IReadOnlyCollection<string> dataCenters) =>
        [.. config.Services.Values.Where(s => s.Endpoints.Any(e => dataCenters.Contains(e.DataCenter))).OrderBy(s => s.Name.ToString(), StringComparer.Ordinal)];

    /// <summary>The drill as it would run: state running from its start (or now, if that is later).</summary>
    public static OperatorState WithRunning(OperatorState state, DrillSetting drill, DateTimeOffset at) =>
        state.With(new StateKey(StateKind.Drill, drill.Id), drill with { State = DrillState.Running, Start = at, EndedAt = null }, ulong.MaxValue);

    /// <summary>
    /// Every precondition the drill breaks, as sentences: the API's guardrail (a service left without a usable
    /// endpoint of a family), the capacity floor, an overlapping drill on the same services, a real outage
    /// (a failed, drained or forced-down endpoint) on the services it would leave, a blocked window.
    /// </summary>
    public static List<string> Violations(ServerSnapshot snapshot, OperatorState state, DrillSetting drill, DrillOptions options, DateTimeOffset now)
    {
        var at = drill.Start > now ? drill.Start : now;
        var end = at + drill.Duration;
        var targets = drill.DataCenters.ToHashSet(StringComparer.Ordinal);
        var violations = new List<string>();

        // The same guardrail as drains and overrides, on the state the drill would create.
        var after = WithRunning(state, drill, at);
        violations.AddRange(StateWriter.Guard(snapshot.Gslb, snapshot.State, state, after, new StateKey(StateKind.Drill, drill.Id), e => targets.Contains(e.DataCenter), at).Violations);

        var live = state.ApplyTo(snapshot.State, now);
        foreach (var service in Affected(snapshot.Gslb, targets))
        {
            var name = ViewBuilder.ServiceName(service);
            foreach (var (family, share) in CapacityOutside(service, live, targets, now))
            {
                if (share < drill.CapacityFloor)
                {
                    violations.Add($"service {name}: {Percent(share)} of its {Family(family)} effective weight is usable outside the target, below the capacity floor of {Percent(drill.CapacityFloor)}");
                }
            }

            foreach (var endpoint in service.Endpoints.Where(e => !live.IsUsable(e, now)))
            {
                violations.Add($"service {name}: endpoint {endpoint.Id} is already out ({WhyOut(live, endpoint, now)}); a real failure or a drain takes precedence over a drill");
            }
        }

        foreach (var other in state.Drills())
        {
            var o = other.Drill;
            if (o.Id == drill.Id || o.State is not (DrillState.Scheduled or DrillState.Running) || o.Start >= end || o.EffectiveEnd <= at)
            {
                continue;
            }

            var shared = o.Services.Intersect(drill.Services, StringComparer.OrdinalIgnoreCase).ToList();
            if (shared.Count > 0)
            {
                violations.Add($"drill {o.Id} ({DrillStates.Name(o.State)}, until {o.EffectiveEnd:u}) overlaps on {string.Join(", ", shared)}");
            }
        }

        foreach (var window in options.BlockedWindows.Where(w => w.Overlaps(at, end)))
        {
            violations.Add($"the drill ({at:u} to {end:u}) overlaps the blocked window {window.Text}");
        }

        return violations;
    }

    /// <summary>
    /// Per address family of the service, the share of its effective weight (the operator's weight or the
    /// configured one) on endpoints outside the target that are usable now. 1 when the family has no weight.
    /// </summary>
    public static IEnumerable<(AddressFamily Family, double Share)> CapacityOutside(ServiceConfig service, GslbState state, IReadOnlySet<string> targets, DateTimeOffset now)
    {
        foreach (var family in new[] { AddressFamily.InterNetwork, AddressFamily.InterNetworkV6 })
        {
            var endpoints = service.Endpoints.Where(e => e.Address.AddressFamily == family).ToList();
            if (endpoints.Count == 0)
            {
                continue;
            }

            double total = endpoints.Sum(state.WeightOf);
            double outside = endpoints.Where(e => !targets.Contains(e.DataCenter) && state.IsUsable(e, now)).Sum(state.WeightOf);
            if (total <= 0)
            {
                // All weights zero: weighted picks treat them as equal, so count endpoints instead.
                total = endpoints.Count;
                outside = endpoints.Count(e => !targets.Contains(e.DataCenter) && state.IsUsable(e, now));
            }

            yield return (family, outside / total);
        }
    }

    /// <summary>The clients to ask as: the request's, else the configured ones, else one per continent plus the one nearest each target.</summary>
    public static IReadOnlyList<DrillClient> Clients(IReadOnlyList<string>? requested, DrillOptions options, ServerSnapshot snapshot, IReadOnlyList<string> targets)
    {
        if (requested is { Count: > 0 })
        {
            return [.. requested.Select(s => new DrillClient(s, "requested"))];
        }

        if (options.ClientSubnets.Count > 0)
        {
            return [.. options.ClientSubnets.Select(s => new DrillClient(s, "configured"))];
        }

        var clients = Continents.ToList();
        foreach (var target in targets)
        {
            if (!snapshot.Gslb.DataCenters.TryGetValue(target, out var dc) || snapshot.Locator is null)
            {
                continue;
            }

            // The continent client the locator places nearest the data center stands for "inside its region".
            DrillClient? best = null;
            var bestKm = double.MaxValue;
            foreach (var candidate in Continents)
            {
                if (!Explainer.TryParseClient(candidate.Subnet, out var address, out _))
                {
                    continue;
                }

                var location = snapshot.Locator.Locate(address).Location;
                if (location.Latitude is { } lat && location.Longitude is { } lon)
                {
                    var km = GreatCircle.DistanceKm(lat, lon, dc.Latitude, dc.Longitude);
                    if (km < bestKm)
                    {
                        (best, bestKm) = (candidate, km);
                    }
                }
            }

            if (best is not null)
            {
                var index = clients.FindIndex(c => c.Subnet == best.Subnet);
                clients[index] = clients[index] with { Label = $"{clients[index].Label}; nearest {target} ({bestKm.ToString("0", CultureInfo.InvariantCulture)} km)" };
            }
        }

        return clients;
    }

    /// <summary>The questions a drill asks every server: each affected name, each family it has, as each client.</summary>
    public static List<DrillQuestion> Questions(GslbConfig config, IEnumerable<string> services, IReadOnlyList<DrillClient> clients)
    {
        var questions = new List<DrillQuestion>();
        foreach (var name in services)
        {
            if (ViewBuilder.FindService(config, name) is not { } service)
            {
                continue;
            }

            foreach (var type in new[] { RecordType.A, RecordType.AAAA })
            {
                if (!service.Endpoints.Any(e => e.IsIPv6 == (type == RecordType.AAAA)))
                {
                    continue;
                }

                foreach (var client in clients)
                {
                    if (!Explainer.TryParseClient(client.Subnet, out var address, out var prefix))
                    {
                        continue;
                    }

                    questions.Add(new DrillQuestion(service.Name, type, address, prefix, client));
                }
            }
        }

        return questions;
    }

    /// <summary>
    /// The dry run: for each affected service and client, the answer now and the answer while the drill runs,
    /// both from the DNS engine (the "during" one on this snapshot with the drill applied, at its start).
    /// </summary>
    public static DryRunView DryRun(ServerSnapshot snapshot, OperatorState state, DrillSetting drill, QueryEngineOptions engineOptions, IReadOnlyList<DrillClient> clients, IReadOnlyList<string> violations, DateTimeOffset now)
    {
        var at = drill.Start > now ? drill.Start : now;
        var during = snapshot with { State = WithRunning(state, drill, at).ApplyTo(snapshot.State, at) };
        var before = new Explainer(new QueryEngine(new SnapshotHolder(snapshot), engineOptions));
        var inDrill = new Explainer(new QueryEngine(new SnapshotHolder(during), engineOptions));
        var evacuated = EvacuatedAddresses(snapshot.Gslb, drill.DataCenters);
        var services = new List<DryRunService>();
        foreach (var group in Questions(snapshot.Gslb, drill.Services, clients).GroupBy(q => q.Name))
        {
            var answers = new List<DryRunAnswer>();
            foreach (var q in group)
            {
                var b = before.Explain(q.Name, q.Type, q.Client, q.Prefix, new FixedTime(now));
                var d = inDrill.Explain(q.Name, q.Type, q.Client, q.Prefix, new FixedTime(at.AddMilliseconds(1)));
                answers.Add(new DryRunAnswer(q.Label.Subnet, q.Label.Label, RecordType.ToText(q.Type), Addresses(b), Addresses(d), d.Steps));
            }

            services.Add(new DryRunService(group.Key.ToString().TrimEnd('.'), answers));
        }

        return new DryRunView(drill.DataCenters, drill.Region, drill.Services, [.. evacuated.Select(a => a.ToString())], at, at + drill.Duration, violations, services);
    }

    public static HashSet<IPAddress> EvacuatedAddresses(GslbConfig config, IReadOnlyCollection<string> dataCenters) =>
        [.. config.Services.Values.SelectMany(s => s.Endpoints).Where(e => dataCenters.Contains(e.DataCenter)).Select(e => e.Address)];

    private static List<string> Addresses(Explanation explanation) =>
        [.. explanation.Records.Where(r => r.Section == "answer" && r.Type is "A" or "AAAA").Select(r => r.Data)];

    private static string WhyOut(GslbState state, Endpoint endpoint, DateTimeOffset now)
    {
        if (state.Drained.Contains(endpoint.Id) || state.Drained.Contains(endpoint.DataCenter))
        {
            return "drained";
        }

        if (state.Evacuated.TryGetValue(endpoint.DataCenter, out var window) && window.Covers(now))
        {
            return $"evacuated by drill {window.DrillId}";
        }

        if ((state.Overrides.TryGetValue(endpoint.Id, out var forced) || state.Overrides.TryGetValue(endpoint.DataCenter, out forced)) && forced.Expires > now && !forced.Healthy)
        {
            return "forced unhealthy";
        }

        return "unhealthy by the probers' quorum";
    }

    public static string Family(AddressFamily family) => family == AddressFamily.InterNetwork ? "IPv4" : "IPv6";

    public static string Percent(double share) => (share * 100).ToString("0.#", CultureInfo.InvariantCulture) + "%";
}

/// <summary>One question a drill asks: a name and type, as a client subnet (ECS).</summary>
internal sealed record DrillQuestion(DnsName Name, ushort Type, IPAddress Client, int Prefix, DrillClient Label)
{
    public string Key => $"{Name} {RecordType.ToText(Type)} {Label.Subnet}";
}

/// <summary>A clock stopped at one moment, so a dry run sees the drill as it will be at its start.</summary>
internal sealed class FixedTime(DateTimeOffset at) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => at;
}
