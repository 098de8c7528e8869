namespace GslbDns.Geo;

/// <summary>
/// Where a client is, as far as the GSLB policies care: a point on the globe plus the codes that
/// continent/country/region rules match on, and optionally a data center our own overrides pin the
/// client to.
/// </summary>
/// <param name="Latitude">Degrees north, null only for an override that names a data center and no point.</param>
/// <param name="Longitude">Degrees east, null exactly when <paramref name="Latitude"/> is.</param>
/// <param name="ContinentCode">Two-letter continent code as MaxMind writes it ("EU", "NA", ...), or null.</param>
/// <param name="CountryCode">ISO 3166-1 alpha-2 ("GB"), or null.</param>
/// <param name="SubdivisionCode">ISO 3166-2 code without the country part ("ENG"), or null.</param>
/// <param name="City">City name (English), or null; informational only, no policy keys on it.</param>
/// <param name="DataCenter">
/// A data center the client is forced to (from geo-data overrides), or null. Whether such a data
/// center exists is checked where the overrides meet the data-center config, not here.
/// </param>
public sealed record GeoLocation(
    double? Latitude,
    double? Longitude,
    string? ContinentCode = null,
    string? CountryCode = null,
    string? SubdivisionCode = null,
    string? City = null,
    string? DataCenter = null)
{
    /// <summary>True when the location is a point a proximity policy can measure from.</summary>
    public bool HasCoordinates => Latitude.HasValue && Longitude.HasValue;
}
