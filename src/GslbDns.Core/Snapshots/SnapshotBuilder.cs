using GslbDns.Answers;
using GslbDns.Dns;
using GslbDns.Geo;
using GslbDns.Gslb;
using GslbDns.Gslb.Config;
using GslbDns.Gslb.Policies;
using GslbDns.Query;
using GslbDns.Zones;
using Microsoft.Extensions.Logging;

namespace GslbDns.Snapshots;

/// <summary>
/// The one piece of code that turns the zone folder (one zone per <c>*.zone</c> file, the GSLB config in
/// <c>*.gslb.json</c>) and the geo-data overrides into the serving snapshot. The DNS server, the API process,
/// <c>gslbdns check</c> and <c>gslbdns explain</c> all build with it, so explain answers from exactly what DNS serves.
/// <list type="bullet">
/// <item>Each zone file stands alone: a bad one is reported as <c>file:line: reason</c> and its zone keeps serving
/// the last version that loaded, while the other zones move on.</item>
/// <item>A zone is re-read only when the content of its file or of a file it <c>$INCLUDE</c>s changed (IO.ContentHash, not
/// mtime), and compiled once per (zone, GSLB config) pair: an unchanged zone under an unchanged config is reused.</item>
/// <item>The GSLB config and the overrides are validated as a whole; a bad version leaves the last good one in force.</item>
/// <item>A zone folder that is missing (or cannot be listed) is an error and changes nothing: the last good
/// snapshot keeps serving, as for any other unreadable input.</item>
/// </list>
/// </summary>
public sealed partial class SnapshotBuilder
{
    private readonly SnapshotHolder _snapshots;
    private readonly GeoIpDatabase? _geoIp;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Lock _reloadLock = new();
    private readonly Dictionary<string, LoadedZone> _zones = new(StringComparer.Ordinal);
    private HashSet<DnsName> _origins = [];
    private GslbConfig _lastGoodGslb = GslbConfig.Empty;
    private byte[] _gslbFingerprint = [];
    private IReadOnlyList<LoadError> _gslbErrors = [];
    private GeoOverrides _lastGoodOverrides = GeoOverrides.Empty;
    private GeoDecisionCompiler _geoDecisions = new();
    private IReadOnlyDictionary<DnsName, ServiceGeoDecisions>? _geo;
    private (GslbConfig Config, ClientLocator Locator)? _geoPending;
    private Task? _geoBuild;
    private bool _geoIpWarned;

