using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using MaxMind.Db;
using MaxMind.GeoIP2;
using MaxMind.GeoIP2.Responses;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GslbDns.Geo;

/// <summary>
/// A MaxMind City database (GeoLite2-City or GeoIP2-City), memory-mapped so the 60+ MB tree stays
/// off the GC heap, with a bounded cache in front of it. <see cref="DatabaseReader.TryCity(IPAddress, out CityResponse?)"/>
/// decodes a whole response object graph per call (tens of µs and several KB on this machine's
/// GeoLite2 build), so the query path must not reach it for every packet.
/// </summary>
/// <remarks>
/// Cache keys: an IPv4 /24 or IPv6 /48 when the database network holding the address is no longer
/// than that (then every address under the key lies in the same network and gets the same answer),
/// else the exact address. Hits read a <see cref="ConcurrentDictionary{TKey, TValue}"/> without locks
/// and allocate nothing. When more than the capacity were added the whole cache is dropped: cheaper
/// and simpler than LRU bookkeeping on every hit, and it refills at the miss rate.
/// Dispose only after the last lookup has returned: lookups read the mapped file directly.
/// </remarks>
public sealed partial class GeoIpDatabase : IDisposable
{
    /// <summary>Networks cached before the cache is dropped (a few tens of MB at most).</summary>
    public const int DefaultCacheCapacity = 200_000;

    /// <summary>Where the processes look for the database when none is given (relative to the working directory; scripts/install-deps.sh puts it there).</summary>
    public const string DefaultPath = ".cache/geoip/GeoLite2-City.mmdb";

    private const int V4CoarsePrefix = 24;
    private const int V6CoarsePrefix = 48;

    // One dictionary holds IPv4 /24, IPv4 exact and IPv6 /48 keys, told apart by a tag above bit 48.
    private const ulong V4CoarseTag = 1UL << 56;
    private const ulong V4ExactTag = 2UL << 56;
    private const ulong V6CoarseTag = 3UL << 56;

    private readonly DatabaseReader _reader;
    private readonly ILogger _logger;
    private readonly int _capacity;
    private readonly bool _hasIPv6;
    private readonly ConcurrentDictionary<ulong, Entry> _cache = new();
    private readonly ConcurrentDictionary<UInt128, Entry> _v6ExactCache = new();

    // Thousands of /24s share one city; keeping one GeoLocation per distinct answer keeps a full
    // cache small and lets policies compare locations by reference.
    private readonly ConcurrentDictionary<GeoLocation, GeoLocation> _locations = new();
    private int _cachedCount;

    private GeoIpDatabase(DatabaseReader reader, string path, int capacity, ILogger logger)
    {
        _reader = reader;
        _logger = logger;
        _capacity = capacity;
        _hasIPv6 = reader.Metadata.IPVersion == 6;
        Path = path;
    }

    /// <summary>The file the database was opened from.</summary>
    public string Path { get; }

    /// <summary>The database type from its metadata, e.g. "GeoLite2-City".</summary>
    public string DatabaseType => _reader.Metadata.DatabaseType;

    /// <summary>When MaxMind built the database (UTC).</summary>
    public DateTime BuildDate => _reader.Metadata.BuildDate;

    /// <summary>Networks and addresses cached right now (approximate under concurrent use).</summary>
    public int CachedCount => Volatile.Read(ref _cachedCount);

    /// <summary>Opens a City database memory-mapped.</summary>
    /// <exception cref="InvalidDataException">The file is a MaxMind database of another kind.</exception>
    public static GeoIpDatabase Open(string path, int cacheCapacity = DefaultCacheCapacity, ILogger? logger = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(cacheCapacity, 1);
        logger ??= NullLogger.Instance;
        var reader = new DatabaseReader(path, FileAccessMode.MemoryMapped);
        try
        {
            // TryCity throws for a non-City database; find out now rather than on the query path.
            _ = reader.TryCity(IPAddress.Loopback, out _);
        }
        catch (InvalidOperationException ex)
        {
            string type = reader.Metadata.DatabaseType;
            reader.Dispose();
            throw new InvalidDataException($"{path} is a {type} database, not a City database", ex);
        }

        LogOpened(logger, path, reader.Metadata.DatabaseType, reader.Metadata.BuildDate, reader.Metadata.IPVersion);
        return new GeoIpDatabase(reader, path, cacheCapacity, logger);
    }

