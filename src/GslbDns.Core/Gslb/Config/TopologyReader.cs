using System.Text.Json;
using GslbDns.Geo;

namespace GslbDns.Gslb.Config;

/// <summary>
/// Merges the sections every service depends on (regions, data centers, RTT matrix, TTL limits,
/// default location) across all files. Map sections merge by key, and a key defined twice is an
/// error naming both places; the single-valued sections may be set in one file only.
/// </summary>
internal sealed class TopologyReader
{
    public const int MaxNameLength = 63;
    public const uint MaxTtl = 86400;

    /// <summary>The longest `ttl.changeWindow`: a day; longer would keep answers short for good.</summary>
    public static readonly TimeSpan MaxChangeWindow = TimeSpan.FromDays(1);
    public const double MaxRttMs = 10000;

    private readonly Dictionary<string, Defined<ProberRegion>> _regions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Defined<PendingDataCenter>> _pendingDataCenters = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Region, string DataCenter), Defined<double>> _rtt = [];
    private Defined<TtlLimits>? _ttl;
    private Defined<GeoLocation>? _defaultLocation;

    /// <summary>
    /// Set when some file could not be parsed: its definitions are missing, so "unknown data center"
    /// and "unknown region" would only be noise on top of the syntax error that explains them.
    /// </summary>
    public bool Incomplete { get; set; }

    public Dictionary<string, DataCenter> DataCenters { get; } = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, ProberRegion> Regions => _regions.ToDictionary(e => e.Key, e => e.Value.Value, StringComparer.Ordinal);

    public TtlLimits Ttl => _ttl?.Value ?? TtlLimits.Standard;

    /// <summary>False when the ttl section had errors: service TTLs are then not range-checked against it, to avoid follow-on noise.</summary>
    public bool TtlValid { get; private set; } = true;

    public GeoLocation DefaultLocation => _defaultLocation?.Value ?? GslbConfig.Empty.DefaultLocation;

    public RttMatrix Rtt => _rtt.Count == 0 ? RttMatrix.Empty : new RttMatrix(_rtt.ToDictionary(e => e.Key, e => e.Value.Value));

    /// <summary>Data center, region and RTT keys become parts of endpoint ids and Consul keys, so they stay plain.</summary>
    public static bool IsValidName(string name, out string error)
    {
        error = string.Empty;
        if (name.Length is 0 or > MaxNameLength || !char.IsAsciiLetterOrDigit(name[0])
            || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            error = $"name '{name}' must be 1..{MaxNameLength} characters of letters, digits, '-', '_' and '.', starting with a letter or digit";
            return false;
        }

        return true;
    }

    /// <summary>First pass over one file: everything except what refers to other sections.</summary>
    public void ReadDefinitions(ConfigObject root)
    {
        if (root.TryGet("regions", out var regions))
        {
            ReadRegions(root.Source, regions, root.PathOf("regions"));
        }

        if (root.TryGet("dataCenters", out var dataCenters))
        {
            ReadDataCenters(root.Source, dataCenters, root.PathOf("dataCenters"));
        }

        if (root.TryGet("ttl", out var ttl))
        {
            ReadTtl(root.Source, ttl, root.PathOf("ttl"));
        }

        if (root.TryGet("defaultLocation", out var location))
        {
            ReadDefaultLocation(root.Source, location, root.PathOf("defaultLocation"));
        }
    }

    /// <summary>After every file's definitions: resolves data-center regions, so a region may live in another file.</summary>
    public void ResolveDataCenters()
    {
        foreach (var (name, pending) in _pendingDataCenters)
        {
            var dc = pending.Value;
            if (dc.Region is not null && _regions.Count > 0 && !_regions.ContainsKey(dc.Region) && !Incomplete)
            {
                pending.Source.Error(JsonPathText.Property(pending.Path, "region"), $"unknown region '{dc.Region}'{NameHints.DidYouMean(dc.Region, _regions.Keys)}");
            }

            DataCenters[name] = new DataCenter(name, dc.Latitude, dc.Longitude, dc.Region ?? string.Empty, dc.Bias);
        }
    }

    /// <summary>Second pass over one file: the RTT matrix, whose keys refer to regions and data centers.</summary>
    public void ReadRtt(ConfigObject root)
    {
        if (!root.TryGet("rtt", out var rtt))
        {
            return;
        }

        var source = root.Source;
        foreach (var (region, row, rowPath) in ConfigObject.Entries(source, rtt, root.PathOf("rtt")))
        {
            if (!_regions.ContainsKey(region) && !Incomplete)
            {
                source.Error(rowPath, _regions.Count == 0
                    ? $"unknown region '{region}': the rtt matrix needs the region defined in 'regions'"
                    : $"unknown region '{region}'{NameHints.DidYouMean(region, _regions.Keys)}");
            }

            foreach (var (dataCenter, value, cellPath) in ConfigObject.Entries(source, row, rowPath))
            {
                if (!_pendingDataCenters.ContainsKey(dataCenter) && !Incomplete)
                {
                    source.Error(cellPath, $"unknown data center '{dataCenter}'{NameHints.DidYouMean(dataCenter, _pendingDataCenters.Keys)}");
                }

                if (ConfigObject.NumberValue(source, value, cellPath, "rtt", 0, MaxRttMs) is not { } ms)
                {
                    continue;
                }

                if (_rtt.TryGetValue((region, dataCenter), out var first))
                {
                    source.Error(cellPath, $"rtt from '{region}' to '{dataCenter}' is already set at {first.Where}");
                    continue;
                }

                _rtt[(region, dataCenter)] = new Defined<double>(ms, source, cellPath);
            }
        }
    }

    private void ReadRegions(ConfigSource source, JsonElement section, string path)
    {
        foreach (var (name, value, entryPath) in ConfigObject.Entries(source, section, path))
        {
            if (!IsValidName(name, out var nameError))
            {
                source.Error(entryPath, nameError);
            }

            var obj = ConfigObject.Open(source, value, entryPath, "latitude", "longitude");
            var region = new ProberRegion(name, obj?.Number("latitude", -90, 90, required: true) ?? 0, obj?.Number("longitude", -180, 180, required: true) ?? 0);
            if (_regions.TryGetValue(name, out var first))
            {
                source.Error(entryPath, $"region '{name}' is already defined at {first.Where}");
                continue;
            }

            // Registered even when its fields are invalid, so references to it do not add follow-on errors.
            _regions[name] = new Defined<ProberRegion>(region, source, entryPath);
        }
    }

    private void ReadDataCenters(ConfigSource source, JsonElement section, string path)
    {
        foreach (var (name, value, entryPath) in ConfigObject.Entries(source, section, path))
        {
            if (!IsValidName(name, out var nameError))
            {
                source.Error(entryPath, nameError);
            }

            var obj = ConfigObject.Open(source, value, entryPath, "latitude", "longitude", "region", "bias");
            var pending = new PendingDataCenter(
                obj?.Number("latitude", -90, 90, required: true) ?? 0,
                obj?.Number("longitude", -180, 180, required: true) ?? 0,
                obj?.Text("region"),
                (int)(obj?.Integer("bias", -99, 99) ?? 0));
            if (_pendingDataCenters.TryGetValue(name, out var first))
            {
                source.Error(entryPath, $"data center '{name}' is already defined at {first.Where}");
                continue;
            }

            _pendingDataCenters[name] = new Defined<PendingDataCenter>(pending, source, entryPath);
        }
    }

    private void ReadTtl(ConfigSource source, JsonElement section, string path)
    {
        if (_ttl is not null)
        {
            source.Error(path, $"ttl is already set at {_ttl.Where}; set it in one file only");
            return;
        }

        var errorsBefore = source.Errors.Count;
        var obj = ConfigObject.Open(source, section, path, "default", "min", "max", "changeWindow");
        if (obj is null)
        {
            TtlValid = false;
            return;
        }

        var standard = TtlLimits.Standard;
        var min = (uint)(obj.Integer("min", 1, MaxTtl) ?? standard.Min);
        var max = (uint)(obj.Integer("max", 1, MaxTtl) ?? standard.Max);
        var byDefault = (uint)(obj.Integer("default", 1, MaxTtl) ?? standard.Default);
        var changeWindow = obj.Duration("changeWindow", TimeSpan.Zero, MaxChangeWindow) ?? TtlLimits.DefaultChangeWindow;
        if (min > max)
        {
            obj.Error("min", $"ttl.min {min} is above ttl.max {max}");
        }
        else if (byDefault < min || byDefault > max)
        {
            obj.Error("default", $"ttl.default {byDefault} is outside ttl.min..ttl.max ({min}..{max})");
        }

        TtlValid = source.Errors.Count == errorsBefore;
        _ttl = new Defined<TtlLimits>(new TtlLimits(byDefault, min, max) { ChangeWindow = changeWindow }, source, path);
    }

    private void ReadDefaultLocation(ConfigSource source, JsonElement section, string path)
    {
        if (_defaultLocation is not null)
        {
            source.Error(path, $"defaultLocation is already set at {_defaultLocation.Where}; set it in one file only");
            return;
        }

        var obj = ConfigObject.Open(source, section, path, "latitude", "longitude");
        if (obj is null)
        {
            return;
        }

        var location = new GeoLocation(obj.Number("latitude", -90, 90, required: true) ?? 0, obj.Number("longitude", -180, 180, required: true) ?? 0);
        _defaultLocation = new Defined<GeoLocation>(location, source, path);
    }

    /// <summary>A data center whose region is checked only once every file's regions are known.</summary>
    private sealed record PendingDataCenter(double Latitude, double Longitude, string? Region, int Bias);
}
