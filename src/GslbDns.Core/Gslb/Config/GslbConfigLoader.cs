using System.Collections.Frozen;
using System.Text;
using System.Text.Json;
using GslbDns.Dns;

namespace GslbDns.Gslb.Config;

/// <summary>
/// Loads the declarative GSLB configuration (<c>*.gslb.json</c> beside the zone files; format in
/// docs/gslb-config.md). All files are merged and validated as a whole: either every file is
/// valid and one immutable <see cref="GslbConfig"/> comes back, or a <see cref="GslbConfigException"/>
/// lists every problem found, each with file, line and JSON path, so one run fixes them all.
/// </summary>
public static class GslbConfigLoader
{
    public const string FileSuffix = ".gslb.json";

    private static readonly string[] Sections = ["dataCenters", "regions", "rtt", "ttl", "defaultLocation", "services", "resolvers", FeedConfigReader.Section];

    /// <summary>Reads every <c>*.gslb.json</c> in <paramref name="zonesFolder"/> in ordinal name order; none gives <see cref="GslbConfig.Empty"/>.</summary>
    /// <param name="servedZones">The zones this server is authoritative for: every service must lie below one of them.</param>
    /// <exception cref="GslbConfigException">The folder cannot be listed, or any file is unreadable or invalid.</exception>
    public static GslbConfig Load(string zonesFolder, IReadOnlyCollection<DnsName> servedZones) => Load(ReadSources(zonesFolder), servedZones);

    /// <summary>Validates config files already read by <see cref="ReadSources"/> (a reload reads once, compares, then builds).</summary>
    /// <exception cref="GslbConfigException">Any file was unreadable or is invalid.</exception>
    public static GslbConfig Load(GslbConfigSources sources, IReadOnlyCollection<DnsName> servedZones)
    {
        ArgumentNullException.ThrowIfNull(sources);
        return sources.Files.Count == 0 && sources.ReadErrors.Count == 0 ? GslbConfig.Empty : Build(sources.Files, servedZones, [.. sources.ReadErrors]);
    }

    /// <summary>Reads the text of every <c>*.gslb.json</c> in <paramref name="zonesFolder"/>, in ordinal name order, without validating it.</summary>
    /// <exception cref="GslbConfigException">The folder cannot be listed.</exception>
    public static GslbConfigSources ReadSources(string zonesFolder)
    {
        string[] paths;
        try
        {
            // The suffix check guards against platforms whose pattern matching also picks "x.gslb.json~".
            paths = [.. Directory.GetFiles(zonesFolder, "*" + FileSuffix)
                .Where(f => f.EndsWith(FileSuffix, StringComparison.Ordinal))
                .Order(StringComparer.Ordinal)];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // An error, not an empty config: a folder that vanished must not wipe out the services in force.
            throw new GslbConfigException([new ConfigError(zonesFolder, 0, JsonPathText.Root, $"cannot list the folder: {ex.Message}")]);
        }

        var errors = new List<ConfigError>();
        var files = new List<(string File, string Json)>(paths.Length);
        foreach (var path in paths)
        {
            try
            {
                files.Add((path, File.ReadAllText(path)));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                errors.Add(new ConfigError(path, 0, JsonPathText.Root, $"cannot read: {ex.Message}"));
            }
        }

        return new GslbConfigSources(files, errors);
    }

    /// <summary>Loads config text as if read from the named files, in the given order (for tests and tools).</summary>
    /// <exception cref="GslbConfigException">Any text is invalid.</exception>
    public static GslbConfig LoadFromText(IReadOnlyList<(string File, string Json)> files, IReadOnlyCollection<DnsName> servedZones) =>
        files.Count == 0 ? GslbConfig.Empty : Build(files, servedZones, []);

