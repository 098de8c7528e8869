using System.Text.Json;
using GslbDns.Gslb.Config;

namespace GslbDns.Gslb.Policies;

/// <summary>
/// One policy step's config element as its policy reads it: typed getters that check type and range
/// and report into the config file's error list at the option's JSON path. Errors go through the
/// file's <see cref="ConfigSource"/>, so each carries its real line when it is made; nothing fills
/// lines in afterwards. Getters return the default (or null) after reporting, so one pass yields
/// every problem of the step.
/// </summary>
internal sealed class PolicyOptions
{
    private readonly ConfigSource _source;

    public PolicyOptions(ConfigSource source, JsonElement step, string path, IReadOnlyDictionary<string, DataCenter> dataCenters)
    {
        _source = source;
        Step = step;
        Path = path;
        DataCenters = dataCenters;
    }

    /// <summary>The step's JSON object (<c>{"type": ..., options...}</c>).</summary>
    public JsonElement Step { get; }

    /// <summary>The step's JSON path, e.g. <c>$.services.www.policy[1]</c>.</summary>
    public string Path { get; }

    /// <summary>The configured data centers, for options that name them.</summary>
    public IReadOnlyDictionary<string, DataCenter> DataCenters { get; }

    public int ErrorCount => _source.Errors.Count;

    public string PathOf(string name) => JsonPathText.Property(Path, name);

    public void Error(string path, string reason) => _source.Error(path, reason);

    public bool TryGet(string name, out JsonElement value) => Step.TryGetProperty(name, out value);

    /// <summary>The <c>count</c> option, 1..<see cref="PolicyFactory.MaxCount"/>; the default when absent or invalid (the error is recorded).</summary>
    public int Count(int defaultValue)
    {
        if (!TryGet("count", out var element))
        {
            return defaultValue;
        }

        if (element.ValueKind == JsonValueKind.Number && element.TryGetInt32(out var value) && value is >= 1 and <= PolicyFactory.MaxCount)
        {
            return value;
        }

        Error(PathOf("count"), $"must be 1..{PolicyFactory.MaxCount}");
        return defaultValue;
    }

    public bool Bool(string name, bool defaultValue)
    {
        if (!TryGet(name, out var element))
        {
            return defaultValue;
        }

        if (element.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            return element.GetBoolean();
        }

        Error(PathOf(name), "must be true or false");
        return defaultValue;
    }

    /// <summary>An ISO-style code in <paramref name="obj"/> (at <paramref name="path"/>), upper-cased; null when absent or invalid (the error is recorded).</summary>
    public string? Code(JsonElement obj, string path, string name, int min, int max, bool lettersOnly)
    {
        if (!obj.TryGetProperty(name, out var element))
        {
            return null;
        }

        var text = element.ValueKind == JsonValueKind.String ? element.GetString()! : null;
        if (text is null || text.Length < min || text.Length > max || !IsCode(text, lettersOnly))
        {
            var length = min == max ? $"{min}" : $"{min}-{max}";
            Error(JsonPathText.Property(path, name), $"must be a string of {length} {(lettersOnly ? "letters" : "letters or digits")}");
            return null;
        }

        return text.ToUpperInvariant();
    }

    /// <summary>A non-empty array of configured data center names; null when invalid (the errors are recorded).</summary>
    public string[]? DataCenterList(JsonElement element, string path)
    {
        if (element.ValueKind != JsonValueKind.Array || element.GetArrayLength() == 0)
        {
            Error(path, "must be a non-empty array of data center names");
            return null;
        }

        var names = new List<string>();
        var ok = true;
        var index = 0;
        foreach (var item in element.EnumerateArray())
        {
            var itemPath = JsonPathText.Index(path, index++);
            if (item.ValueKind != JsonValueKind.String)
            {
                Error(itemPath, "must be a data center name");
                ok = false;
            }
            else if (!DataCenters.TryGetValue(item.GetString()!, out var dataCenter))
            {
                Error(itemPath, $"unknown data center '{item.GetString()}'");
                ok = false;
            }
            else
            {
                // The configured spelling: endpoints are matched to it ordinally on the query path.
                names.Add(dataCenter.Name);
            }
        }

        return ok ? [.. names] : null;
    }

    private static bool IsCode(string text, bool lettersOnly)
    {
        foreach (var c in text)
        {
            if (lettersOnly ? !char.IsAsciiLetter(c) : !char.IsAsciiLetterOrDigit(c))
            {
                return false;
            }
        }

        return true;
    }
}
