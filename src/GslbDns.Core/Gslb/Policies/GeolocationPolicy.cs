using System.Collections.Frozen;

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
/// <remarks>Rules are validated by <see cref="PolicyFactory"/>: one rule per continent and per country/subdivision pair.</remarks>
public sealed class GeolocationPolicy : ISelectionPolicy
{
    public const string TypeName = "geolocation";

    // Codes are matched case-insensitively: MaxMind writes them upper-case, but a hand-written
    // geo-data override or a config may not.
    private readonly FrozenDictionary<string, string[]> _continents;
    private readonly FrozenDictionary<string, CountryRules> _countries;
    private readonly string[]? _default;

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

    public string Name => TypeName;

    public int Apply(Span<int> candidates, int count, SelectionContext context)
    {
        if (count == 0)
        {
            return 0;
        }

        var endpoints = context.Service.Endpoints;
        var location = context.Location.Location;
        int kept;
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

    private sealed record CountryRules(string[]? All, (string Code, string[] DataCenters)[] Subdivisions);
}
