using GslbDns.Geo;

namespace GslbDns.Tests.Core.Geo;

public sealed class GreatCircleTests
{
    [Fact]
    public void London_to_New_York()
    {
        double km = GreatCircle.DistanceKm(51.5074, -0.1278, 40.7128, -74.0060);

        Assert.InRange(km, 5560, 5580);
        Assert.Equal(km, GreatCircle.DistanceKm(40.7128, -74.0060, 51.5074, -0.1278), 9);
    }

    [Fact]
    public void Sydney_to_Tokyo_crosses_the_equator()
    {
        // ~7,820 km by the same formula in any reference (sphere, r = 6371 km).
        Assert.InRange(GreatCircle.DistanceKm(-33.8688, 151.2093, 35.6762, 139.6503), 7780, 7860);
    }

    [Fact]
    public void Same_point_is_zero_and_antipodes_are_half_the_circumference()
    {
        Assert.Equal(0, GreatCircle.DistanceKm(52.1398, -0.2399, 52.1398, -0.2399), 9);
        double half = Math.PI * GreatCircle.EarthRadiusKm;
        Assert.Equal(half, GreatCircle.DistanceKm(0, 0, 0, 180), 6);
        Assert.Equal(half, GreatCircle.DistanceKm(90, 0, -90, 0), 6);
        Assert.Equal(half, GreatCircle.DistanceKm(45, 10, -45, -170), 6);
    }

    [Fact]
    public void Dateline_is_crossed_the_short_way()
    {
        // 1 degree of longitude on the equator, not 359.
        Assert.InRange(GreatCircle.DistanceKm(0, 179.5, 0, -179.5), 111.1, 111.3);
    }
}