    /// <summary>
    /// The served zone a file name gives relative service names: <c>example.com.gslb.json</c> gives
    /// <c>example.com.</c> when that zone is served; null otherwise.
    /// </summary>
    public static DnsName? OriginOf(string file, IReadOnlyCollection<DnsName> servedZones)
    {
        var fileName = Path.GetFileName(file);
        if (!fileName.EndsWith(FileSuffix, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var stem = fileName[..^FileSuffix.Length];
        return stem.Length > 0 && DnsName.TryParse(stem + ".", null, out var origin, out _) && servedZones.Contains(origin) ? origin : null;
    }

    private static GslbConfig Build(IReadOnlyList<(string File, string Json)> files, IReadOnlyCollection<DnsName> servedZones, List<ConfigError> errors)
    {
        // A file that could not be read leaves definitions out, as a syntax error does.
        var topology = new TopologyReader { Incomplete = errors.Count > 0 };
        var roots = new List<ConfigObject>();
        for (var i = 0; i < files.Count; i++)
        {
            var (file, json) = files[i];
            if (Parse(file, json, servedZones, errors) is not { } source)
            {
                topology.Incomplete = true;
                continue;
            }

            if (ConfigObject.Open(source, source.Root, JsonPathText.Root, Sections) is { } root)
            {
                roots.Add(root);
            }
        }

        // Three passes, so any section may refer to names defined in any file: definitions,
        // then what refers to regions and data centers, then the services that use all of it.
        var resolution = new HostResolutionReader();
        foreach (var root in roots)
        {
            topology.ReadDefinitions(root);
            resolution.Read(root);
        }

        topology.ResolveDataCenters();
        foreach (var root in roots)
        {
            topology.ReadRtt(root);
        }

        var services = new ServiceReader(servedZones, topology) { DefaultFeedMode = FeedConfigReader.ReadDefaultMode(roots) };
        foreach (var root in roots)
        {
            services.Read(root);
        }

        // Once every file's services are known: child-service references (nested services) resolve across files.
        services.Link();
        if (errors.Count > 0)
        {
            throw new GslbConfigException(Arrange(errors, files));
        }

        return new GslbConfig(
            topology.DataCenters.ToFrozenDictionary(StringComparer.Ordinal),
            services.Services.ToFrozenDictionary(),
            topology.Regions.ToFrozenDictionary(StringComparer.Ordinal),
            topology.Rtt,
            topology.Ttl,
            topology.DefaultLocation)
        {
            Resolution = resolution.Resolution,
            Slots = services.Slots,
        };
    }

    /// <summary>Null (after reporting) on a syntax error; the line map pass finds it with its line and the path reached.</summary>
    private static ConfigSource? Parse(string file, string json, IReadOnlyCollection<DnsName> servedZones, List<ConfigError> errors)
    {
        // Utf8JsonReader rejects a byte order mark; File.ReadAllText drops it, text from elsewhere may not.
        var utf8 = Encoding.UTF8.GetBytes(json.StartsWith('\uFEFF') ? json[1..] : json);
        if (JsonLineMap.Build(utf8, file, errors) is not { } lines)
        {
            return null;
        }

        // Cloned so the document's pooled buffers go back now; nothing built from the config can outlive them by accident.
        JsonElement root;
        using (var document = JsonDocument.Parse(utf8, JsonLineMap.DocumentOptions))
        {
            root = document.RootElement.Clone();
        }

        return new ConfigSource(file, root, lines, OriginOf(file, servedZones), errors);
    }

    /// <summary>Sorts by file then line so the list reads top to bottom however the passes found them.</summary>
    private static List<ConfigError> Arrange(List<ConfigError> errors, IReadOnlyList<(string File, string Json)> files)
    {
        var order = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < files.Count; i++)
        {
            order.TryAdd(files[i].File, i);
        }

        return [.. errors
            .OrderBy(e => order.TryGetValue(e.File, out var i) ? i : int.MaxValue)
            .ThenBy(e => e.Line)];
    }
}

/// <summary>The GSLB config files as read from disk (name and text), and the ones that could not be read.</summary>
public sealed record GslbConfigSources(IReadOnlyList<(string File, string Json)> Files, IReadOnlyList<ConfigError> ReadErrors)
{
    /// <summary>
    /// <see cref="IO.ContentHash"/> over every file's name and text, the read errors and <paramref name="servedZones"/> (which the config is
    /// validated against): equal fingerprints load to equal configs, so a reload can keep the config it has.
    /// </summary>
    public byte[] Fingerprint(IEnumerable<DnsName> servedZones)
    {
        ArgumentNullException.ThrowIfNull(servedZones);
        var hash = new IO.ContentHash.Builder();
        foreach (var (file, json) in Files)
        {
            hash.Add(file);
            hash.Add(json);
        }

        foreach (var error in ReadErrors)
        {
            hash.Add(error.ToString());
        }

        foreach (var zone in servedZones.Select(z => z.ToString()).Order(StringComparer.Ordinal))
        {
            hash.Add(zone);
        }

        return hash.Finish();
    }
}
