using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using GslbDns.Hosting;
using Microsoft.AspNetCore.Http;

namespace GslbDns.Api.Auth;

/// <summary>
/// Wrong bearer tokens per client: a token bucket per address (IPv4 address, IPv6 /64: one host can use its whole
/// /64) in a bounded table. Only wrong tokens take from the bucket; requests without a token and requests with a
/// good one take nothing. An address whose bucket is empty gets 429 with Retry-After for every request that
/// presents a token, before the token is looked at: otherwise a refused guess would still tell right from wrong.
/// Its requests without a token (health, metrics, OpenAPI) and every other address are unaffected.
/// </summary>
/// <remarks>
/// Auth failures are rare and this is not the DNS query path, so one lock guards the table. When the table is
/// full, buckets that have refilled completely (which say nothing an absent entry would not) are dropped, at
/// most once a second; if none can be, new addresses share one overflow bucket until some can.
/// Behind a proxy every request comes from the proxy's address: put the limit there, or use a layer-4 balancer
/// that keeps client addresses (X-Forwarded-For is not trusted: anyone can send it).
/// </remarks>
public sealed class AuthFailureLimiter
{
    private static readonly UInt128 Overflow = UInt128.MaxValue;

    private readonly AuthFailureLimit _limit;
    private readonly TimeProvider _time;
    private readonly Dictionary<UInt128, Bucket> _buckets = [];
    private readonly Lock _gate = new();
    private long _lastPrune;

    public AuthFailureLimiter(AuthFailureLimit limit, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(limit);
        if (limit.Burst < 1 || limit.RefillInterval <= TimeSpan.Zero || limit.MaxTrackedClients < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(limit), limit, "burst, refill interval and table size must be positive");
        }

        _limit = limit;
        _time = time ?? TimeProvider.System;
        _lastPrune = _time.GetTimestamp();
    }

    /// <summary>Addresses tracked now (for tests of the bound).</summary>
    public int TrackedClients
    {
        get
        {
            lock (_gate)
            {
                return _buckets.Count;
            }
        }
    }

    /// <summary>How long until <paramref name="client"/> may present a token again; null when it may now.</summary>
    public TimeSpan? RetryAfter(IPAddress? client)
    {
        var key = KeyOf(client);
        lock (_gate)
        {
            if (!_buckets.TryGetValue(key, out var bucket) && !_buckets.TryGetValue(Overflow, out bucket))
            {
                return null;
            }

            var now = _time.GetTimestamp();
            Refill(bucket, now);
            return bucket.Tokens >= 1 ? null : _limit.RefillInterval * (1 - bucket.Tokens);
        }
    }

    /// <summary>Counts one wrong token from <paramref name="client"/>.</summary>
    public void RecordFailure(IPAddress? client)
    {
        var key = KeyOf(client);
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            if (!_buckets.TryGetValue(key, out var bucket))
            {
                if (_buckets.Count >= _limit.MaxTrackedClients)
                {
                    Prune(now);
                }

                if (_buckets.Count >= _limit.MaxTrackedClients)
                {
                    key = Overflow;
                }

                if (!_buckets.TryGetValue(key, out bucket))
                {
                    bucket = new Bucket { Tokens = _limit.Burst, Updated = now };
                    _buckets[key] = bucket;
                }
            }

            Refill(bucket, now);
            bucket.Tokens = Math.Max(0, bucket.Tokens - 1);
        }
    }

    /// <summary>Middleware: 429 for a limited address that presents a token (see the class remarks).</summary>
    internal async Task RefuseLimitedAsync(HttpContext context, RequestDelegate next)
    {
        if (context.Request.Headers.Authorization.Count > 0 && RetryAfter(context.Connection.RemoteIpAddress) is { } wait)
        {
            var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
            context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            await Problems.WriteAsync(
                context,
                StatusCodes.Status429TooManyRequests,
                "Too many failed authentications",
                $"Too many wrong tokens from this address; the token was not checked. Retry after {seconds} s.",
                new Dictionary<string, object?> { ["retryAfterSeconds"] = seconds });
            return;
        }

        await next(context);
    }

    private void Refill(Bucket bucket, long now)
    {
        var elapsed = _time.GetElapsedTime(bucket.Updated, now);
        bucket.Tokens = Math.Min(_limit.Burst, bucket.Tokens + (elapsed / _limit.RefillInterval));
        bucket.Updated = now;
    }

    private void Prune(long now)
    {
        if (_time.GetElapsedTime(_lastPrune, now) < TimeSpan.FromSeconds(1))
        {
            return;
        }

        _lastPrune = now;
        foreach (var (key, bucket) in _buckets)
        {
            Refill(bucket, now);
            if (bucket.Tokens >= _limit.Burst)
            {
                _buckets.Remove(key);
            }
        }
    }

    /// <summary>IPv4 (also when mapped into IPv6) by address; IPv6 by its /64.</summary>
    private static UInt128 KeyOf(IPAddress? client)
    {
        if (client is null)
        {
            return UInt128.Zero; // not a socket peer (in-memory test server): one shared bucket
        }

        Span<byte> bytes = stackalloc byte[16];
        var v6 = client.MapToIPv6();
        v6.TryWriteBytes(bytes, out _);
        if (!v6.IsIPv4MappedToIPv6)
        {
            bytes[8..].Clear();
        }

        return BinaryPrimitives.ReadUInt128BigEndian(bytes);
    }

    private sealed class Bucket
    {
        public double Tokens { get; set; }

        public long Updated { get; set; }
    }
}
