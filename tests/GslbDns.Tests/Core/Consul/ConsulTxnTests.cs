using GslbDns.Consul;
using static GslbDns.Tests.Core.Consul.ConsulTestSupport;

namespace GslbDns.Tests.Core.Consul;

/// <summary><see cref="ConsulClient.TxnAsync"/> against a real dev agent: commit, rollback with per-operation errors, failover.</summary>
[Collection(ConsulDevAgentCollection.Name)]
public sealed class ConsulTxnTests(ConsulDevAgent agent)
{
    private readonly ConsulClient _client = agent.CreateClient();

    [Fact]
    public async Task Commit_applies_every_operation_at_one_index_and_returns_results_in_order()
    {
        var prefix = UniquePrefix("txn-commit");
        await _client.KvPutAsync(prefix + "existing", Utf8("old"));
        var existing = await _client.KvGetAsync(prefix + "existing");
        await _client.KvPutAsync(prefix + "doomed", Utf8("x"));
        var doomed = await _client.KvGetAsync(prefix + "doomed");

        var result = await _client.TxnAsync(
        [
            ConsulKvOp.Cas(prefix + "existing", Utf8("new"), existing!.ModifyIndex),
            ConsulKvOp.Cas(prefix + "created", Utf8("c"), 0),
            ConsulKvOp.Set(prefix + "audit", Utf8("a")),
            ConsulKvOp.CheckNotExists(prefix + "absent"),
            ConsulKvOp.DeleteCas(prefix + "doomed", doomed!.ModifyIndex),
            ConsulKvOp.Get(prefix + "created"),
        ]);

        Assert.True(result.Committed);
        Assert.Empty(result.Errors);
        Assert.False(result.EarlierAttemptUncertain);

        // set, cas and get return an entry; delete-cas and check-not-exists none.
        Assert.Equal(["existing", "created", "audit", "created"], result.Results.Select(r => r.Key[prefix.Length..]));
        var index = result.Results[0].ModifyIndex;
        Assert.True(index > existing.ModifyIndex);
        Assert.All(result.Results, r => Assert.Equal(index, r.ModifyIndex)); // one Raft commit
        Assert.Equal("c", Text(result.Results[3])); // get carries the value, written earlier in the same transaction

        Assert.Equal("new", Text(await _client.KvGetAsync(prefix + "existing")));
        Assert.Equal(index, (await _client.KvGetAsync(prefix + "created"))?.ModifyIndex);
        Assert.Equal("a", Text(await _client.KvGetAsync(prefix + "audit")));
        Assert.Null(await _client.KvGetAsync(prefix + "doomed"));
    }

    [Fact]
    public async Task Rollback_writes_nothing_and_names_every_failed_operation()
    {
        var prefix = UniquePrefix("txn-rollback");
        await _client.KvPutAsync(prefix + "a", Utf8("a0"));
        var a = await _client.KvGetAsync(prefix + "a");
        await _client.KvPutAsync(prefix + "present", Utf8("p"));

        var result = await _client.TxnAsync(
        [
            ConsulKvOp.Cas(prefix + "a", Utf8("a1"), a!.ModifyIndex + 1000), // stale version
            ConsulKvOp.Set(prefix + "audit", Utf8("never")),
            ConsulKvOp.CheckNotExists(prefix + "present"), // exists
            ConsulKvOp.CheckIndex(prefix + "a", a.ModifyIndex), // holds
        ]);

        Assert.False(result.Committed);
        Assert.Empty(result.Results);
        Assert.Equal([0, 2], result.Errors.Select(e => e.OpIndex));
        Assert.All(result.Errors, e => Assert.Contains(prefix, e.What, StringComparison.Ordinal));

        Assert.Equal("a0", Text(await _client.KvGetAsync(prefix + "a")));
        Assert.Equal(a.ModifyIndex, (await _client.KvGetAsync(prefix + "a"))?.ModifyIndex);
        Assert.Null(await _client.KvGetAsync(prefix + "audit"));
    }

    [Fact]
    public async Task Check_index_and_get_of_a_missing_key_roll_back()
    {
        var prefix = UniquePrefix("txn-checks");
        await _client.KvPutAsync(prefix + "k", Utf8("v"));
        var k = await _client.KvGetAsync(prefix + "k");

        var stale = await _client.TxnAsync([ConsulKvOp.CheckIndex(prefix + "k", k!.ModifyIndex - 1), ConsulKvOp.Set(prefix + "w", Utf8("w"))]);
        Assert.False(stale.Committed);
        Assert.Equal([0], stale.Errors.Select(e => e.OpIndex));

        var missing = await _client.TxnAsync([ConsulKvOp.Set(prefix + "w", Utf8("w")), ConsulKvOp.Get(prefix + "nope")]);
        Assert.False(missing.Committed);
        Assert.Equal([1], missing.Errors.Select(e => e.OpIndex));
        Assert.Null(await _client.KvGetAsync(prefix + "w"));

        var wrongDelete = await _client.TxnAsync([ConsulKvOp.DeleteCas(prefix + "k", k.ModifyIndex + 1)]);
        Assert.False(wrongDelete.Committed);
        Assert.Equal([0], wrongDelete.Errors.Select(e => e.OpIndex));
        Assert.NotNull(await _client.KvGetAsync(prefix + "k"));
    }

    [Fact]
    public async Task A_dead_agent_before_the_live_one_commits_there_and_flags_the_uncertain_attempt()
    {
        var dead = new Uri($"http://127.0.0.1:{FreePorts.Take(1)[0]}/");
        var client = Client([dead, agent.HttpAddress]);
        var key = UniquePrefix("txn-failover") + "k";

        var first = await client.TxnAsync([ConsulKvOp.Set(key, Utf8("v"))]);
        Assert.True(first.Committed);
        Assert.True(first.EarlierAttemptUncertain);
        Assert.Equal(agent.HttpAddress, client.CurrentAddress);

        // The live agent is now tried first: nothing uncertain about the next one.
        var second = await client.TxnAsync([ConsulKvOp.CheckIndex(key, first.Results[0].ModifyIndex)]);
        Assert.True(second.Committed);
        Assert.False(second.EarlierAttemptUncertain);
    }

    [Fact]
    public async Task Operation_count_and_keys_are_checked_before_sending()
    {
        var prefix = UniquePrefix("txn-limits");
        await Assert.ThrowsAsync<ArgumentException>(() => _client.TxnAsync([]));
        var tooMany = Enumerable.Range(0, ConsulClient.MaxTxnOperations + 1).Select(i => ConsulKvOp.Set(prefix + i, Utf8("x"))).ToArray();
        await Assert.ThrowsAsync<ArgumentException>(() => _client.TxnAsync(tooMany));
        await Assert.ThrowsAsync<ArgumentException>(() => _client.TxnAsync([ConsulKvOp.Set("/leading-slash", Utf8("x"))]));
        Assert.Throws<ArgumentOutOfRangeException>(() => ConsulKvOp.DeleteCas(prefix + "k", 0));

        // Exactly the limit is accepted and committed.
        var full = await _client.TxnAsync(tooMany[..ConsulClient.MaxTxnOperations]);
        Assert.True(full.Committed);
        Assert.Equal(ConsulClient.MaxTxnOperations, (await _client.KvKeysAsync(prefix)).Count);
    }
}
