namespace GslbDns.Gslb.Policies;

/// <summary><c>first</c>: the first <c>count</c> candidates in the order the earlier steps left them.</summary>
public sealed class FirstPolicy : ISelectionPolicy
{
    public const string TypeName = "first";

    /// <summary>The options this policy takes besides <c>type</c>.</summary>
    internal static readonly string[] OptionNames = ["count"];

    /// <summary>Reads this policy's options from its step; errors go to the step's file.</summary>
    internal static FirstPolicy Read(PolicyOptions options) => new(options.Count(1));

    public FirstPolicy(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        Count = count;
    }

    public int Count { get; }

    public string Name => TypeName;

    public int Apply(Span<int> candidates, int count, SelectionContext context) => Math.Min(count, Count);
}
