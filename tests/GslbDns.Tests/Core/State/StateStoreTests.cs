using GslbDns.Tests.Api;
using System.Diagnostics;
using GslbDns.Consul;
using GslbDns.Query;
using GslbDns.State;
using GslbDns.Tests.Core.Consul;
using GslbDns.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace GslbDns.Tests.Core.State;

/// <summary>Both stores against the same contract: check-and-set, conditions, audit in the same transaction, watching.</summary>
[Collection(ApiConsulCollection.Name)]
public sealed class StateStoreTests : IAsyncLifetime
{
    private static readonly DateTimeOffset At = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly OperatorStores _stores;

    public StateStoreTests(ConsulDevAgent consul)
    {
        _stores = new OperatorStores(consul, "api-store");
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        _stores.Dispose();
        return Task.CompletedTask;
    }

    private IOperatorStateStore Open(string kind) => _stores.Open(kind, "store");

    private static AuditEntry Audit(StateKey key, StateSetting? before, StateSetting? after, DateTimeOffset? at = null) =>
        AuditEntry.Create(at ?? At, "tester", after is null ? "delete" : "set", key, before, after, "test", false);

    [Theory]
    [InlineData("sqlite")]
    [InlineData("consul")]
    public async Task Check_and_set_create_update_delete_with_versions(string kind)
    {
        await using var store = Open(kind);
        var key = new StateKey(StateKind.Weight, "svc/dc-a/192.0.2.1");
        var one = new WeightSetting(10, "first", "tester", At);

        var created = await store.SetAsync(key, one, 0, Audit(key, null, one));
        Assert.Equal(WriteStatus.Applied, created.Status);
        Assert.True(created.Version > 0);

        // Create-only again: refused with the version that is there.
        var again = await store.SetAsync(key, one, 0, Audit(key, null, one));
        Assert.Equal(WriteStatus.VersionMismatch, again.Status);
        Assert.Equal(created.Version, again.Version);
        Assert.Equal(one, again.Current);

        var two = one with { Weight = 20 };
        var updated = await store.SetAsync(key, two, created.Version, Audit(key, one, two));
        Assert.Equal(WriteStatus.Applied, updated.Status);
        Assert.True(updated.Version > created.Version);
        Assert.Equal(WriteStatus.VersionMismatch, (await store.SetAsync(key, one, created.Version, Audit(key, two, one))).Status);

        var state = await store.ReadAsync();
        Assert.Equal(updated.Version, state.VersionOf(key));
        Assert.Equal(20, state.Get<WeightSetting>(StateKind.Weight, key.Target)!.Weight);
        Assert.True(state.Index >= updated.Version);

        Assert.Equal(WriteStatus.VersionMismatch, (await store.DeleteAsync(key, created.Version, Audit(key, two, null))).Status);
        var deleted = await store.DeleteAsync(key, updated.Version, Audit(key, two, null));
        Assert.Equal(WriteStatus.Applied, deleted.Status);
        Assert.Equal(0UL, (await store.ReadAsync()).VersionOf(key));

        // A re-created entry never gets a version an old ETag could match.
        var recreated = await store.SetAsync(key, one, 0, Audit(key, null, one));
        Assert.True(recreated.Version > updated.Version);

        // Every applied change, and only those, is in the audit log, in order.
        var audit = await store.QueryAuditAsync(new AuditQuery(Target: key.Target));
        Assert.Equal(["set", "set", "delete", "set"], audit.Select(a => a.Action).ToList());
        Assert.Equal(created.Version, audit[0].Version);
        Assert.Equal(updated.Version, audit[1].Version);
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("consul")]
    public async Task A_failed_condition_writes_neither_the_entry_nor_its_audit_entry(string kind)
    {
        await using var store = Open(kind);
        var other = new StateKey(StateKind.Drain, "dc-b");
        var drain = new DrainSetting("maintenance", "tester", At);
        var otherVersion = (await store.SetAsync(other, drain, 0, null)).Version;

        var key = new StateKey(StateKind.Drain, "dc-a");
        var audit = Audit(key, null, drain);
        var result = await store.SetAsync(key, drain, 0, audit, new Dictionary<StateKey, ulong> { [other] = 0 });
        Assert.Equal(WriteStatus.ConditionFailed, result.Status);
        Assert.Equal(0UL, (await store.ReadAsync()).VersionOf(key));
        Assert.DoesNotContain(await store.QueryAuditAsync(new AuditQuery()), a => a.Id == audit.Id);

        var ok = await store.SetAsync(key, drain, 0, audit, new Dictionary<StateKey, ulong> { [other] = otherVersion, [new StateKey(StateKind.Override, "dc-a")] = 0 });
        Assert.Equal(WriteStatus.Applied, ok.Status);
        Assert.Contains(await store.QueryAuditAsync(new AuditQuery()), a => a.Id == audit.Id);
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("consul")]
    public async Task Audit_is_queryable_by_time_range_object_and_kind(string kind)
    {
        await using var store = Open(kind);
        var day = new DateTimeOffset(2025, 5, 1, 0, 0, 0, TimeSpan.Zero);
        for (var i = 0; i < 6; i++)
        {
            var key = new StateKey(i % 2 == 0 ? StateKind.Weight : StateKind.Drain, i < 3 ? "dc-a" : "dc-b");
            StateSetting setting = key.Kind == StateKind.Weight ? new WeightSetting(i, null, "tester", day) : new DrainSetting("r", "tester", day);
            await store.AppendAuditAsync(Audit(key, null, setting, day.AddHours(i)));
        }

        Assert.Equal(6, (await store.QueryAuditAsync(new AuditQuery())).Count);
        var range = await store.QueryAuditAsync(new AuditQuery(From: day.AddHours(1), To: day.AddHours(4)));
        Assert.Equal([day.AddHours(1), day.AddHours(2), day.AddHours(3)], range.Select(a => a.At).ToList());
        Assert.Equal(3, (await store.QueryAuditAsync(new AuditQuery(Target: "dc-b"))).Count);
        Assert.Equal(2, (await store.QueryAuditAsync(new AuditQuery(Target: "dc-a", Kind: StateKind.Weight))).Count);
        Assert.Equal(2, (await store.QueryAuditAsync(new AuditQuery(Limit: 2))).Count);
        Assert.Empty(await store.QueryAuditAsync(new AuditQuery(From: day.AddDays(1))));
    }

