using System.Text.Json;
using System.Text.Json.Serialization;

namespace GslbDns.State;

/// <summary>
/// The stored JSON of settings and audit entries, shared by both stores so a Consul value and an
/// embedded row read the same: <c>{"weight":150,"reason":"...","by":"alice","at":"2025-..."}</c>,
/// <c>{"reason":"...","by":"...","at":"..."}</c>, <c>{"healthy":false,"expires":"...","reason":"...","by":"...","at":"..."}</c>.
/// </summary>
public static class StateJson
{
    public static string Serialize(StateSetting setting) => setting is DrillSetting drill
        ? JsonSerializer.Serialize(drill, StateJsonContext.Default.DrillSetting)
        : JsonSerializer.Serialize(ToJson(setting), StateJsonContext.Default.SettingJson);

    public static byte[] SerializeToUtf8(StateSetting setting) => setting is DrillSetting drill
        ? JsonSerializer.SerializeToUtf8Bytes(drill, StateJsonContext.Default.DrillSetting)
        : JsonSerializer.SerializeToUtf8Bytes(ToJson(setting), StateJsonContext.Default.SettingJson);

    /// <summary>Reads a setting of <paramref name="kind"/>; throws <see cref="JsonException"/> when the value does not fit the kind.</summary>
    public static StateSetting Deserialize(StateKind kind, ReadOnlySpan<byte> utf8)
    {
        if (kind == StateKind.Drill)
        {
            return Checked(JsonSerializer.Deserialize(utf8, StateJsonContext.Default.DrillSetting));
        }

        var json = JsonSerializer.Deserialize(utf8, StateJsonContext.Default.SettingJson) ?? throw new JsonException("null setting");
        return FromJson(kind, json);
    }

    public static StateSetting Deserialize(StateKind kind, string text)
    {
        if (kind == StateKind.Drill)
        {
            return Checked(JsonSerializer.Deserialize(text, StateJsonContext.Default.DrillSetting));
        }

        var json = JsonSerializer.Deserialize(text, StateJsonContext.Default.SettingJson) ?? throw new JsonException("null setting");
        return FromJson(kind, json);
    }

    /// <summary>A drill value must name what it evacuates; anything less is not applied (a DNS server skips it and logs).</summary>
    private static DrillSetting Checked(DrillSetting? drill) =>
        drill is null ? throw new JsonException("null drill")
        : string.IsNullOrEmpty(drill.Id) || drill.DataCenters is null || drill.Services is null || drill.Results is null || drill.Violations is null
            ? throw new JsonException("a drill entry needs 'id', 'dataCenters', 'services', 'violations' and 'results'")
            : drill;

    public static byte[] SerializeAudit(AuditEntry entry) => JsonSerializer.SerializeToUtf8Bytes(entry, StateJsonContext.Default.AuditEntry);

    public static AuditEntry? DeserializeAudit(ReadOnlySpan<byte> utf8) => JsonSerializer.Deserialize(utf8, StateJsonContext.Default.AuditEntry);

    private static SettingJson ToJson(StateSetting setting) => setting switch
    {
        WeightSetting w => new SettingJson { Weight = w.Weight, Reason = w.Reason, By = w.By, At = w.At },
        DrainSetting d => new SettingJson { Reason = d.Reason, By = d.By, At = d.At },
        OverrideSetting o => new SettingJson { Healthy = o.Healthy, Expires = o.Expires, Reason = o.Reason, By = o.By, At = o.At },
        FeedSetting f => new SettingJson { Up = f.Up, Load = f.Load, Expires = f.Expires, Reason = f.Reason, By = f.By, At = f.At },
        _ => throw new ArgumentException($"unknown setting type {setting.GetType().Name}", nameof(setting)),
    };

    private static StateSetting FromJson(StateKind kind, SettingJson json) => kind switch
    {
        StateKind.Weight => new WeightSetting(json.Weight ?? throw new JsonException("a weight entry needs 'weight'"), json.Reason, json.By ?? "", json.At),
        StateKind.Drain => new DrainSetting(json.Reason ?? "", json.By ?? "", json.At),
        StateKind.Override => new OverrideSetting(
            json.Healthy ?? throw new JsonException("an override entry needs 'healthy'"),
            json.Expires ?? throw new JsonException("an override entry needs 'expires'"),
            json.Reason ?? "",
            json.By ?? "",
            json.At),
        StateKind.Feed => json.Up is null && json.Load is null
            ? throw new JsonException("a feed entry needs 'up' or 'load'")
            : new FeedSetting(json.Up, json.Load, json.Expires ?? throw new JsonException("a feed entry needs 'expires'"), json.Reason, json.By ?? "", json.At),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    internal sealed class SettingJson
    {
        public int? Weight { get; set; }

        public bool? Healthy { get; set; }

        public DateTimeOffset? Expires { get; set; }

        public bool? Up { get; set; }

        public double? Load { get; set; }

        public string? Reason { get; set; }

        public string? By { get; set; }

        public DateTimeOffset At { get; set; }
    }
}

[JsonSerializable(typeof(StateJson.SettingJson))]
[JsonSerializable(typeof(AuditEntry))]
[JsonSerializable(typeof(DrillSetting))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
internal sealed partial class StateJsonContext : JsonSerializerContext
{
}
