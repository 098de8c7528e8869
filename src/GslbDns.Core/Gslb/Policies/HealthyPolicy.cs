namespace GslbDns.Gslb.Policies;

/// <summary>
/// <c>healthy</c>: keeps the endpoints <see cref="CalculatedHealth.IsUsable"/> says may take traffic (probed
/// healthy by quorum, not drained, or forced healthy by an unexpired override; and for a child service
/// or a data center with a <c>health</c> rule, as that rule calculates). The only step that
/// may return 0; the selector then applies the service's all-unhealthy behaviour.
/// </summary>
/// <remarks>
/// When it returns 0 it has written nothing, so <c>candidates[..count]</c> still holds its input:
/// the selector's fail-open path relies on that instead of keeping a copy.
/// </remarks>
public sealed class HealthyPolicy : ISelectionPolicy
{
    public const string TypeName = "healthy";

    /// <summary>The one instance; the step has no options, and the selector runs it implicitly.</summary>
    public static readonly HealthyPolicy Instance = new();

    private HealthyPolicy()
    {
    }

    public string Name => TypeName;

    public int Apply(Span<int> candidates, int count, SelectionContext context)
    {
        var service = context.Service;
        var state = context.State;
        var now = context.Now;

        // Before filtering: the loop below overwrites the candidates it drops.
        if (context.Trace is not null)
        {
            Explain(context, candidates[..count]);
        }

        var kept = 0;
        for (var i = 0; i < count; i++)
        {
            var index = candidates[i];
            if (CalculatedHealth.IsUsable(service, index, state, now, context.Hosts))
            {
                candidates[kept++] = index;
            }
        }

        return kept;
    }

    /// <summary>Explain only: where the probes went (check targets) and what calculated health decided (child services, data-center rules).</summary>
    private static void Explain(SelectionContext context, ReadOnlySpan<int> considered)
    {
        var parts = new List<string>();
        if (context.Service.Check is { } check)
        {
            NoteCheckTargets(context.Service, check, considered, context.Hosts, parts);
        }

        NoteCalculated(context, considered, parts);
        NoteHosts(context, considered, parts);
        if (FeedsNote(context, considered) is { } feeds)
        {
            parts.Add(feeds);
        }

        if (parts.Count > 0)
        {
            context.Note(string.Join("; ", parts));
        }
    }

    /// <summary>Explain only: what each hostname endpoint resolved to, and whether its addresses still serve.</summary>
    private static void NoteHosts(SelectionContext context, ReadOnlySpan<int> considered, List<string> parts)
    {
        var service = context.Service;
        var hosts = new List<string>();
        foreach (var index in considered)
        {
            if (service.Endpoints[index].Host is not { } host)
            {
                continue;
            }

            if (service.HostAnswer == HostAnswerMode.Cname)
            {
                hosts.Add($"{host} answered as a CNAME");
                continue;
            }

            var found = context.Hosts.Find(host);
            var stamp = System.Globalization.CultureInfo.InvariantCulture;
            hosts.Add(found switch
            {
                null => $"{host} not resolved yet",
                { V4.Length: 0, V6.Length: 0 } => $"{host} unresolved: {found.LastError}",
                _ => $"{host} -> {string.Join(", ", found.V4.Concat(found.V6))} (ttl {found.Ttl}, {(found.IsUsable(context.Now) ? "usable" : "expired")} until {found.UsableUntil.ToString("O", stamp)}{(found.LastError is null ? string.Empty : "; last good kept after: " + found.LastError)})",
            });
        }

        if (hosts.Count > 0)
        {
            parts.Add("hosts: " + string.Join(", ", hosts));
        }
    }

    private static void NoteCalculated(SelectionContext context, ReadOnlySpan<int> considered, List<string> parts)
    {
        var service = context.Service;
        var children = new List<string>();
        var dataCenters = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var index in considered)
        {
            var endpoint = service.Endpoints[index];
            if (endpoint.Child is { } child)
            {
                var healthy = CalculatedHealth.IsHealthy(child, context.State, context.Now, out var usable, context.Hosts);
                children.Add($"{child.Name} {(healthy ? "healthy" : "unhealthy")} ({usable} of {child.Endpoints.Count} usable, needs {child.ServiceHealth})");
            }

            if (service.DataCenterHealth is { } rule && !dataCenters.ContainsKey(endpoint.DataCenter))
            {
                var holds = CalculatedHealth.DataCenterHolds(service, rule, endpoint.DataCenter, context.State, context.Now, out var usable, out var total, context.Hosts);
                dataCenters[endpoint.DataCenter] = $"{endpoint.DataCenter} {(holds ? "healthy" : "unhealthy")} ({usable} of {total} usable, needs {rule})";
            }
        }

        if (children.Count > 0)
        {
            parts.Add("child services: " + string.Join(", ", children));
        }

        if (dataCenters.Count > 0)
        {
            parts.Add("data centers: " + string.Join(", ", dataCenters.Values));
        }
    }

    /// <summary>Explain only: where the probes behind this verdict went, for endpoints whose check target is apart from the answer.</summary>
    private static void NoteCheckTargets(ServiceConfig service, HealthCheck check, ReadOnlySpan<int> considered, ResolvedHosts hosts, List<string> notes)
    {
        var parts = new List<string>();
        foreach (var index in considered)
        {
            var endpoint = service.Endpoints[index];
            if (CheckTarget.IsSet(check, endpoint))
            {
                parts.Add($"{endpoint.Id} probed at {(HostTargets.Of(service, check, endpoint, hosts)?.ToString() ?? "(not resolved yet)")}");
            }
        }

        if (parts.Count > 0)
        {
            notes.Add("check targets: " + string.Join(", ", parts));
        }
    }

    /// <summary>Explain only: each considered endpoint's external feed, how it counted and what the verdict became.</summary>
    private static string? FeedsNote(SelectionContext context, ReadOnlySpan<int> considered)
    {
        var state = context.State;
        if (state.Feeds.Count == 0)
        {
            return null;
        }

        var parts = new List<string>();
        foreach (var index in considered)
        {
            var endpoint = context.Service.Endpoints[index];
            if (!state.Feeds.TryGetValue(endpoint.Id, out var feed) || feed.Up is not { } up)
            {
                continue;
            }

            var vote = up ? "up" : "down";
            var mode = FeedModes.Name(endpoint.FeedMode);
            var probed = !state.Health.TryGetValue(endpoint.Id, out var healthy) || healthy;
            var tally = state.Tallies.TryGetValue(endpoint.Id, out var t) ? $"probers {t.Voters - t.Down} up/{t.Down} down" : "no prober votes";
            var verdict = state.ProbedAndFed(endpoint, context.Now) ? "healthy" : "unhealthy";
            parts.Add(!feed.IsLive(context.Now)
                ? $"{endpoint.Id} feed {vote} expired at {feed.Expires:O}: not counted ({tally})"
                : endpoint.FeedMode == FeedMode.Off
                    ? $"{endpoint.Id} feed {vote} ignored (feed off; {tally})"
                    : $"{endpoint.Id} feed {vote} ({mode}; {tally}, probed {(probed ? "healthy" : "unhealthy")}) -> {verdict}");
        }

        return parts.Count > 0 ? "feeds: " + string.Join(", ", parts) : null;
    }
}
