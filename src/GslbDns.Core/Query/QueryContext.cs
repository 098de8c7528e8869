using GslbDns.Dns;
using GslbDns.Gslb;
using GslbDns.Guards;
using GslbDns.Wire;

namespace GslbDns.Query;

/// <summary>
/// Per-thread (UDP) or per-connection (TCP) scratch state, reused for every query so the hot path
/// allocates nothing. Not thread-safe by design: one owner at a time.
/// </summary>
public sealed class QueryContext
{
    public QueryContext(int responseCapacity)
    {
        Response = new ResponseBuilder(responseCapacity);
    }

    public DnsQuery Query { get; } = new();

    public ResponseBuilder Response { get; }

    public bool OverTcp { get; set; }

    /// <summary>The packet's source address as 128 bits; IPv4 sources are stored in the low 32 bits with <see cref="SourceIsIPv6"/> false.</summary>
    public UInt128 SourceAddress { get; set; }

    public bool SourceIsIPv6 { get; set; }

    /// <summary>Replies by RCODE, and other counters, kept per context and summed when metrics are scraped.</summary>
    public QueryCounters Counters { get; } = new();

    /// <summary>
    /// The DNS series block of the thread answering now (<see cref="Observability.DnsStats"/>); null counts nothing.
    /// UDP threads set it once; TCP sets the current thread's block before each query.
    /// </summary>
    public Observability.DnsStats? Stats { get; set; }

    /// <summary>
    /// A stats clock reading (<see cref="Observability.DnsStats.Now"/>) the next query's duration starts at, or 0 for
    /// <see cref="QueryEngine.Process"/> to read the clock itself. A batched listener sets it right after each receive;
    /// Process then leaves its own end reading here, so the queries of one batch, answered back to back, take one clock
    /// read each instead of two (the listener's few steps between two queries count to the second).
    /// </summary>
    public long StatsClock { get; set; }

    /// <summary>Zone slot of the query being answered (0: none of ours), for <see cref="Stats"/>.</summary>
    internal int StatsZone { get; set; }

    /// <summary>RCODE of the reply being finished, for <see cref="Stats"/>.</summary>
    internal int StatsRcode { get; set; }

    /// <summary>Scratch for label offsets of names other than the QNAME (CNAME targets).</summary>
    internal int[] LabelScratch { get; } = new int[DnsQuery.MaxLabels];

    /// <summary>The snapshot this query is answered from: read once per query so every part of the answer agrees.</summary>
    public ServerSnapshot Snapshot { get; set; } = ServerSnapshot.Empty;

    /// <summary>Reused by load-balanced answers.</summary>
    public SelectionContext Selection { get; } = new();

    /// <summary>Names a CNAME chain has visited, for loop detection.</summary>
    internal DnsName?[] ChainTargets { get; } = new DnsName?[8];

    /// <summary>The type of the RRset a dynamic answer wrote: the query's, or CNAME when a hostname service answers with one (signing covers it).</summary>
    internal ushort DynamicType { get; set; }

    /// <summary>Set on the context <see cref="KnownNameCompiler"/> answers its synthetic queries with: a load-balanced answer is not written but marks the reply <see cref="Varies"/>.</summary>
    internal bool Precompiling { get; init; }

    /// <summary>While precompiling: the reply met a load-balanced name, so it depends on the query and cannot be kept.</summary>
    internal bool Varies { get; set; }

    /// <summary>Scratch for candidate endpoint indexes.</summary>
    internal int[] Candidates { get; } = new int[1024];

    /// <summary>The time answers are decided at; a fake in tests.</summary>
    public TimeProvider Time { get; set; } = TimeProvider.System;

    /// <summary>ECS scope the answer depended on (RFC 7871 7.2.1); set by dynamic answers.</summary>
    public byte EcsScope { get; set; }

    /// <summary>Buffers of the signing stage, made on the first signed answer this context gives.</summary>
    internal Dnssec.SigningScratch Signing => _signing ??= new();

    private Dnssec.SigningScratch? _signing;

    /// <summary>What the query's COOKIE option proved; a valid server cookie exempts the reply from rate limiting.</summary>
    public CookieVerdict Cookie { get; set; }

    /// <summary>The COOKIE option data the reply carries: the client cookie, then our server cookie.</summary>
    internal byte[] CookieReply { get; } = new byte[ServerCookies.ClientCookieLength + ServerCookies.ServerCookieLength];
}

/// <summary>Plain counters written by one thread and read, racily but harmlessly, by the metrics scraper.</summary>
public sealed class QueryCounters
{
    public long[] ByRcode { get; } = new long[24];

    public long Truncated { get; set; }

    public long Dropped { get; set; }

    /// <summary>UDP replies response rate limiting withheld.</summary>
    public long RateLimited { get; set; }

    /// <summary>Limited UDP replies sent as a small TC=1 (or BADCOOKIE) reply instead, so a real client retries.</summary>
    public long Slipped { get; set; }

    /// <summary>Queries that carried a valid server cookie of ours.</summary>
    public long ValidCookies { get; set; }

    /// <summary>Adds another set's scalar counters into this one (not <see cref="ByRcode"/>, which callers sum themselves).</summary>
    public void Add(QueryCounters other)
    {
        Truncated += other.Truncated;
        Dropped += other.Dropped;
        RateLimited += other.RateLimited;
        Slipped += other.Slipped;
        ValidCookies += other.ValidCookies;
    }
}
