using System.Text.Json;

namespace GslbDns.Gslb.Config;

/// <summary>
/// Reads the config elements of external feeds and load shedding (issue 15 items 4 and 5), kept apart from the
/// other readers: the top-level <c>feeds</c> section, a service's <c>feed</c> and <c>loadShedding</c>, an
/// endpoint's <c>capacity</c> and a check's <c>load</c>.
/// </summary>
internal static class FeedConfigReader
{
    /// <summary>The top-level section that holds the default <c>feed</c> mode.</summary>
    public const string Section = "feeds";

    /// <summary>Largest capacity, load figure and watermark: far above any real figure, small enough that sums stay exact.</summary>
    public const double MaxFigure = 1e9;

    /// <summary>Watermarks are utilisations (load / capacity); above 10 (1000 %) is a unit mistake.</summary>
    public const double MaxWatermark = 10;

    public const int MaxJsonPathSegments = 8;
    public const int MaxNameLength = 100;

    private static readonly string[] SectionKnown = ["mode"];
    private static readonly string[] SheddingKnown = ["lowWatermark", "highWatermark"];
    private static readonly string[] LoadKnown = ["header", "json"];

    /// <summary>The top-level <c>feeds.mode</c> over every file (at most one file may set it); vote when none does.</summary>
    public static FeedMode ReadDefaultMode(IReadOnlyList<ConfigObject> roots)
    {
        FeedMode? mode = null;
        string? where = null;
        foreach (var root in roots)
        {
            if (!root.TryGet(Section, out var element) || ConfigObject.Open(root.Source, element, root.PathOf(Section), SectionKnown) is not { } section)
            {
                continue;
            }

            if (where is not null)
            {
                root.Error(Section, $"feeds is already set in {where}");
                continue;
            }

            where = $"{root.Source.File}";
            mode = Mode(section, "mode") ?? mode;
        }

        return mode ?? FeedMode.Vote;
    }

    /// <summary>A service's <c>feed</c> (vote, veto or off); <paramref name="defaultMode"/> when absent or invalid (the error is recorded).</summary>
    public static FeedMode ReadServiceMode(ConfigObject service, FeedMode defaultMode) => Mode(service, "feed") ?? defaultMode;

    /// <summary>An endpoint's <c>capacity</c>: a positive number in the unit of its load figures; 1 when absent.</summary>
    public static double ReadCapacity(ConfigObject endpoint)
    {
        var capacity = endpoint.Number("capacity", 0, MaxFigure) ?? 1;
        if (capacity <= 0)
        {
            endpoint.Error("capacity", "capacity must be greater than 0");
            return 1;
        }

        return capacity;
    }

    /// <summary>A service's <c>loadShedding</c>; null when absent or invalid (errors recorded).</summary>
    public static LoadShedding? ReadShedding(ConfigObject service)
    {
        if (!service.TryGet("loadShedding", out var element) || ConfigObject.Open(service.Source, element, service.PathOf("loadShedding"), SheddingKnown) is not { } obj)
        {
            return null;
        }

        var low = obj.Number("lowWatermark", 0, MaxWatermark, required: true);
        var high = obj.Number("highWatermark", 0, MaxWatermark, required: true);
        if (low is null || high is null)
        {
            return null;
        }

        if (high <= low)
        {
            obj.Error("highWatermark", $"highWatermark {high} must be above lowWatermark {low} (shedding starts at the low one and is total at the high one)");
            return null;
        }

        return new LoadShedding(low.Value, high.Value);
    }

    /// <summary>A check's <c>load</c> (http and https only); null when absent or invalid (errors recorded).</summary>
    public static LoadSource? ReadCheckLoad(ConfigObject check, string? type)
    {
        if (!check.TryGet("load", out var element))
        {
            return null;
        }

        if (type is not (null or "http" or "https"))
        {
            check.Error("load", $"load is read from an HTTP health response; a {type} check has none");
            return null;
        }

        if (ConfigObject.Open(check.Source, element, check.PathOf("load"), LoadKnown) is not { } obj)
        {
            return null;
        }

        var header = obj.Text("header");
        var json = obj.Text("json");
        if ((header is null) == (json is null))
        {
            check.Error("load", "load needs exactly one of 'header' (a response header holding the figure) or 'json' (a dotted path to a number in the JSON body)");
            return null;
        }

        if (header is not null && (header.Length is 0 or > MaxNameLength || !header.All(IsTokenChar)))
        {
            obj.Error("header", $"header '{header}' is not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~, at most {MaxNameLength})");
            return null;
        }

        if (json is not null)
        {
            var segments = json.Split('.');
            if (json.Length > MaxNameLength || segments.Length > MaxJsonPathSegments || segments.Any(s => s.Length == 0 || s.Any(char.IsControl)))
            {
                obj.Error("json", $"json '{json}' must be a dotted path of at most {MaxJsonPathSegments} non-empty property names, e.g. \"load\" or \"stats.cpu\"");
                return null;
            }

            return new LoadSource(null, segments);
        }

        return new LoadSource(header, null);
    }

    private static FeedMode? Mode(ConfigObject obj, string name)
    {
        if (obj.Text(name) is not { } text)
        {
            return null;
        }

        if (!FeedModes.TryParse(text, out var mode))
        {
            obj.Error(name, $"{name} must be one of {string.Join(", ", FeedModes.Names)}, not '{text}'{NameHints.DidYouMean(text, FeedModes.Names)}");
            return null;
        }

        return mode;
    }

    private static bool IsTokenChar(char c) => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal);
}
