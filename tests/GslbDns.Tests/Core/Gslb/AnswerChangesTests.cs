using System.Globalization;
using System.Net;
using GslbDns.Dns;
using GslbDns.Gslb;
using GslbDns.Query;
using GslbDns.State;
using Microsoft.Extensions.Time.Testing;

namespace GslbDns.Tests.Core.Gslb;

/// <summary>
/// The change record behind the adaptive TTL: which instants count as near, what is forgotten, and which operator-state
/// changes are recorded (the health side is tested through real DNS queries in Fleet/AdaptiveTtlTests).
/// </summary>
public sealed class AnswerChangesTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2030-01-01T00:00:00Z", CultureInfo.InvariantCulture);
    private static readonly Endpoint Eu = new("svc.test/dc-eu/127.0.0.2", "dc-eu", IPAddress.Parse("127.0.0.2"), 1, 0);
    private static readonly Endpoint Us = new("svc.test/dc-us/127.0.0.3", "dc-us", IPAddress.Parse("127.0.0.3"), 1, 0);
    private static readonly ServiceConfig Service = new(DnsName.Parse("svc.test."), 30, [Eu, Us], null, [], AllUnhealthyBehavior.FailOpen, []);
    private static readonly TtlLimits Limits = new TtlLimits(30, 5, 300) { ChangeWindow = TimeSpan.FromMinutes(5) };

    [Fact]
    public void Ttl_is_the_floor_from_one_service_ttl_before_a_change_until_the_window_after_it()
    {
        // A past change of one endpoint (by id) and a scheduled one of a data center (a drill's end, say).
        var changes = AnswerChanges.Empty.With([Eu.Id], T0, T0 - TimeSpan.FromHours(1)).With(["dc-us"], T0 + TimeSpan.FromHours(1), T0 - TimeSpan.FromHours(1));
        var state = GslbState.Empty with { Changes = changes };
        Assert.Equal(5u, Limits.TtlAt(Service, state, T0));
        Assert.Equal(5u, Limits.TtlAt(Service, state, T0 + TimeSpan.FromMinutes(5)));
        Assert.Equal(30u, Limits.TtlAt(Service, state, T0 + TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1)));

        // Before the scheduled change: the service TTL until one TTL (30 s) ahead of it, so nothing cached outlives it.
        Assert.Equal(30u, Limits.TtlAt(Service, state, T0 + TimeSpan.FromHours(1) - TimeSpan.FromSeconds(31)));
        Assert.Equal(5u, Limits.TtlAt(Service, state, T0 + TimeSpan.FromHours(1) - TimeSpan.FromSeconds(30)));
        Assert.Equal(5u, Limits.TtlAt(Service, state, T0 + TimeSpan.FromHours(1) + TimeSpan.FromMinutes(4)));

        // Another service's endpoints, a window of zero, or a service already at the floor: the service TTL.
        var other = Service with { Endpoints = [new Endpoint("other/dc-ap/127.0.0.4", "dc-ap", IPAddress.Parse("127.0.0.4"), 1, 0)] };
        Assert.Equal(30u, Limits.TtlAt(other, state, T0));
        Assert.Equal(30u, (Limits with { ChangeWindow = TimeSpan.Zero }).TtlAt(Service, state, T0));
        Assert.Equal(5u, Limits.TtlAt(Service with { Ttl = 5 }, GslbState.Empty, T0));
    }

    [Fact]
    public void Old_instants_are_forgotten_and_the_same_instant_is_kept_once()
    {
        var changes = AnswerChanges.Empty.With([Eu.Id, "dc-us"], T0, T0 - TimeSpan.FromMinutes(5));
        changes = changes.With([Eu.Id], T0, T0 - TimeSpan.FromMinutes(5));
        Assert.Equal([T0], changes.For(Eu.Id));
        Assert.Equal(T0, changes.Latest);

        var later = T0 + TimeSpan.FromMinutes(10);
        changes = changes.With([Eu.Id], later, later - TimeSpan.FromMinutes(5));
        Assert.Equal([later], changes.For(Eu.Id));
        Assert.Empty(changes.For("dc-us"));
        Assert.Equal(1, changes.Count);
        Assert.Same(AnswerChanges.Empty, AnswerChanges.Empty.With([], T0, T0));
    }

    [Fact]
    public void Operator_state_changes_after_the_first_are_recorded_with_an_override_expiry_as_a_scheduled_change()
    {
        var time = new FakeTimeProvider(T0);
        var snapshots = new SnapshotHolder(ServerSnapshot.Empty with { Gslb = GslbConfig.Empty with { Ttl = Limits } });
        var publisher = new OperatorStatePublisher(snapshots, time);
        var drained = new StateKey(StateKind.Drain, "dc-eu");
        var stored = OperatorState.Empty.With(drained, new DrainSetting("maintenance", "ops", T0), 1);

        // The state found at start-up changed nothing anyone cached.
        publisher.Apply(stored);
        Assert.Contains("dc-eu", (IReadOnlySet<string>)snapshots.Current.State.Drained);
        Assert.Equal(0, snapshots.Current.State.Changes.Count);

        // Undrained a minute later, a weight and an override set: each key is marked, the override's expiry too.
        time.Advance(TimeSpan.FromMinutes(1));
        var now = time.GetUtcNow();
        var expires = now + TimeSpan.FromMinutes(30);
        var next = OperatorState.Empty
            .With(new StateKey(StateKind.Weight, Us.Id), new WeightSetting(0, "shift", "ops", now), 2)
            .With(new StateKey(StateKind.Override, "dc-ap"), new OverrideSetting(false, expires, "test", "ops", now), 3);
        publisher.Apply(next);
        var changes = snapshots.Current.State.Changes;
        Assert.Equal([now], changes.For("dc-eu"));
        Assert.Equal([now], changes.For(Us.Id));
        Assert.Equal([now, expires], changes.For("dc-ap"));
        Assert.Equal(expires, changes.Latest);

        // Applying the same state again records nothing new.
        time.Advance(TimeSpan.FromSeconds(10));
        publisher.Apply(next);
        Assert.Equal([now], snapshots.Current.State.Changes.For("dc-eu"));
        Assert.Equal([now, expires], snapshots.Current.State.Changes.For("dc-ap"));
    }
}
