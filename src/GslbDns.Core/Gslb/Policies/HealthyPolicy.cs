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
}
