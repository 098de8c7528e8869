using System.Numerics;

namespace GslbDns.Geo;

/// <summary>
/// An immutable path-compressed binary trie over the leading bits of addresses of one family (32 or
/// 128 bits), built once at load time and read lock-free and allocation-free on the query path.
/// Besides the longest matching prefix it reports how many leading bits of the address the answer
/// depends on, which a sorted-array lookup would have to work out separately.
/// </summary>
/// <remarks>
/// Only nodes that hold an entry or branch are kept, so a lookup visits one node per branching
/// point on its path (a handful for any realistic override file) rather than one per bit (48 for a
/// /48), and compares each node's whole prefix at once with XOR and a leading-zero count.
/// Addresses are passed left-aligned in two ulongs (an IPv4 address in the top 32 bits of
/// <c>high</c>): UInt128 arithmetic costs several times more than two ulongs.
/// </remarks>
internal sealed class PrefixTrie
{
    private readonly Node[] _nodes;
    private readonly int _width;

    private PrefixTrie(Node[] nodes, int width)
    {
        _nodes = nodes;
        _width = width;
    }

    /// <summary>
    /// Builds a trie. Networks are left-aligned like the addresses given to <see cref="Match"/>,
    /// already masked to their prefix, and appear once; <paramref name="width"/> is 32 or 128.
    /// </summary>
    public static PrefixTrie Build(int width, IEnumerable<(ulong High, ulong Low, int PrefixLength, int Value)> entries)
    {
        var root = new BuildNode();
        foreach (var (high, low, prefixLength, value) in entries)
        {
            BuildNode node = root;
            for (int depth = 0; depth < prefixLength; depth++)
            {
                node = Bit(high, low, depth) == 0 ? node.Zero ??= new BuildNode() : node.One ??= new BuildNode();
            }

            if (node.Value >= 0)
            {
                throw new ArgumentException($"Network {high:X16}{low:X16}/{prefixLength} appears twice.", nameof(entries));
            }

            node.Value = value;
        }

        var nodes = new List<Node>();
        Emit(root, 0, 0, 0, width, nodes);
        return new PrefixTrie([.. nodes], width);
    }

    /// <summary>
    /// Finds the longest prefix covering the address; returns its value, or -1 when none covers it.
    /// <paramref name="scope"/> is the number of leading bits that decide this outcome: at least the
    /// matched prefix length, and one more than the length shared with any stored network that does
    /// not cover the address, so that no other entry lies inside address/scope. 0 when empty.
    /// </summary>
    public int Match(ulong high, ulong low, out int scope)
    {
        Node[] nodes = _nodes;
        int index = 0;
        int match = -1;
        int matchDepth = 0;
        int diverge = -1;
        while (true)
        {
            ref readonly Node node = ref nodes[index];
            int shared = CommonPrefixLength(high, low, node.High, node.Low);
            if (shared < node.PrefixLength)
            {
                // The address leaves this node's path early: every entry below shares `shared` bits with it.
                diverge = Math.Max(diverge, shared);
                break;
            }

            if (node.Value >= 0)
            {
                match = node.Value;
                matchDepth = node.PrefixLength;
            }

            if (node.PrefixLength == _width)
            {
                break;
            }

            int bit = Bit(high, low, node.PrefixLength);
            if ((bit == 0 ? node.One : node.Zero) != 0)
            {
                // The other branch holds entries sharing exactly PrefixLength bits with the address.
                diverge = Math.Max(diverge, node.PrefixLength);
            }

            int next = bit == 0 ? node.Zero : node.One;
            if (next == 0)
            {
                break;
            }

            index = next;
        }

        scope = Math.Max(matchDepth, diverge + 1);
        return match;
    }

    // Emits the compressed node for `node` at `depth` (key bits so far in high/low), first following
    // chains of single-child nodes that hold no entry. Returns its index; the root gets 0, so 0 can
    // mean "no child".
    private static int Emit(BuildNode node, int depth, ulong high, ulong low, int width, List<Node> nodes)
    {
        while (node.Value < 0 && depth < width && (node.Zero is null) != (node.One is null))
        {
            if (node.One is not null)
            {
                SetBit(ref high, ref low, depth);
                node = node.One;
            }
            else
            {
                node = node.Zero!;
            }

            depth++;
        }

        int index = nodes.Count;
        nodes.Add(default);
        int zero = node.Zero is null ? 0 : Emit(node.Zero, depth + 1, high, low, width, nodes);
        int one = 0;
        if (node.One is not null)
        {
            ulong oneHigh = high;
            ulong oneLow = low;
            SetBit(ref oneHigh, ref oneLow, depth);
            one = Emit(node.One, depth + 1, oneHigh, oneLow, width, nodes);
        }

        nodes[index] = new Node(high, low, depth, node.Value, zero, one);
        return index;
    }

    private static int CommonPrefixLength(ulong high, ulong low, ulong otherHigh, ulong otherLow)
    {
        ulong difference = high ^ otherHigh;
        return difference != 0
            ? BitOperations.LeadingZeroCount(difference)
            : 64 + BitOperations.LeadingZeroCount(low ^ otherLow); // 128 when equal
    }

    private static int Bit(ulong high, ulong low, int index) =>
        index < 64 ? (int)((high >> (63 - index)) & 1) : (int)((low >> (127 - index)) & 1);

    private static void SetBit(ref ulong high, ref ulong low, int index)
    {
        if (index < 64)
        {
            high |= 1UL << (63 - index);
        }
        else
        {
            low |= 1UL << (127 - index);
        }
    }

    /// <summary>A kept node: its key (left-aligned, masked), prefix length, entry, children (0 = none).</summary>
    private readonly record struct Node(ulong High, ulong Low, int PrefixLength, int Value, int Zero, int One);

    private sealed class BuildNode
    {
        public BuildNode? Zero { get; set; }

        public BuildNode? One { get; set; }

        public int Value { get; set; } = -1;
    }
}
