using GslbDns.Dns;
using GslbDns.Geo;
using GslbDns.Gslb;
using GslbDns.Gslb.Policies;
using static GslbDns.Tests.Core.Gslb.Policies.PolicyTestSupport;

namespace GslbDns.Tests.Core.Gslb.Policies;

public sealed class LatencyPolicyTests
{
    // 0 ashburn, 1 dublin, 2 frankfurt, 3 singapore
    private static readonly ServiceConfig Svc = Service(OnePerDataCenter(Ashburn, Dublin, Frankfurt, Singapore));

    private static readonly ProberRegion[] Regions =
    [
        new("us-east", 38.9, -77.0),
        new("eu-west", 53.3, -6.3),
        new("ap-northeast", 35.7, 139.7), // probes from Tokyo; no RTT for it anywhere
    ];

    // From eu-west, Dublin is closest by RTT even for Paris, which is geographically nearer Frankfurt.
    private static readonly RttMatrix Static = Rtt(
        ("eu-west", "dublin", 2), ("eu-west", "frankfurt", 20), ("eu-west", "ashburn", 75), ("eu-west", "singapore", 180),
        ("us-east", "ashburn", 1), ("us-east", "dublin", 70), ("us-east", "frankfurt", 85), ("us-east", "singapore", 220));

    private static readonly GslbConfig Cfg = ConfigOf([Ashburn, Dublin, Frankfurt, Singapore], Regions, Static);

    private static string[] Where(GeoLocation client, GslbState? state = null, GslbConfig? config = null, int count = 1, int[]? candidates = null)
    {
        var context = Context(Svc, config ?? Cfg, state, new StubLocator(client));
        return DataCentersOf(Svc, Run(new LatencyPolicy(count), context, candidates ?? [0, 1, 2, 3]));
    }

    [Fact]
    public void Static_RTT_from_the_nearest_region_decides()
    {
        Assert.Equal(["dublin"], Where(Paris));
        Assert.Equal(["ashburn"], Where(NewYork));
        Assert.Equal(["dublin", "frankfurt"], Where(Paris, count: 2));
        Assert.Equal(["frankfurt"], Where(Paris, candidates: [0, 2, 3]));
    }

    [Fact]
    public void Measured_RTT_wins_over_static()
    {
        var state = StateOf(measuredRtt: Rtt(("eu-west", "frankfurt", 4), ("eu-west", "dublin", 31), ("eu-west", "ashburn", 80)));

        Assert.Equal(["frankfurt"], Where(Paris, state));
        Assert.Equal(["dublin", "frankfurt"], Where(Paris, state, count: 2));
    }

    [Fact]
    public void Measurements_for_another_region_leave_static_in_force()
    {
        var state = StateOf(measuredRtt: Rtt(("us-east", "frankfurt", 1)));

        Assert.Equal(["dublin"], Where(Paris, state));
        Assert.Equal(["frankfurt"], Where(NewYork, state));
    }

    [Fact]
    public void Measured_data_center_missing_from_the_matrix_ranks_last()
    {
        // Singapore has no measurement from eu-west: even a huge RTT elsewhere beats "unknown".
        var state = StateOf(measuredRtt: Rtt(("eu-west", "ashburn", 900)));

        Assert.Equal(["ashburn"], Where(Paris, state, candidates: [0, 3]));
    }

    [Fact]
    public void No_RTT_for_the_nearest_region_falls_back_to_geo_proximity()
    {
        // Tokyo's nearest region, ap-northeast, has no RTT in either matrix.
        Assert.Equal(["singapore"], Where(Tokyo));

        // Likewise when the matrices know the region but none of the candidates.
        var partial = ConfigOf([Ashburn, Dublin, Frankfurt, Singapore], Regions, Rtt(("eu-west", "dublin", 2)));
        Assert.Equal(["frankfurt"], Where(Paris, config: partial, candidates: [0, 2, 3]));
    }

    [Fact]
    public void No_regions_falls_back_to_geo_proximity()
    {
        var config = ConfigOf([Ashburn, Dublin, Frankfurt, Singapore], staticRtt: Static);

        Assert.Equal(["frankfurt"], Where(Paris, config: config));
        Assert.Equal(["frankfurt", "dublin"], Where(Paris, config: config, count: 2).OrderDescending());
    }

    [Fact]
    public void Explain_says_which_matrix_was_used()
    {
        var svc = Svc with { Policies = [new LatencyPolicy(1)] };
        var context = Context(svc, Cfg, StateOf(measuredRtt: Rtt(("eu-west", "frankfurt", 4))), new StubLocator(Paris));
        context.Trace = new SelectionTrace();

        ServiceSelector.Select(svc, RecordType.A, context, new int[4], out _);
        var step = context.Trace.Steps[^1];
        Assert.Equal("latency", step.Policy);
        Assert.Contains("measured", step.Note, StringComparison.Ordinal);
        Assert.Contains("eu-west", step.Note, StringComparison.Ordinal);

        context = Context(svc, Cfg, locator: new StubLocator(Tokyo));
        context.Trace = new SelectionTrace();
        ServiceSelector.Select(svc, RecordType.A, context, new int[4], out _);
        Assert.Contains("geo-proximity", context.Trace.Steps[^1].Note, StringComparison.Ordinal);
    }

    [Fact]
    public void A_new_config_snapshot_is_picked_up()
    {
        var policy = new LatencyPolicy(1);
        Assert.Equal(["dublin"], DataCentersOf(Svc, Run(policy, Context(Svc, Cfg, locator: new StubLocator(Paris)))));

        // Same policy instance, new config: only us-east exists now, so Paris is measured from there.
        var reloaded = ConfigOf([Ashburn, Dublin, Frankfurt, Singapore], [Regions[0]], Static);
        Assert.Equal(["ashburn"], DataCentersOf(Svc, Run(policy, Context(Svc, reloaded, locator: new StubLocator(Paris)))));
    }
}
