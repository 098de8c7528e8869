using System.Runtime.CompilerServices;

namespace GslbDns.Geo;

/// <summary>
/// One geo decision precompiled over the whole address space (gdnsd's approach): a binary prefix tree
/// whose leaves are decision numbers, built once per snapshot from the GeoIP database and the geo-data
/// overrides (a fold over their <see cref="GeoLocationTree"/>), with sibling networks that get the
/// same decision merged. A lookup follows at
/// most 32 (IPv4) or 128 (IPv6) bits, reads nothing but one int array, calls no MaxMind code and
/// allocates nothing; the depth of the leaf it stops at is the ECS scope, the widest network around
/// the address that shares its decision (never wider).
/// </summary>
/// <remarks>
/// What a decision number means is the caller's business: the builder is given a function from a
/// client location to a number, and the caller interns its decisions so that equal decisions get
/// equal numbers (that is what lets networks merge). The location of an address is what
/// <see cref="ClientLocator"/> would say: the longest override rule, else the database record's point,
/// else the default location. Identical subtrees are stored once (the tree is a DAG).
/// </remarks>
public sealed class GeoDecisionTree
{
    // Node i has its children at [2i] (bit 0) and [2i+1] (bit 1); a child >= 0 is a node, < 0 is
    // the leaf ~decision. A root is stored the same way.
    private readonly int[] _children;
    private readonly int _rootV4;
    private readonly int _rootV6;

    private GeoDecisionTree(int[] children, int rootV4, int rootV6, int decisions)
    {
        _children = children;
        _rootV4 = rootV4;
        _rootV6 = rootV6;
        DecisionCount = decisions;
    }

    /// <summary>Interior nodes stored (IPv4 and IPv6 together, shared subtrees once).</summary>
    public int NodeCount => _children.Length / 2;

    /// <summary>Distinct decision numbers that occur.</summary>
    public int DecisionCount { get; }

    /// <summary>Bytes the tree holds on the heap.</summary>
    public long SizeInBytes => (long)_children.Length * sizeof(int);

    /// <summary>
    /// Builds one tree for <paramref name="decide"/> over <paramref name="locator"/>'s sources; to build
    /// several, use one <see cref="GeoTreeCompiler"/> so the address space is walked once.
    /// </summary>
    public static GeoDecisionTree Build(ClientLocator locator, Func<GeoLocation, int> decide)
    {
        using var compiler = new GeoTreeCompiler(locator);
        return compiler.Build(decide);
    }

    /// <summary>
    /// Folds <paramref name="locations"/> into this decision's tree: one pass over its nodes in
    /// post-order, each leaf's location mapped to its decision (<paramref name="decide"/> called once
    /// per distinct location), siblings with one decision merged, equal nodes stored once.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // runs once at start-up, over millions of nodes: no tier-0 pass
    internal static GeoDecisionTree Fold(GeoLocationTree locations, Func<GeoLocation, int> decide)
    {
        GeoLocation[] all = locations.Locations;
        var leafOf = new int[all.Length];
        var decisions = new HashSet<int>();
        for (int i = 0; i < all.Length; i++)
        {
            int decision = decide(all[i]);
            if (decision < 0)
            {
                throw new InvalidOperationException($"decision numbers are >= 0, got {decision}");
            }

            decisions.Add(decision);
            leafOf[i] = ~decision;
        }

        int[] source = locations.Children;
        int count = locations.NodeCount;
        var folded = new int[count];
        var nodes = new NodeTable(Math.Max(1024, count / 4));
        for (int i = 0; i < count; i++)
        {
            int left = source[2 * i];
            int right = source[(2 * i) + 1];
            left = left < 0 ? leafOf[~left] : folded[left];
            right = right < 0 ? leafOf[~right] : folded[right];
            folded[i] = left == right && left < 0 ? left : nodes.Intern(left, right);
        }

        int Root(int reference) => reference < 0 ? leafOf[~reference] : folded[reference];
        return new GeoDecisionTree(nodes.ToChildren(), Root(locations.RootV4), Root(locations.RootV6), decisions.Count);
    }

