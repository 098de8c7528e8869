using System.Buffers.Binary;
using System.Net;

namespace GslbDns.Guards;

/// <summary>What a reply counts against: BIND and Knot keep separate budgets for these.</summary>
public enum ResponseClass
{
    /// <summary>NOERROR: answers, NODATA, referrals; counted per QNAME and QTYPE (identical responses, as BIND does).</summary>
    Normal,

    /// <summary>NXDOMAIN: counted per client prefix whatever the name, so random-subdomain floods share one budget.</summary>
    NxDomain,

    /// <summary>FORMERR, SERVFAIL, NOTIMP, REFUSED, BADVERS and the like, per client prefix.</summary>
    Error,
}

public enum RateLimitVerdict
{
    /// <summary>Within the budget: send the reply.</summary>
    Send,

    /// <summary>Over the budget: send nothing.</summary>
    Drop,

    /// <summary>Over the budget, but this is the slip'th limited reply: send a small truncated one so a real client retries over TCP.</summary>
    Slip,
}

/// <summary>Response rate limiting settings (the names follow BIND's <c>rate-limit</c> clause).</summary>
public sealed record RateLimitOptions
{
    /// <summary>NOERROR replies per second per client prefix and name; 0 leaves them unlimited. 0 everywhere turns RRL off (the default).</summary>
    public int ResponsesPerSecond { get; init; }

    /// <summary>NXDOMAIN replies per second per client prefix; null takes <see cref="ResponsesPerSecond"/>.</summary>
    public int? NxDomainsPerSecond { get; init; }

    /// <summary>Error replies per second per client prefix; null takes <see cref="ResponsesPerSecond"/>.</summary>
    public int? ErrorsPerSecond { get; init; }

    /// <summary>Every Nth limited reply is sent truncated (TC=1, no records); 0 drops them all, 1 truncates them all. BIND and Knot default to 2.</summary>
    public int Slip { get; init; } = 2;

    /// <summary>Seconds of debt a flood can run up: after it stops, a prefix waits up to this long for full service.</summary>
    public int WindowSeconds { get; init; } = 15;

    public int IPv4PrefixLength { get; init; } = 24;

    public int IPv6PrefixLength { get; init; } = 56;

    /// <summary>Buckets in the fixed table (rounded up to a power of two); 8 bytes each.</summary>
    public int TableSize { get; init; } = 65536;

    /// <summary>Client prefixes never limited (monitoring, partner resolvers).</summary>
    public IReadOnlyList<(IPAddress Network, int PrefixLength)> Exempt { get; init; } = [];

    public bool Enabled => ResponsesPerSecond > 0 || NxDomainsPerSecond > 0 || ErrorsPerSecond > 0;
}

/// <summary>
/// Response rate limiting as BIND and Knot do it: a token budget per (client prefix, response class[, name]), credited
/// by the rate each second, debited per reply, allowed to run into debt down to rate x window. Memory is one fixed
/// table of 64-bit buckets: the key's hash picks a slot (a few are probed), the bucket holds a tag of the hash, the
/// second it was last touched, the slip counter and the balance, all in one word updated with compare-and-swap, so
/// any number of receive threads share it without locks and without allocating. When the probed slots are all taken
/// the least recently touched one is reused: an attacker spraying many prefixes can at worst reset budgets (more
/// replies, never fewer), as with Knot's fixed table. Called per UDP reply by the query engine; TCP is exempt
/// (a spoofed source cannot complete a handshake).
/// </summary>
public sealed class ResponseRateLimiter
{
    private const int Probes = 4;
    private const int TagBits = 18;
    private const int TimeBits = 18;
    private const int SlipBits = 4;
    private const int BalanceBits = 24;
    private const long BalanceMin = -(1L << (BalanceBits - 1)) + 1;
    private const long BalanceMax = (1L << (BalanceBits - 1)) - 1;
    private const uint TimeMask = (1u << TimeBits) - 1;

    private readonly long[] _buckets;
    private readonly int _mask;
    private readonly int _normal;
    private readonly int _nxDomain;
    private readonly int _error;
    private readonly int _slip;
    private readonly int _window;
    private readonly UInt128 _v4Mask;
    private readonly UInt128 _v6Mask;
    private readonly (UInt128 Network, UInt128 Mask, bool IsIPv6)[] _exempt;
    private readonly ulong _k0;
    private readonly ulong _k1;
    private readonly TimeProvider _time;

    public ResponseRateLimiter(RateLimitOptions options, TimeProvider? time = null)
    {
        Options = options;
        _time = time ?? TimeProvider.System;
        var size = (int)Math.Min(1 << 24, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(Probes, options.TableSize)));
        _buckets = new long[size];
        _mask = size - 1;
        _normal = options.ResponsesPerSecond;
        _nxDomain = options.NxDomainsPerSecond ?? options.ResponsesPerSecond;
        _error = options.ErrorsPerSecond ?? options.ResponsesPerSecond;
        _slip = Math.Clamp(options.Slip, 0, (1 << SlipBits) - 1);
        _window = Math.Clamp(options.WindowSeconds, 1, 3600);
        _v4Mask = PrefixMask(options.IPv4PrefixLength, 32);
        _v6Mask = PrefixMask(options.IPv6PrefixLength, 128);
        _exempt = [.. options.Exempt.Select(e => Exempt(e.Network, e.PrefixLength))];

