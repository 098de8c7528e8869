using System.Diagnostics;
using GslbDns.Consul;
using static GslbDns.Tests.Core.Consul.ConsulTestSupport;

namespace GslbDns.Tests.Core.Consul;

[Collection(ConsulDevAgentCollection.Name)]
public sealed class ConsulBlockingQueryTests(ConsulDevAgent agent)
{
    private readonly ConsulClient _client = agent.CreateClient();

    [Fact]
    public async Task Returns_promptly_after_a_write()
    {
        var key = UniquePrefix("block") + "k";
        await _client.KvPutAsync(key, Utf8("old"));
        var first = await _client.KvGetAsync(key, new ConsulBlockingQuery(0, TimeSpan.FromSeconds(1)));
        Assert.True(first.Index > 0);

        var clock = Stopwatch.StartNew();
        var watch = _client.KvGetAsync(key, new ConsulBlockingQuery(first.Index, TimeSpan.FromSeconds(20)));
        await Task.Delay(300);
        Assert.False(watch.IsCompleted); // it really blocks
        await agent.CreateClient().KvPutAsync(key, Utf8("new"));
        var changed = await watch;

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.Equal("new", Text(changed.Value));
        Assert.True(changed.Index > first.Index);
        Assert.Equal(changed.Value!.ModifyIndex, changed.Index);
    }

    [Fact]
    public async Task Returns_after_wait_when_nothing_changes()
    {
        var key = UniquePrefix("block-idle") + "k";
        await _client.KvPutAsync(key, Utf8("same"));
        var first = await _client.KvGetAsync(key, new ConsulBlockingQuery(0, TimeSpan.FromSeconds(1)));

        var wait = TimeSpan.FromSeconds(1);
        var clock = Stopwatch.StartNew();
        var result = await _client.KvGetAsync(key, new ConsulBlockingQuery(first.Index, wait));
        clock.Stop();

        Assert.InRange(clock.Elapsed, wait - TimeSpan.FromMilliseconds(50), wait + (wait / 16) + TimeSpan.FromSeconds(1));
        Assert.Equal(first.Index, result.Index);
        Assert.Equal("same", Text(result.Value));
    }

    [Fact]
    public async Task Watching_a_missing_key_wakes_when_it_is_created()
    {
        var key = UniquePrefix("block-missing") + "k";
        var absent = await _client.KvGetAsync(key, new ConsulBlockingQuery(0, TimeSpan.FromSeconds(1)));
        Assert.Null(absent.Value);
        Assert.True(absent.Index > 0);

        var watch = _client.KvGetAsync(key, new ConsulBlockingQuery(absent.Index, TimeSpan.FromSeconds(20)));
        await Task.Delay(200);
        await agent.CreateClient().KvPutAsync(key, Utf8("born"));
        var created = await watch.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal("born", Text(created.Value));
    }

    [Fact]
    public async Task Prefix_watch_wakes_on_a_new_key_under_it()
    {
        var prefix = UniquePrefix("block-list");
        await _client.KvPutAsync(prefix + "a", Utf8("a"));
        var list = await _client.KvListAsync(prefix, new ConsulBlockingQuery(0, TimeSpan.FromSeconds(1)));
        var keys = await _client.KvKeysAsync(prefix, new ConsulBlockingQuery(0, TimeSpan.FromSeconds(1)));
        Assert.Single(list.Value);

        var listWatch = _client.KvListAsync(prefix, new ConsulBlockingQuery(list.Index, TimeSpan.FromSeconds(20)));
        var keysWatch = _client.KvKeysAsync(prefix, new ConsulBlockingQuery(keys.Index, TimeSpan.FromSeconds(20)));
        await Task.Delay(200);
        await agent.CreateClient().KvPutAsync(prefix + "b", Utf8("b"));

        Assert.Equal(2, (await listWatch.WaitAsync(TimeSpan.FromSeconds(5))).Value.Count);
        Assert.Equal([prefix + "a", prefix + "b"], (await keysWatch.WaitAsync(TimeSpan.FromSeconds(5))).Value);
    }

    [Fact]
    public async Task Index_going_backwards_resets_to_zero()
    {
        var key = UniquePrefix("block-back") + "k";
        await _client.KvPutAsync(key, Utf8("v"));
        var current = await _client.KvGetAsync(key, new ConsulBlockingQuery(0, TimeSpan.FromSeconds(1)));

        // An index from the future (as after a snapshot restore, or a server with older state): Consul
        // waits, then answers with its lower index. The client must hand back 0 ...
        var ahead = current.Index + 1_000_000;
        var backwards = await _client.KvGetAsync(key, new ConsulBlockingQuery(ahead, TimeSpan.FromMilliseconds(300)));
        Assert.Equal(0UL, backwards.Index);

        // ... so the next read does not block and resynchronises on the real index.
        var clock = Stopwatch.StartNew();
        var resync = await _client.KvGetAsync(key, new ConsulBlockingQuery(backwards.Index, TimeSpan.FromSeconds(20)));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed}");
        Assert.Equal(current.Index, resync.Index);
    }

    [Fact]
    public async Task Cancelling_a_blocking_query_throws_OperationCanceled_not_ConsulException()
    {
        var key = UniquePrefix("block-cancel") + "k";
        var first = await _client.KvGetAsync(key, new ConsulBlockingQuery(0, TimeSpan.FromSeconds(1)));
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var clock = Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _client.KvGetAsync(key, new ConsulBlockingQuery(first.Index, TimeSpan.FromSeconds(30)), cts.Token));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"took {clock.Elapsed}");
    }
}
