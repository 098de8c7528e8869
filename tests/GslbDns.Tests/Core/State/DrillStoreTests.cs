using System.Collections.Frozen;
using GslbDns.Consul;
using GslbDns.Gslb;
using GslbDns.Query;
using GslbDns.State;
using GslbDns.Tests.Api;
using GslbDns.Tests.Core.Consul;
using GslbDns.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace GslbDns.Tests.Core.State;

/// <summary>Drill leases in both stores (a real Consul dev agent, a real SQLite file): check-and-set, audit in the same transaction, the watcher's evacuation windows.</summary>
[Collection(ApiConsulCollection.Name)]
public sealed class DrillStoreTests : IAsyncLifetime
{
    private readonly OperatorStores _stores;

    public DrillStoreTests(ConsulDevAgent consul)
    {
        _stores = new OperatorStores(consul, "drill-store");
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        _stores.Dispose();
        return Task.CompletedTask;
    }

    private IOperatorStateStore Open(string kind) => _stores.Open(kind, "drills");

    internal static DrillSetting NewDrill(DateTimeOffset start, TimeSpan duration, DrillState state, params string[] dataCenters) => new(
        DrillSetting.NewId(start), dataCenters, null, ["svc.test"], start, duration, state, 0.5, null, null, false, [], state == DrillState.Running ? start : null, null, null, null,
        DrillResults.Empty.With(new DrillStep(start, "created", "test")), "practice", "tester", start);

