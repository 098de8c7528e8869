using System.Runtime.CompilerServices;

namespace GslbDns.Geo;

/// <summary>
/// The whole address space as the locator sees it, walked once per set of sources: a binary tree whose
/// leaves are location numbers (the longest override rule, else the database record's point, else the
/// default), with siblings of one location merged. Build-time only: every <see cref="GeoDecisionTree"/>
/// of a compilation is a fold over it, which reads two int arrays in order instead of walking the
/// database's 3.7 million nodes and looking up a record per leaf again for each decision.
/// </summary>
/// <remarks>
/// Nodes are numbered in post-order (children before parents), so a fold is one pass over the array.
/// Node i has its children at [2i] and [2i+1]; a child >= 0 is a node, &lt; 0 the leaf ~location.
/// The IPv4 subtree that an IPv6 database holds up to three times is walked once and shared.
/// </remarks>
internal sealed class GeoLocationTree
{
    private const uint NoRecord = uint.MaxValue;

    private GeoLocationTree(int[] children, int nodeCount, int rootV4, int rootV6, GeoLocation[] locations)
    {
        Children = children;
        NodeCount = nodeCount;
        RootV4 = rootV4;
        RootV6 = rootV6;
        Locations = locations;
    }

    /// <summary>Child pairs; only the first 2 * <see cref="NodeCount"/> entries are used.</summary>
    public int[] Children { get; }

    public int NodeCount { get; }

    public int RootV4 { get; }

    public int RootV6 { get; }

    /// <summary>The distinct locations; a leaf ~i stands for Locations[i].</summary>
    public GeoLocation[] Locations { get; }

    public static GeoLocationTree Build(MmdbSearchTree? database, GeoOverrides overrides, GeoLocation defaultLocation)
    {
        var walker = new Walker(database, overrides, defaultLocation);
        return walker.Finish();
    }

    private sealed class Walker
    {
        private readonly MmdbSearchTree? _database;
        private readonly GeoOverrideRule[] _rules;
        // The overrides' and the default's locations (odd numbers; the database's are even).
        private readonly Dictionary<GeoLocation, int> _byLocation = [];
        private readonly List<GeoLocation> _locations = [];
        private readonly RecordMap _byRecord = new();
        private readonly int _defaultLeaf;
        private readonly int _rootV4;
        private readonly int _rootV6;
        private int[] _children;
        private int _count;
        private int _width;
        private int _memoIPv4 = int.MinValue;

        public Walker(MmdbSearchTree? database, GeoOverrides overrides, GeoLocation defaultLocation)
        {
            _database = database;
            _rules = [.. overrides.Rules];

            // Sized for the whole database (a tree never has more merged nodes than database nodes plus rule splits).
            _children = new int[(int)Math.Min(2L * ((database?.NodeCount ?? 0) + 1024), Array.MaxLength)];
            _defaultLeaf = Leaf(defaultLocation);

            _width = 32;
            uint v4Start = database is null ? NoRecord : database.IPv4Start;
            _rootV4 = Walk(v4Start, 0, RuleTrie(v4: true), -1);

            _width = 128;
            uint v6Start = database is { IsIPv6: true } ? 0 : NoRecord;
            _rootV6 = Walk(v6Start, 0, RuleTrie(v4: false), -1);
        }

        // Leaves renumbered densely: the database's locations first, then ours (one pass, no lookups).
        public GeoLocationTree Finish()
        {
            IReadOnlyList<GeoLocation> fromDatabase = _database?.Locations ?? [];
            int ours = fromDatabase.Count;
            int Renumber(int reference)
            {
                if (reference >= 0)
                {
                    return reference;
                }

                int number = ~reference;
                return ~((number & 1) == 0 ? number >> 1 : ours + (number >> 1));
            }

            int[] children = _children;
            for (int i = 0; i < 2 * _count; i++)
            {
                children[i] = Renumber(children[i]);
            }

            return new(children, _count, Renumber(_rootV4), Renumber(_rootV6), [.. fromDatabase, .. _locations]);
        }

        // Splits where override rules lie below; where none does, the covering rule (if any) decides
        // the whole subtree, else the database does.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)] // runs once at start-up, over millions of nodes: no tier-0 pass
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

