using GslbDns.Answers;
using GslbDns.Dns;
using GslbDns.Geo;
using GslbDns.Gslb;
using GslbDns.Gslb.Config;
using GslbDns.Query;
using GslbDns.Zones;
using Microsoft.Extensions.Logging;

namespace GslbDns.Server.Zones;

/// <summary>One problem found while loading a file: where and why.</summary>
internal sealed record LoadError(string File, int Line, string Reason)
{
    public override string ToString() => Line > 0 ? $"{File}:{Line}: {Reason}" : $"{File}: {Reason}";
}

/// <summary>
/// Loads every <c>*.zone</c> file of the zone folder (one zone per file), the GSLB config
/// (<c>*.gslb.json</c>) and the geo-data overrides, and publishes them as one new snapshot.
/// Each zone file stands alone: a bad file is reported with file, line and reason and its zone
/// keeps serving the last version that loaded, while the other zones move on. The GSLB config and
/// the overrides are validated as a whole; a bad version leaves the last good one in force.
/// </summary>
internal sealed partial class ZoneCatalog
{
    private readonly string _folder;
    private readonly SnapshotHolder _snapshots;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Lock _reloadLock = new();
    private readonly Dictionary<string, LoadedZone> _lastGood = new(StringComparer.Ordinal);
    private readonly GeoIpDatabase? _geoIp;
    private readonly string? _geoDataFolder;
    private GslbConfig _lastGoodGslb = GslbConfig.Empty;
    private GeoOverrides _lastGoodOverrides = GeoOverrides.Empty;

    public ZoneCatalog(string folder, SnapshotHolder snapshots, ILogger logger, TimeProvider time, GeoIpDatabase? geoIp = null, string? geoDataFolder = null)
    {
        _folder = Path.GetFullPath(folder);
        _snapshots = snapshots;
        _logger = logger;
        _time = time;
        _geoIp = geoIp;
        _geoDataFolder = geoDataFolder is null ? null : Path.GetFullPath(geoDataFolder);
    }

    public string? GeoDataFolder => _geoDataFolder;

    /// <summary>Raised after a reload that installed a different GSLB config (the embedded prober follows it).</summary>
    public event Action<GslbConfig>? GslbChanged;

    public string Folder => _folder;

    /// <summary>Errors of the last reload; empty when every file loaded.</summary>
    public IReadOnlyList<LoadError> LastErrors { get; private set; } = [];

    public long Generation { get; private set; }

    /// <param name="ContentHash">SHA-256 of the file: a same-size edit within one clock tick, or a copy that keeps the old mtime, still reloads.</param>
    private sealed record LoadedZone(string File, byte[] ContentHash, ParsedZone Zone)
    {
        public DnsName Origin => Zone.Origin;
    }

    /// <summary>Re-reads changed files and swaps in a new snapshot. Serialised: one reload at a time.</summary>
    public IReadOnlyList<LoadError> Reload()
    {
        lock (_reloadLock)
        {
            var errors = new List<LoadError>();
            var files = Directory.Exists(_folder)
                ? Directory.GetFiles(_folder, "*.zone").Order(StringComparer.Ordinal).ToArray()
                : [];
            if (!Directory.Exists(_folder))
            {
                errors.Add(new LoadError(_folder, 0, "zone folder does not exist"));
            }

            var next = new Dictionary<string, LoadedZone>(StringComparer.Ordinal);
            foreach (var file in files)
            {
                var hash = HashOf(file);
                if (_lastGood.TryGetValue(file, out var previous) && hash is not null && previous.ContentHash.AsSpan().SequenceEqual(hash)
                    && !IncludesChanged(previous))
                {
                    next[file] = previous;
                    continue;
                }

                try
                {
                    var parsed = ZoneFileReader.ReadFile(file);

                    // Compiling checks what the reader cannot (e.g. SOA shape); a failure here also keeps the old zone.
                    _ = CompiledZone.Build(parsed);
                    next[file] = new LoadedZone(file, hash ?? [], parsed);
                    LogZoneLoaded(_logger, parsed.Origin.ToString(), file, parsed.Records.Count);
                    foreach (var warning in parsed.Warnings)
                    {
                        LogZoneWarning(_logger, file, warning);
                    }
                }
                catch (ZoneLoadException ex)
                {
                    errors.Add(new LoadError(ex.Location.File, ex.Location.Line, ex.Reason));
                    KeepPrevious(file, previous, next, ex.Message);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    errors.Add(new LoadError(file, 0, ex.Message));
                    KeepPrevious(file, previous, next, ex.Message);
                }
            }

            // Two files claiming one origin: the first (by name) wins, the second is an error.
            var byOrigin = new Dictionary<DnsName, LoadedZone>();
            foreach (var loaded in next.Values.OrderBy(z => z.File, StringComparer.Ordinal))
            {
                if (byOrigin.TryGetValue(loaded.Origin, out var first))
                {
                    errors.Add(new LoadError(loaded.File, 0, $"zone {loaded.Origin} is already served from {first.File}"));
                    continue;
                }

                byOrigin[loaded.Origin] = loaded;
            }

            _lastGood.Clear();
            foreach (var loaded in byOrigin.Values)
            {
                _lastGood[loaded.File] = loaded;
            }

            var gslb = LoadGslb(byOrigin.Keys, errors);
            var overrides = LoadOverrides(errors);
            var zoneSet = new ZoneSet(byOrigin.Values.Select(z => CompileWithServices(z, byOrigin.Keys, gslb, errors)));
            var locator = new ClientLocator(overrides, gslb.DefaultLocation, _geoIp);
            var builtAt = _time.GetUtcNow();
            var before = _snapshots.Current.Gslb;
            _snapshots.Update(current => current with { Zones = zoneSet, Gslb = gslb, Locator = locator, BuiltAt = builtAt });
            if (!ReferenceEquals(before, gslb))
            {
                GslbChanged?.Invoke(gslb);
            }
            Generation++;
            LastErrors = errors;
            LogReloaded(_logger, zoneSet.Count, errors.Count);
            return errors;
        }
    }

