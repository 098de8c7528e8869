namespace GslbDns.Dnssec;

/// <summary>A signature made once and reused until <see cref="RefreshAt"/> (Unix seconds), then made again.</summary>
/// <param name="Key">What it signs (owner, type, TTL, RDATAs in canonical order); null for a static RRset's own slot.</param>
/// <param name="Rrsig">The RRSIG record, TYPE..RDATA, written after the owner as it is.</param>
public sealed record SignedSet(byte[]? Key, byte[] Rrsig, long RefreshAt)
{
    /// <summary>Further RRSIG records over the same RRset (the other KSKs of a KSK rollover); empty almost always.</summary>
    public byte[][] More { get; init; } = [];
}

/// <summary>
/// Signatures of answers that vary per query (load-balanced answer sets, compact-denial NSECs, wildcard
/// expansions), in a fixed array of slots indexed by a randomised hash of the key: a read is one volatile load
/// and a compare, a miss replaces whatever held the slot, so it never grows and never locks. It lives as long
/// as the compiled zone (one snapshot's lifetime).
/// </summary>
public sealed class SignatureCache
{
    private readonly SignedSet?[] _slots;
    private readonly int _mask;

    public SignatureCache(int slots)
    {
        var size = 1;
        while (size < slots)
        {
            size <<= 1;
        }

        _slots = new SignedSet?[size];
        _mask = size - 1;
    }

    public int Capacity => _slots.Length;

    private long _hits;
    private long _misses;

    /// <summary>Lookups answered from the cache, and those that had to sign (plain counters: racy across threads, for metrics and tests).</summary>
    public long Hits => _hits;

    /// <inheritdoc cref="Hits"/>
    public long Misses => _misses;

    public static int Hash(ReadOnlySpan<byte> key)
    {
        var hash = new HashCode();
        hash.AddBytes(key);
        return hash.ToHashCode();
    }

    /// <summary>The signature stored for <paramref name="key"/> when it is still fresh at <paramref name="now"/>.</summary>
    public SignedSet? Find(ReadOnlySpan<byte> key, int hash, long now)
    {
        var entry = Volatile.Read(ref _slots[hash & _mask]);
        if (entry is not null && entry.RefreshAt > now && entry.Key.AsSpan().SequenceEqual(key))
        {
            _hits++;
            return entry;
        }

        _misses++;
        return null;
    }

    public void Store(int hash, SignedSet entry) => Volatile.Write(ref _slots[hash & _mask], entry);

    /// <summary>Slots holding a signature (for metrics and tests: the bound is <see cref="Capacity"/>).</summary>
    public int Count()
    {
        var n = 0;
        foreach (var slot in _slots)
        {
            n += slot is null ? 0 : 1;
        }

        return n;
    }
}

/// <summary>Per-thread (per query context) buffers the signing stage builds keys and records in, so a cache hit allocates nothing.</summary>
public sealed class SigningScratch
{
    /// <summary>Answer sets larger than this are signed without caching (they only arise over TCP).</summary>
    public const int MaxKey = 8192;

    public byte[] Key { get; } = new byte[MaxKey];

    /// <summary>Records as TYPE..RDATA, copied out of the reply being built.</summary>
    public byte[] Records { get; } = new byte[MaxKey];

    /// <summary>An owner or NSEC owner, lower-cased.</summary>
    public byte[] Owner { get; } = new byte[256];

    /// <summary>An NSEC record, TYPE..RDATA: next name (at most 257 bytes) and a type bitmap.</summary>
    public byte[] Nsec { get; } = new byte[10 + 257 + 2 * 34];

    /// <summary>Record start offsets of the set being keyed.</summary>
    public int[] Order { get; } = new int[512];
}
