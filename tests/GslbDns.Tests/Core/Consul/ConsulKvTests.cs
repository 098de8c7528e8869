using System.Net;
using GslbDns.Consul;
using static GslbDns.Tests.Core.Consul.ConsulTestSupport;

namespace GslbDns.Tests.Core.Consul;

[Collection(ConsulDevAgentCollection.Name)]
public sealed class ConsulKvTests(ConsulDevAgent agent)
{
    private readonly ConsulClient _client = agent.CreateClient();

    [Fact]
    public async Task Put_then_get_round_trips_value_flags_and_indexes()
    {
        var key = UniquePrefix("roundtrip") + "weights/eu-west";
        await _client.KvPutAsync(key, Utf8("first"), flags: 42);
        var created = await _client.KvGetAsync(key);
        Assert.NotNull(created);
        Assert.Equal(key, created.Key);
        Assert.Equal("first", Text(created));
        Assert.Equal(42UL, created.Flags);
        Assert.Equal(created.CreateIndex, created.ModifyIndex);
        Assert.Equal(0UL, created.LockIndex);
        Assert.Null(created.Session);

        await _client.KvPutAsync(key, Utf8("second"));
        var updated = await _client.KvGetAsync(key);
        Assert.NotNull(updated);
        Assert.Equal("second", Text(updated));
        Assert.Equal(created.CreateIndex, updated.CreateIndex);
        Assert.True(updated.ModifyIndex > created.ModifyIndex);
        Assert.Equal(0UL, updated.Flags); // a put without flags resets them, as in Consul
    }

    [Fact]
    public async Task Binary_and_empty_values_survive_base64()
    {
        var prefix = UniquePrefix("binary");
        var all = Enumerable.Range(0, 256).Select(i => (byte)i).Concat(new byte[] { 0, 0, 0xff, 0xfe }).ToArray();
        await _client.KvPutAsync(prefix + "bin", all);
        await _client.KvPutAsync(prefix + "empty", ReadOnlyMemory<byte>.Empty);

        Assert.Equal(all, (await _client.KvGetAsync(prefix + "bin"))!.Value);
        var empty = await _client.KvGetAsync(prefix + "empty");
        Assert.NotNull(empty);
        Assert.Empty(empty.Value); // Consul sends "Value": null
    }

    [Fact]
    public async Task Keys_with_reserved_characters_are_escaped()
    {
        var prefix = UniquePrefix("escape");
        var key = prefix + "a b/ü?x=1&y#z%+";
        await _client.KvPutAsync(key, Utf8("v"));
        Assert.Equal(key, (await _client.KvGetAsync(key))?.Key);
        Assert.Equal([key], await _client.KvKeysAsync(prefix));
        Assert.Equal([key], (await _client.KvListAsync(prefix + "a b/")).Select(p => p.Key));
    }

    [Fact]
    public async Task Missing_key_is_null_and_missing_prefix_is_empty()
    {
        var prefix = UniquePrefix("missing");
        Assert.Null(await _client.KvGetAsync(prefix + "nope"));
        Assert.Empty(await _client.KvListAsync(prefix));
        Assert.Empty(await _client.KvKeysAsync(prefix));
    }

    [Fact]
    public async Task Recurse_lists_exactly_the_subtree_sorted()
    {
        var prefix = UniquePrefix("list");
        foreach (var key in new[] { "svc/b", "svc/a", "svc/deep/c", "svcx", "other" })
        {
            await _client.KvPutAsync(prefix + key, Utf8(key));
        }

        var pairs = await _client.KvListAsync(prefix + "svc/");
        Assert.Equal(["svc/a", "svc/b", "svc/deep/c"], pairs.Select(p => p.Key[prefix.Length..]));
        Assert.All(pairs, p => Assert.Equal(p.Key[prefix.Length..], Text(p)));

        var keys = await _client.KvKeysAsync(prefix + "svc");
        Assert.Equal(["svc/a", "svc/b", "svc/deep/c", "svcx"], keys.Select(k => k[prefix.Length..]));
    }

    [Fact]
    public async Task Cas_zero_creates_only_if_absent()
    {
        var key = UniquePrefix("cas0") + "k";
        Assert.True(await _client.KvCasAsync(key, Utf8("one"), 0));
        Assert.False(await _client.KvCasAsync(key, Utf8("two"), 0));
        Assert.Equal("one", Text(await _client.KvGetAsync(key)));
    }

