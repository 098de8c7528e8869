using System.Text.Json;
using GslbDns.Gslb;
using GslbDns.Gslb.Policies;
using static GslbDns.Tests.Core.Gslb.Policies.PolicyTestSupport;

namespace GslbDns.Tests.Core.Gslb.Policies;

public sealed class PolicyFactoryTests
{
    private const string File = "zones/example.com.gslb.json";
    private const string Step = "$.services['www.example.com'].policy[2]";

    private static readonly IReadOnlyDictionary<string, DataCenter> DataCenters = World.ToDictionary(dc => dc.Name);

    private static (ISelectionPolicy? Policy, List<ConfigError> Errors) Create(string json)
    {
        using var document = JsonDocument.Parse(json);
        var errors = new List<ConfigError>();
        var policy = PolicyFactory.Create(document.RootElement.Clone(), File, Step, DataCenters, errors);
        Assert.True(policy is null == errors.Count > 0, "null exactly when there are errors");
        return (policy, errors);
    }

    private static T Build<T>(string json)
        where T : ISelectionPolicy
    {
        var (policy, errors) = Create(json);
        Assert.Empty(errors);
        return Assert.IsType<T>(policy);
    }

    private static string[] Errors(string json) => [.. Create(json).Errors.Select(e => $"{e.Path}: {e.Reason}")];

    [Fact]
    public void Builds_every_type_with_its_defaults()
    {
        Assert.Same(HealthyPolicy.Instance, Build<HealthyPolicy>("""{"type": "healthy"}"""));
        Assert.Same(FailoverPolicy.Instance, Build<FailoverPolicy>("""{"type": "failover"}"""));
        Assert.Equal(1, Build<GeoProximityPolicy>("""{"type": "geo-proximity"}""").Count);
        Assert.Equal(1, Build<LatencyPolicy>("""{"type": "latency"}""").Count);
        Assert.Equal(1, Build<FirstPolicy>("""{"type": "first"}""").Count);
        Assert.Equal(8, Build<MultivaluePolicy>("""{"type": "multivalue"}""").Count);
        var weighted = Build<WeightedPolicy>("""{"type": "weighted"}""");
        Assert.Equal((1, false), (weighted.Count, weighted.Sticky));
    }

    [Fact]
    public void Builds_every_type_with_its_options()
    {
        Assert.Equal(3, Build<GeoProximityPolicy>("""{"type": "geo-proximity", "count": 3}""").Count);
        Assert.Equal(2, Build<LatencyPolicy>("""{"type": "latency", "count": 2}""").Count);
        Assert.Equal(4, Build<FirstPolicy>("""{"count": 4, "type": "first"}""").Count);
        Assert.Equal(64, Build<MultivaluePolicy>("""{"type": "multivalue", "count": 64}""").Count);
        var weighted = Build<WeightedPolicy>("""{"type": "weighted", "count": 2, "sticky": true}""");
        Assert.Equal((2, true), (weighted.Count, weighted.Sticky));
    }

    [Fact]
    public void Builds_geolocation_rules()
    {
        var policy = Build<GeolocationPolicy>("""
            {
              "type": "geolocation",
              "rules": [
                {"continent": "eu", "dataCenters": ["frankfurt", "dublin"]},
                {"country": "US", "subdivision": "CA", "dataCenters": ["ashburn"]},
                {"country": "GB", "dataCenters": ["dublin"]}
              ],
              "default": ["ashburn"]
            }
            """);

        Assert.Equal(
            [
                new GeolocationRule("EU", null, null, ["frankfurt", "dublin"]),
                new GeolocationRule(null, "US", "CA", ["ashburn"]),
                new GeolocationRule(null, "GB", null, ["dublin"]),
            ],
            policy.Rules.Select(r => r with { DataCenters = r.DataCenters }),
            new RuleComparer());
        Assert.Equal(["ashburn"], policy.DefaultDataCenters!);
    }

    [Fact]
    public void Errors_name_file_and_path()
    {
        var error = Assert.Single(Create("""{"type": "first", "count": 0}""").Errors);

        Assert.Equal(new ConfigError(File, 0, Step + ".count", "must be 1..64"), error);
        Assert.Equal($"{File}: $.services['www.example.com'].policy[2].count: must be 1..64", error.ToString());
    }

