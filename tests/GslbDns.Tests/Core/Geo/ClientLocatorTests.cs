using System.Buffers.Binary;
using System.Net;
using GslbDns.Geo;

namespace GslbDns.Tests.Core.Geo;

/// <summary>Opens the real GeoLite2-City database once for the tests that need it.</summary>
public sealed class GeoIpDatabaseFixture : IDisposable
{
    public GeoIpDatabaseFixture() => Database = GeoIpDatabase.Open(GeoTestEnvironment.DatabasePath);

    public GeoIpDatabase Database { get; }

    public void Dispose() => Database.Dispose();
}

public sealed class ClientLocatorTests(GeoIpDatabaseFixture fixture) : IClassFixture<GeoIpDatabaseFixture>
{
    private static readonly GeoLocation Fallback = new(50.1109, 8.6821, "EU", "DE", "HE", "Frankfurt am Main");

    /// <summary>
    /// Public resolver and university addresses, roughly one per continent. Where each one is, is
    /// taken from the database through mmdblookup, never written here: the 2019 build has its own ideas.
    /// </summary>
    private static readonly string[] SampleAddresses =
    [
        "8.8.8.8",          // Google DNS (North America)
        "128.101.101.101",  // University of Minnesota
        "200.160.2.3",      // NIC.br (South America)
        "193.0.6.139",      // RIPE NCC (Europe)
        "81.2.69.160",      // MaxMind's own test address
        "196.25.1.1",       // Telkom SA (Africa)
        "202.12.27.33",     // M-root, WIDE (Asia)
        "133.11.0.1",       // University of Tokyo
        "130.102.0.1",      // University of Queensland (Oceania)
        "139.80.0.1",       // University of Otago
        "2001:4860:4860::8888", // Google DNS over IPv6
        "2001:da8::1",      // CERNET
        "2002:5102:45a0::1", // 6to4 for 81.2.69.160, which the database aliases to IPv4
    ];

    public static TheoryData<string> Samples => new(SampleAddresses);

    private GeoIpDatabase Database => fixture.Database;

