namespace GslbDns.Gslb.Policies;

/// <summary>
/// A 64-bit hash that is the same in every process, machine and .NET version (unlike
/// <see cref="HashCode"/>, which is seeded per process), for answers that must not move when a
/// server restarts or another server of the fleet answers. FNV-1a over the bytes, then the
/// MurmurHash3 finalizer to spread FNV's weak low bits. Changing it moves every sticky client once.
/// </summary>
internal static class StableHash
{
    public const ulong Seed = 0xCBF29CE484222325; // FNV-1a 64 offset basis
    private const ulong Prime = 0x100000001B3;

    public static ulong Add(ulong hash, ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
        {
            hash = (hash ^ b) * Prime;
        }

        return hash;
    }

    /// <summary>UTF-16 code units, low byte first, so the result does not depend on the machine's byte order.</summary>
    public static ulong Add(ulong hash, ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            hash = (hash ^ (byte)c) * Prime;
            hash = (hash ^ (byte)(c >> 8)) * Prime;
        }

        return hash;
    }

    /// <summary>MurmurHash3's fmix64: every input bit affects every output bit.</summary>
    public static ulong Finish(ulong hash)
    {
        hash ^= hash >> 33;
        hash *= 0xFF51AFD7ED558CCD;
        hash ^= hash >> 33;
        hash *= 0xC4CEB9FE1A85EC53;
        hash ^= hash >> 33;
        return hash;
    }

    /// <summary>A double in (0, 1] from the top 53 bits (never 0, so its logarithm is finite).</summary>
    public static double ToUnitInterval(ulong hash) => ((hash >> 11) + 1) * (1.0 / (1UL << 53));
}
