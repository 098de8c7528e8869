using GslbDns.Dns;
using GslbDns.Gslb;
using GslbDns.Gslb.Policies;
using Microsoft.Extensions.Time.Testing;
using static GslbDns.Tests.Core.Gslb.Policies.PolicyTestSupport;

namespace GslbDns.Tests.Core.Gslb.Policies;

/// <summary>Failover runs after the (implicit) healthy step, so these go through the selector.</summary>
public sealed class FailoverPolicyTests
{
    // Primary: two endpoints in ashburn; secondary: dublin; tertiary: frankfurt.
    private static readonly ServiceConfig Svc = Service(
        [
            Endpoint("ashburn", "192.0.2.1", priority: 1),
            Endpoint("ashburn", "192.0.2.2", priority: 1),
            Endpoint("dublin", "192.0.2.3", priority: 2),
            Endpoint("frankfurt", "192.0.2.4", priority: 3),
        ],
        [FailoverPolicy.Instance]);

    private static string Id(int index) => Svc.Endpoints[index].Id;

    private static int[] Select(GslbState state, DateTimeOffset now)
    {
        var buffer = new int[8];
        var count = ServiceSelector.Select(Svc, RecordType.A, Context(Svc, state: state, now: now), buffer, out var useFallback);
        Assert.False(useFallback);
        return buffer[..count];
    }

    [Fact]
    public void Lowest_priority_value_answers()
    {
        var svc = Service(Svc.Endpoints);
        Assert.Equal([0, 1], Run(FailoverPolicy.Instance, Context(svc)));
        Assert.Equal([2], Run(FailoverPolicy.Instance, Context(svc), [3, 2]));
    }

    [Fact]
    public void Groups_take_over_in_order_as_endpoints_go_unhealthy()
    {
        Assert.Equal([0, 1], Select(StateOf(), Now));
        Assert.Equal([1], Select(StateOf(health: [new(Id(0), false)]), Now));
        Assert.Equal([2], Select(StateOf(health: [new(Id(0), false), new(Id(1), false)]), Now));
        Assert.Equal([3], Select(StateOf(health: [new(Id(0), false), new(Id(1), false), new(Id(2), false)]), Now));

        // Recovery moves traffic straight back to the primary.
        Assert.Equal([0], Select(StateOf(health: [new(Id(0), true), new(Id(1), false), new(Id(2), false)]), Now));
    }

    [Fact]
    public void Drained_data_center_is_skipped()
    {
        Assert.Equal([2], Select(StateOf(drained: ["ashburn"]), Now));
        Assert.Equal([3], Select(StateOf(drained: ["ashburn", Id(2)]), Now));
    }

    [Fact]
    public void Overrides_apply_until_they_expire()
    {
        var time = new FakeTimeProvider(Now);
        var state = StateOf(
            health: [new(Id(0), false), new(Id(1), false)],
            overrides:
            [
                // The operator forces the primary back in for ten minutes (probes wrong), and takes
                // the secondary out for an hour.
                new("ashburn", new HealthOverride(true, Now.AddMinutes(10), "probes misconfigured")),
                new("dublin", new HealthOverride(false, Now.AddHours(1), "maintenance")),
            ]);

        Assert.Equal([0, 1], Select(state, time.GetUtcNow()));

        time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal([3], Select(state, time.GetUtcNow()));

        time.Advance(TimeSpan.FromMinutes(50));
        Assert.Equal([2], Select(state, time.GetUtcNow()));
    }

    [Fact]
    public void Every_group_down_fails_open_to_the_first_group()
    {
        var state = StateOf(health: Svc.Endpoints.Select(e => new KeyValuePair<string, bool>(e.Id, false)));

        Assert.Equal([0, 1], Select(state, Now));
    }
}
