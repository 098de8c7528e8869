using System.Net;
using GslbDns.Dns;
using GslbDns.Geo;
using GslbDns.Gslb;
using GslbDns.Gslb.Policies;
using static GslbDns.Tests.Core.Gslb.Policies.PolicyTestSupport;

namespace GslbDns.Tests.Core.Gslb.Policies;

public sealed class ServiceSelectorTests
{
    // 0 v4 ashburn, 1 v6 ashburn, 2 v4 dublin, 3 v6 dublin, 4 v4 frankfurt
    private static readonly Endpoint[] Mixed =
    [
        Endpoint("ashburn", "192.0.2.1"),
        Endpoint("ashburn", "2001:db8::1"),
        Endpoint("dublin", "192.0.2.2"),
        Endpoint("dublin", "2001:db8::2"),
        Endpoint("frankfurt", "192.0.2.3"),
    ];

    private static (int[] Kept, bool UseFallback) Select(ServiceConfig svc, ushort qtype, SelectionContext context, int bufferSize = 16)
    {
        var buffer = new int[bufferSize];
        var count = ServiceSelector.Select(svc, qtype, context, buffer, out var useFallback);
        return (buffer[..count], useFallback);
    }

    private static GslbState AllDown(ServiceConfig svc) => StateOf(health: svc.Endpoints.Select(e => new KeyValuePair<string, bool>(e.Id, false)));

    [Fact]
    public void Query_type_chooses_the_address_family()
    {
        var svc = Service(Mixed);

        Assert.Equal([0, 2, 4], Select(svc, RecordType.A, Context(svc)).Kept);
        Assert.Equal([1, 3], Select(svc, RecordType.AAAA, Context(svc)).Kept);
        Assert.Equal((int[])[], Select(svc, RecordType.TXT, Context(svc)).Kept);
    }

    [Fact]
    public void No_endpoint_of_the_family_is_no_data_not_fallback()
    {
        var svc = Service(OnePerDataCenter(Ashburn, Dublin), whenAllUnhealthy: AllUnhealthyBehavior.Fallback, fallback: [IPAddress.Parse("2001:db8::99")]);

        var (kept, useFallback) = Select(svc, RecordType.AAAA, Context(svc));

        Assert.Empty(kept);
        Assert.False(useFallback);
    }

    [Fact]
    public void Chain_without_healthy_gets_it_implicitly_first()
    {
        var svc = Service(Mixed, [new FirstPolicy(1)]);
        var context = Context(svc, state: StateOf(health: [new(Mixed[0].Id, false)]));
        context.Trace = new SelectionTrace();

        Assert.Equal([2], Select(svc, RecordType.A, context).Kept);
        Assert.Equal(["family", "healthy", "first"], context.Trace.Steps.Select(s => s.Policy));
        Assert.Contains("implicit", context.Trace.Steps[1].Note, StringComparison.Ordinal);
    }

    [Fact]
    public void Explicit_healthy_runs_where_it_stands_and_only_once()
    {
        // first(2) before healthy: the unhealthy endpoint 0 is among the two, healthy then drops it.
        var svc = Service(Mixed, [new FirstPolicy(2), HealthyPolicy.Instance]);
        var context = Context(svc, state: StateOf(health: [new(Mixed[0].Id, false)]));
        context.Trace = new SelectionTrace();

        Assert.Equal([2], Select(svc, RecordType.A, context).Kept);
        Assert.Equal(["family", "first", "healthy"], context.Trace.Steps.Select(s => s.Policy));
    }

    [Fact]
    public void All_unhealthy_fails_open_with_every_endpoint_of_the_family()
    {
        var svc = Service(Mixed, [new GeoProximityPolicy(1)]);
        var context = Context(svc, ConfigOf(World), AllDown(svc), new StubLocator(Paris));
        context.Trace = new SelectionTrace();

        var (kept, useFallback) = Select(svc, RecordType.A, context);

        Assert.False(useFallback);
        Assert.Equal([4], kept); // the chain still runs: nearest to Paris among all IPv4 endpoints
        var healthy = context.Trace.Steps[1];
        Assert.Equal("healthy", healthy.Policy);
        Assert.Equal([Mixed[0].Id, Mixed[2].Id, Mixed[4].Id], healthy.Kept);
        Assert.Contains("all unhealthy: fail open", healthy.Note, StringComparison.Ordinal);
    }

    [Fact]
    public void All_unhealthy_with_fallback_stops_and_says_so()
    {
        var svc = Service(Mixed, [new FirstPolicy(1)], AllUnhealthyBehavior.Fallback, [IPAddress.Parse("198.51.100.1")]);
        var context = Context(svc, state: AllDown(svc));
        context.Trace = new SelectionTrace();

        var (kept, useFallback) = Select(svc, RecordType.A, context);

        Assert.Empty(kept);
        Assert.True(useFallback);
        Assert.Equal("all unhealthy: fallback addresses", context.Trace.Steps[^1].Note);
    }

