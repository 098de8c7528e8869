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
        if (context.Trace is not null && context.Service.Check is { } check)
        {
            NoteCheckTargets(context, check, candidates[..count]);
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
    private static void NoteCheckTargets(SelectionContext context, HealthCheck check, ReadOnlySpan<int> considered)
    {
        var service = context.Service;
        var parts = new List<string>();
        foreach (var index in considered)
        {
            var endpoint = service.Endpoints[index];
            if (CheckTarget.IsSet(check, endpoint))
            {
                parts.Add($"{endpoint.Id} probed at {CheckTarget.Of(service, check, endpoint)}");
            }
        }

        if (parts.Count > 0)
        {
            context.Note("check targets: " + string.Join(", ", parts));
        }
    }
}