        [MethodImpl(MethodImplOptions.AggressiveOptimization)] // runs once at start-up, over millions of nodes: no tier-0 pass
        private int FromDatabase(uint record, int depth)
        {
            MmdbSearchTree? database = _database;
            if (record == NoRecord || record == database!.NodeCount)
            {
                return _defaultLeaf;
            }

            if (record > database.NodeCount)
            {
                int leaf = _byRecord.Get(record);
                if (leaf == 0)
                {
                    // The reader numbers the database's locations: even leaf numbers are those, odd ones ours.
                    int number = database.LocationNumberOf(record);
                    leaf = number < 0 ? _defaultLeaf : ~(2 * number);
                    _byRecord.Set(record, leaf);
                }

                return leaf;
            }

            if (depth >= _width)
            {
                return _defaultLeaf; // a node below the last bit: a corrupt tree; the locator would not place it either
            }

            // The IPv4 subtree appears up to three times in an IPv6 database (::/96, ::ffff:0:0/96,
            // 2002::/16); its result does not depend on where it hangs, so it is built once.
            bool memoize = record == database.IPv4Start && database.IsIPv6;
            if (memoize && _memoIPv4 != int.MinValue)
            {
                return _memoIPv4;
            }

            int left = FromDatabase(database.Child(record, 0), depth + 1);
            int right = FromDatabase(database.Child(record, 1), depth + 1);
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
            if (!_byLocation.TryGetValue(location, out int number))
            {
                number = (2 * _locations.Count) + 1;
                _locations.Add(location);
                _byLocation[location] = number;
            }

            return ~number;
        }

        // Two leaves of one location merge into their parent; anything else is a new node (the walk
        // visits each database node once, so there is nothing to share but the IPv4 alias above).
        private int Join(int left, int right)
        {
            if (left == right && left < 0)
            {
                return left;
            }

            if (2 * (_count + 1) > _children.Length)
            {
                Array.Resize(ref _children, (int)Math.Min(2L * _children.Length, Array.MaxLength));
            }

            _children[2 * _count] = left;
            _children[(2 * _count) + 1] = right;
            return _count++;
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

        private sealed class RuleNode
        {
            public RuleNode? Zero { get; set; }

            public RuleNode? One { get; set; }

            public int Rule { get; set; } = -1;
        }
    }

    /// <summary>
    /// Database record to leaf, open addressing over a power-of-two table: the walk asks once per
    /// record reference (millions), where a <see cref="Dictionary{TKey,TValue}"/> costs several times more.
    /// Keys are data records (> node count, so never 0); values are leaves (&lt; 0, so 0 means absent).
    /// </summary>
    private sealed class RecordMap
    {
        private uint[] _keys = new uint[1 << 16];
        private int[] _values = new int[1 << 16];
        private int _count;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)] // runs once at start-up, over millions of nodes: no tier-0 pass
        public int Get(uint key)
        {
            int mask = _keys.Length - 1;
            for (int slot = Slot(key, mask); ; slot = (slot + 1) & mask)
            {
                uint found = _keys[slot];
                if (found == key)
                {
                    return _values[slot];
                }

                if (found == 0)
                {
                    return 0;
                }
            }
        }

        public void Set(uint key, int value)
        {
            if (2 * (_count + 1) > _keys.Length)
            {
                Grow();
            }

            Insert(key, value);
        }

        private void Insert(uint key, int value)
        {
            int mask = _keys.Length - 1;
            int slot = Slot(key, mask);
            while (_keys[slot] != 0 && _keys[slot] != key)
            {
                slot = (slot + 1) & mask;
            }

            if (_keys[slot] == 0)
            {
                _count++;
            }

            _keys[slot] = key;
            _values[slot] = value;
        }

        private void Grow()
        {
            uint[] keys = _keys;
            int[] values = _values;
            _keys = new uint[keys.Length * 2];
            _values = new int[keys.Length * 2];
            _count = 0;
            for (int i = 0; i < keys.Length; i++)
            {
                if (keys[i] != 0)
                {
                    Insert(keys[i], values[i]);
                }
            }
        }

        private static int Slot(uint key, int mask) => (int)((key * 0x9E3779B1u) >> 8) & mask;
    }
}