    [Fact]
    public async Task The_embedded_store_runs_WAL_with_synchronous_FULL()
    {
        await using var store = SqliteOperatorStateStore.Open(Path.Combine(_stores.Folder.Path, "pragmas.db"));
        var (journal, synchronous) = await store.PragmasAsync();
        Assert.Equal("wal", journal, ignoreCase: true);
        Assert.Equal(2, synchronous); // FULL
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("consul")]
    public async Task The_watcher_applies_a_change_to_the_snapshot_within_a_second(string kind)
    {
        await using var store = Open(kind);
        var snapshots = new SnapshotHolder(ServerSnapshot.Empty);
        await using var watcher = new OperatorStateWatcher(store, new OperatorStatePublisher(snapshots), NullLogger.Instance);
        watcher.Start();
        await Deadline.UntilAsync("the watcher's first read", TimeSpan.FromSeconds(10), () => Task.FromResult((watcher.Connected, "not connected")));

        for (var i = 1; i <= 5; i++)
        {
            var key = new StateKey(StateKind.Weight, $"dc-{i}");
            var written = await store.SetAsync(key, new WeightSetting(i, null, "tester", At), 0, null);
            var clock = Stopwatch.StartNew();
            await Deadline.UntilAsync("the weight in the snapshot", TimeSpan.FromSeconds(1), () =>
                Task.FromResult((snapshots.Current.State.WeightOverrides.TryGetValue(key.Target, out var w) && w == i, $"{snapshots.Current.State.WeightOverrides.Count} overrides")), TimeSpan.FromMilliseconds(5));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"applied after {clock.Elapsed.TotalMilliseconds:0} ms");
            Assert.True(await watcher.WaitForIndexAsync(written.Version, TimeSpan.FromSeconds(1)));
        }

        var drain = await store.SetAsync(new StateKey(StateKind.Drain, "dc-1"), new DrainSetting("r", "tester", At), 0, null);
        var forced = await store.SetAsync(new StateKey(StateKind.Override, "dc-2"), new OverrideSetting(false, DateTimeOffset.UtcNow.AddMinutes(5), "r", "tester", At), 0, null);
        Assert.True(await watcher.WaitForIndexAsync(Math.Max(drain.Version, forced.Version), TimeSpan.FromSeconds(1)));
        Assert.Contains("dc-1", (IReadOnlySet<string>)snapshots.Current.State.Drained);
        Assert.False(snapshots.Current.State.Overrides["dc-2"].Healthy);

        // Deletes reach the snapshot too.
        var deleted = await store.DeleteAsync(new StateKey(StateKind.Drain, "dc-1"), drain.Version, null);
        Assert.True(await watcher.WaitForIndexAsync(deleted.Version, TimeSpan.FromSeconds(1)));
        Assert.DoesNotContain("dc-1", (IReadOnlySet<string>)snapshots.Current.State.Drained);
    }

    [Fact]
    public async Task Consul_down_keeps_the_last_operator_state_in_force()
    {
        // An agent of its own, to kill.
        var agent = new ConsulDevAgent();
        await agent.InitializeAsync();
        var killed = false;
        try
        {
            var store = new ConsulOperatorStateStore(_stores.Client(agent.HttpAddress), "gslbdns/");
            var snapshots = new SnapshotHolder(ServerSnapshot.Empty);
            await using var watcher = new OperatorStateWatcher(store, new OperatorStatePublisher(snapshots), NullLogger.Instance);
            watcher.Start();
            var written = await store.SetAsync(new StateKey(StateKind.Drain, "dc-a"), new DrainSetting("r", "tester", At), 0, null);
            Assert.True(await watcher.WaitForIndexAsync(written.Version, TimeSpan.FromSeconds(5)));
            Assert.Contains("dc-a", (IReadOnlySet<string>)snapshots.Current.State.Drained);

            killed = true;
            await agent.DisposeAsync();
            await Deadline.UntilAsync("the watcher to notice Consul is gone", TimeSpan.FromSeconds(40), () => Task.FromResult((!watcher.Connected, "still connected")), TimeSpan.FromMilliseconds(50));

            // Blind, but still serving the last state: nothing was cleared.
            Assert.Contains("dc-a", (IReadOnlySet<string>)snapshots.Current.State.Drained);
            Assert.Equal(written.Version, watcher.Current.VersionOf(new StateKey(StateKind.Drain, "dc-a")));
        }
        finally
        {
            if (!killed)
            {
                await agent.DisposeAsync();
            }
        }
    }
}
