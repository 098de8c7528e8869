using GslbDns.Gslb;
using GslbDns.Gslb.Config;
using static GslbDns.Tests.Core.Gslb.ConfigFiles.ConfigTestSupport;

namespace GslbDns.Tests.Core.Gslb.ConfigFiles;

/// <summary>
/// Every policy reads its own options, and a bad one is reported with the file it is in, the line it is
/// on and its JSON path, straight from the policy's reader. The data centers live in a second file, so
/// a report that named the wrong file (or the first file's line) fails here.
/// </summary>
public sealed class PolicyOptionErrorTests
{
    private const string TopologyFile = "zones/datacenters.gslb.json";

    private const string ServiceFile = "zones/example.net.gslb.json";

    private const string Topology = """
        {
          "regions": { "eu": { "latitude": 50.1, "longitude": 8.7 }, "na": { "latitude": 38.9, "longitude": -77.0 } },
          "dataCenters": {
            "eu-west": { "latitude": 53.35, "longitude": -6.26, "region": "eu" },
            "us-east": { "latitude": 39.04, "longitude": -77.49, "region": "na" }
          }
        }
        """;

    /// <summary>One service whose chain has every policy type, one step per line (geolocation over several).</summary>
    private const string Service = """
        {
          "services": {
            "www": {
              "policy": [
                { "type": "healthy" },
                { "type": "failover" },
                { "type": "geolocation",
                  "rules": [
                    { "continent": "EU", "dataCenters": ["eu-west"] },
                    { "country": "US", "dataCenters": ["us-east"] }
                  ],
                  "default": ["us-east"] },
                { "type": "geo-proximity", "count": 2 },
                { "type": "latency", "count": 2 },
                { "type": "weighted", "count": 2, "sticky": true },
                { "type": "multivalue", "count": 2 },
                { "type": "first", "count": 1 }
              ],
              "endpoints": [
                { "dataCenter": "eu-west", "address": "192.0.2.10" },
                { "dataCenter": "us-east", "address": "192.0.2.20" }
              ]
            }
          }
        }
        """;

    private const string Chain = "$.services.www.policy";

    public static TheoryData<string, string, string, string> BadOptions => new()
    {
        { "{ \"type\": \"healthy\" }", Marker + "{ \"type\": \"healthy\", \"count\": 2 }", "[0].count", "unknown option (healthy takes no options)" },
        { "{ \"type\": \"failover\" }", Marker + "{ \"type\": \"failover\", \"sticky\": true }", "[1].sticky", "unknown option (failover takes no options)" },
        { "{ \"type\": \"geolocation\",", Marker + "{ \"type\": \"geolocation\", \"rulez\": [],", "[2].rulez", "unknown option (geolocation takes rules, default, geofence)" },
        { "{ \"country\": \"US\", \"dataCenters\": [\"us-east\"] }", Marker + "{ \"country\": \"US\", \"dataCenters\": [\"us-west\"] }", "[2].rules[1].dataCenters[0]", "unknown data center 'us-west'" },
        { "{ \"continent\": \"EU\",", Marker + "{ \"continent\": \"XX\",", "[2].rules[0].continent", "'XX' is not one of AF, AN, AS, EU, NA, OC, SA" },
        { "\"default\": [\"us-east\"] },", Marker + "\"default\": \"us-east\" },", "[2].default", "must be a non-empty array of data center names" },
        { "{ \"type\": \"geo-proximity\", \"count\": 2 }", Marker + "{ \"type\": \"geo-proximity\", \"count\": 0 }", "[3].count", "must be 1..64" },
        { "{ \"type\": \"latency\", \"count\": 2 }", Marker + "{ \"type\": \"latency\", \"count\": 65 }", "[4].count", "must be 1..64" },
        { "\"count\": 2, \"sticky\": true }", Marker + "\"count\": 2, \"sticky\": \"yes\" }", "[5].sticky", "must be true or false" },
        { "\"count\": 2, \"sticky\": true }", Marker + "\"count\": -1, \"sticky\": true }", "[5].count", "must be 1..64" },
        { "{ \"type\": \"multivalue\", \"count\": 2 }", Marker + "{ \"type\": \"multivalue\", \"count\": 1.5 }", "[6].count", "must be 1..64" },
        { "{ \"type\": \"first\", \"count\": 1 }", Marker + "{ \"type\": \"first\", \"cout\": 1 }", "[7].cout", "unknown option (first takes count)" },
    };

    [Fact]
    public void The_chain_with_every_policy_type_loads()
    {
        var config = GslbConfigLoader.LoadFromText([(TopologyFile, Topology), (ServiceFile, Service)], Served);

        var www = config.Services[Served[1].Prepend("www"u8)];
        Assert.Equal(
            ["healthy", "failover", "geolocation", "geo-proximity", "latency", "weighted", "multivalue", "first"],
            www.Policies.Select(p => p.Name));
    }

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void A_bad_policy_option_names_its_file_line_and_path(string find, string replace, string pathInChain, string reason)
    {
        var text = Edit(Service, find, replace);

        var errors = Errors((TopologyFile, Topology), (ServiceFile, text));

        var error = Assert.Single(errors);
        Assert.Equal(new ConfigError(ServiceFile, MarkedLine(text), Chain + pathInChain, error.Reason), error);
        Assert.StartsWith(reason, error.Reason, StringComparison.Ordinal);
        Assert.Equal($"{ServiceFile}:{MarkedLine(text)}: {Chain}{pathInChain}: {error.Reason}", error.ToString());
    }

    [Fact]
    public void Bad_options_in_two_steps_are_both_reported_on_their_own_lines_in_file_order()
    {
        var text = Edit(
            Service,
            "{ \"type\": \"latency\", \"count\": 2 }|{ \"type\": \"first\", \"count\": 1 }",
            "{ \"type\": \"latency\", \"count\": 0 }|{ \"type\": \"first\", \"count\": 99 }");

        var errors = Errors((TopologyFile, Topology), (ServiceFile, text));

        Assert.Equal(
            [
                (LineOf(text, "\"latency\""), Chain + "[4].count"),
                (LineOf(text, "\"first\""), Chain + "[7].count"),
            ],
            errors.Select(e => (e.Line, e.Path)));
        Assert.All(errors, e => Assert.Equal(ServiceFile, e.File));
    }
}
