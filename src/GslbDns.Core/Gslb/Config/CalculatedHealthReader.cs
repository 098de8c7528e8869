using System.Text.Json;

namespace GslbDns.Gslb.Config;

/// <summary>Reads a service's <c>health</c> object: calculated health for its data centers and for the service itself as a child.</summary>
internal static class CalculatedHealthReader
{
    private static readonly string[] Known = ["dataCenter", "service"];
    private static readonly string[] Words = ["all", "any"];

    /// <summary>Both rules; absent ones take their defaults (each endpoint on its own; the service healthy with any usable endpoint).</summary>
    public static (HealthRule? DataCenter, HealthRule Service) Read(ConfigObject service, IReadOnlyList<Endpoint> endpoints)
    {
        if (!service.TryGet("health", out var element))
        {
            return (null, HealthRule.Any);
        }

        var health = ConfigObject.Open(service.Source, element, service.PathOf("health"), Known);
        if (health is null)
        {
            return (null, HealthRule.Any);
        }

        var dataCenter = health.TryGet("dataCenter", out var dcElement) ? ReadRule(health.Source, dcElement, health.PathOf("dataCenter")) : null;
        var self = health.TryGet("service", out var serviceElement) ? ReadRule(health.Source, serviceElement, health.PathOf("service")) : null;
        if (endpoints.Count > 0)
        {
            // A rule more children than there are can never hold: the service or data center would be down for good.
            if (self is { Kind: HealthRuleKind.AtLeast } && self.Count > endpoints.Count)
            {
                health.Error("service", $"atLeast {self.Count} is more than the service's {endpoints.Count} endpoints: it could never count healthy");
            }

            if (dataCenter is { Kind: HealthRuleKind.AtLeast })
            {
                foreach (var group in endpoints.GroupBy(e => e.DataCenter, StringComparer.Ordinal).Where(g => g.Count() < dataCenter.Count))
                {
                    health.Error("dataCenter", $"atLeast {dataCenter.Count} is more than data center {group.Key}'s {group.Count()} endpoints of this service: it could never count healthy");
                }
            }
        }

        return (dataCenter, self ?? HealthRule.Any);
    }

    /// <summary><c>"all"</c>, <c>"any"</c> or <c>{"atLeast": N}</c> with N in 1..1000; null (reported) otherwise.</summary>
    private static HealthRule? ReadRule(ConfigSource source, JsonElement element, string path)
    {
        if (element.ValueKind == JsonValueKind.String)
        {
            var word = element.GetString() ?? string.Empty;
            switch (word)
            {
                case "all":
                    return HealthRule.All;
                case "any":
                    return HealthRule.Any;
                default:
                    source.Error(path, $"a health rule is \"all\", \"any\" or {{\"atLeast\": N}}, not '{word}'{NameHints.DidYouMean(word, Words)}");
                    return null;
            }
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            source.Error(path, "a health rule is \"all\", \"any\" or {\"atLeast\": N}");
            return null;
        }

        var rule = ConfigObject.Open(source, element, path, "atLeast");
        if (rule?.Integer("atLeast", 1, ServiceReader.MaxWeight, required: true) is not { } count)
        {
            return null;
        }

        return new HealthRule(HealthRuleKind.AtLeast, (int)count);
    }
}
