namespace GslbDns.Gslb.Policies;

/// <summary>
/// <c>healthy</c>: keeps the endpoints <see cref="GslbState.IsUsable"/> says may take traffic (probed
/// healthy by quorum, not drained, or forced healthy by an unexpired override). The only step that
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
        var endpoints = context.Service.Endpoints;
        var state = context.State;
        var now = context.Now;
        // Before filtering: the loop below overwrites the candidates it drops.
        if (context.Trace is not null)
        {
            var notes = new List<string>(2);
            if (context.Service.Check is { } check && CheckTargetsNote(context.Service, check, candidates[..count]) is { } targets)
            {
                notes.Add(targets);
            }

            if (FeedsNote(context, candidates[..count]) is { } feeds)
            {
                notes.Add(feeds);
            }

            if (notes.Count > 0)
            {
                context.Note(string.Join("; ", notes));
            }
        }

        var kept = 0;
        for (var i = 0; i < count; i++)
        {
            var index = candidates[i];
            if (state.IsUsable(endpoints[index], now))
            {
                candidates[kept++] = index;
            }
        }

        return kept;
    }

    /// <summary>Explain only: where the probes behind this verdict went, for endpoints whose check target is apart from the answer.</summary>
    private static string? CheckTargetsNote(ServiceConfig service, HealthCheck check, ReadOnlySpan<int> considered)
    {
        var parts = new List<string>();
        foreach (var index in considered)
        {
            var endpoint = service.Endpoints[index];
            if (CheckTarget.IsSet(check, endpoint))
            {
                parts.Add($"{endpoint.Id} probed at {CheckTarget.Of(service, check, endpoint)}");
            }
        }

        return parts.Count > 0 ? "check targets: " + string.Join(", ", parts) : null;
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