        // A secret hash key: without it an attacker could aim many keys at one slot and keep evicting a victim's bucket.
        Span<byte> key = stackalloc byte[16];
        KernelRandom.Fill(key);
        (_k0, _k1) = SipHash.Key(key);
    }

    public RateLimitOptions Options { get; }

    /// <summary>Bytes the bucket table holds; fixed at construction whatever the traffic.</summary>
    public long TableBytes => _buckets.LongLength * sizeof(long);

    public static ResponseClass Classify(int rcode) => rcode switch
    {
        0 => ResponseClass.Normal,
        3 => ResponseClass.NxDomain,
        _ => ResponseClass.Error,
    };

    /// <summary>Decides one reply to <paramref name="address"/>; <paramref name="qname"/> (lower-cased wire form) and qtype key NOERROR replies only.</summary>
    public RateLimitVerdict Check(UInt128 address, bool isIPv6, ResponseClass responseClass, ReadOnlySpan<byte> qname, ushort qtype)
    {
        var rate = responseClass switch
        {
            ResponseClass.Normal => _normal,
            ResponseClass.NxDomain => _nxDomain,
            _ => _error,
        };
        if (rate <= 0 || IsExempt(address, isIPv6))
        {
            return RateLimitVerdict.Send;
        }

        var hash = KeyHash(address & (isIPv6 ? _v6Mask : _v4Mask), isIPv6, responseClass, qname, qtype);
        var slot = (int)(hash & (ulong)_mask);
        var tag = (long)(hash >> (64 - TagBits));
        if (tag == 0)
        {
            tag = 1; // 0 marks an empty bucket
        }

        var now = (uint)(_time.GetTimestamp() / _time.TimestampFrequency) & TimeMask;
        for (var attempt = 0; attempt < 8; attempt++)
        {
            var index = slot;
            var state = Volatile.Read(ref _buckets[slot]);
            var found = false;
            var oldest = -1L;
            for (var p = 0; p < Probes; p++)
            {
                var i = (slot + p) & _mask;
                var s = Volatile.Read(ref _buckets[i]);
                if (s != 0 && Tag(s) == tag)
                {
                    index = i;
                    state = s;
                    found = true;
                    break;
                }

                var age = s == 0 ? long.MaxValue : (now - Time(s)) & TimeMask;
                if (age > oldest)
                {
                    oldest = age;
                    index = i;
                    state = s;
                }
            }

            long balance = rate;
            var slipCount = 0;
            if (found)
            {
                var elapsed = (now - Time(state)) & TimeMask;
                if (elapsed <= _window)
                {
                    balance = Math.Min(rate, Balance(state) + (rate * (long)elapsed));
                    slipCount = SlipCount(state);
                }
            }

            balance--;
            var verdict = RateLimitVerdict.Send;
            if (balance < 0)
            {
                balance = Math.Max(balance, Math.Max(BalanceMin, -(long)_window * rate));
                verdict = RateLimitVerdict.Drop;
                if (_slip > 0 && ++slipCount >= _slip)
                {
                    slipCount = 0;
                    verdict = RateLimitVerdict.Slip;
                }
            }

            var next = Pack(tag, now, slipCount, Math.Min(balance, BalanceMax));
            if (Interlocked.CompareExchange(ref _buckets[index], next, state) == state)
            {
                return verdict;
            }
        }

        // Another thread keeps winning this bucket: let the reply through rather than spin on the query path.
        return RateLimitVerdict.Send;
    }

    private bool IsExempt(UInt128 address, bool isIPv6)
    {
        foreach (var (network, mask, v6) in _exempt)
        {
            if (v6 == isIPv6 && (address & mask) == network)
            {
                return true;
            }
        }

        return false;
    }

    private ulong KeyHash(UInt128 prefix, bool isIPv6, ResponseClass responseClass, ReadOnlySpan<byte> qname, ushort qtype)
    {
        Span<byte> key = stackalloc byte[20 + 256];
        BinaryPrimitives.WriteUInt128BigEndian(key, prefix);
        key[16] = (byte)(isIPv6 ? 6 : 4);
        key[17] = (byte)responseClass;
        var length = 18;
        if (responseClass == ResponseClass.Normal)
        {
            BinaryPrimitives.WriteUInt16BigEndian(key[18..], qtype);
            var name = qname.Length <= 256 ? qname : qname[..256];
            name.CopyTo(key[20..]);
            length = 20 + name.Length;
        }

        return SipHash.Hash(_k0, _k1, key[..length]);
    }

    private static long Pack(long tag, uint time, int slip, long balance)
        => (tag << (TimeBits + SlipBits + BalanceBits))
            | ((long)time << (SlipBits + BalanceBits))
            | ((long)slip << BalanceBits)
            | (balance & ((1L << BalanceBits) - 1));

    private static long Tag(long state) => (long)((ulong)state >> (TimeBits + SlipBits + BalanceBits));

    private static uint Time(long state) => (uint)((ulong)state >> (SlipBits + BalanceBits)) & TimeMask;

    private static int SlipCount(long state) => (int)((ulong)state >> BalanceBits) & ((1 << SlipBits) - 1);

    private static long Balance(long state) => (state << (64 - BalanceBits)) >> (64 - BalanceBits);

    private static UInt128 PrefixMask(int prefixLength, int bits)
    {
        var length = Math.Clamp(prefixLength, 0, bits);
        var all = bits == 32 ? (UInt128)uint.MaxValue : UInt128.MaxValue;
        return length == 0 ? UInt128.Zero : all & ~((UInt128.One << (bits - length)) - 1);
    }

    private static (UInt128, UInt128, bool) Exempt(IPAddress network, int prefixLength)
    {
        var address = network.IsIPv4MappedToIPv6 ? network.MapToIPv4() : network;
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out var written);
        var isIPv6 = written == 16;
        var value = isIPv6 ? BinaryPrimitives.ReadUInt128BigEndian(bytes) : BinaryPrimitives.ReadUInt32BigEndian(bytes);
        var mask = PrefixMask(prefixLength, isIPv6 ? 128 : 32);
        return (value & mask, mask, isIPv6);
    }
}
