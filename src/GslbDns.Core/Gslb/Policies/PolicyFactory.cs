using System.Collections.Frozen;
using System.Text.Json;
using GslbDns.Gslb.Config;

namespace GslbDns.Gslb.Policies;

/// <summary>
/// Builds one policy step from its JSON object (<c>{"type": "...", ...options}</c>) by looking its type
/// up in one table: type name -> the options it takes and the policy's own reader of them. An option
/// not in its row is an error rather than ignored, because a misspelt <c>"cout": 2</c> would otherwise
/// silently serve the default. Adding a policy is one row here plus its class.
/// </summary>
public static class PolicyFactory
{
    /// <summary>The widest <c>count</c> any policy takes: more addresses than fit a 512-byte UDP answer is pointless.</summary>
    public const int MaxCount = 64;

    private static readonly FrozenDictionary<string, PolicyKind> Kinds = new PolicyKind[]
    {
        new(HealthyPolicy.TypeName, [], _ => HealthyPolicy.Instance),
        new(FailoverPolicy.TypeName, [], _ => FailoverPolicy.Instance),
        new(GeoProximityPolicy.TypeName, GeoProximityPolicy.OptionNames, GeoProximityPolicy.Read),
        new(GeolocationPolicy.TypeName, GeolocationPolicy.OptionNames, GeolocationPolicy.Read),
        new(WeightedPolicy.TypeName, WeightedPolicy.OptionNames, WeightedPolicy.Read),
        new(LatencyPolicy.TypeName, LatencyPolicy.OptionNames, LatencyPolicy.Read),
        new(MultivaluePolicy.TypeName, MultivaluePolicy.OptionNames, MultivaluePolicy.Read),
        new(FirstPolicy.TypeName, FirstPolicy.OptionNames, FirstPolicy.Read),
    }.ToFrozenDictionary(k => k.TypeName, StringComparer.Ordinal);

    private static readonly string KnownTypes = string.Join(", ", Kinds.Keys.Order(StringComparer.Ordinal));

    /// <summary>
    /// For a step without its file's text (tools, tests): as <see cref="Create(ConfigSource, JsonElement, string, IReadOnlyDictionary{string, DataCenter})"/>,
    /// with errors naming <paramref name="file"/> and a JSON path under <paramref name="path"/>, and line 0 (unknown).
    /// Returns null after adding at least one error to <paramref name="errors"/>.
    /// </summary>
    public static ISelectionPolicy? Create(JsonElement step, string file, string path, IReadOnlyDictionary<string, DataCenter> dataCenters, List<ConfigError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        return Create(new ConfigSource(file, step, JsonLineMap.Empty, null, errors), step, path, dataCenters);
    }

    /// <summary>
    /// Returns the policy, or null after adding at least one error to the file's list; each error carries
    /// the file, the line of the option in the file (from its line map) and the option's JSON path.
    /// </summary>
    internal static ISelectionPolicy? Create(ConfigSource source, JsonElement step, string path, IReadOnlyDictionary<string, DataCenter> dataCenters)
    {
        ArgumentNullException.ThrowIfNull(dataCenters);
        if (step.ValueKind != JsonValueKind.Object)
        {
            source.Error(path, "must be an object such as {\"type\": \"healthy\"}");
            return null;
        }

        var typePath = JsonPathText.Property(path, "type");
        if (!step.TryGetProperty("type", out var typeElement))
        {
            source.Error(path, $"needs a \"type\" (one of {KnownTypes})");
            return null;
        }

        if (typeElement.ValueKind != JsonValueKind.String)
        {
            source.Error(typePath, $"must be a string (one of {KnownTypes})");
            return null;
        }

        var type = typeElement.GetString()!;
        if (!Kinds.TryGetValue(type, out var kind))
        {
            source.Error(typePath, $"unknown policy type '{type}' (expected one of {KnownTypes})");
            return null;
        }

        var before = source.Errors.Count;
        foreach (var property in step.EnumerateObject())
        {
            if (property.Name != "type" && Array.IndexOf(kind.Options, property.Name) < 0)
            {
                var expected = kind.Options.Length == 0 ? $"{type} takes no options" : $"{type} takes {string.Join(", ", kind.Options)}";
                source.Error(JsonPathText.Property(path, property.Name), $"unknown option ({expected})");
            }
        }

        var policy = kind.Read(new PolicyOptions(source, step, path, dataCenters));
        return source.Errors.Count > before ? null : policy;
    }

    /// <summary>One row of the table: a policy type, the options it takes besides <c>type</c>, and the policy's reader of them.</summary>
    private sealed record PolicyKind(string TypeName, string[] Options, Func<PolicyOptions, ISelectionPolicy?> Read);
}
