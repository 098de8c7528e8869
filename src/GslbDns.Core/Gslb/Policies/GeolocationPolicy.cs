using GslbDns.Geo;
using System.Collections.Frozen;
using System.Text.Json;
using GslbDns.Gslb.Config;

namespace GslbDns.Gslb.Policies;

/// <summary>One geolocation rule: a continent, or a country optionally narrowed to a subdivision, and the data centers that serve it.</summary>
/// <param name="Continent">Two-letter continent code as MaxMind writes it ("EU"), or null for a country rule.</param>
/// <param name="Country">ISO 3166-1 alpha-2 ("US"), or null for a continent rule.</param>
/// <param name="Subdivision">ISO 3166-2 code without the country part ("CA"), or null.</param>
public sealed record GeolocationRule(string? Continent, string? Country, string? Subdivision, IReadOnlyList<string> DataCenters);

/// <summary>
/// <c>geolocation</c>: maps where the client is (continent, country, subdivision) to data centers
/// by explicit rules, Route 53 geolocation style. The most specific matching rule wins (subdivision,
/// then country, then continent). When the data centers of that rule have no candidates left (all
/// unhealthy, say), the next less specific match applies, then the default, then all candidates are kept.
/// </summary>
/// <remarks>Rules are validated by <see cref="Read"/>: one rule per continent and per country/subdivision pair.</remarks>
public sealed class GeolocationPolicy : ISelectionPolicy
{
    public const string TypeName = "geolocation";

    /// <summary>The options this policy takes besides <c>type</c>.</summary>
    internal static readonly string[] OptionNames = ["rules", "default", "geofence"];

    private static readonly string[] Continents = ["AF", "AN", "AS", "EU", "NA", "OC", "SA"];

    // Codes are matched case-insensitively: MaxMind writes them upper-case, but a hand-written
    // geo-data override or a config may not.
    private readonly FrozenDictionary<string, string[]> _continents;
    private readonly FrozenDictionary<string, CountryRules> _countries;
    private readonly string[]? _default;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string[]> _forced = new(StringComparer.Ordinal);

    public GeolocationPolicy(IReadOnlyList<GeolocationRule> rules, IReadOnlyList<string>? defaultDataCenters)
    {
        ArgumentNullException.ThrowIfNull(rules);
        Rules = rules;
        DefaultDataCenters = defaultDataCenters;
        var continents = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);
        var countries = new Dictionary<string, (string[]? All, List<(string, string[])> Subdivisions)>(StringComparer.OrdinalIgnoreCase);
        foreach (var rule in rules)
        {
            string[] dataCenters = [.. rule.DataCenters];
            if (rule.Country is null)
            {
                continents.Add(rule.Continent ?? throw new ArgumentException("a rule needs a continent or a country", nameof(rules)), dataCenters);
                continue;
            }

            if (!countries.TryGetValue(rule.Country, out var country))
            {
                country = (null, []);
            }

            if (rule.Subdivision is null)
            {
                if (country.All is not null)
                {
                    throw new ArgumentException($"two rules for country {rule.Country}", nameof(rules));
                }

                country.All = dataCenters;
            }
            else
            {
                country.Subdivisions.Add((rule.Subdivision, dataCenters));
            }

            countries[rule.Country] = country;
        }

