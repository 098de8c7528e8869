namespace GslbDns.Gslb.Policies;

/// <summary>
/// <c>failover</c>: keeps the candidates with the lowest <see cref="Endpoint.Priority"/> value. Run
/// after <c>healthy</c>, the candidates are the usable ones, so the first priority group that still
/// has a usable endpoint answers and the next group takes over only when it has none.
/// </summary>
public sealed class FailoverPolicy : ISelectionPolicy
{
    public const string TypeName = "failover";

    public static readonly FailoverPolicy Instance = new();

    private FailoverPolicy()
    {
    }

    public string Name => TypeName;

    public int Apply(Span<int> candidates, int count, SelectionContext context)
    {
        if (count == 0)
        {
            return 0;
        }

        var endpoints = context.Service.Endpoints;
        var best = int.MaxValue;
        for (var i = 0; i < count; i++)
        {
            best = Math.Min(best, endpoints[candidates[i]].Priority);
        }

        var kept = 0;
        for (var i = 0; i < count; i++)
        {
            var index = candidates[i];
            if (endpoints[index].Priority == best)
            {
                candidates[kept++] = index;
            }
        }

        return kept;
    }
}