    /// <summary>The decision for an IPv4 address (host-order integer); <paramref name="scope"/> is the merged network's prefix length.</summary>
    public int LookupV4(uint address, out byte scope)
    {
        int[] children = _children;
        int reference = _rootV4;
        int depth = 0;
        while (reference >= 0)
        {
            reference = children[(reference << 1) | (int)((address >> (31 - depth)) & 1)];
            depth++;
        }

        scope = (byte)depth;
        return ~reference;
    }

    /// <summary>
    /// The decision for an IPv6 address (big-endian value). IPv4-mapped addresses are looked up as
    /// IPv4, with the scope in IPv4 bits, as <see cref="ClientLocator"/> does.
    /// </summary>
    public int LookupV6(UInt128 address, out byte scope)
    {
        if (AddressBits.IsV4Mapped(address))
        {
            return LookupV4((uint)address, out scope);
        }

        int[] children = _children;
        ulong high = (ulong)(address >> 64);
        ulong low = (ulong)address;
        int reference = _rootV6;
        int depth = 0;
        while (reference >= 0 && depth < 64)
        {
            reference = children[(reference << 1) | (int)((high >> (63 - depth)) & 1)];
            depth++;
        }

        while (reference >= 0)
        {
            reference = children[(reference << 1) | (int)((low >> (127 - depth)) & 1)];
            depth++;
        }

        scope = (byte)depth;
        return ~reference;
    }

    /// <summary>
    /// Hash-consing of (left, right) child pairs into node numbers, open addressing over a
    /// power-of-two table: one lookup per folded node, where a <see cref="Dictionary{TKey,TValue}"/>
    /// with a custom comparer pays an interface call and a bucket chain each time.
    /// </summary>
    private sealed class NodeTable
    {
        private long[] _keys;
        private int[] _slots;
        private int[] _children;
        private int _count;

        public NodeTable(int expected)
        {
            int capacity = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, expected * 2));
            _keys = new long[capacity];
            _slots = new int[capacity];
            _children = new int[2 * expected];
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)] // runs once at start-up, over millions of nodes: no tier-0 pass
        public int Intern(int left, int right)
        {
            long key = ((long)left << 32) | (uint)right;
            int mask = _keys.Length - 1;
            int slot = Slot(key, mask);
            while (true)
            {
                int stored = _slots[slot]; // node + 1; 0 is an empty slot
                if (stored == 0)
                {
                    break;
                }

                if (_keys[slot] == key)
                {
                    return stored - 1;
                }

                slot = (slot + 1) & mask;
            }

            int node = _count++;
            if (2 * _count > _children.Length)
            {
                Array.Resize(ref _children, 2 * _children.Length);
            }

            _children[2 * node] = left;
            _children[(2 * node) + 1] = right;
            _keys[slot] = key;
            _slots[slot] = node + 1;
            if (2 * _count > _keys.Length)
            {
                Grow();
            }

            return node;
        }

        public int[] ToChildren() => _children[..(2 * _count)];

        private void Grow()
        {
            long[] keys = _keys;
            int[] slots = _slots;
            _keys = new long[keys.Length * 2];
            _slots = new int[keys.Length * 2];
            int mask = _keys.Length - 1;
            for (int i = 0; i < keys.Length; i++)
            {
                if (slots[i] != 0)
                {
                    int slot = Slot(keys[i], mask);
                    while (_slots[slot] != 0)
                    {
                        slot = (slot + 1) & mask;
                    }

                    _keys[slot] = keys[i];
                    _slots[slot] = slots[i];
                }
            }
        }

        // Sibling nodes are numbered n and n+1: a multiplicative mix, else they crowd a few slots.
        private static int Slot(long key, int mask) => (int)(((ulong)key * 0x9E3779B97F4A7C15UL) >> 32) & mask;
    }
}