    /// <summary>
    /// Looks up an IPv4 address (host-order integer). True with the location when the database has a
    /// record with coordinates. <paramref name="prefixLength"/> is the database network's prefix
    /// length, also when its record has no coordinates; 32 when the address is in no network (the
    /// reader does not report the size of the empty range around it).
    /// </summary>
    public bool TryLookupV4(uint address, [NotNullWhen(true)] out GeoLocation? location, out byte prefixLength)
    {
        ulong coarseKey = V4CoarseTag | (address >> (32 - V4CoarsePrefix));
        ulong exactKey = V4ExactTag | address;
        if (!_cache.TryGetValue(coarseKey, out Entry entry) && !_cache.TryGetValue(exactKey, out entry))
        {
            entry = LookupV4Uncached(address);
            Remember(_cache, entry.PrefixLength <= V4CoarsePrefix ? coarseKey : exactKey, entry);
        }

        location = entry.Location;
        prefixLength = entry.PrefixLength;
        return location is not null;
    }

    /// <summary>
    /// As <see cref="TryLookupV4"/> for an IPv6 address (big-endian value); 128 when it is in no
    /// network. IPv4-mapped addresses are looked up as IPv4, with an IPv4 prefix length.
    /// </summary>
    public bool TryLookupV6(UInt128 address, [NotNullWhen(true)] out GeoLocation? location, out byte prefixLength)
    {
        if (AddressBits.IsV4Mapped(address))
        {
            return TryLookupV4((uint)address, out location, out prefixLength);
        }

        ulong coarseKey = V6CoarseTag | (ulong)(address >> (128 - V6CoarsePrefix));
        if (!_cache.TryGetValue(coarseKey, out Entry entry) && !_v6ExactCache.TryGetValue(address, out entry))
        {
            entry = LookupV6Uncached(address);
            if (entry.PrefixLength <= V6CoarsePrefix)
            {
                Remember(_cache, coarseKey, entry);
            }
            else
            {
                Remember(_v6ExactCache, address, entry);
            }
        }

        location = entry.Location;
        prefixLength = entry.PrefixLength;
        return location is not null;
    }

    public void Dispose() => _reader.Dispose();

    /// <summary>The database's answer for an IPv4 address, bypassing the cache.</summary>
    internal Entry LookupV4Uncached(uint address)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, address);
        return Lookup(new IPAddress(bytes), 32);
    }

    /// <summary>The database's answer for an IPv6 address (not IPv4-mapped), bypassing the cache.</summary>
    internal Entry LookupV6Uncached(UInt128 address)
    {
        if (!_hasIPv6)
        {
            return new Entry(null, 128);
        }

        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(bytes, address);
        return Lookup(new IPAddress(bytes), 128);
    }

    private Entry Lookup(IPAddress address, int width)
    {
        CityResponse? city;
        try
        {
            if (!_reader.TryCity(address, out city) || city is null)
            {
                return new Entry(null, (byte)width);
            }
        }
        catch (Exception ex)
        {
            // A damaged file must not fail the query (static stability): the client gets the default
            // location, and the cache keeps this address from being retried (and logged) per packet.
            LogLookupFailed(_logger, address, ex);
            return new Entry(null, (byte)width);
        }

        byte prefix = (byte)Math.Clamp(city.Traits.Network?.PrefixLength ?? width, 0, width);
        if (city.Location.Latitude is not double latitude || city.Location.Longitude is not double longitude)
        {
            return new Entry(null, prefix);
        }

        string? subdivision = city.Subdivisions.Count > 0 ? city.Subdivisions[0].IsoCode : null;
        var location = new GeoLocation(latitude, longitude, city.Continent.Code, city.Country.IsoCode, subdivision, city.City.Name);
        return new Entry(_locations.GetOrAdd(location, location), prefix);
    }

    private void Remember<TKey>(ConcurrentDictionary<TKey, Entry> cache, TKey key, Entry entry)
        where TKey : notnull
    {
        if (!cache.TryAdd(key, entry) || Interlocked.Increment(ref _cachedCount) <= _capacity)
        {
            return;
        }

        // The count is approximate: an add racing with this reset may be counted but dropped, or
        // survive uncounted. Either way the cache stays near the capacity, which is all it promises.
        Interlocked.Exchange(ref _cachedCount, 0);
        _cache.Clear();
        _v6ExactCache.Clear();
        _locations.Clear();
        LogCacheCleared(_logger, _capacity);
    }

    /// <summary>A database answer: the location (null when the address is not placed) and the network prefix.</summary>
    internal readonly record struct Entry(GeoLocation? Location, byte PrefixLength);

    [LoggerMessage(Level = LogLevel.Information, Message = "GeoIP database {Path} opened: {DatabaseType}, built {BuildDate}, IPv{IpVersion} tree")]
    private static partial void LogOpened(ILogger logger, string path, string databaseType, DateTime buildDate, int ipVersion);

    [LoggerMessage(Level = LogLevel.Debug, Message = "GeoIP cache passed {Capacity} entries and was cleared")]
    private static partial void LogCacheCleared(ILogger logger, int capacity);

    [LoggerMessage(Level = LogLevel.Warning, Message = "GeoIP lookup of {Address} failed; the client gets the default location")]
    private static partial void LogLookupFailed(ILogger logger, IPAddress address, Exception exception);
}
