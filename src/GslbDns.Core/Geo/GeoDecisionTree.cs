namespace GslbDns.Geo;

/// <summary>
/// One geo decision precompiled over the whole address space (gdnsd's approach): a binary prefix tree
/// whose leaves are decision numbers, built once per snapshot by walking the GeoIP database and the
/// geo-data overrides, with sibling networks that get the same decision merged. A lookup follows at
/// most 32 (IPv4) or 128 (IPv6) bits, reads nothing but one int array, calls no MaxMind code and
/// allocates nothing; the depth of the leaf it stops at is the ECS scope, the widest network around
/// the address that shares its decision (never wider).
/// </summary>
/// <remarks>
/// What a decision number means is the caller's business: the builder is given a function from a
/// client location to a number, and the caller interns its decisions so that equal decisions get
/// equal numbers (that is what lets networks merge). The location of an address is what
/// <see cref="ClientLocator"/> would say: the longest override rule, else the database record's point,
/// else the default location. Identical subtrees are stored once (the tree is a DAG), which also
/// covers the aliases of the IPv4 subtree inside an IPv6 database.
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
    /// several, use one <see cref="GeoTreeCompiler"/> so the database records are decoded once.
    /// </summary>
    public static GeoDecisionTree Build(ClientLocator locator, Func<GeoLocation, int> decide)
    {
        using var compiler = new GeoTreeCompiler(locator);
        return compiler.Build(decide);
    }

    internal static GeoDecisionTree Build(MmdbSearchTree? database, GeoOverrides overrides, GeoLocation defaultLocation, Func<GeoLocation, int> decide)
    {
        var builder = new Builder(database, overrides, defaultLocation, decide);
        return builder.Finish();
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

    private sealed class Builder
    {
        private const uint NoRecord = uint.MaxValue;

        private readonly MmdbSearchTree? _database;
        private readonly GeoOverrideRule[] _rules;
        private readonly Func<GeoLocation, int> _decide;
        private readonly Dictionary<GeoLocation, int> _byLocation = [];
        private readonly Dictionary<uint, int> _byRecord = [];
        private readonly Dictionary<long, int> _nodes = new(MixedHash.Instance);
        private readonly HashSet<int> _decisions = [];
        private readonly List<int> _children = [];
        private readonly int _defaultLeaf;
        private readonly int _rootV4;
        private readonly int _rootV6;
        private int _width;
        private int _memoIPv4 = int.MinValue;

        public Builder(MmdbSearchTree? database, GeoOverrides overrides, GeoLocation defaultLocation, Func<GeoLocation, int> decide)
        {
            _database = database;
            _decide = decide;
            _rules = [.. overrides.Rules];
            _defaultLeaf = Leaf(defaultLocation);

            _width = 32;
            uint v4Start = database is null ? NoRecord : database.IPv4Start;
            _rootV4 = Walk(v4Start, 0, RuleTrie(v4: true), -1);

            _width = 128;
            uint v6Start = database is { IsIPv6: true } ? 0 : NoRecord;
            _rootV6 = Walk(v6Start, 0, RuleTrie(v4: false), -1);
        }

        public GeoDecisionTree Finish() => new([.. _children], _rootV4, _rootV6, _decisions.Count);

        // Splits where override rules lie below; where none does, the covering rule (if any) decides
        // the whole subtree, else the database does.
        private int Walk(uint record, int depth, RuleNode? rules, int covering)
        {
            if (rules is { Rule: >= 0 })
            {
                covering = rules.Rule;
            }

            if (rules is null || (rules.Zero is null && rules.One is null))
            {
                return covering >= 0 ? Leaf(_rules[covering].Location) : FromDatabase(record, depth);
            }

            (uint zero, uint one) = IsNode(record) ? (_database!.Child(record, 0), _database.Child(record, 1)) : (record, record);
            int left = Walk(zero, depth + 1, rules.Zero, covering);
            int right = Walk(one, depth + 1, rules.One, covering);
            return Join(left, right);
        }

        private int FromDatabase(uint record, int depth)
        {
            if (record == NoRecord || record == _database!.NodeCount)
            {
                return _defaultLeaf;
            }

            if (record > _database.NodeCount)
            {
                if (!_byRecord.TryGetValue(record, out int leaf))
                {
                    GeoLocation? location = _database.LocationOf(record);
                    leaf = location is null ? _defaultLeaf : Leaf(location);
                    _byRecord[record] = leaf;
                }

                return leaf;
            }

            if (depth >= _width)
            {
                return _defaultLeaf; // a node below the last bit: a corrupt tree; the locator would not place it either
            }

            // The IPv4 subtree appears up to three times in an IPv6 database (::/96, ::ffff:0:0/96,
            // 2002::/16); its result does not depend on where it hangs, so it is built once.
            bool memoize = record == _database.IPv4Start && _database.IsIPv6;
            if (memoize && _memoIPv4 != int.MinValue)
            {
                return _memoIPv4;
            }

            int left = FromDatabase(_database.Child(record, 0), depth + 1);
            int right = FromDatabase(_database.Child(record, 1), depth + 1);
            int joined = Join(left, right);
            if (memoize)
            {
                _memoIPv4 = joined;
            }

            return joined;
        }

        private bool IsNode(uint record) => record != NoRecord && record < _database!.NodeCount;

        private int Leaf(GeoLocation location)
        {
            if (!_byLocation.TryGetValue(location, out int leaf))
            {
                int decision = _decide(location);
                if (decision < 0)
                {
                    throw new InvalidOperationException($"decision numbers are >= 0, got {decision}");
                }

                _decisions.Add(decision);
                leaf = ~decision;
                _byLocation[location] = leaf;
            }

            return leaf;
        }

        // Two leaves with one decision merge into their parent; equal nodes are stored once.
        private int Join(int left, int right)
        {
            if (left == right && left < 0)
            {
                return left;
            }

            long key = ((long)left << 32) | (uint)right;
            if (!_nodes.TryGetValue(key, out int node))
            {
                node = _children.Count / 2;
                _children.Add(left);
                _children.Add(right);
                _nodes[key] = node;
            }

            return node;
        }

        private RuleNode? RuleTrie(bool v4)
        {
            RuleNode? root = null;
            for (int i = 0; i < _rules.Length; i++)
            {
                GeoOverrideRule rule = _rules[i];
                bool isV4 = rule.Network.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork;
                if (isV4 != v4)
                {
                    continue;
                }

                byte[] bytes = rule.Network.GetAddressBytes();
                root ??= new RuleNode();
                RuleNode node = root;
                for (int depth = 0; depth < rule.PrefixLength; depth++)
                {
                    bool one = (bytes[depth >> 3] & (0x80 >> (depth & 7))) != 0;
                    node = one ? node.One ??= new RuleNode() : node.Zero ??= new RuleNode();
                }

                node.Rule = i;
            }

            return root;
        }

        // long's own hash XORs its halves, and sibling nodes are numbered n and n+1: nearly every
        // node would share a handful of buckets (measured: minutes instead of seconds). Mix instead.
        private sealed class MixedHash : IEqualityComparer<long>
        {
            public static readonly MixedHash Instance = new();

            public bool Equals(long x, long y) => x == y;

            public int GetHashCode(long key) => (int)(((ulong)key * 0x9E3779B97F4A7C15UL) >> 32);
        }

        private sealed class RuleNode
        {
            public RuleNode? Zero { get; set; }

            public RuleNode? One { get; set; }

            public int Rule { get; set; } = -1;
        }
    }
}
