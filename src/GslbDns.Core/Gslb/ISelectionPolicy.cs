namespace GslbDns.Gslb;

/// <summary>
/// One step of a service's policy chain (NS1 filter-chain style): it narrows or reorders the
/// candidate endpoints and passes them on. Candidates are indexes into the service's endpoint list,
/// held in a span the caller owns, so a chain runs without allocating.
/// </summary>
public interface ISelectionPolicy
{
    /// <summary>The config name, e.g. <c>geo-proximity</c>; explain prints it.</summary>
    string Name { get; }

    /// <summary>
    /// Rewrites <c>candidates[..count]</c> in place and returns the new count. Must never return 0
    /// when given a non-zero count, except the <c>healthy</c> step (the selector then applies the
    /// service's all-unhealthy behaviour); a policy with nothing to go on keeps what it was given.
    /// </summary>
    int Apply(Span<int> candidates, int count, SelectionContext context);
}