    [Theory]
    [InlineData("""{"type": "nearest"}""", ".type: unknown policy type 'nearest'")]
    [InlineData("""{"type": 3}""", ".type: must be a string")]
    [InlineData("""{"count": 2}""", ": needs a \"type\"")]
    [InlineData("""["healthy"]""", ": must be an object")]
    [InlineData("""{"type": "geo-proximity", "cout": 2}""", ".cout: unknown option (geo-proximity takes count, geofence)")]
    [InlineData("""{"type": "healthy", "count": 2}""", ".count: unknown option (healthy takes no options)")]
    [InlineData("""{"type": "failover", "sticky": true}""", ".sticky: unknown option")]
    [InlineData("""{"type": "weighted", "some option": 1}""", "['some option']: unknown option (weighted takes count, sticky)")]
    [InlineData("""{"type": "geo-proximity", "count": 0}""", ".count: must be 1..64")]
    [InlineData("""{"type": "latency", "count": 65}""", ".count: must be 1..64")]
    [InlineData("""{"type": "multivalue", "count": 100}""", ".count: must be 1..64")]
    [InlineData("""{"type": "first", "count": 1.5}""", ".count: must be 1..64")]
    [InlineData("""{"type": "first", "count": "2"}""", ".count: must be 1..64")]
    [InlineData("""{"type": "weighted", "count": -1}""", ".count: must be 1..64")]
    [InlineData("""{"type": "weighted", "sticky": "yes"}""", ".sticky: must be true or false")]
    public void RejectsBadSteps(string json, string expected)
    {
        var error = Assert.Single(Errors(json));

        Assert.StartsWith(Step + expected, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"type": "geolocation", "default": ["ashburn"]}""", ": geolocation needs \"rules\"")]
    [InlineData("""{"type": "geolocation", "rules": {}}""", ".rules: must be an array")]
    [InlineData("""{"type": "geolocation", "rules": [3]}""", ".rules[0]: must be an object")]
    [InlineData("""{"type": "geolocation", "rules": [{"continent": "EU", "dataCenters": ["frankfurt", "paris"]}]}""", ".rules[0].dataCenters[1]: unknown data center 'paris'")]
    [InlineData("""{"type": "geolocation", "rules": [{"continent": "EU", "dataCenters": []}]}""", ".rules[0].dataCenters: must be a non-empty array")]
    [InlineData("""{"type": "geolocation", "rules": [{"continent": "EU"}]}""", ".rules[0]: needs \"dataCenters\"")]
    [InlineData("""{"type": "geolocation", "rules": [{"continent": "XX", "dataCenters": ["dublin"]}]}""", ".rules[0].continent: 'XX' is not one of AF, AN, AS, EU, NA, OC, SA")]
    [InlineData("""{"type": "geolocation", "rules": [{"country": "USA", "dataCenters": ["ashburn"]}]}""", ".rules[0].country: must be a string of 2 letters")]
    [InlineData("""{"type": "geolocation", "rules": [{"country": "US", "subdivision": "C-A", "dataCenters": ["ashburn"]}]}""", ".rules[0].subdivision: must be a string of 1-3 letters or digits")]
    [InlineData("""{"type": "geolocation", "rules": [{"continent": "EU", "country": "FR", "dataCenters": ["frankfurt"]}]}""", ".rules[0]: give a continent or a country, not both")]
    [InlineData("""{"type": "geolocation", "rules": [{"dataCenters": ["frankfurt"]}]}""", ".rules[0]: needs a \"continent\" or a \"country\"")]
    [InlineData("""{"type": "geolocation", "rules": [{"continent": "EU", "subdivision": "IDF", "dataCenters": ["frankfurt"]}]}""", ".rules[0].subdivision: a subdivision needs a country")]
    [InlineData("""{"type": "geolocation", "rules": [{"continent": "EU", "city": "Paris", "dataCenters": ["frankfurt"]}]}""", ".rules[0].city: unknown key")]
    [InlineData("""{"type": "geolocation", "rules": [], "default": ["atlantis"]}""", ".default[0]: unknown data center 'atlantis'")]
    [InlineData("""{"type": "geolocation", "rules": [], "default": "ashburn"}""", ".default: must be a non-empty array")]
    public void RejectsBadGeolocation(string json, string expected)
    {
        var error = Assert.Single(Errors(json));

        Assert.StartsWith(Step + expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_geolocation_rules_name_the_first()
    {
        var errors = Errors("""
            {"type": "geolocation", "rules": [
              {"country": "US", "subdivision": "CA", "dataCenters": ["ashburn"]},
              {"continent": "EU", "dataCenters": ["dublin"]},
              {"country": "us", "subdivision": "ca", "dataCenters": ["dublin"]},
              {"continent": "EU", "dataCenters": ["frankfurt"]},
              {"country": "US", "dataCenters": ["ashburn"]}
            ]}
            """);

        Assert.Equal(
            [
                $"{Step}.rules[2]: a second rule for country US-CA (the first is {Step}.rules[0])",
                $"{Step}.rules[3]: a second rule for continent EU (the first is {Step}.rules[1])",
            ],
            errors);
    }

    [Fact]
    public void Reports_every_problem_not_just_the_first()
    {
        var errors = Errors("""{"type": "weighted", "count": 0, "sticky": 1, "stiky": true}""");

        Assert.Equal(3, errors.Length);
        Assert.Contains(errors, e => e.StartsWith(Step + ".stiky: unknown option", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith(Step + ".count: must be 1..64", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith(Step + ".sticky: must be true or false", StringComparison.Ordinal));
    }

    [Fact]
    public void Errors_are_appended_to_the_callers_list()
    {
        using var document = JsonDocument.Parse("""{"type": "first", "count": 99}""");
        var errors = new List<ConfigError> { new(File, 3, "$.other", "earlier problem") };

        Assert.Null(PolicyFactory.Create(document.RootElement, File, Step, DataCenters, errors));
        Assert.Equal(2, errors.Count);
        Assert.Equal("earlier problem", errors[0].Reason);

        // A valid step after earlier errors in the same file still builds.
        using var valid = JsonDocument.Parse("""{"type": "first"}""");
        Assert.NotNull(PolicyFactory.Create(valid.RootElement, File, Step, DataCenters, errors));
    }

    private sealed class RuleComparer : IEqualityComparer<GeolocationRule>
    {
        public bool Equals(GeolocationRule? x, GeolocationRule? y) =>
            x is not null && y is not null
            && (x.Continent, x.Country, x.Subdivision) == (y.Continent, y.Country, y.Subdivision)
            && x.DataCenters.SequenceEqual(y.DataCenters);

        public int GetHashCode(GeolocationRule obj) => HashCode.Combine(obj.Continent, obj.Country, obj.Subdivision);
    }
}
