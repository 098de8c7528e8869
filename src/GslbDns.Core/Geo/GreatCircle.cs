namespace GslbDns.Geo;

/// <summary>Distances on the globe for the geo-proximity policy.</summary>
public static class GreatCircle
{
    /// <summary>
    /// Mean Earth radius (IUGG). A sphere is off by up to ~0.5 % against the ellipsoid, far below
    /// what GeoIP coordinates are worth, so haversine is enough.
    /// </summary>
    public const double EarthRadiusKm = 6371.0088;

    /// <summary>Great-circle distance between two points given in degrees, by the haversine formula.</summary>
    public static double DistanceKm(double lat1, double lon1, double lat2, double lon2)
    {
        double phi1 = DegreesToRadians(lat1);
        double phi2 = DegreesToRadians(lat2);
        double dPhi = DegreesToRadians(lat2 - lat1);
        double dLambda = DegreesToRadians(lon2 - lon1);

        double sinPhi = Math.Sin(dPhi / 2);
        double sinLambda = Math.Sin(dLambda / 2);
        double h = (sinPhi * sinPhi) + (Math.Cos(phi1) * Math.Cos(phi2) * sinLambda * sinLambda);

        // Rounding can push h a hair above 1 for antipodal points; Asin would return NaN.
        return 2 * EarthRadiusKm * Math.Asin(Math.Sqrt(Math.Min(1.0, h)));
    }

    private static double DegreesToRadians(double degrees) => degrees * (Math.PI / 180.0);
}
