using GslbDns.Answers;
using GslbDns.Dns;
using GslbDns.Geo;
using GslbDns.Gslb;
using GslbDns.Gslb.Config;
using GslbDns.Query;
using GslbDns.Zones;

namespace GslbDns.Api;

/// <summary>
/// Builds the standalone API's snapshot from the same files the DNS servers read (zones, <c>*.gslb.json</c>,
/// geo-data, GeoIP), with the public pieces of GslbDns.Core, so explain runs the same engine on the same
/// data. It mirrors the server's zone catalog: one zone per <c>*.zone</c> file, each service attached to
/// the closest enclosing served zone. A reload that fails keeps the last good config.
/// </summary>
internal sealed class SnapshotLoader
{
    private readonly string _zonesFolder;
    private readonly string? _geoDataFolder;
    private readonly GeoIpDatabase? _geoIp;
    private readonly SnapshotHolder _snapshots;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();

    public SnapshotLoader(string zonesFolder, string? geoDataFolder, GeoIpDatabase? geoIp, SnapshotHolder snapshots, TimeProvider? time = null)
    {
        _zonesFolder = Path.GetFullPath(zonesFolder);
        _geoDataFolder = geoDataFolder is null ? null : Path.GetFullPath(geoDataFolder);
        _geoIp = geoIp;
        _snapshots = snapshots;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Loads everything and swaps it in; returns the problems found (the parts that failed keep their last good version).</summary>
    public IReadOnlyList<string> Reload()
    {
        lock (_lock)
        {
            var errors = new List<string>();
            if (!Directory.Exists(_zonesFolder))
            {
                errors.Add($"{_zonesFolder}: zone folder does not exist");
                return errors;
            }

            var current = _snapshots.Current;
            var parsed = new Dictionary<DnsName, ParsedZone>();
            foreach (var file in Directory.GetFiles(_zonesFolder, "*.zone").Order(StringComparer.Ordinal))
            {
                try
                {
                    var zone = ZoneFileReader.ReadFile(file);
                    _ = CompiledZone.Build(zone);
                    if (!parsed.TryAdd(zone.Origin, zone))
                    {
                        errors.Add($"{file}: zone {zone.Origin} is already served from {parsed[zone.Origin].File}");
                    }
                }
                catch (ZoneLoadException ex)
                {
                    errors.Add(ex.Message);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    errors.Add($"{file}: {ex.Message}");
                }
            }

            var gslb = current.Gslb;
            try
            {
                gslb = GslbConfigLoader.Load(_zonesFolder, parsed.Keys);
            }
            catch (GslbConfigException ex)
            {
                errors.AddRange(ex.Errors.Select(e => $"{e.File}:{e.Line}: {e.Path}: {e.Reason}"));
            }

            var overrides = (current.Locator as ClientLocator)?.Overrides ?? GeoOverrides.Empty;
            if (_geoDataFolder is not null && Directory.Exists(_geoDataFolder))
            {
                try
                {
                    overrides = GeoOverrides.Load(_geoDataFolder);
                }
                catch (GeoDataException ex)
                {
                    errors.Add(ex.Message);
                }
            }

            var zones = new ZoneSet(parsed.Values.Select(z => Compile(z, parsed.Keys, gslb, errors)));
            var locator = new ClientLocator(overrides, gslb.DefaultLocation, _geoIp);
            var builtAt = _time.GetUtcNow();
            _snapshots.Update(s => s with { Zones = zones, Gslb = gslb, Locator = locator, BuiltAt = builtAt });
            return errors;
        }
    }

    private static CompiledZone Compile(ParsedZone zone, IReadOnlyCollection<DnsName> origins, GslbConfig gslb, List<string> errors)
    {
        Dictionary<DnsName, IDynamicAnswerSource>? dynamic = null;
        foreach (var (name, service) in gslb.Services)
        {
            if (!name.IsAtOrBelow(zone.Origin) || origins.Any(o => o != zone.Origin && o.LabelCount > zone.Origin.LabelCount && name.IsAtOrBelow(o)))
            {
                continue;
            }

            if (zone.Records.Any(r => r.Owner == name && r.Type == RecordType.CNAME))
            {
                errors.Add($"{zone.File}: service {name} is also a CNAME in the zone; the service is not served");
                continue;
            }

            dynamic ??= [];
            dynamic[name] = new ServiceAnswer(service);
        }

        return CompiledZone.Build(zone, dynamic);
    }
}
