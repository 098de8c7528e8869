using GslbDns.Geo;
using GslbDns.Gslb;
using GslbDns.Gslb.Policies;
using static GslbDns.Tests.Core.Gslb.Policies.PolicyTestSupport;

namespace GslbDns.Tests.Core.Gslb.Policies;

public sealed class GeolocationPolicyTests
{
    // 0 ashburn, 1 san-jose, 2 dublin, 3 frankfurt, 4 singapore
    private static readonly ServiceConfig Svc = Service(OnePerDataCenter(Ashburn, SanJose, Dublin, Frankfurt, Singapore));

    private static readonly GeolocationPolicy Policy = new(
        [
            new GeolocationRule("EU", null, null, ["frankfurt"]),
            new GeolocationRule(null, "US", "CA", ["san-jose"]),
            new GeolocationRule(null, "GB", null, ["dublin"]),
            new GeolocationRule(null, "US", null, ["ashburn"]),
            new GeolocationRule("AS", null, null, ["singapore", "frankfurt"]),
        ],
        ["ashburn"]);

    private static string[] Where(GeoLocation client, params int[] candidates) =>
        DataCentersOf(Svc, Run(Policy, Context(Svc, locator: new StubLocator(client)), candidates.Length == 0 ? [0, 1, 2, 3, 4] : candidates));

    [Fact]
    public void Most_specific_rule_wins()
    {
        Assert.Equal(["san-jose"], Where(LosAngeles)); // subdivision over country
        Assert.Equal(["ashburn"], Where(NewYork)); // country (no NY rule)
        Assert.Equal(["dublin"], Where(London)); // country over continent
        Assert.Equal(["frankfurt"], Where(Paris)); // continent
        Assert.Equal(["frankfurt", "singapore"], Where(Tokyo).Order()); // continent, two data centers
        Assert.Equal(["ashburn"], Where(BuenosAires)); // no rule: default
    }

    [Fact]
    public void Codes_match_whatever_their_case()
    {
        Assert.Equal(["san-jose"], Where(new GeoLocation(34, -118, "na", "us", "ca")));
    }

    [Fact]
    public void Empty_match_falls_through_to_the_next_less_specific()
    {
        // California with San Jose out: the US country rule.
        Assert.Equal(["ashburn"], Where(LosAngeles, 0, 2, 3, 4));

        // Britain with Dublin out: the EU continent rule.
        Assert.Equal(["frankfurt"], Where(London, 0, 1, 3, 4));

        // France with Frankfurt out: the default.
        Assert.Equal(["ashburn"], Where(Paris, 0, 1, 2, 4));

        // Asia keeps what is left of its two.
        Assert.Equal(["singapore"], Where(Tokyo, 0, 1, 2, 4));
    }

    [Fact]
    public void Nothing_left_of_any_match_or_the_default_keeps_all()
    {
        Assert.Equal(["dublin", "singapore"], Where(Paris, 2, 4));
        Assert.Equal(["san-jose", "dublin"], Where(BuenosAires, 1, 2));
    }

    [Fact]
    public void No_default_and_no_match_keeps_all()
    {
        var policy = new GeolocationPolicy([new GeolocationRule("EU", null, null, ["frankfurt"])], null);

        Assert.Equal([0, 1, 2, 3, 4], Run(policy, Context(Svc, locator: new StubLocator(Tokyo))));
    }

    [Fact]
    public void Unknown_client_uses_the_default_locations_codes()
    {
        var config = ConfigOf([Ashburn, SanJose, Dublin, Frankfurt, Singapore], defaultLocation: Paris);

        Assert.Equal(["frankfurt"], DataCentersOf(Svc, Run(Policy, Context(Svc, config))));
    }

    [Fact]
    public void Reading_the_location_records_its_ECS_scope()
    {
        var context = Context(Svc, locator: new StubLocator(London, scope: 18));

        Run(Policy, context);

        Assert.Equal(18, context.ScopePrefix);
    }
}