    [Theory]
    [InlineData("sqlite")]
    [InlineData("consul")]
    public async Task A_drill_lease_round_trips_with_check_and_set_and_its_audit_entry(string kind)
    {
        await using var store = Open(kind);
        var start = new DateTimeOffset(2026, 1, 5, 10, 0, 0, TimeSpan.Zero);
        var drill = NewDrill(start, TimeSpan.FromMinutes(30), DrillState.Running, "dc-a", "dc-b");
        var key = new StateKey(StateKind.Drill, drill.Id);
        var created = await store.SetAsync(key, drill, 0, AuditEntry.Create(start, "tester", "set", key, null, drill, "practice", false));
        Assert.Equal(WriteStatus.Applied, created.Status);

        var read = (await store.ReadAsync()).Drills().Single();
        Assert.Equal(created.Version, read.Version);
        Assert.Equal(drill.Id, read.Drill.Id);
        Assert.Equal(["dc-a", "dc-b"], read.Drill.DataCenters);
        Assert.Equal(DrillState.Running, read.Drill.State);
        Assert.Equal(start + TimeSpan.FromMinutes(30), read.Drill.EffectiveEnd);
        Assert.Equal("created", Assert.Single(read.Drill.Results.Steps).Step);

        // Two runners that read the same version: only one moves the drill on.
        var aborted = read.Drill with { State = DrillState.Aborted, EndedAt = start.AddMinutes(1) };
        var succeeded = read.Drill with { State = DrillState.Succeeded };
        var first = await store.SetAsync(key, aborted, read.Version, AuditEntry.Create(start.AddMinutes(1), "runner-1", "set", key, read.Drill, aborted, "abort", false));
        var second = await store.SetAsync(key, succeeded, read.Version, AuditEntry.Create(start.AddMinutes(1), "runner-2", "set", key, read.Drill, succeeded, "end", false));
        Assert.Equal(WriteStatus.Applied, first.Status);
        Assert.Equal(WriteStatus.VersionMismatch, second.Status);
        Assert.Equal(DrillState.Aborted, ((DrillSetting)second.Current!).State);
        Assert.Equal(start.AddMinutes(1), ((DrillSetting)second.Current!).EffectiveEnd);

        var audit = await store.QueryAuditAsync(new AuditQuery(Target: drill.Id, Kind: StateKind.Drill));
        Assert.Equal(["tester", "runner-1"], audit.Select(a => a.Actor).ToList());
        Assert.Equal(created.Version, audit[0].Version);
        Assert.Contains("\"aborted\"", audit[1].After, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("consul")]
    public async Task The_watcher_turns_running_drills_into_evacuation_windows_and_nothing_else(string kind)
    {
        await using var store = Open(kind);
        var snapshots = new SnapshotHolder(ServerSnapshot.Empty);
        await using var watcher = new OperatorStateWatcher(store, new OperatorStatePublisher(snapshots), NullLogger.Instance);
        watcher.Start();
        var now = DateTimeOffset.UtcNow;
        var running = NewDrill(now, TimeSpan.FromSeconds(30), DrillState.Running, "dc-a");
        var scheduled = NewDrill(now, TimeSpan.FromSeconds(30), DrillState.Scheduled, "dc-b");
        var done = NewDrill(now, TimeSpan.FromSeconds(30), DrillState.Aborted, "dc-c");
        ulong last = 0;
        foreach (var drill in new[] { running, scheduled, done })
        {
            last = (await store.SetAsync(new StateKey(StateKind.Drill, drill.Id), drill, 0, null)).Version;
        }

        Assert.True(await watcher.WaitForIndexAsync(last, TimeSpan.FromSeconds(5)));
        var evacuated = snapshots.Current.State.Evacuated;
        Assert.Equal(["dc-a"], evacuated.Keys.ToList());
        Assert.Equal(running.Id, evacuated["dc-a"].DrillId);

        // The drill's start and end are marked as answer changes of dc-a, so answers around them get the short TTL.
        var instants = snapshots.Current.State.Changes.For("dc-a");
        Assert.Contains(running.Start, instants);
        Assert.Contains(running.EffectiveEnd, instants);
        Assert.Empty(snapshots.Current.State.Changes.For("dc-b"));

        // The end comes from the lease and the query's time: nothing has to be written for dc-a to return.
        var endpoint = new Endpoint("svc.test/dc-a/192.0.2.1", "dc-a", System.Net.IPAddress.Parse("192.0.2.1"), 100, 0);
        var state = snapshots.Current.State;
        Assert.False(state.IsUsable(endpoint, now.AddSeconds(1)));
        Assert.True(state.IsUsable(endpoint, now.AddSeconds(30)));
        Assert.True(state.IsUsable(endpoint, now.AddSeconds(-1)));
    }

    [Fact]
    public void A_drill_never_makes_a_failed_or_drained_endpoint_usable()
    {
        var now = DateTimeOffset.UtcNow;
        var a = new Endpoint("svc.test/dc-a/192.0.2.1", "dc-a", System.Net.IPAddress.Parse("192.0.2.1"), 100, 0);
        var b = new Endpoint("svc.test/dc-b/192.0.2.2", "dc-b", System.Net.IPAddress.Parse("192.0.2.2"), 100, 0);
        var drill = NewDrill(now.AddSeconds(-5), TimeSpan.FromSeconds(10), DrillState.Running, "dc-a");
        var operatorState = OperatorState.Empty
            .With(new StateKey(StateKind.Drill, drill.Id), drill, 1)
            .With(new StateKey(StateKind.Override, "dc-a"), new OverrideSetting(true, now.AddHours(1), "forced", "tester", now), 2);
        var live = GslbState.Empty with { Health = new Dictionary<string, bool> { [b.Id] = false }.ToFrozenDictionary() };
        var state = operatorState.ApplyTo(live, now);
        Assert.False(state.IsUsable(a, now));            // evacuated wins over a forced-healthy verdict
        Assert.True(state.IsUsable(a, now.AddSeconds(6))); // and ends on the clock
        Assert.False(state.IsUsable(b, now));            // a real failure elsewhere stays a failure
        var drained = OperatorState.Empty.With(new StateKey(StateKind.Drain, "dc-a"), new DrainSetting("maintenance", "tester", now), 3)
            .With(new StateKey(StateKind.Drill, drill.Id), drill, 4).ApplyTo(GslbState.Empty, now);
        Assert.False(drained.IsUsable(a, now.AddSeconds(6))); // the drain outlives the drill
    }
}