    private GslbConfig LoadGslb(IReadOnlyCollection<DnsName> origins, List<LoadError> errors)
    {
        try
        {
            _lastGoodGslb = GslbConfigLoader.Load(_folder, origins);
        }
        catch (GslbConfigException ex)
        {
            foreach (var error in ex.Errors)
            {
                errors.Add(new LoadError(error.File, error.Line, $"{error.Path}: {error.Reason}"));
            }

            LogGslbRejected(_logger, ex.Errors.Count);
        }

        return _lastGoodGslb;
    }

    private GeoOverrides LoadOverrides(List<LoadError> errors)
    {
        if (_geoDataFolder is null || !Directory.Exists(_geoDataFolder))
        {
            return _lastGoodOverrides;
        }

        try
        {
            _lastGoodOverrides = GeoOverrides.Load(_geoDataFolder);
        }
        catch (GeoDataException ex)
        {
            errors.Add(new LoadError(ex.File, ex.Line, ex.Reason));
        }

        return _lastGoodOverrides;
    }

    /// <summary>
    /// Compiles a zone with its load-balanced names attached to their nodes. A service belongs to the
    /// closest enclosing served zone; one whose name carries a static CNAME is refused (a CNAME owns its name).
    /// </summary>
    private static CompiledZone CompileWithServices(LoadedZone loaded, IReadOnlyCollection<DnsName> origins, GslbConfig gslb, List<LoadError> errors)
    {
        var zone = loaded.Zone;
        Dictionary<DnsName, IDynamicAnswerSource>? dynamic = null;
        foreach (var (name, service) in gslb.Services)
        {
            if (!name.IsAtOrBelow(zone.Origin) || origins.Any(o => o != zone.Origin && o.LabelCount > zone.Origin.LabelCount && name.IsAtOrBelow(o)))
            {
                continue;
            }

            if (zone.Records.Any(r => r.Owner == name && r.Type == RecordType.CNAME))
            {
                errors.Add(new LoadError(loaded.File, 0, $"service {name} is also a CNAME in the zone; the service is not served"));
                continue;
            }

            dynamic ??= [];
            dynamic[name] = new ServiceAnswer(service);
        }

        return CompiledZone.Build(zone, dynamic);
    }

    private static byte[]? HashOf(string file)
    {
        try
        {
            return System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(file));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static bool IncludesChanged(LoadedZone previous) => previous.Zone.Includes.Any(i => !File.Exists(i.Path) || File.GetLastWriteTimeUtc(i.Path) != i.WriteTimeUtc);

    private void KeepPrevious(string file, LoadedZone? previous, Dictionary<string, LoadedZone> next, string message)
    {
        if (previous is not null)
        {
            next[file] = previous;
            LogZoneRejectedKeptOld(_logger, message, previous.Origin.ToString());
        }
        else
        {
            LogZoneRejected(_logger, message);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded zone {Origin} from {File} ({Records} records)")]
    private static partial void LogZoneLoaded(ILogger logger, string origin, string file, int records);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{File}: {Warning}")]
    private static partial void LogZoneWarning(ILogger logger, string file, string warning);

    [LoggerMessage(Level = LogLevel.Error, Message = "Zone rejected: {Error}; still serving the last good version of {Origin}")]
    private static partial void LogZoneRejectedKeptOld(ILogger logger, string error, string origin);

    [LoggerMessage(Level = LogLevel.Error, Message = "Zone rejected: {Error}; it is not served")]
    private static partial void LogZoneRejected(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "GSLB config rejected ({Errors} errors); the last good version stays in force")]
    private static partial void LogGslbRejected(ILogger logger, int errors);

    [LoggerMessage(Level = LogLevel.Information, Message = "Serving {Zones} zones ({Errors} files rejected)")]
    private static partial void LogReloaded(ILogger logger, int zones, int errors);
}
