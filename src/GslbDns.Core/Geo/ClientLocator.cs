using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace GslbDns.Geo;

/// <summary>
/// Places a client by, in order: our geo-data overrides (longest prefix), the GeoIP City database,
/// the configured default location. Immutable and thread-safe; swap a new instance in on reload
/// (<see cref="WithOverrides"/> keeps the database and its warm cache).
/// </summary>
public sealed class ClientLocator : IClientLocator
{
    private readonly GeoOverrides _overrides;
    private readonly GeoLocation _defaultLocation;
    private readonly GeoIpDatabase? _geoIp;

    /// <param name="overrides">Rules from geo-data; <see cref="GeoOverrides.Empty"/> for none.</param>
    /// <param name="defaultLocation">Where clients nothing else places are taken to be.</param>
    /// <param name="geoIp">The GeoIP database, or null to place by overrides and default only. Not owned: the caller disposes it.</param>
    public ClientLocator(GeoOverrides overrides, GeoLocation defaultLocation, GeoIpDatabase? geoIp = null)
    {
        ArgumentNullException.ThrowIfNull(overrides);
        ArgumentNullException.ThrowIfNull(defaultLocation);
        _overrides = overrides;
        _defaultLocation = defaultLocation;
        _geoIp = geoIp;
    }

    public GeoOverrides Overrides => _overrides;

    public GeoLocation DefaultLocation => _defaultLocation;

    public GeoIpDatabase? GeoIp => _geoIp;

    /// <summary>
    /// A locator with new overrides and the same database. The database cache holds database answers
    /// only (overrides are applied before it), so it stays valid across override reloads.
    /// </summary>
    public ClientLocator WithOverrides(GeoOverrides overrides) => new(overrides, _defaultLocation, _geoIp);

    /// <inheritdoc />
    public LocateResult Locate(ReadOnlySpan<byte> address) => address.Length switch
    {
        4 => LocateV4(BinaryPrimitives.ReadUInt32BigEndian(address)),
        16 => LocateV6(BinaryPrimitives.ReadUInt128BigEndian(address)),
        _ => throw new ArgumentException($"An address is 4 or 16 bytes, not {address.Length}.", nameof(address)),
    };

    /// <summary>Convenience for callers holding an <see cref="IPAddress"/>; the span overloads avoid constructing one.</summary>
    public LocateResult Locate(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        Span<byte> bytes = stackalloc byte[16];
        if (address.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6)
            || !address.TryWriteBytes(bytes, out int written))
        {
            throw new ArgumentException($"Unsupported address {address}.", nameof(address));
        }

        return Locate(bytes[..written]);
    }

    /// <summary>Locates an IPv4 address given as a host-order integer (a.b.c.d = a &lt;&lt; 24 | ...).</summary>
    public LocateResult LocateV4(uint address)
    {
        GeoOverrideRule? rule = _overrides.MatchV4(address, out byte overrideScope);
        if (rule is not null)
        {
            return new LocateResult(rule.Location, overrideScope, LocationSource.Override);
        }

        if (_geoIp is null)
        {
            // Exact: everything the overrides leave alone gets the default.
            return new LocateResult(_defaultLocation, overrideScope, LocationSource.Default);
        }

        bool placed = _geoIp.TryLookupV4(address, out GeoLocation? location, out byte databasePrefix);
        return Combine(placed, location, databasePrefix, overrideScope);
    }

    /// <summary>Locates an IPv6 address given as a big-endian value; IPv4-mapped addresses are located as IPv4.</summary>
    public LocateResult LocateV6(UInt128 address)
    {
        if (AddressBits.IsV4Mapped(address))
        {
            return LocateV4((uint)address);
        }

        GeoOverrideRule? rule = _overrides.MatchV6(address, out byte overrideScope);
        if (rule is not null)
        {
            return new LocateResult(rule.Location, overrideScope, LocationSource.Override);
        }

        if (_geoIp is null)
        {
            return new LocateResult(_defaultLocation, overrideScope, LocationSource.Default);
        }

        bool placed = _geoIp.TryLookupV6(address, out GeoLocation? location, out byte databasePrefix);
        return Combine(placed, location, databasePrefix, overrideScope);
    }

    // The scope must cover both sources: the database network, and no override rule may lie inside
    // it (else part of the scope would get the override's answer). For the default, the database
    // prefix is the record's own network when the record merely lacks coordinates (cheap: the record
    // carries it), and the full address length when the address is in no network at all, because
    // DatabaseReader does not report the size of the empty range around it.
    private LocateResult Combine(bool placed, GeoLocation? location, byte databasePrefix, byte overrideScope)
    {
        byte scope = Math.Max(databasePrefix, overrideScope);
        return placed
            ? new LocateResult(location!, scope, LocationSource.GeoIp)
            : new LocateResult(_defaultLocation, scope, LocationSource.Default);
    }
}