        _continents = continents.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
        _countries = countries.ToFrozenDictionary(
            pair => pair.Key,
            pair => new CountryRules(pair.Value.All, [.. pair.Value.Subdivisions]),
            StringComparer.OrdinalIgnoreCase);
        _default = defaultDataCenters is null || defaultDataCenters.Count == 0 ? null : [.. defaultDataCenters];
    }

    public IReadOnlyList<GeolocationRule> Rules { get; }

    public IReadOnlyList<string>? DefaultDataCenters { get; }

    /// <summary><c>geofence</c>: answers stay in the region of the client's matching rule even when it is unhealthy (<see cref="Policies.Geofence"/>).</summary>
    public bool Geofence { get; init; }

    public string Name => TypeName;

    /// <summary>Reads the rules and default from the step; errors go to the step's file, each at its rule's path.</summary>
    internal static GeolocationPolicy Read(PolicyOptions options)
    {
        var path = options.Path;
        var rulesPath = options.PathOf("rules");
        var rules = new List<GeolocationRule>();
        if (!options.TryGet("rules", out var rulesElement))
        {
            options.Error(path, "geolocation needs \"rules\": [{\"continent\" or \"country\" (+ \"subdivision\"), \"dataCenters\": [...]}, ...]");
        }
        else if (rulesElement.ValueKind != JsonValueKind.Array)
        {
            options.Error(rulesPath, "must be an array of rules");
        }
        else
        {
            // Where each match was first given, to name it in a duplicate's error.
            var seen = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            var index = 0;
            foreach (var element in rulesElement.EnumerateArray())
            {
                var rulePath = JsonPathText.Index(rulesPath, index++);
                var rule = ReadRule(element, rulePath, options);
                if (rule is null)
                {
                    continue;
                }

                var key = rule.Continent is not null ? "continent " + rule.Continent : $"country {rule.Country}" + (rule.Subdivision is null ? string.Empty : "-" + rule.Subdivision);
                if (!seen.TryAdd(key, rulePath))
                {
                    options.Error(rulePath, $"a second rule for {key} (the first is {seen[key]})");
                    continue;
                }

                rules.Add(rule);
            }
        }

        string[]? defaults = null;
        if (options.TryGet("default", out var defaultElement))
        {
            defaults = options.DataCenterList(defaultElement, options.PathOf("default"));
        }

        return new GeolocationPolicy(rules, defaults) { Geofence = options.Bool("geofence", false) };
    }

    private static GeolocationRule? ReadRule(JsonElement element, string path, PolicyOptions options)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            options.Error(path, "must be an object such as {\"continent\": \"EU\", \"dataCenters\": [\"eu-west\"]}");
            return null;
        }

        var errors = options.ErrorCount;
        foreach (var property in element.EnumerateObject())
        {
            if (property.Name is not ("continent" or "country" or "subdivision" or "dataCenters"))
            {
                options.Error(JsonPathText.Property(path, property.Name), "unknown key (a rule takes continent, country, subdivision and dataCenters)");
            }
        }

        var continent = options.Code(element, path, "continent", 2, 2, lettersOnly: true);
        var country = options.Code(element, path, "country", 2, 2, lettersOnly: true);
        var subdivision = options.Code(element, path, "subdivision", 1, 3, lettersOnly: false);
        if (continent is not null && Array.IndexOf(Continents, continent) < 0)
        {
            options.Error(JsonPathText.Property(path, "continent"), $"'{continent}' is not one of {string.Join(", ", Continents)}");
        }

        if (continent is not null && country is not null)
        {
            options.Error(path, "give a continent or a country, not both");
        }
        else if (continent is null && country is null && options.ErrorCount == errors)
        {
            options.Error(path, "needs a \"continent\" or a \"country\"");
        }

        if (subdivision is not null && country is null)
        {
            options.Error(JsonPathText.Property(path, "subdivision"), "a subdivision needs a country");
        }

        string[]? targets = null;
        if (element.TryGetProperty("dataCenters", out var targetsElement))
        {
            targets = options.DataCenterList(targetsElement, JsonPathText.Property(path, "dataCenters"));
        }
        else
        {
            options.Error(path, "needs \"dataCenters\": [...]");
        }

        return options.ErrorCount > errors || targets is null ? null : new GeolocationRule(continent, country, subdivision, targets);
    }


    public int Apply(Span<int> candidates, int count, SelectionContext context)
    {
        if (count == 0)
        {
            return 0;
        }

        var endpoints = context.Service.Endpoints;
        int kept;
        if (context.Geo?.GeolocationFor(this) is { } compiled)
        {
            var attempts = compiled.Choices[context.Decide(compiled.Tree)].Attempts;
            if (Geofence && attempts.Length > 0 && Policies.Geofence.RegionOf(context, attempts[0].DataCenters[0]) is { } fence
                && (count = Policies.Geofence.Keep(candidates, count, context, fence)) == 0)
            {
                return 0;
            }

            foreach (var (dataCenters, note) in attempts)
            {
                if ((kept = DataCenterRanking.KeepDataCenters(candidates, count, endpoints, dataCenters)) > 0)
                {
                    context.Note(note);
                    return kept;
                }
            }

            context.Note("no rule with candidates left: kept all");
            return count;
        }

        var location = context.Location.Location;
        if (Geofence && HomeDataCenter(location) is { } home && Policies.Geofence.RegionOf(context, home) is { } region
            && (count = Policies.Geofence.Keep(candidates, count, context, region)) == 0)
        {
            return 0;
        }

        // A geo-data override's pinned data center wins while it has candidates, as in geo-proximity.
        if (location.DataCenter is { } forced && (kept = DataCenterRanking.KeepDataCenter(candidates, count, endpoints, forced)) > 0)
        {
            if (context.Trace is not null)
            {
                context.Note("forced to data center " + forced + " by a geo-data override");
            }

            return kept;
        }

        if (location.CountryCode is { } countryCode && _countries.TryGetValue(countryCode, out var country))
        {
            if (location.SubdivisionCode is { } subdivision)
            {
                foreach (var (code, dataCenters) in country.Subdivisions)
                {
                    if (string.Equals(code, subdivision, StringComparison.OrdinalIgnoreCase)
                        && (kept = DataCenterRanking.KeepDataCenters(candidates, count, endpoints, dataCenters)) > 0)
                    {
                        context.Note("subdivision rule");
                        return kept;
                    }
                }
            }

            if (country.All is not null && (kept = DataCenterRanking.KeepDataCenters(candidates, count, endpoints, country.All)) > 0)
            {
                context.Note("country rule");
                return kept;
            }
        }

        if (location.ContinentCode is { } continent && _continents.TryGetValue(continent, out var forContinent)
            && (kept = DataCenterRanking.KeepDataCenters(candidates, count, endpoints, forContinent)) > 0)
        {
            context.Note("continent rule");
            return kept;
        }

        if (_default is not null && (kept = DataCenterRanking.KeepDataCenters(candidates, count, endpoints, _default)) > 0)
        {
            context.Note("default");
            return kept;
        }

        context.Note("no rule with candidates left: kept all");
        return count;
    }

    /// <summary>
    /// The data-center lists <see cref="Apply"/> tries for <paramref name="location"/>, in its order,
    /// for the precompiled tree: the same matching as the per-query path, without the candidates.
    /// </summary>
    internal GeolocationAttempts AttemptsFor(GeoLocation location)
    {
        var attempts = new List<(string[], string)>();
        if (location.DataCenter is { } forced)
        {
            // One array per pinned data center: the compiled tables tell decisions apart by their arrays' identity.
            attempts.Add((_forced.GetOrAdd(forced, static name => [name]), "forced to data center " + forced + " by a geo-data override"));
        }

        if (location.CountryCode is { } countryCode && _countries.TryGetValue(countryCode, out var country))
        {
            if (location.SubdivisionCode is { } subdivision)
            {
                foreach (var (code, dataCenters) in country.Subdivisions)
                {
                    if (string.Equals(code, subdivision, StringComparison.OrdinalIgnoreCase))
                    {
                        attempts.Add((dataCenters, "subdivision rule"));
                    }
                }
            }

            if (country.All is not null)
            {
                attempts.Add((country.All, "country rule"));
            }
        }

        if (location.ContinentCode is { } continent && _continents.TryGetValue(continent, out var forContinent))
        {
            attempts.Add((forContinent, "continent rule"));
        }

        if (_default is not null)
        {
            attempts.Add((_default, "default"));
        }

        return new GeolocationAttempts([.. attempts]);
    }

    /// <summary>The first data center of the first rule that matches <paramref name="location"/>, candidates aside: the client's home for a geofence.</summary>
    private string? HomeDataCenter(GeoLocation location)
    {
        if (location.DataCenter is { } forced)
        {
            return forced;
        }

        if (location.CountryCode is { } countryCode && _countries.TryGetValue(countryCode, out var country))
        {
            if (location.SubdivisionCode is { } subdivision)
            {
                foreach (var (code, dataCenters) in country.Subdivisions)
                {
                    if (string.Equals(code, subdivision, StringComparison.OrdinalIgnoreCase))
                    {
                        return dataCenters[0];
                    }
                }
            }

            if (country.All is not null)
            {
                return country.All[0];
            }
        }

        return location.ContinentCode is { } continent && _continents.TryGetValue(continent, out var forContinent) ? forContinent[0] : _default?[0];
    }

    private sealed record CountryRules(string[]? All, (string Code, string[] DataCenters)[] Subdivisions);
}
