namespace GslbDns.Gslb.Policies;

/// <summary>
/// <c>multivalue</c>: up to <c>count</c> candidates in random order (Route 53 multivalue answers),
/// so resolvers and clients that take the first address spread over all of them.
/// </summary>
public sealed class MultivaluePolicy : ISelectionPolicy
{
    public const string TypeName = "multivalue";
    public const int DefaultCount = 8;

    /// <summary>The options this policy takes besides <c>type</c>.</summary>
    internal static readonly string[] OptionNames = ["count"];

    /// <summary>Reads this policy's options from its step; errors go to the step's file.</summary>
    internal static MultivaluePolicy Read(PolicyOptions options) => new(options.Count(DefaultCount));

    private readonly Random _random;

    public MultivaluePolicy(int count)
        : this(count, Random.Shared)
    {
    }

    /// <summary>For tests: a seeded <paramref name="random"/> (not thread-safe, so not for serving).</summary>
    internal MultivaluePolicy(int count, Random random)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        Count = count;
        _random = random;
    }

    public int Count { get; }

    public string Name => TypeName;

    public int Apply(Span<int> candidates, int count, SelectionContext context)
    {
        // Partial Fisher-Yates: only the positions we return need shuffling.
        var take = Math.Min(count, Count);
        for (var i = 0; i < take; i++)
        {
            var j = _random.Next(i, count);
            (candidates[i], candidates[j]) = (candidates[j], candidates[i]);
        }

        return take;
    }
}
