using System.Collections.Frozen;
using System.Text.Json;
using GslbDns.Gslb.Config;

namespace GslbDns.Gslb.Policies;

/// <summary>
/// Builds one policy step from its JSON object (<c>{"type": "...", ...options}</c>). Each type takes
/// only the options listed in <see cref="OptionsOf"/>; an unknown option is an error rather than
/// ignored, because a misspelt <c>"cout": 2</c> would otherwise silently serve the default.
/// </summary>
public static class PolicyFactory
{
    /// <summary>The widest <c>count</c> any policy takes: more addresses than fit a 512-byte UDP answer is pointless.</summary>
    public const int MaxCount = 64;

    private static readonly string[] Continents = ["AF", "AN", "AS", "EU", "NA", "OC", "SA"];

    private static readonly FrozenDictionary<string, string[]> OptionsOf = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        [HealthyPolicy.TypeName] = [],
        [GeoProximityPolicy.TypeName] = ["count"],
        [GeolocationPolicy.TypeName] = ["rules", "default"],
        [WeightedPolicy.TypeName] = ["count", "sticky"],
        [LatencyPolicy.TypeName] = ["count"],
        [FailoverPolicy.TypeName] = [],
        [MultivaluePolicy.TypeName] = ["count"],
        [FirstPolicy.TypeName] = ["count"],
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private static readonly string KnownTypes = string.Join(", ", OptionsOf.Keys.Order(StringComparer.Ordinal));

    /// <summary>
    /// Returns the policy, or null after adding at least one error to <paramref name="errors"/>
    /// (each naming <paramref name="file"/> and a JSON path under <paramref name="path"/>).
    /// </summary>
    public static ISelectionPolicy? Create(JsonElement step, string file, string path, IReadOnlyDictionary<string, DataCenter> dataCenters, List<ConfigError> errors)
    {
        ArgumentNullException.ThrowIfNull(dataCenters);
        ArgumentNullException.ThrowIfNull(errors);
        var reader = new Reader(file, errors);
        if (step.ValueKind != JsonValueKind.Object)
        {
            reader.Error(path, "must be an object such as {\"type\": \"healthy\"}");
            return null;
        }

        var typePath = JsonPathText.Property(path, "type");
        if (!step.TryGetProperty("type", out var typeElement))
        {
            reader.Error(path, $"needs a \"type\" (one of {KnownTypes})");
            return null;
        }

        if (typeElement.ValueKind != JsonValueKind.String)
        {
            reader.Error(typePath, $"must be a string (one of {KnownTypes})");
            return null;
        }

        var type = typeElement.GetString()!;
        if (!OptionsOf.TryGetValue(type, out var allowed))
        {
            reader.Error(typePath, $"unknown policy type '{type}' (expected one of {KnownTypes})");
            return null;
        }

        var before = errors.Count;
        foreach (var property in step.EnumerateObject())
        {
            if (property.Name != "type" && Array.IndexOf(allowed, property.Name) < 0)
            {
                var expected = allowed.Length == 0 ? $"{type} takes no options" : $"{type} takes {string.Join(", ", allowed)}";
                reader.Error(JsonPathText.Property(path, property.Name), $"unknown option ({expected})");
            }
        }

        ISelectionPolicy? policy = type switch
        {
            HealthyPolicy.TypeName => HealthyPolicy.Instance,
            FailoverPolicy.TypeName => FailoverPolicy.Instance,
            GeoProximityPolicy.TypeName => new GeoProximityPolicy(reader.Count(step, path, 1)),
            LatencyPolicy.TypeName => new LatencyPolicy(reader.Count(step, path, 1)),
            FirstPolicy.TypeName => new FirstPolicy(reader.Count(step, path, 1)),
            MultivaluePolicy.TypeName => new MultivaluePolicy(reader.Count(step, path, MultivaluePolicy.DefaultCount)),
            WeightedPolicy.TypeName => new WeightedPolicy(reader.Count(step, path, 1), reader.Bool(step, path, "sticky", false)),
            GeolocationPolicy.TypeName => CreateGeolocation(step, path, dataCenters, reader),
            _ => null,
        };

        return errors.Count > before ? null : policy;
    }