    [Fact]
    public void One_healthy_endpoint_is_enough_to_avoid_fallback()
    {
        var svc = Service(Mixed, [], AllUnhealthyBehavior.Fallback);
        var state = StateOf(health: [new(Mixed[0].Id, false), new(Mixed[2].Id, false)]);

        var (kept, useFallback) = Select(svc, RecordType.A, Context(svc, state: state));

        Assert.Equal([4], kept);
        Assert.False(useFallback);
    }

    [Fact]
    public void Trace_records_every_step_with_what_it_kept()
    {
        var svc = Service(Mixed, [HealthyPolicy.Instance, new GeoProximityPolicy(2), new FirstPolicy(1)]);
        var context = Context(svc, ConfigOf(World), locator: new StubLocator(London));
        context.Trace = new SelectionTrace();

        var (kept, _) = Select(svc, RecordType.A, context);

        Assert.Equal([2], kept);
        Assert.Equal(["family", "healthy", "geo-proximity", "first"], context.Trace.Steps.Select(s => s.Policy));
        Assert.Equal([Mixed[0].Id, Mixed[2].Id, Mixed[4].Id], context.Trace.Steps[0].Kept);
        Assert.Equal([Mixed[0].Id, Mixed[2].Id, Mixed[4].Id], context.Trace.Steps[1].Kept);
        Assert.Equal([Mixed[2].Id, Mixed[4].Id], context.Trace.Steps[2].Kept);
        Assert.Contains("nearest dublin", context.Trace.Steps[2].Note, StringComparison.Ordinal);
        Assert.Equal([Mixed[2].Id], context.Trace.Steps[3].Kept);
    }

    [Fact]
    public void Context_must_be_reset_for_the_service()
    {
        var svc = Service(Mixed);
        var other = Service(Mixed);

        Assert.Throws<ArgumentException>(() => Select(svc, RecordType.A, Context(other)));
    }

    [Fact]
    public void Buffer_smaller_than_the_service_limits_the_candidates()
    {
        var svc = Service(Mixed);

        Assert.Equal([0, 2], Select(svc, RecordType.A, Context(svc), bufferSize: 2).Kept);
    }

    [Fact]
    public void Select_allocates_nothing_in_steady_state()
    {
        // Many endpoints per data center so that every step has real work to do.
        var endpoints = World.SelectMany((dc, d) => Enumerable.Range(1, 4).Select(i => Endpoint(dc.Name, $"10.0.{d}.{i}", weight: i))).ToArray();
        var svc = Service(endpoints, [HealthyPolicy.Instance, new GeoProximityPolicy(2), new WeightedPolicy(3, false), new FirstPolicy(2)]);
        var state = StateOf(health: [new(endpoints[0].Id, false)], weights: [new("dublin", 2)]);
        var locator = new StubLocator(London);

        AssertNoAllocation(svc, ConfigOf(World), state, locator, RecordType.A);
    }

    [Fact]
    public void Every_other_policy_allocates_nothing_in_steady_state_either()
    {
        var endpoints = World.SelectMany((dc, d) => Enumerable.Range(1, 3).Select(i => Endpoint(dc.Name, $"10.0.{d}.{i}", weight: i, priority: d % 2))).ToArray();
        var geolocation = new GeolocationPolicy([new GeolocationRule("EU", null, null, ["frankfurt", "dublin"]), new GeolocationRule(null, "GB", "ENG", ["dublin"])], ["ashburn"]);
        var svc = Service(endpoints, [new LatencyPolicy(3), geolocation, FailoverPolicy.Instance, new WeightedPolicy(2, true), new MultivaluePolicy(8)]);
        var regions = new[] { new ProberRegion("eu-west", 53.3, -6.3) };
        var config = ConfigOf(World, regions, Rtt(("eu-west", "dublin", 2), ("eu-west", "frankfurt", 20), ("eu-west", "ashburn", 80)));
        var state = StateOf(measuredRtt: Rtt(("eu-west", "dublin", 3)), overrides: [new("sydney", new HealthOverride(false, Now.AddHours(1), "test"))]);

        AssertNoAllocation(svc, config, state, new StubLocator(London), RecordType.A);
    }

    private static void AssertNoAllocation(ServiceConfig svc, GslbConfig config, GslbState state, IClientLocator locator, ushort qtype)
    {
        var context = new SelectionContext { Locator = locator };
        var buffer = new int[64];
        var address = (UInt128)0xC633_6401; // 198.51.100.1
        var total = 0;
        for (var i = 0; i < 2_000; i++)
        {
            context.Reset(svc, config, state, Now, address + (UInt128)(i << 8), false, 32);
            total += ServiceSelector.Select(svc, qtype, context, buffer, out _);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1_000; i++)
        {
            context.Reset(svc, config, state, Now, address + (UInt128)(i << 8), false, 32);
            total += ServiceSelector.Select(svc, qtype, context, buffer, out _);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(total > 0);
        Assert.Equal(0, allocated);
    }
}
