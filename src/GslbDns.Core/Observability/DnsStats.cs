using System.Diagnostics;

namespace GslbDns.Observability;

/// <summary>
/// The DNS counters of one thread: requests by zone and type, responses by zone and RCODE, DO and ECS queries,
/// and duration and size histograms by zone, plus load-balanced answers by service and data center. Written
/// only by its owner thread with plain increments (no atomics, no locks) and read, racily but harmlessly, by the
/// scraper, which sums every thread's block (<see cref="DnsStatsExporter"/>). A zone's row is allocated the
/// first time this thread answers for that zone, so the steady state allocates nothing.
/// </summary>
public sealed class DnsStats
{
    internal const int Types = 21;
    internal const int Rcodes = DnsLabels.RcodeCount;
    internal static readonly int DurationBuckets = DnsLabels.DurationBounds.Length + 1;
    internal static readonly int SizeBuckets = DnsLabels.SizeBounds.Length + 1;

    // Layout of a zone row: counters, then each histogram as bucket counts followed by per-bucket sums (so the
    // scraper can hand prometheus-net exact sums: it observes each bucket's mean, count times).
    internal const int RequestsAt = 0;
    internal const int ResponsesAt = RequestsAt + Types;
    internal const int DoAt = ResponsesAt + Rcodes;
    internal const int EcsAt = DoAt + 1;
    internal const int DurationAt = EcsAt + 1;
    internal static readonly int RequestSizeAt = DurationAt + (2 * DurationBuckets);
    internal static readonly int ResponseSizeAt = RequestSizeAt + (2 * SizeBuckets);
    internal static readonly int RowLength = ResponseSizeAt + (2 * SizeBuckets);

    private readonly long[]?[] _zones = new long[MetricSlots.Zones.Capacity][];
    private readonly long[]?[] _services = new long[MetricSlots.Services.Capacity][];

    /// <summary>The zone rows, by zone slot (null: this thread never answered for that zone).</summary>
    internal long[]?[] Zones => _zones;

    /// <summary>Load-balanced answers, by service slot then data-center slot.</summary>
    internal long[]?[] Services => _services;

    /// <summary>Queries this block counted for a zone slot, every type (for tests and the scraper's checks).</summary>
    public long RequestsFor(int zoneSlot) => _zones[zoneSlot] is { } row ? row.AsSpan(RequestsAt, Types).ToArray().Sum() : 0;

    /// <summary>Counts one query; <paramref name="rcode"/> is negative when no reply was sent.</summary>
    public void Record(int zoneSlot, ushort qtype, bool dnssecOk, bool clientSubnet, int requestBytes, int rcode, int responseBytes, long elapsedTicks)
    {
        var row = _zones[zoneSlot] ?? NewZoneRow(zoneSlot);
        row[RequestsAt + DnsLabels.TypeBucket(qtype)]++;
        if (dnssecOk)
        {
            row[DoAt]++;
        }

        if (clientSubnet)
        {
            row[EcsAt]++;
        }

        Observe(row, RequestSizeAt, SizeBuckets, SizeBucket(requestBytes), requestBytes);
        if (rcode >= 0)
        {
            row[ResponsesAt + Math.Min(rcode, Rcodes - 1)]++;
            Observe(row, ResponseSizeAt, SizeBuckets, SizeBucket(responseBytes), responseBytes);
        }

        Observe(row, DurationAt, DurationBuckets, DurationBucket(elapsedTicks), elapsedTicks);
    }

    /// <summary>Counts one load-balanced answer for the data center of its first address (slot 0: the fallback).</summary>
    public void RecordAnswer(int serviceSlot, int dataCenterSlot)
    {
        var row = _services[serviceSlot] ?? NewServiceRow(serviceSlot);
        row[dataCenterSlot]++;
    }

    private static void Observe(long[] row, int at, int buckets, int bucket, long value)
    {
        row[at + bucket]++;
        row[at + buckets + bucket] += value;
    }

    private static int DurationBucket(long ticks)
    {
        var bounds = DnsLabels.DurationBoundTicks;
        for (var i = 0; i < bounds.Length; i++)
        {
            if (ticks <= bounds[i])
            {
                return i;
            }
        }

        return bounds.Length;
    }

    private static int SizeBucket(int bytes)
    {
        var bounds = DnsLabels.SizeBoundBytes;
        for (var i = 0; i < bounds.Length; i++)
        {
            if (bytes <= bounds[i])
            {
                return i;
            }
        }

        return bounds.Length;
    }

    private long[] NewZoneRow(int slot) => _zones[slot] = new long[RowLength];

    private long[] NewServiceRow(int slot) => _services[slot] = new long[MetricSlots.DataCenters.Capacity];

    /// <summary>Stopwatch ticks now; the engine takes one before and one after each query.</summary>
    public static long Now() => Stopwatch.GetTimestamp();
}

/// <summary>
/// The counter blocks of one listener and transport (a CoreDNS <c>server</c>, <c>proto</c> and <c>family</c>): one
/// block per UDP thread, and for TCP, whose connections run on thread-pool threads, one block per thread that has
/// served this listener (<see cref="ForCurrentThread"/>), so no two threads ever write one block.
/// </summary>
public sealed class DnsStatsGroup
{
    private static int s_nextId;

    [ThreadStatic]
    private static DnsStats?[]? t_blocks;

    private readonly int _id = Interlocked.Increment(ref s_nextId) - 1;
    private readonly Lock _lock = new();
    private DnsStats[] _blocks = [];

    /// <param name="server">CoreDNS's form: <c>dns://ADDRESS:PORT</c>.</param>
    /// <param name="proto"><c>udp</c> or <c>tcp</c>.</param>
    /// <param name="family"><c>1</c> for IPv4, <c>2</c> for IPv6 (CoreDNS's numbers).</param>
    public DnsStatsGroup(string server, string proto, string family)
    {
        Server = server;
        Proto = proto;
        Family = family;
    }

    public static DnsStatsGroup For(System.Net.IPEndPoint endPoint, string proto)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        var ipv6 = endPoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
        return new DnsStatsGroup($"dns://{endPoint}", proto, ipv6 ? "2" : "1");
    }

    public string Server { get; }

    public string Proto { get; }

    public string Family { get; }

    /// <summary>Every block so far (for the scraper).</summary>
    public IReadOnlyList<DnsStats> Blocks => Volatile.Read(ref _blocks);

    /// <summary>A block for a thread this listener owns (one per UDP thread).</summary>
    public DnsStats NewBlock()
    {
        var block = new DnsStats();
        lock (_lock)
        {
            _blocks = [.. _blocks, block];
        }

        return block;
    }

    /// <summary>The calling thread's block for this group, created the first time this thread asks.</summary>
    public DnsStats ForCurrentThread()
    {
        var blocks = t_blocks;
        if (blocks is not null && _id < blocks.Length && blocks[_id] is { } block)
        {
            return block;
        }

        return NewForCurrentThread();
    }

    private DnsStats NewForCurrentThread()
    {
        var blocks = t_blocks;
        if (blocks is null || _id >= blocks.Length)
        {
            var grown = new DnsStats?[Math.Max(_id + 1, (blocks?.Length ?? 0) * 2)];
            blocks?.CopyTo(grown, 0);
            t_blocks = blocks = grown;
        }

        return blocks[_id] = NewBlock();
    }
}
