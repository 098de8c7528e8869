using System.Net;
using System.Net.Sockets;
using GslbDns.Api.Auth;
using GslbDns.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace GslbDns.Tests.Api;

/// <summary>Wrong bearer tokens limited per client address (<see cref="AuthFailureLimiter"/>), over real sockets from two loopback addresses.</summary>
public sealed class AuthRateLimitTests
{
    private const string WrongToken = "wrong-token-0123456789-abcdefghij";

    [Fact]
    public async Task Hammering_wrong_tokens_gets_429_with_retry_after_while_another_client_with_the_right_token_is_served()
    {
        await using var api = await InProcessApi.StartAsync("sqlite");
        using var attacker = FromAddress(api, IPAddress.Loopback);
        using var other = FromAddress(api, IPAddress.Parse("127.0.0.2"));
        var burst = new AuthFailureLimit().Burst;

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < burst + 5; i++)
        {
            using var response = await ApiCalls.SendAsync(attacker, HttpMethod.Get, "/v1/status", WrongToken);
            statuses.Add(response.StatusCode);
        }

        Assert.Equal(Enumerable.Repeat(HttpStatusCode.Unauthorized, burst).Concat(Enumerable.Repeat(HttpStatusCode.TooManyRequests, 5)), statuses);

        using (var limited = await ApiCalls.SendAsync(attacker, HttpMethod.Get, "/v1/status", WrongToken))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
            Assert.Equal("application/problem+json", limited.Content.Headers.ContentType?.MediaType);
            var retryAfter = limited.Headers.RetryAfter?.Delta;
            Assert.True(retryAfter is { } delta && delta >= TimeSpan.FromSeconds(1) && delta <= new AuthFailureLimit().RefillInterval, $"Retry-After {retryAfter}");
            var problem = await ApiCalls.JsonAsync(limited);
            Assert.Equal(429, problem.GetProperty("status").GetInt32());
            Assert.Equal((int)retryAfter!.Value.TotalSeconds, problem.GetProperty("retryAfterSeconds").GetInt32());
        }

        // Another address is its own bucket: the right token works, a wrong one is a plain 401.
        using (var served = await ApiCalls.SendAsync(other, HttpMethod.Get, "/v1/status", InProcessApi.OperatorToken))
        {
            Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        }

        using (var wrong = await ApiCalls.SendAsync(other, HttpMethod.Get, "/v1/status", WrongToken))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        }

        // The limited address: a token is not even looked at (or a refusal would still tell right from wrong), but
        // what needs none is served.
        using (var right = await ApiCalls.SendAsync(attacker, HttpMethod.Get, "/v1/status", InProcessApi.OperatorToken))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, right.StatusCode);
        }

        using (var health = await attacker.GetAsync("/healthz"))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }

        Assert.DoesNotContain(api.Sink.Lines, l => l.Contains(WrongToken, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_client_that_only_presents_the_right_token_is_never_limited()
    {
        await using var api = await InProcessApi.StartAsync("sqlite");
        for (var i = 0; i < new AuthFailureLimit().Burst * 5; i++)
        {
            using var response = await ApiCalls.SendAsync(api.Http, HttpMethod.Get, "/v1/status", i % 2 == 0 ? InProcessApi.OperatorToken : InProcessApi.ReadToken);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    [Fact]
    public void Buckets_refill_over_time_ipv6_counts_per_64_and_the_table_stays_bounded()
    {
        var time = new FakeTimeProvider();
        var limiter = new AuthFailureLimiter(new AuthFailureLimit { Burst = 3, RefillInterval = TimeSpan.FromSeconds(2), MaxTrackedClients = 64 }, time);
        var client = IPAddress.Parse("192.0.2.7");
        for (var i = 0; i < 3; i++)
        {
            Assert.Null(limiter.RetryAfter(client));
            limiter.RecordFailure(client);
        }

        Assert.Equal(TimeSpan.FromSeconds(2), limiter.RetryAfter(client));
        Assert.Null(limiter.RetryAfter(IPAddress.Parse("192.0.2.8")));
        Assert.Equal(TimeSpan.FromSeconds(2), limiter.RetryAfter(IPAddress.Parse("::ffff:192.0.2.7"))); // mapped is the same client
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(TimeSpan.FromSeconds(1), limiter.RetryAfter(client));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(limiter.RetryAfter(client));

        // One host has its whole /64: the neighbour in the same /64 is the same client, the next /64 is not.
        for (var i = 0; i < 3; i++)
        {
            limiter.RecordFailure(IPAddress.Parse("2001:db8:1:2::" + (i + 1)));
        }

        Assert.NotNull(limiter.RetryAfter(IPAddress.Parse("2001:db8:1:2:ffff::9")));
        Assert.Null(limiter.RetryAfter(IPAddress.Parse("2001:db8:1:3::1")));

        // A flood of distinct addresses: the table never holds more than its bound (plus the shared overflow bucket).
        for (var i = 0; i < 20_000; i++)
        {
            limiter.RecordFailure(new IPAddress(BitConverter.GetBytes(0x0A000000 + i)));
        }

        Assert.InRange(limiter.TrackedClients, 1, 64 + 1);

        // Once the buckets have refilled they are dropped again, making room.
        time.Advance(TimeSpan.FromMinutes(1));
        limiter.RecordFailure(IPAddress.Parse("198.51.100.1"));
        Assert.InRange(limiter.TrackedClients, 1, 2);
    }

    /// <summary>A client of <paramref name="api"/> whose connections come from <paramref name="source"/> (any 127.0.0.0/8 address is this host).</summary>
    private static HttpClient FromAddress(InProcessApi api, IPAddress source)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, ct) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    socket.Bind(new IPEndPoint(source, 0));
                    await socket.ConnectAsync(context.DnsEndPoint, ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return new HttpClient(handler) { BaseAddress = api.Host.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
    }
}