    [Theory]
    [MemberData(nameof(Samples))]
    public void Matches_mmdblookup(string sample)
    {
        var locator = new ClientLocator(GeoOverrides.Empty, Fallback, Database);

        LocateResult result = locator.Locate(IPAddress.Parse(sample));

        Assert.Equal(LocationSource.GeoIp, result.Source);
        AssertSameAsMmdblookup(sample, result.Location);
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public void Every_address_in_the_scope_gets_the_same_answer(string sample)
    {
        var locator = new ClientLocator(GeoOverrides.Empty, Fallback, Database);
        byte[] address = IPAddress.Parse(sample).GetAddressBytes();
        LocateResult result = locator.Locate(address);
        int width = address.Length * 8;
        Assert.InRange(result.ScopePrefix, 1, width);

        // First and last address of the scope network, and the sample with its last bit flipped:
        // ours must agree with itself and mmdblookup must agree with ours.
        var siblings = new List<byte[]> { WithHostBits(address, result.ScopePrefix, ones: false), WithHostBits(address, result.ScopePrefix, ones: true) };
        if (result.ScopePrefix < width)
        {
            byte[] flipped = (byte[])address.Clone();
            flipped[^1] ^= 1;
            siblings.Add(flipped);
        }

        foreach (byte[] sibling in siblings)
        {
            LocateResult other = locator.Locate(sibling);
            Assert.Equal(result, other);
            AssertSameAsMmdblookup(new IPAddress(sibling).ToString(), other.Location);
        }
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public void Cached_answer_equals_uncached_lookup(string sample)
    {
        byte[] bytes = IPAddress.Parse(sample).GetAddressBytes();
        GeoIpDatabase.Entry uncached;
        GeoLocation? first;
        GeoLocation? second;
        byte firstPrefix;
        byte secondPrefix;
        if (bytes.Length == 4)
        {
            uint address = BinaryPrimitives.ReadUInt32BigEndian(bytes);
            uncached = Database.LookupV4Uncached(address);
            Database.TryLookupV4(address, out first, out firstPrefix);
            Database.TryLookupV4(address, out second, out secondPrefix);
        }
        else
        {
            UInt128 address = BinaryPrimitives.ReadUInt128BigEndian(bytes);
            uncached = Database.LookupV6Uncached(address);
            Database.TryLookupV6(address, out first, out firstPrefix);
            Database.TryLookupV6(address, out second, out secondPrefix);
        }

        Assert.NotNull(uncached.Location);
        Assert.Equal(uncached, new GeoIpDatabase.Entry(first, firstPrefix));
        Assert.Equal(uncached, new GeoIpDatabase.Entry(second, secondPrefix));
        Assert.Same(first, second);
    }

    [Theory]
    [InlineData("81.2.69.160")]
    [InlineData("130.102.0.1")]
    public void IPv4_mapped_is_located_as_IPv4(string sample)
    {
        var locator = new ClientLocator(GeoOverrides.Empty, Fallback, Database);
        IPAddress v4 = IPAddress.Parse(sample);

        LocateResult mapped = locator.Locate(v4.MapToIPv6());

        Assert.Equal(locator.Locate(v4), mapped);
        Assert.InRange(mapped.ScopePrefix, 1, 32);
    }

    [Fact]
    public void Private_range_without_override_gets_the_default()
    {
        var locator = new ClientLocator(GeoOverrides.Empty, Fallback, Database);
        Assert.Null(GeoTestEnvironment.Lookup("10.1.2.3", "location", "latitude"));

        LocateResult result = locator.Locate(IPAddress.Parse("10.1.2.3"));

        Assert.Equal(new LocateResult(Fallback, 32, LocationSource.Default), result);
        Assert.Equal(new LocateResult(Fallback, 128, LocationSource.Default), locator.Locate(IPAddress.Parse("fd00::1")));
    }

    [Fact]
    public void Overrides_win_over_GeoIP_and_shape_its_scope()
    {
        GeoOverrides overrides = GeoOverrides.Parse("81.2.69.0/24 51.5072,-0.1276 continent=EU country=GB dc=lon1\n10.0.0.0/8 dc=ams1", "o.txt");
        var locator = new ClientLocator(overrides, Fallback, Database);

        LocateResult inside = locator.Locate(IPAddress.Parse("81.2.69.160"));
        Assert.Equal(LocationSource.Override, inside.Source);
        Assert.Equal("lon1", inside.Location.DataCenter);
        Assert.Equal(24, inside.ScopePrefix);

        // Outside the override but inside the same database network: the scope must stop short of
        // the /24, so it is at least 24 (81.2.68.x and 81.2.69.x differ first in bit 24).
        uint neighbour = BinaryPrimitives.ReadUInt32BigEndian(IPAddress.Parse("81.2.68.5").GetAddressBytes());
        LocateResult outside = locator.LocateV4(neighbour);
        Assert.Equal(LocationSource.GeoIp, outside.Source);
        Assert.Equal(Math.Max(Database.LookupV4Uncached(neighbour).PrefixLength, (byte)24), outside.ScopePrefix);

        LocateResult wan = locator.Locate(IPAddress.Parse("10.9.8.7"));
        Assert.Equal(new LocateResult(new GeoLocation(null, null, DataCenter: "ams1"), 8, LocationSource.Override), wan);
    }

    [Fact]
    public void Without_database_the_default_scope_is_the_overrides_scope()
    {
        var locator = new ClientLocator(GeoOverrides.Parse("10.0.0.0/8 1,2", "o.txt"), Fallback);

        Assert.Equal(new LocateResult(Fallback, 8, LocationSource.Default), locator.Locate(IPAddress.Parse("11.1.1.1")));
        Assert.Equal(new LocateResult(Fallback, 0, LocationSource.Default), locator.Locate(IPAddress.Parse("2001:db8::1")));
        Assert.Equal(LocationSource.Override, locator.Locate(IPAddress.Parse("10.0.0.1")).Source);
    }

    [Fact]
    public void With_overrides_keeps_the_database()
    {
        var locator = new ClientLocator(GeoOverrides.Empty, Fallback, Database);

        ClientLocator reloaded = locator.WithOverrides(GeoOverrides.Parse("8.8.8.0/24 dc=x", "o.txt"));

        Assert.Same(Database, reloaded.GeoIp);
        Assert.Equal(LocationSource.Override, reloaded.Locate(IPAddress.Parse("8.8.8.8")).Source);
        Assert.Equal(LocationSource.GeoIp, reloaded.Locate(IPAddress.Parse("8.8.4.4")).Source);
    }

    [Fact]
    public void Span_and_IP_address_overloads_agree()
    {
        IClientLocator locator = new ClientLocator(GeoOverrides.Empty, Fallback, Database);
        foreach (string sample in SampleAddresses)
        {
            IPAddress address = IPAddress.Parse(sample);
            Assert.Equal(locator.Locate(address.GetAddressBytes()), locator.Locate(address));
        }

        Assert.Throws<ArgumentException>(() => locator.Locate(new byte[5]));
    }

    [Fact]
    public void Cache_hits_allocate_nothing()
    {
        GeoOverrides overrides = GeoOverrides.Parse("10.0.0.0/8 52.37,4.89\nfd00::/8 dc=ams1", "o.txt");
        var locator = new ClientLocator(overrides, Fallback, Database);
        byte[][] addresses =
        [
            .. SampleAddresses.Select(sample => IPAddress.Parse(sample).GetAddressBytes()),
            IPAddress.Parse("10.1.2.3").GetAddressBytes(),            // override
            IPAddress.Parse("fd00::7").GetAddressBytes(),             // override, IPv6
            IPAddress.Parse("192.168.1.1").GetAddressBytes(),         // default, exact-address cache
            IPAddress.Parse("::ffff:81.2.69.160").GetAddressBytes(),  // mapped
        ];
        foreach (byte[] address in addresses)
        {
            locator.Locate(address); // fill the cache (and JIT the paths)
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        int checksum = 0;
        for (int round = 0; round < 1000; round++)
        {
            foreach (byte[] address in addresses)
            {
                checksum += locator.Locate(address).ScopePrefix;
            }
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.NotEqual(0, checksum);
    }

    [Fact]
    public void Cache_stays_bounded_and_correct_past_its_capacity()
    {
        using GeoIpDatabase small = GeoIpDatabase.Open(GeoTestEnvironment.DatabasePath, cacheCapacity: 50);
        var locator = new ClientLocator(GeoOverrides.Empty, Fallback, small);
        uint start = BinaryPrimitives.ReadUInt32BigEndian(IPAddress.Parse("81.0.0.0").GetAddressBytes());
        for (uint i = 0; i < 400; i++)
        {
            uint address = start + (i << 10) + 5; // a different /22 each time
            LocateResult cached = locator.LocateV4(address);
            GeoIpDatabase.Entry direct = small.LookupV4Uncached(address);
            Assert.Equal(direct.Location ?? Fallback, cached.Location);
            Assert.Equal(direct.PrefixLength, cached.ScopePrefix);
            Assert.InRange(small.CachedCount, 0, 50);
        }
    }

    [Fact]
    public void Concurrent_lookups_agree_with_the_database()
    {
        using GeoIpDatabase shared = GeoIpDatabase.Open(GeoTestEnvironment.DatabasePath, cacheCapacity: 1000);
        var locator = new ClientLocator(GeoOverrides.Empty, Fallback, shared);
        uint[] addresses = [.. Enumerable.Range(0, 2000).Select(i => 0x51000000u + ((uint)i * 2654435761u % 0x00FFFFFFu))];

        Parallel.For(0, 8, _ =>
        {
            foreach (uint address in addresses)
            {
                GeoIpDatabase.Entry direct = shared.LookupV4Uncached(address);
                LocateResult result = locator.LocateV4(address);
                Assert.Equal(direct.Location ?? Fallback, result.Location);
            }
        });
    }

    private static void AssertSameAsMmdblookup(string address, GeoLocation location)
    {
        double? latitude = GeoTestEnvironment.LookupDouble(address, "location", "latitude");
        double? longitude = GeoTestEnvironment.LookupDouble(address, "location", "longitude");
        Assert.True(latitude.HasValue && longitude.HasValue, $"mmdblookup has no coordinates for {address}; pick another sample");
        Assert.Equal(latitude.Value, location.Latitude!.Value, 5);
        Assert.Equal(longitude.Value, location.Longitude!.Value, 5);
        Assert.Equal(GeoTestEnvironment.Lookup(address, "continent", "code"), location.ContinentCode);
        Assert.Equal(GeoTestEnvironment.Lookup(address, "country", "iso_code"), location.CountryCode);
        Assert.Equal(GeoTestEnvironment.Lookup(address, "subdivisions", "0", "iso_code"), location.SubdivisionCode);
        Assert.Equal(GeoTestEnvironment.Lookup(address, "city", "names", "en"), location.City);
        Assert.Null(location.DataCenter);
    }

    private static byte[] WithHostBits(byte[] address, int prefix, bool ones)
    {
        byte[] result = (byte[])address.Clone();
        for (int bit = prefix; bit < result.Length * 8; bit++)
        {
            byte mask = (byte)(0x80 >> (bit % 8));
            result[bit / 8] = ones ? (byte)(result[bit / 8] | mask) : (byte)(result[bit / 8] & ~mask);
        }

        return result;
    }
}