    /// <param name="zonesFolder">Zone files and GSLB config.</param>
    /// <param name="geoDataFolder">CIDR-to-location overrides; null or missing: none.</param>
    /// <param name="geoIp">The GeoIP database, or null when none was found (a warning is logged when a geo policy needs one).</param>
    /// <param name="geoIpPath">Where the GeoIP database was looked for, for that warning; null: the default path.</param>
    public SnapshotBuilder(string zonesFolder, string? geoDataFolder, GeoIpDatabase? geoIp, SnapshotHolder snapshots, ILogger logger, TimeProvider? time = null, string? geoIpPath = null)
    {
        ArgumentNullException.ThrowIfNull(zonesFolder);
        Folder = Path.GetFullPath(zonesFolder);
        GeoDataFolder = geoDataFolder is null ? null : Path.GetFullPath(geoDataFolder);
        _geoIp = geoIp;
        GeoIpPath = Path.GetFullPath(geoIp?.Path ?? geoIpPath ?? GeoIpDatabase.DefaultPath);
        _snapshots = snapshots;
        _logger = logger;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Raised after a reload that installed a different GSLB config (the embedded prober follows it).</summary>
    public event Action<GslbConfig>? GslbChanged;

    public string Folder { get; }

    public string? GeoDataFolder { get; }

    /// <summary>The GeoIP database file in use, or the path where it was looked for and not found.</summary>
    public string GeoIpPath { get; }

    /// <summary>Whether a GeoIP database is loaded (exported as <c>gslbdns_geoip_loaded</c>).</summary>
    public bool GeoIpLoaded => _geoIp is not null;

    /// <summary>
    /// When true, a reload never waits for geo decision trees (a whole-database walk, seconds): it
    /// publishes at once with the policies locating each client through the locator (the same
    /// decisions, per-query cost), builds the missing trees on a background task and then reloads
    /// again to install them. The DNS server and the API process set it, so that they listen and
    /// answer right after start-up; check and explain build synchronously (false).
    /// </summary>
    public bool GeoTreesInBackground { get; init; }

    /// <summary>
    /// The keys of each zone to sign (DNSSEC); a zone without keys is served unsigned. Replaced by the key rollover
    /// timer when what a zone publishes or signs with changes; the next <see cref="Reload"/> recompiles that zone.
    /// </summary>
    public IReadOnlyDictionary<DnsName, Dnssec.ZoneKeys> DnssecKeys
    {
        get => Volatile.Read(ref _dnssecKeys);
        set => Volatile.Write(ref _dnssecKeys, value);
    }

    private IReadOnlyDictionary<DnsName, Dnssec.ZoneKeys> _dnssecKeys = new Dictionary<DnsName, Dnssec.ZoneKeys>();

    /// <summary>The background tree build under way, if any (tests wait for it).</summary>
    public Task GeoTreesBuilt
    {
        get
        {
            lock (_reloadLock)
            {
                return _geoBuild ?? Task.CompletedTask;
            }
        }
    }

    /// <summary>The last geo compilation's figures (trees, nodes, bytes, time); null before the first.</summary>
    public GeoCompileReport? GeoReport => _geoDecisions.LastReport;

    /// <summary>Errors of the last reload; empty when every file loaded.</summary>
    public IReadOnlyList<LoadError> LastErrors { get; private set; } = [];

    /// <summary>Completed reloads.</summary>
    public long Generation { get; private set; }

    /// <summary>Reloads (the first load included) that loaded everything, and those that reported an error and kept something last good.</summary>
    public long ReloadsSucceeded { get; private set; }

    /// <inheritdoc cref="ReloadsSucceeded"/>
    public long ReloadsFailed { get; private set; }

    /// <summary>Zones compiled so far (with their load-balanced names); an unchanged zone under an unchanged config adds nothing.</summary>
    public long ZoneCompilations { get; private set; }

    /// <summary>A zone file as last accepted: what was parsed, and what it compiled to with which config.</summary>
    private sealed record LoadedZone(ParsedZone Zone, CompiledZone? Compiled, GslbConfig? CompiledWith, IReadOnlyList<LoadError> CompileErrors)
    {
        public DnsName Origin => Zone.Origin;

        public string File => Zone.File;
    }

    /// <summary>Re-reads what changed and swaps in a new snapshot. Serialised: one reload at a time.</summary>
    public IReadOnlyList<LoadError> Reload()
    {
        lock (_reloadLock)
        {
            var errors = new List<LoadError>();
            string[] files;
            try
            {
                files = [.. Directory.GetFiles(Folder, "*.zone").Where(f => f.EndsWith(".zone", StringComparison.Ordinal)).Order(StringComparer.Ordinal)];
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // One rule for a missing folder, at start and on reload: an error, and nothing that serves is dropped.
                var reason = ex is DirectoryNotFoundException ? "zone folder does not exist" : $"cannot list the zone folder: {ex.Message}";
                return Finish([new LoadError(Folder, 0, reason)], _snapshots.Current.Zones.Count);
            }

            var read = new Dictionary<string, LoadedZone>(StringComparer.Ordinal);
            foreach (var file in files)
            {
                _zones.TryGetValue(file, out var previous);
                if (previous is not null && !Changed(previous.Zone))
                {
                    read[file] = previous;
                    continue;
                }

                try
                {
                    var parsed = ZoneFileReader.ReadFile(file);
                    read[file] = new LoadedZone(parsed, null, null, []);
                    foreach (var warning in parsed.Warnings)
                    {
                        LogZoneWarning(_logger, file, warning);
                    }
                }
                catch (ZoneLoadException ex)
                {
                    errors.Add(new LoadError(ex.Location.File, ex.Location.Line, ex.Reason));
                    KeepPrevious(file, previous, read, ex);
                }
            }

            // Two files claiming one origin: the first (by name) wins, the second is an error.
            var byOrigin = new Dictionary<DnsName, LoadedZone>();
            foreach (var loaded in read.Values.OrderBy(z => z.File, StringComparer.Ordinal))
            {
                if (!byOrigin.TryAdd(loaded.Origin, loaded))
                {
                    errors.Add(new LoadError(loaded.File, 0, $"zone {loaded.Origin} is already served from {byOrigin[loaded.Origin].File}"));
                }
            }

            var origins = byOrigin.Keys.ToHashSet();
            var originsChanged = !origins.SetEquals(_origins);
            var gslb = LoadGslb(origins, errors);
            var overrides = LoadOverrides(errors);

            // Geo decisions precompiled here, off the query path; the same object while config and geo sources stay,
            // so zones compiled against it are kept, and a geo-data change recompiles the zones that hold services.
            var locator = new ClientLocator(overrides, gslb.DefaultLocation, _geoIp);
            var geo = _geoDecisions.Compile(gslb, locator, buildMissing: !GeoTreesInBackground);
            if (GeoTreesInBackground)
            {
                ScheduleGeoTrees(geo is null ? (gslb, locator) : null);
            }

            var geoChanged = !ReferenceEquals(geo, _geo);
            _geo = geo;

            var accepted = new Dictionary<string, LoadedZone>(_zones, StringComparer.Ordinal);
            _zones.Clear();
            var compiled = new List<CompiledZone>(byOrigin.Count);
            foreach (var loaded in byOrigin.Values)
            {
                var current = loaded.Compiled is not null && ReferenceEquals(loaded.CompiledWith, gslb) && !originsChanged && !geoChanged && SignedWithCurrentKeys(loaded.Compiled)
                    ? loaded
                    : Compile(loaded, origins, gslb, errors);
                if (current is null && accepted.TryGetValue(loaded.File, out var previous) && !ReferenceEquals(previous, loaded))
                {
                    // The new version read but did not compile: the last good one serves, under the current config.
                    current = Compile(previous, origins, gslb, errors);
                }

                if (current?.Compiled is null)
                {
                    continue;
                }

                errors.AddRange(current.CompileErrors);
                _zones[current.File] = current;
                compiled.Add(current.Compiled);
            }

            _origins = origins;
            var zoneSet = new ZoneSet(compiled);
            var builtAt = _time.GetUtcNow();
            var before = _snapshots.Current.Gslb;
            // The state's health moves to the new config's endpoint slots in the same swap, so answers never read it by id.
            _snapshots.Update(current => current with { Zones = zoneSet, Gslb = gslb, Locator = locator, BuiltAt = builtAt, State = current.State.ForConfig(gslb) });
            if (!ReferenceEquals(before, gslb))
            {
                WarnIfGeoIpMissing(gslb);
                GslbChanged?.Invoke(gslb);
            }

            return Finish(errors, zoneSet.Count);
        }
    }

    // Under the reload lock. One build at a time; the newest inputs win (the running build picks them up when done).
    private void ScheduleGeoTrees((GslbConfig Config, ClientLocator Locator)? pending)
    {
        _geoPending = pending;
        if (pending is null || _geoBuild is { IsCompleted: false })
        {
            return;
        }

        _geoBuild = Task.Run(BuildGeoTrees);
    }

    // The walk runs outside the reload lock, on a compiler of its own, so reloads (SIGHUP, file edits)
    // go on meanwhile; the lock is taken only to read the inputs and to adopt the compiler, whose
    // cache then holds the trees the next reload installs. Loops while reloads left newer inputs.
    private void BuildGeoTrees()
    {
        try
        {
            while (true)
            {
                (GslbConfig Config, ClientLocator Locator) pending;
                lock (_reloadLock)
                {
                    if (_geoPending is not { } next)
                    {
                        _geoBuild = null; // under the lock: a reload after this starts a new build
                        return;
                    }

                    pending = next;
                    _geoPending = null;
                }

                var compiler = new GeoDecisionCompiler();
                compiler.Compile(pending.Config, pending.Locator);
                lock (_reloadLock)
                {
                    _geoDecisions = compiler;
                }

                // Installs them when the inputs are still these; else it leaves newer ones pending for the next turn.
                Reload();
                if (compiler.LastReport is { } report)
                {
                    LogGeoTreesBuilt(_logger, report.TreesBuilt, report.Nodes, report.Bytes / 1024, report.Elapsed.TotalMilliseconds);
                }

                // The walk's scratch (a location tree as large as the database, hash tables) is garbage now:
                // give it back to the system once, rather than carry it in RSS until the GC happens to.
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            }
        }
        catch (Exception ex)
        {
            // The snapshot keeps serving through the locator; the next reload tries again.
            LogGeoTreesFailed(_logger, ex);
            lock (_reloadLock)
            {
                _geoBuild = null;
            }
        }
    }

    private IReadOnlyList<LoadError> Finish(List<LoadError> errors, int zones)
    {
        Generation++;
        if (errors.Count == 0)
        {
            ReloadsSucceeded++;
        }
        else
        {
            ReloadsFailed++;
        }

        LastErrors = errors;
        LogReloaded(_logger, zones, errors.Count);
        return errors;
    }

    /// <summary>Whether the zone file or any file it includes now holds other octets than when it was parsed.</summary>
    private static bool Changed(ParsedZone zone) =>
        !SameContent(zone.File, zone.ContentHash) || zone.Includes.Any(i => !SameContent(i.Path, i.ContentHash));

    private static bool SameContent(string file, byte[] hash)
    {
        try
        {
            return IO.ContentHash.Of(File.ReadAllBytes(file)).AsSpan().SequenceEqual(hash);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Unreadable now: parse again, so the error is reported with its reason (and the last good version kept).
            return false;
        }
    }

    private void KeepPrevious(string file, LoadedZone? previous, Dictionary<string, LoadedZone> read, ZoneLoadException error)
    {
        if (previous is not null)
        {
            read[file] = previous;
            LogZoneRejectedKeptOld(_logger, error.Location.File, error.Location.Line, error.Reason, previous.Origin.ToString());
        }
        else
        {
            LogZoneRejected(_logger, error.Location.File, error.Location.Line, error.Reason);
        }
    }

    /// <summary>
    /// Loads the GSLB config unless its files and the served zones are exactly what the config in force was
    /// built from; then the config (or the errors of that same input) stays, and nothing downstream recompiles.
    /// </summary>
    private GslbConfig LoadGslb(IReadOnlyCollection<DnsName> origins, List<LoadError> errors)
    {
        GslbConfigSources sources;
        try
        {
            sources = GslbConfigLoader.ReadSources(Folder);
        }
        catch (GslbConfigException ex)
        {
            errors.AddRange(ex.Errors.Select(ToLoadError));
            return _lastGoodGslb;
        }

        var fingerprint = sources.Fingerprint(origins);
        if (fingerprint.AsSpan().SequenceEqual(_gslbFingerprint))
        {
            errors.AddRange(_gslbErrors);
            return _lastGoodGslb;
        }

        _gslbFingerprint = fingerprint;
        try
        {
            _lastGoodGslb = GslbConfigLoader.Load(sources, origins);
            _gslbErrors = [];
            LogGslbReloaded(_logger, Folder, _lastGoodGslb.Services.Count);
        }
        catch (GslbConfigException ex)
        {
            _gslbErrors = [.. ex.Errors.Select(ToLoadError)];
            errors.AddRange(_gslbErrors);
            LogGslbRejected(_logger, ex.Errors.Count);
            foreach (var error in ex.Errors)
            {
                LogGslbError(_logger, error.File, error.Line, $"{error.Path}: {error.Reason}");
            }
        }

        return _lastGoodGslb;
    }

    private static LoadError ToLoadError(ConfigError error) => new(error.File, error.Line, $"{error.Path}: {error.Reason}");

    private GeoOverrides LoadOverrides(List<LoadError> errors)
    {
        if (GeoDataFolder is null || !Directory.Exists(GeoDataFolder))
        {
            return _lastGoodOverrides;
        }

        try
        {
            _lastGoodOverrides = GeoOverrides.Load(GeoDataFolder);
        }
        catch (GeoDataException ex)
        {
            errors.Add(new LoadError(ex.File, ex.Line, ex.Reason));
            LogOverridesRejected(_logger, GeoDataFolder);
        }

        return _lastGoodOverrides;
    }

    /// <summary>
    /// Compiles a zone once, with its load-balanced names attached to their nodes. A service belongs to the closest
    /// enclosing served zone; one whose name carries a static CNAME is refused (a CNAME owns its name). Null when the
    /// zone cannot be compiled and no earlier version can stand in.
    /// </summary>
    private LoadedZone? Compile(LoadedZone loaded, IReadOnlyCollection<DnsName> origins, GslbConfig gslb, List<LoadError> errors)
    {
        var zone = loaded.Zone;
        var compileErrors = new List<LoadError>();
        Dictionary<DnsName, IDynamicAnswerSource>? dynamic = null;

        // Once per zone, not a scan of every record per service: with 100,000 services and 1,000,000 records that scan
        // took longer than anyone waits for a reload.
        HashSet<DnsName>? cnameOwners = null;
        foreach (var (name, service) in gslb.Services)
        {
            if (!name.IsAtOrBelow(zone.Origin) || origins.Any(o => o != zone.Origin && o.LabelCount > zone.Origin.LabelCount && name.IsAtOrBelow(o)))
            {
                continue;
            }

            cnameOwners ??= [.. zone.Records.Where(r => r.Type == RecordType.CNAME).Select(r => r.Owner)];
            if (cnameOwners.Contains(name))
            {
                compileErrors.Add(new LoadError(zone.File, 0, $"service {name} is also a CNAME in the zone; the service is not served"));
                continue;
            }

            dynamic ??= [];
            dynamic[name] = new ServiceAnswer(service, _geo?.GetValueOrDefault(name), _geo);
        }

        try
        {
            ZoneCompilations++;
            // A signer per compiled zone: its signature slots and cache live exactly as long as this snapshot's zone.
            var signer = DnssecKeys.TryGetValue(zone.Origin, out var keys) ? new Dnssec.ZoneSigner(keys) : null;
            var compiled = CompiledZone.Build(zone, dynamic, signer);
            if (loaded.Compiled is null)
            {
                LogZoneLoaded(_logger, zone.Origin.ToString(), zone.File, zone.Records.Count);
            }

            return new LoadedZone(zone, compiled, gslb, compileErrors);
        }
        catch (ZoneLoadException ex)
        {
            // The reader validates what compiling needs, so this is a safety net: the zone is not served from this version.
            errors.Add(new LoadError(ex.Location.File, ex.Location.Line, ex.Reason));
            LogZoneRejected(_logger, ex.Location.File, ex.Location.Line, ex.Reason);
            return null;
        }
    }

    /// <summary>Whether a compiled zone signs with the keys the zone has now (a key rollover recompiles it).</summary>
    private bool SignedWithCurrentKeys(CompiledZone compiled) =>
        DnssecKeys.TryGetValue(compiled.Origin, out var keys) ? ReferenceEquals(compiled.Signer?.Keys, keys) : compiled.Signer is null;

    /// <summary>
    /// A geo policy without a GeoIP database places every client outside the geo-data overrides at the default
    /// location: say so, once per config that needs it, with the path that was looked for.
    /// </summary>
    private void WarnIfGeoIpMissing(GslbConfig gslb)
    {
        if (_geoIp is not null)
        {
            return;
        }

        var services = gslb.Services.Values.Where(UsesGeoPolicy).Select(s => s.Name.ToString()).Order(StringComparer.Ordinal).ToArray();
        if (services.Length == 0)
        {
            _geoIpWarned = false;
            return;
        }

        if (!_geoIpWarned)
        {
            _geoIpWarned = true;
            var at = gslb.DefaultLocation;
            LogGeoIpMissing(_logger, services.Length, string.Join(", ", services.Take(5)), GeoIpPath, $"{at.Latitude:0.####},{at.Longitude:0.####}");
        }
    }

    /// <summary>Policies that place the client on the map (and so need GeoIP for clients outside the overrides).</summary>
    public static bool UsesGeoPolicy(ServiceConfig service)
    {
        ArgumentNullException.ThrowIfNull(service);
        return service.Policies.Any(p => p.Name is GeoProximityPolicy.TypeName or GeolocationPolicy.TypeName or LatencyPolicy.TypeName);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Geo decision trees built: {Trees} trees, {Nodes} nodes, {KiB} KiB in {Milliseconds:0} ms; serving them")]
    private static partial void LogGeoTreesBuilt(ILogger logger, int trees, long nodes, long kiB, double milliseconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Geo decision trees failed to build; clients are located per query until the next reload")]
    private static partial void LogGeoTreesFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1100, Level = LogLevel.Information, Message = "Loaded zone {Origin} from {File} ({Records} records)")]
    private static partial void LogZoneLoaded(ILogger logger, string origin, string file, int records);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{File}: {Warning}")]
    private static partial void LogZoneWarning(ILogger logger, string file, string warning);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Error, Message = "Zone rejected: {File}:{Line}: {Reason}; still serving the last good version of {Origin}")]
    private static partial void LogZoneRejectedKeptOld(ILogger logger, string file, int line, string reason, string origin);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Error, Message = "Zone rejected: {File}:{Line}: {Reason}; it is not served")]
    private static partial void LogZoneRejected(ILogger logger, string file, int line, string reason);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Error, Message = "GSLB config rejected ({Errors} errors); the last good version stays in force")]
    private static partial void LogGslbRejected(ILogger logger, int errors);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Error, Message = "GSLB config error: {File}:{Line}: {Reason}")]
    private static partial void LogGslbError(ILogger logger, string file, int line, string reason);

    [LoggerMessage(EventId = 1105, Level = LogLevel.Information, Message = "GSLB config loaded from {Folder}: {Services} load-balanced services")]
    private static partial void LogGslbReloaded(ILogger logger, string folder, int services);

    [LoggerMessage(Level = LogLevel.Error, Message = "geo-data overrides in {Folder} rejected; the last good version stays in force")]
    private static partial void LogOverridesRejected(ILogger logger, string folder);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} services use a geo policy ({Services}) but no GeoIP database was found at {Path}: clients outside the geo-data overrides are all placed at the default location {Location}. Install one (scripts/install-deps.sh) or pass --geoip FILE")]
    private static partial void LogGeoIpMissing(ILogger logger, int count, string services, string path, string location);

    [LoggerMessage(Level = LogLevel.Information, Message = "Serving {Zones} zones ({Errors} errors)")]
    private static partial void LogReloaded(ILogger logger, int zones, int errors);
}
