using GslbDns.Gslb;
using GslbDns.Gslb.Policies;
using static GslbDns.Tests.Core.Gslb.Policies.PolicyTestSupport;

namespace GslbDns.Tests.Core.Gslb.Policies;

public sealed class HealthyPolicyTests
{
    private static readonly ServiceConfig Svc = Service(OnePerDataCenter(Ashburn, Dublin, Frankfurt));

    [Fact]
    public void Unknown_endpoints_are_healthy()
    {
        Assert.Equal([0, 1, 2], Run(HealthyPolicy.Instance, Context(Svc)));
    }

    [Fact]
    public void Keeps_usable_endpoints_in_order()
    {
        var state = StateOf(health: [new(Svc.Endpoints[1].Id, false), new(Svc.Endpoints[2].Id, true)]);

        Assert.Equal([0, 2], Run(HealthyPolicy.Instance, Context(Svc, state: state)));
    }

    [Fact]
    public void Drained_endpoint_or_data_center_is_not_usable()
    {
        var state = StateOf(drained: [Svc.Endpoints[0].Id, "frankfurt"]);

        Assert.Equal([1], Run(HealthyPolicy.Instance, Context(Svc, state: state)));
    }

    [Fact]
    public void Unexpired_override_wins_over_probes_and_expired_one_does_not()
    {
        var state = StateOf(
            health: [new(Svc.Endpoints[0].Id, false), new(Svc.Endpoints[1].Id, true)],
            overrides:
            [
                new(Svc.Endpoints[0].Id, new HealthOverride(true, Now.AddMinutes(5), "probe false positive")),
                new("dublin", new HealthOverride(false, Now.AddMinutes(5), "maintenance")),
            ]);

        Assert.Equal([0, 2], Run(HealthyPolicy.Instance, Context(Svc, state: state)));
        Assert.Equal([1, 2], Run(HealthyPolicy.Instance, Context(Svc, state: state, now: Now.AddMinutes(6))));
    }

    [Fact]
    public void All_unhealthy_returns_zero_and_leaves_the_candidates_untouched()
    {
        // The selector's fail-open path depends on this: it carries on with buffer[..count].
        var state = StateOf(health: Svc.Endpoints.Select(e => new KeyValuePair<string, bool>(e.Id, false)));
        int[] buffer = [2, 0, 1];

        var kept = HealthyPolicy.Instance.Apply(buffer, 3, Context(Svc, state: state));

        Assert.Equal(0, kept);
        Assert.Equal([2, 0, 1], buffer);
    }
}
