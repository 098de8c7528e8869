using System.Globalization;
using System.Text.Json;

namespace GslbDns.Gslb.Config;

/// <summary>
/// Reads one JSON object of the config with a fixed set of property names. Opening it reports every
/// unknown property (a typo such as "wieght" must not silently fall back to a default); each getter
/// checks type and range and reports with the property's path, returning null so the caller keeps
/// going and the file yields all its errors at once. JSON null counts as absent.
/// </summary>
internal sealed class ConfigObject
{
    private readonly Dictionary<string, JsonElement> _values;

    private ConfigObject(ConfigSource source, string path, Dictionary<string, JsonElement> values)
    {
        Source = source;
        Path = path;
        _values = values;
    }

    public ConfigSource Source { get; }

    public string Path { get; }

    /// <summary>Null (after reporting) when <paramref name="element"/> is not an object.</summary>
    public static ConfigObject? Open(ConfigSource source, JsonElement element, string path, params string[] known)
    {
        if (!IsKind(source, element, path, JsonValueKind.Object))
        {
            return null;
        }

        var values = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            // A second occurrence was already reported by the line map; reading it too would double every error.
            if (!values.TryAdd(property.Name, property.Value))
            {
                continue;
            }

            if (Array.IndexOf(known, property.Name) < 0)
            {
                source.Error(JsonPathText.Property(path, property.Name), $"unknown property '{property.Name}'{NameHints.DidYouMean(property.Name, known)}");
            }
        }

        return new ConfigObject(source, path, values);
    }

    /// <summary>The entries of an object whose keys are names the operator chose (data centers, services, ...).</summary>
    public static IEnumerable<(string Name, JsonElement Value, string Path)> Entries(ConfigSource source, JsonElement element, string path)
    {
        if (!IsKind(source, element, path, JsonValueKind.Object))
        {
            yield break;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            if (seen.Add(property.Name))
            {
                yield return (property.Name, property.Value, JsonPathText.Property(path, property.Name));
            }
        }
    }

    /// <summary>The strings of an array with their paths; an element that is not a string is reported and skipped.</summary>
    public static IEnumerable<(string Text, string Path)> StringItems(ConfigSource source, JsonElement array, string path)
    {
        var index = 0;
        foreach (var element in array.EnumerateArray())
        {
            var elementPath = JsonPathText.Index(path, index++);
            if (IsKind(source, element, elementPath, JsonValueKind.String))
            {
                yield return (element.GetString() ?? string.Empty, elementPath);
            }
        }
    }

    /// <summary>Reports and returns false when <paramref name="element"/> is not of <paramref name="kind"/>.</summary>
    public static bool IsKind(ConfigSource source, JsonElement element, string path, JsonValueKind kind)
    {
        if (element.ValueKind == kind)
        {
            return true;
        }

        source.Error(path, $"must be {Describe(kind)}, not {Describe(element.ValueKind)}");
        return false;
    }

    public string PathOf(string name) => JsonPathText.Property(Path, name);

    public void Error(string name, string reason) => Source.Error(PathOf(name), reason);

    /// <summary>True when the property is present and not null.</summary>
    public bool TryGet(string name, out JsonElement value) =>
        _values.TryGetValue(name, out value) && value.ValueKind != JsonValueKind.Null;

    public bool Has(string name) => TryGet(name, out _);

    public void Missing(string name) => Error(name, $"missing required property '{name}'");

    public double? Number(string name, double min, double max, bool required = false)
    {
        return Present(name, required, out var element) ? NumberValue(Source, element, PathOf(name), name, min, max) : null;
    }

    /// <summary>A number that is a map value rather than a named property (e.g. an RTT in milliseconds).</summary>
    public static double? NumberValue(ConfigSource source, JsonElement element, string path, string label, double min, double max)
    {
        if (!IsKind(source, element, path, JsonValueKind.Number))
        {
            return null;
        }

        if (!element.TryGetDouble(out var value) || !double.IsFinite(value))
        {
            source.Error(path, $"{label} must be a finite number");
            return null;
        }

        if (value < min || value > max)
        {
            source.Error(path, $"{label} {Format(value)} is out of range {Format(min)}..{Format(max)}");
            return null;
        }

        return value;
    }

    public long? Integer(string name, long min, long max, bool required = false)
    {
        if (!Present(name, required, out var element) || !IsKind(Source, element, PathOf(name), JsonValueKind.Number))
        {
            return null;
        }

        if (!element.TryGetInt64(out var value))
        {
            Error(name, $"{name} {element.GetRawText()} must be a whole number in {min}..{max}");
            return null;
        }

        if (value < min || value > max)
        {
            Error(name, $"{name} {value} is out of range {min}..{max}");
            return null;
        }

        return value;
    }

    /// <summary>A non-empty string, or null.</summary>
    public string? Text(string name, bool required = false)
    {
        if (!Present(name, required, out var element) || !IsKind(Source, element, PathOf(name), JsonValueKind.String))
        {
            return null;
        }

        var value = element.GetString() ?? string.Empty;
        if (value.Length == 0)
        {
            Error(name, $"{name} must not be empty{(required ? string.Empty : "; leave it out for the default")}");
            return null;
        }

        return value;
    }

    /// <summary>A duration string (<see cref="DurationText"/>) within <paramref name="min"/>..<paramref name="max"/>.</summary>
    public TimeSpan? Duration(string name, TimeSpan min, TimeSpan max)
    {
        var text = Text(name);
        if (text is null)
        {
            return null;
        }

        if (!DurationText.TryParse(text, out var value, out var error))
        {
            Error(name, error);
            return null;
        }

        if (value < min || value > max)
        {
            Error(name, $"{name} {text} is out of range {DurationText.Format(min)}..{DurationText.Format(max)}");
            return null;
        }

        return value;
    }

    private bool Present(string name, bool required, out JsonElement element)
    {
        if (TryGet(name, out element))
        {
            return true;
        }

        if (required)
        {
            Missing(name);
        }

        return false;
    }

    private static string Format(double value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "true or false",
        JsonValueKind.Null => "null",
        _ => "a JSON value",
    };
}