    [Fact]
    public async Task Concurrent_writers_with_the_same_index_exactly_one_wins()
    {
        var key = UniquePrefix("cas") + "weights";
        await _client.KvPutAsync(key, Utf8("start"));
        var index = (await _client.KvGetAsync(key))!.ModifyIndex;

        // Separate clients, as separate API replicas would be; all start from the same read.
        var writers = Enumerable.Range(0, 8).Select(i => agent.CreateClient().KvCasAsync(key, Utf8($"writer-{i}"), index)).ToArray();
        var results = await Task.WhenAll(writers);

        var winner = Assert.Single(Enumerable.Range(0, results.Length), i => results[i]);
        var stored = await _client.KvGetAsync(key);
        Assert.Equal($"writer-{winner}", Text(stored));
        Assert.True(stored!.ModifyIndex > index);

        // The losers' retry with the stale index keeps failing.
        Assert.False(await _client.KvCasAsync(key, Utf8("late"), index));
    }

    [Fact]
    public async Task Delete_with_cas_needs_the_current_index()
    {
        var key = UniquePrefix("delcas") + "k";
        await _client.KvPutAsync(key, Utf8("v1"));
        var stale = (await _client.KvGetAsync(key))!.ModifyIndex;
        await _client.KvPutAsync(key, Utf8("v2"));
        var current = (await _client.KvGetAsync(key))!.ModifyIndex;

        Assert.False(await _client.KvDeleteCasAsync(key, stale));
        Assert.Equal("v2", Text(await _client.KvGetAsync(key)));
        Assert.True(await _client.KvDeleteCasAsync(key, current));
        Assert.Null(await _client.KvGetAsync(key));
    }

    [Fact]
    public async Task Delete_single_and_tree()
    {
        var prefix = UniquePrefix("del");
        foreach (var key in new[] { "a/1", "a/2", "a/b/3", "ab", "keep" })
        {
            await _client.KvPutAsync(prefix + key, Utf8(key));
        }

        await _client.KvDeleteAsync(prefix + "keep/not-there"); // a missing key is not an error
        await _client.KvDeleteAsync(prefix + "a/1");
        Assert.Null(await _client.KvGetAsync(prefix + "a/1"));

        await _client.KvDeleteTreeAsync(prefix + "a/");
        Assert.Equal(["ab", "keep"], (await _client.KvKeysAsync(prefix)).Select(k => k[prefix.Length..]));
    }

    [Fact]
    public async Task An_api_error_is_not_unreachable_and_carries_consuls_message()
    {
        // Consul caps values at 512 KiB and answers 413: a client error, no failover, no retry.
        var ex = await Assert.ThrowsAsync<ConsulException>(() => _client.KvPutAsync(UniquePrefix("big") + "k", new byte[600 * 1024]));
        Assert.False(ex.IsUnreachable);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, ex.StatusCode);
        Assert.Contains("413", ex.Message);

        // Consul reports a TTL below session_ttl_min as a 500; with one agent that is the final answer.
        var ttl = await Assert.ThrowsAsync<ConsulException>(() => _client.SessionCreateAsync("too-short", TimeSpan.FromMilliseconds(100)));
        Assert.Equal(HttpStatusCode.InternalServerError, ttl.StatusCode);
        Assert.Contains("Invalid Session TTL", ttl.ConsulMessage);
    }

    [Fact]
    public async Task Datacenter_is_sent_with_every_request()
    {
        var key = UniquePrefix("dc") + "k";
        var dc1 = new ConsulClient(Http, new ConsulClientOptions { Addresses = [agent.HttpAddress], Datacenter = "dc1" });
        await dc1.KvPutAsync(key, Utf8("v"));
        Assert.Equal("v", Text(await dc1.KvGetAsync(key)));

        var elsewhere = new ConsulClient(Http, new ConsulClientOptions { Addresses = [agent.HttpAddress], Datacenter = "nowhere" });
        var ex = await Assert.ThrowsAsync<ConsulException>(() => elsewhere.KvGetAsync(key));
        Assert.Equal(HttpStatusCode.InternalServerError, ex.StatusCode);
        Assert.Contains("No path to datacenter", ex.ConsulMessage);
    }

    [Fact]
    public async Task Status_reports_the_dev_agent_as_single_leader()
    {
        var leader = await _client.StatusLeaderAsync();
        Assert.NotNull(leader);
        Assert.Equal([leader], await _client.StatusPeersAsync());
    }
}
