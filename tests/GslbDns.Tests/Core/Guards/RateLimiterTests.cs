using System.Net;
using GslbDns.Guards;
using Microsoft.Extensions.Time.Testing;

namespace GslbDns.Tests.Core.Guards;

/// <summary>The limiter's budget arithmetic on a fake clock; the flood over real sockets is in RateLimitFloodTests.</summary>
public sealed class RateLimiterTests
{
    private static readonly byte[] Www = [3, (byte)'w', (byte)'w', (byte)'w', 4, (byte)'t', (byte)'e', (byte)'s', (byte)'t', 0];
    private static readonly byte[] Mail = [4, (byte)'m', (byte)'a', (byte)'i', (byte)'l', 4, (byte)'t', (byte)'e', (byte)'s', (byte)'t', 0];

    private static UInt128 V4(string text) => (UInt128)(uint)IPAddress.NetworkToHostOrder(BitConverter.ToInt32(IPAddress.Parse(text).GetAddressBytes()));

    private static int Sent(ResponseRateLimiter limiter, string client, int replies, ResponseClass responseClass = ResponseClass.Normal, byte[]? name = null)
    {
        var sent = 0;
        for (var i = 0; i < replies; i++)
        {
            sent += limiter.Check(V4(client), false, responseClass, name ?? Www, 1) == RateLimitVerdict.Send ? 1 : 0;
        }

        return sent;
    }

    [Fact]
    public void A_prefix_gets_its_rate_per_second_then_is_limited_and_recovers_after_the_debt_is_paid()
    {
        var time = new FakeTimeProvider();
        var limiter = new ResponseRateLimiter(new RateLimitOptions { ResponsesPerSecond = 5, Slip = 0, WindowSeconds = 2 }, time);

        Assert.Equal(5, Sent(limiter, "192.0.2.1", 100));
        Assert.Equal(0, Sent(limiter, "192.0.2.77", 10)); // same /24
        Assert.Equal(5, Sent(limiter, "192.0.3.1", 100)); // another /24 has its own budget
        Assert.Equal(5, Sent(limiter, "192.0.2.1", 100, name: Mail)); // another name has its own budget

        // The debt is capped at rate x window (10): after 2 s of credit it is paid, after 3 s 5 are sent again.
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(0, Sent(limiter, "192.0.2.1", 1));
        time.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(5, Sent(limiter, "192.0.2.1", 100));
    }

    [Fact]
    public void Every_slip_th_limited_reply_slips_and_NXDOMAIN_and_errors_have_their_own_rates()
    {
        var limiter = new ResponseRateLimiter(new RateLimitOptions { ResponsesPerSecond = 100, NxDomainsPerSecond = 2, ErrorsPerSecond = 0, Slip = 3 }, new FakeTimeProvider());
        var verdicts = Enumerable.Range(0, 11).Select(_ => limiter.Check(V4("198.51.100.9"), false, ResponseClass.NxDomain, Www, 1)).ToArray();
        Assert.Equal([RateLimitVerdict.Send, RateLimitVerdict.Send], verdicts[..2]);
        Assert.Equal(
            [RateLimitVerdict.Drop, RateLimitVerdict.Drop, RateLimitVerdict.Slip, RateLimitVerdict.Drop, RateLimitVerdict.Drop, RateLimitVerdict.Slip, RateLimitVerdict.Drop, RateLimitVerdict.Drop, RateLimitVerdict.Slip],
            verdicts[2..]);

        // Errors at 0: unlimited.
        Assert.Equal(1000, Sent(limiter, "198.51.100.9", 1000, ResponseClass.Error));
    }

    [Fact]
    public void An_exempt_prefix_is_never_limited_and_IPv6_clients_share_a_56()
    {
        var limiter = new ResponseRateLimiter(
            new RateLimitOptions { ResponsesPerSecond = 1, Slip = 0, Exempt = [(IPAddress.Parse("203.0.113.0"), 24)] },
            new FakeTimeProvider());
        Assert.Equal(500, Sent(limiter, "203.0.113.200", 500));

        static UInt128 V6(string text) => System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(IPAddress.Parse(text).GetAddressBytes());
        Assert.Equal(RateLimitVerdict.Send, limiter.Check(V6("2001:db8:0:100::1"), true, ResponseClass.Normal, Www, 1));
        Assert.Equal(RateLimitVerdict.Drop, limiter.Check(V6("2001:db8:0:1ff::2"), true, ResponseClass.Normal, Www, 1)); // same /56
        Assert.Equal(RateLimitVerdict.Send, limiter.Check(V6("2001:db8:0:200::1"), true, ResponseClass.Normal, Www, 1)); // next /56
    }

    [Fact]
    public void The_table_is_fixed_however_many_prefixes_are_seen()
    {
        var limiter = new ResponseRateLimiter(new RateLimitOptions { ResponsesPerSecond = 10, TableSize = 4096 });
        Assert.Equal(4096 * 8, limiter.TableBytes);

        // 200,000 /24s, far more than the table's 4,096 buckets: the table neither grows nor allocates.
        for (uint i = 0; i < 190_000; i++)
        {
            limiter.Check(i << 8, false, ResponseClass.NxDomain, Www, 1);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (uint i = 190_000; i < 200_000; i++)
        {
            limiter.Check(i << 8, false, ResponseClass.NxDomain, Www, 1);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(4096 * 8, limiter.TableBytes);
    }
}