    private static GeolocationPolicy? CreateGeolocation(JsonElement step, string path, IReadOnlyDictionary<string, DataCenter> dataCenters, Reader reader)
    {
        var rulesPath = JsonPathText.Property(path, "rules");
        var rules = new List<GeolocationRule>();
        if (!step.TryGetProperty("rules", out var rulesElement))
        {
            reader.Error(path, "geolocation needs \"rules\": [{\"continent\" or \"country\" (+ \"subdivision\"), \"dataCenters\": [...]}, ...]");
        }
        else if (rulesElement.ValueKind != JsonValueKind.Array)
        {
            reader.Error(rulesPath, "must be an array of rules");
        }
        else
        {
            // Where each match was first given, to name it in a duplicate's error.
            var seen = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            var index = 0;
            foreach (var element in rulesElement.EnumerateArray())
            {
                var rulePath = JsonPathText.Index(rulesPath, index++);
                var rule = ReadRule(element, rulePath, dataCenters, reader);
                if (rule is null)
                {
                    continue;
                }

                var key = rule.Continent is not null ? "continent " + rule.Continent : $"country {rule.Country}" + (rule.Subdivision is null ? string.Empty : "-" + rule.Subdivision);
                if (!seen.TryAdd(key, rulePath))
                {
                    reader.Error(rulePath, $"a second rule for {key} (the first is {seen[key]})");
                    continue;
                }

                rules.Add(rule);
            }
        }

        string[]? defaults = null;
        if (step.TryGetProperty("default", out var defaultElement))
        {
            defaults = reader.DataCenterList(defaultElement, JsonPathText.Property(path, "default"), dataCenters);
        }

        return new GeolocationPolicy(rules, defaults);
    }

    private static GeolocationRule? ReadRule(JsonElement element, string path, IReadOnlyDictionary<string, DataCenter> dataCenters, Reader reader)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            reader.Error(path, "must be an object such as {\"continent\": \"EU\", \"dataCenters\": [\"eu-west\"]}");
            return null;
        }

        var errors = reader.ErrorCount;
        foreach (var property in element.EnumerateObject())
        {
            if (property.Name is not ("continent" or "country" or "subdivision" or "dataCenters"))
            {
                reader.Error(JsonPathText.Property(path, property.Name), "unknown key (a rule takes continent, country, subdivision and dataCenters)");
            }
        }

        var continent = reader.Code(element, path, "continent", 2, 2, lettersOnly: true);
        var country = reader.Code(element, path, "country", 2, 2, lettersOnly: true);
        var subdivision = reader.Code(element, path, "subdivision", 1, 3, lettersOnly: false);
        if (continent is not null && Array.IndexOf(Continents, continent) < 0)
        {
            reader.Error(JsonPathText.Property(path, "continent"), $"'{continent}' is not one of {string.Join(", ", Continents)}");
        }

        if (continent is not null && country is not null)
        {
            reader.Error(path, "give a continent or a country, not both");
        }
        else if (continent is null && country is null && reader.ErrorCount == errors)
        {
            reader.Error(path, "needs a \"continent\" or a \"country\"");
        }

        if (subdivision is not null && country is null)
        {
            reader.Error(JsonPathText.Property(path, "subdivision"), "a subdivision needs a country");
        }

        string[]? targets = null;
        if (element.TryGetProperty("dataCenters", out var targetsElement))
        {
            targets = reader.DataCenterList(targetsElement, JsonPathText.Property(path, "dataCenters"), dataCenters);
        }
        else
        {
            reader.Error(path, "needs \"dataCenters\": [...]");
        }

        return reader.ErrorCount > errors || targets is null ? null : new GeolocationRule(continent, country, subdivision, targets);
    }

    /// <summary>Reads options and collects errors against one file.</summary>
    private sealed class Reader(string file, List<ConfigError> errors)
    {
        public int ErrorCount => errors.Count;

        public void Error(string path, string reason) => errors.Add(new ConfigError(file, 0, path, reason));

        /// <summary>The <c>count</c> option, 1..<see cref="MaxCount"/>; the default when absent or invalid (the error is recorded).</summary>
        public int Count(JsonElement step, string path, int defaultValue)
        {
            if (!step.TryGetProperty("count", out var element))
            {
                return defaultValue;
            }

            if (element.ValueKind == JsonValueKind.Number && element.TryGetInt32(out var value) && value is >= 1 and <= MaxCount)
            {
                return value;
            }

            Error(JsonPathText.Property(path, "count"), $"must be 1..{MaxCount}");
            return defaultValue;
        }

        public bool Bool(JsonElement step, string path, string name, bool defaultValue)
        {
            if (!step.TryGetProperty(name, out var element))
            {
                return defaultValue;
            }

            if (element.ValueKind is JsonValueKind.True or JsonValueKind.False)
            {
                return element.GetBoolean();
            }

            Error(JsonPathText.Property(path, name), "must be true or false");
            return defaultValue;
        }

        /// <summary>An ISO-style code, upper-cased; null when absent or invalid (the error is recorded).</summary>
        public string? Code(JsonElement rule, string path, string name, int min, int max, bool lettersOnly)
        {
            if (!rule.TryGetProperty(name, out var element))
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
        public string[]? DataCenterList(JsonElement element, string path, IReadOnlyDictionary<string, DataCenter> dataCenters)
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
                else if (!dataCenters.TryGetValue(item.GetString()!, out var dataCenter))
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
}
