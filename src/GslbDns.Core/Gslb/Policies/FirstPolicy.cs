namespace GslbDns.Gslb.Policies;

/// <summary><c>first</c>: the first <c>count</c> candidates in the order the earlier steps left them.</summary>
public sealed class FirstPolicy : ISelectionPolicy
{
    public const string TypeName = "first";

    public FirstPolicy(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        Count = count;
    }

    public int Count { get; }

    public string Name => TypeName;

    public int Apply(Span<int> candidates, int count, SelectionContext context) => Math.Min(count, Count);
}
