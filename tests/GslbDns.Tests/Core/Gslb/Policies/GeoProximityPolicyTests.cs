using GslbDns.Geo;
using GslbDns.Gslb;
using GslbDns.Gslb.Policies;
using static GslbDns.Tests.Core.Gslb.Policies.PolicyTestSupport;

namespace GslbDns.Tests.Core.Gslb.Policies;

public sealed class GeoProximityPolicyTests
{
    private static readonly ServiceConfig Svc = Service(OnePerDataCenter(World));

    public static TheoryData<string, double, double, string> ClientsOnEveryContinent => new()
    {
        { "New York", 40.7128, -74.0060, "ashburn" },
        { "Chicago", 41.8781, -87.6298, "ashburn" },
        { "Mexico City", 19.4326, -99.1332, "ashburn" },
        { "Honolulu", 21.3069, -157.8583, "ashburn" },
        { "London", 51.5074, -0.1278, "dublin" },
        { "Reykjavik", 64.1466, -21.9426, "dublin" },
        { "Paris", 48.8566, 2.3522, "frankfurt" },
        { "Warsaw", 52.2297, 21.0122, "frankfurt" },
        { "Cairo", 30.0444, 31.2357, "frankfurt" },
        { "Dubai", 25.2048, 55.2708, "frankfurt" },
        { "Tokyo", 35.6762, 139.6503, "singapore" },
        { "Mumbai", 19.0760, 72.8777, "singapore" },
        { "Auckland", -36.8485, 174.7633, "sydney" },
        { "Perth", -31.9505, 115.8605, "sydney" },
        { "McMurdo Station", -77.8419, 166.6863, "sydney" },
        { "Buenos Aires", -34.6037, -58.3816, "sao-paulo" },
        { "Lima", -12.0464, -77.0428, "sao-paulo" },
        { "Nairobi", -1.2921, 36.8219, "johannesburg" },
        { "Cape Town", -33.9249, 18.4241, "johannesburg" },
        { "Lagos", 6.5244, 3.3792, "johannesburg" },
    };

    [Theory]
    [MemberData(nameof(ClientsOnEveryContinent))]
    public void Nearest_data_center_wins(string city, double latitude, double longitude, string expected)
    {
        var locator = new StubLocator(new GeoLocation(latitude, longitude, City: city));

        var kept = Run(new GeoProximityPolicy(1), Context(Svc, ConfigOf(World), locator: locator));

        Assert.Equal([expected], DataCentersOf(Svc, kept));
    }

    [Fact]
    public void Count_keeps_that_many_nearest_data_centers_with_all_their_endpoints()
    {
        var svc = Service(
        [
            Endpoint("sydney", "192.0.2.1"),
            Endpoint("ashburn", "192.0.2.2"),
            Endpoint("dublin", "192.0.2.3"),
            Endpoint("ashburn", "192.0.2.4"),
            Endpoint("frankfurt", "192.0.2.5"),
        ]);
        var context = Context(svc, ConfigOf(World), locator: new StubLocator(NewYork));

        // New York: ashburn 350 km, dublin 5,115 km, frankfurt 6,203 km. Order is kept.
        Assert.Equal([1, 3], Run(new GeoProximityPolicy(1), context));
        Assert.Equal([1, 2, 3], Run(new GeoProximityPolicy(2), context));
        Assert.Equal([0, 1, 2, 3, 4], Run(new GeoProximityPolicy(10), context));
    }

    [Fact]
    public void Only_candidates_count()
    {
        // Ashburn is out (unhealthy, say): New York goes to the next nearest, Dublin.
        var kept = Run(new GeoProximityPolicy(1), Context(Svc, ConfigOf(World), locator: new StubLocator(NewYork)), [1, 2, 3, 4]);

        Assert.Equal(["dublin"], DataCentersOf(Svc, kept));
    }

    [Fact]
    public void Positive_bias_widens_a_data_centers_area()
    {
        // London is 463 km from Dublin and 638 km from Frankfurt.
        var context = (DataCenter frankfurt) => Context(Svc, ConfigOf([Ashburn, Dublin, frankfurt, Singapore, Sydney, SaoPaulo, Johannesburg]), locator: new StubLocator(London));

        Assert.Equal(["dublin"], DataCentersOf(Svc, Run(new GeoProximityPolicy(1), context(Frankfurt))));
        Assert.Equal(["dublin"], DataCentersOf(Svc, Run(new GeoProximityPolicy(1), context(Frankfurt with { Bias = 25 })))); // 638 * 0.75 = 478
        Assert.Equal(["frankfurt"], DataCentersOf(Svc, Run(new GeoProximityPolicy(1), context(Frankfurt with { Bias = 30 })))); // 638 * 0.70 = 447
    }

