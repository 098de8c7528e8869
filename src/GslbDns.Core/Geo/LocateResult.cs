namespace GslbDns.Geo;

/// <summary>Which source placed a client.</summary>
public enum LocationSource
{
    /// <summary>A rule in geo-data/*.txt covers the address.</summary>
    Override,

    /// <summary>The GeoIP City database has a record with coordinates for the address.</summary>
    GeoIp,

    /// <summary>Neither placed the address; the configured default location was used.</summary>
    Default,
}

/// <summary>The outcome of locating one client address.</summary>
/// <param name="Location">Where the client is taken to be.</param>
/// <param name="ScopePrefix">
/// How many leading bits of the client address this answer depends on: every address sharing those
/// bits gets the same <see cref="Location"/>. It is what an ECS response's SCOPE PREFIX-LENGTH should
/// be built from (RFC 7871 section 7.2.1). It is relative to the IPv4 address when the input was an
/// IPv4-mapped IPv6 address, because such addresses are located as IPv4.
/// </param>
/// <param name="Source">Which source placed the client.</param>
public readonly record struct LocateResult(GeoLocation Location, byte ScopePrefix, LocationSource Source);
