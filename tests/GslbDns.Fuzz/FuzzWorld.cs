using GslbDns.Geo;
using GslbDns.Guards;
using GslbDns.Query;
using GslbDns.Snapshots;
using Microsoft.Extensions.Logging.Abstractions;

namespace GslbDns.Fuzz;

/// <summary>
/// What the query target answers from: the repository's example zones and GSLB config, the geo-data overrides,
/// the zone of protocol corners in world/zones, and the GeoLite2 database when it is there; built by the same
/// <see cref="SnapshotBuilder"/> the server uses.
/// </summary>
public sealed class FuzzWorld
{
    public static readonly QueryEngineOptions EngineOptions = new() { Nsid = "fuzz-ns", Version = "gslbdns-fuzz", Identity = "fuzz-1" };

    /// <summary>DNS cookies on, as the server runs them, with fixed secrets so a saved input replays alike.</summary>
    public static ServerCookies Cookies() => new(new CookieSecrets([.. Enumerable.Range(1, 16).Select(i => (byte)i)], [.. Enumerable.Range(17, 16).Select(i => (byte)i)]));

    /// <summary>The engine the server builds (without response rate limiting, which is off by default and drops or slips replies on purpose).</summary>
    public static QueryEngine NewEngine(SnapshotHolder snapshots) => new(snapshots, EngineOptions, limiter: null, Cookies());

    private FuzzWorld(SnapshotHolder snapshots, GeoIpDatabase? geoIp)
    {
        Snapshots = snapshots;
        GeoIp = geoIp;
        Engine = NewEngine(snapshots);
    }

    public SnapshotHolder Snapshots { get; }

    public QueryEngine Engine { get; }

    public GeoIpDatabase? GeoIp { get; }

    public static string Folder => Path.Combine(AppContext.BaseDirectory, "world");

    public static FuzzWorld Load()
    {
        var geoIp = OpenGeoIp();
        var snapshots = new SnapshotHolder(ServerSnapshot.Empty);
        var errors = new SnapshotBuilder(Path.Combine(Folder, "zones"), Path.Combine(Folder, "geo-data"), geoIp, snapshots, NullLogger.Instance).Reload();
        if (errors.Count > 0)
        {
            throw new InvalidOperationException("the fuzz world does not load: " + string.Join("; ", errors));
        }

        return new FuzzWorld(snapshots, geoIp);
    }

    /// <summary>The GeoLite2 database (GSLBDNS_GEOIP, else .cache/geoip above this program); null without one: geo policies then use the default location.</summary>
    public static GeoIpDatabase? OpenGeoIp()
    {
        var path = Environment.GetEnvironmentVariable("GSLBDNS_GEOIP");
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); path is null && dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, ".cache", "geoip", "GeoLite2-City.mmdb");
            if (File.Exists(candidate))
            {
                path = candidate;
            }
        }

        return path is not null && File.Exists(path) ? GeoIpDatabase.Open(path, cacheCapacity: 4096) : null;
    }
}