    [Fact]
    public void Negative_bias_shrinks_a_data_centers_area()
    {
        // Lagos: Johannesburg 4,508 km, Frankfurt 4,872 km; London: Dublin 463 km, Frankfurt 638 km.
        var config = ConfigOf([Ashburn, Dublin with { Bias = -40 }, Frankfurt, Singapore, Sydney, SaoPaulo, Johannesburg with { Bias = -10 }]);

        var lagos = Run(new GeoProximityPolicy(1), Context(Svc, config, locator: new StubLocator(new GeoLocation(6.5244, 3.3792))));
        var london = Run(new GeoProximityPolicy(1), Context(Svc, config, locator: new StubLocator(London)));

        Assert.Equal(["frankfurt"], DataCentersOf(Svc, lagos)); // 4,508 * 1.1 = 4,959
        Assert.Equal(["frankfurt"], DataCentersOf(Svc, london)); // 463 * 1.4 = 648
    }

    [Fact]
    public void Forced_data_center_wins_while_it_has_candidates()
    {
        // A geo-data override pins this New York network to Frankfurt.
        var pinned = new StubLocator(NewYork with { DataCenter = "frankfurt" }, source: LocationSource.Override);

        Assert.Equal(["frankfurt"], DataCentersOf(Svc, Run(new GeoProximityPolicy(1), Context(Svc, ConfigOf(World), locator: pinned))));

        // Frankfurt has no candidate left: back to distance from the client's coordinates.
        var withoutFrankfurt = Run(new GeoProximityPolicy(1), Context(Svc, ConfigOf(World), locator: pinned), [0, 1, 3, 4, 5, 6]);
        Assert.Equal(["ashburn"], DataCentersOf(Svc, withoutFrankfurt));
    }

    [Fact]
    public void Forced_data_center_without_coordinates_falls_back_to_the_default_location()
    {
        var pinned = new StubLocator(new GeoLocation(null, null, DataCenter: "frankfurt"), source: LocationSource.Override);
        var config = ConfigOf(World, defaultLocation: Tokyo);

        Assert.Equal(["frankfurt"], DataCentersOf(Svc, Run(new GeoProximityPolicy(1), Context(Svc, config, locator: pinned))));
        Assert.Equal(["singapore"], DataCentersOf(Svc, Run(new GeoProximityPolicy(1), Context(Svc, config, locator: pinned), [0, 1, 3, 4])));
    }

    [Fact]
    public void No_locator_or_no_coordinates_uses_the_default_location()
    {
        var config = ConfigOf(World, defaultLocation: BuenosAires);

        Assert.Equal(["sao-paulo"], DataCentersOf(Svc, Run(new GeoProximityPolicy(1), Context(Svc, config))));
        Assert.Equal(["sao-paulo"], DataCentersOf(Svc, Run(new GeoProximityPolicy(1), Context(Svc, config, locator: new StubLocator(new GeoLocation(null, null, "EU"))))));
    }

    [Fact]
    public void Nothing_to_measure_from_keeps_everything()
    {
        var config = ConfigOf(World) with { DefaultLocation = new GeoLocation(null, null) };

        Assert.Equal([0, 1, 2, 3, 4, 5, 6], Run(new GeoProximityPolicy(1), Context(Svc, config, locator: new StubLocator(new GeoLocation(null, null)))));
    }

    [Fact]
    public void Reading_the_location_records_its_ECS_scope()
    {
        var context = Context(Svc, ConfigOf(World), locator: new StubLocator(London, scope: 20));

        Run(new GeoProximityPolicy(1), context);

        Assert.Equal(20, context.ScopePrefix);
    }

    [Fact]
    public void Equal_distances_go_to_the_data_center_listed_first()
    {
        var east = new DataCenter("east", 0, 10, "r", 0);
        var west = new DataCenter("west", 0, -10, "r", 0);
        var svc = Service([Endpoint("west", "192.0.2.1"), Endpoint("east", "192.0.2.2")]);

        var kept = Run(new GeoProximityPolicy(1), Context(svc, ConfigOf([east, west]), locator: new StubLocator(new GeoLocation(0, 0))));

        Assert.Equal(["west"], DataCentersOf(svc, kept));
    }
}
