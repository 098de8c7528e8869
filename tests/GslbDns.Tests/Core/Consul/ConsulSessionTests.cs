using System.Diagnostics;
using GslbDns.Consul;
using static GslbDns.Tests.Core.Consul.ConsulTestSupport;

namespace GslbDns.Tests.Core.Consul;

/// <summary>
/// Sessions on their own dev agent (a class fixture), so their TTL waits run in parallel with the KV
/// collection. The agent's session_ttl_min is 1 s; Consul ends a TTL session between 1x and 2x the TTL
/// after its last renewal.
/// </summary>
public sealed class ConsulSessionTests(ConsulDevAgent agent) : IClassFixture<ConsulDevAgent>
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan ExpiryDeadline = (2 * Ttl) + TimeSpan.FromSeconds(3);

    private readonly ConsulClient _client = agent.CreateClient();

    [Fact]
    public async Task Created_session_has_delete_behavior_no_lock_delay_and_destroy_deletes_its_keys()
    {
        var id = await _client.SessionCreateAsync("prober-test", TimeSpan.FromSeconds(30));
        var info = await _client.SessionInfoAsync(id);
        Assert.NotNull(info);
        Assert.Equal(id, info.Id);
        Assert.Equal("prober-test", info.Name);
        Assert.Equal("delete", info.Behavior);
        Assert.Equal(TimeSpan.Zero, info.LockDelay);
        Assert.Equal(TimeSpan.FromSeconds(30), info.Ttl);
        Assert.False(string.IsNullOrEmpty(info.Node));

        var key = UniquePrefix("session") + "health";
        Assert.True(await _client.KvAcquireAsync(key, Utf8("up"), id));
        var held = await _client.KvGetAsync(key);
        Assert.Equal(id, held?.Session);
        Assert.Equal(1UL, held?.LockIndex);

        await _client.SessionDestroyAsync(id);
        Assert.Null(await _client.KvGetAsync(key));
        Assert.Null(await _client.SessionInfoAsync(id));
        Assert.False(await _client.SessionRenewAsync(id)); // 404: gone
        await _client.SessionDestroyAsync(id); // destroying again is harmless
    }

    [Fact]
    public async Task Acquire_is_exclusive_and_release_hands_over_without_lock_delay()
    {
        var a = await _client.SessionCreateAsync("a", TimeSpan.FromSeconds(30));
        var b = await _client.SessionCreateAsync("b", TimeSpan.FromSeconds(30));
        try
        {
            var key = UniquePrefix("lock") + "leader";
            Assert.True(await _client.KvAcquireAsync(key, Utf8("a"), a));
            Assert.False(await _client.KvAcquireAsync(key, Utf8("b"), b));
            Assert.False(await _client.KvReleaseAsync(key, Utf8("b"), b));
            Assert.True(await _client.KvReleaseAsync(key, Utf8("a-done"), a));

            var released = await _client.KvGetAsync(key);
            Assert.Null(released?.Session);
            Assert.Equal("a-done", Text(released));

            // LockDelay=0: b may take over immediately.
            Assert.True(await _client.KvAcquireAsync(key, Utf8("b"), b));
            Assert.Equal(b, (await _client.KvGetAsync(key))?.Session);
        }
        finally
        {
            await _client.SessionDestroyAsync(a);
            await _client.SessionDestroyAsync(b);
        }
    }

    [Fact]
    public async Task Ttl_expiry_deletes_the_sessions_keys()
    {
        var id = await _client.SessionCreateAsync("expiring", Ttl);
        var clock = Stopwatch.StartNew();
        var key = UniquePrefix("expiry") + "health";
        Assert.True(await _client.KvAcquireAsync(key, Utf8("up"), id));

        await EventuallyAsync(async () => await _client.KvGetAsync(key) is null, ExpiryDeadline, "key deleted after session TTL");
        Assert.True(clock.Elapsed >= Ttl * 0.9, $"expired after {clock.Elapsed}, before its TTL {Ttl}");
        Assert.Null(await _client.SessionInfoAsync(id));
        Assert.False(await _client.SessionRenewAsync(id));
    }

    [Fact]
    public async Task Renewing_at_half_ttl_keeps_the_keys_past_twice_the_ttl()
    {
        var id = await _client.SessionCreateAsync("renewed", Ttl);
        try
        {
            var key = UniquePrefix("renew") + "health";
            Assert.True(await _client.KvAcquireAsync(key, Utf8("up"), id));
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < (2 * Ttl) + (Ttl / 2))
            {
                await Task.Delay(Ttl / 2);
                Assert.True(await _client.SessionRenewAsync(id));
                Assert.Equal(id, (await _client.KvGetAsync(key))?.Session);
            }
        }
        finally
        {
            await _client.SessionDestroyAsync(id);
        }
    }
}
