using GslbDns.Dns;
using GslbDns.Gslb;
using GslbDns.Probing;
using static GslbDns.Tests.Core.Gslb.ConfigFiles.ConfigTestSupport;

namespace GslbDns.Tests.Core.Gslb.ConfigFiles;

/// <summary>
/// Calculated health and nested services (issue 15 item 3) in the loader: <c>health</c> rules, <c>service</c> endpoints linked
/// to the services they name across files, and every rejection (cycle, self-reference, unknown child, atLeast above the
/// children) with file, line and JSON path.
/// </summary>
public sealed class CalculatedHealthConfigTests
{
    /// <summary>A region name (app) choosing between two per-data-center services (eu, us); valid as it stands.</summary>
    public const string Nested = """
        {
          "dataCenters": {
            "eu-west": { "latitude": 53.35, "longitude": -6.26 },
            "us-east": { "latitude": 39.04, "longitude": -77.49 }
          },
          "services": {
            "app": {
              "policy": [ { "type": "healthy" }, { "type": "failover" } ],
              "health": { "service": "any" },
              "endpoints": [
                { "dataCenter": "eu-west", "service": "eu.app", "priority": 1 },
                { "dataCenter": "us-east", "service": "us.app.example.com.", "priority": 2 }
              ]
            },
            "eu.app": {
              "policy": [ { "type": "healthy" }, { "type": "multivalue" } ],
              "health": { "service": { "atLeast": 2 }, "dataCenter": "all" },
              "endpoints": [
                { "dataCenter": "eu-west", "address": "192.0.2.1" },
                { "dataCenter": "eu-west", "address": "192.0.2.2" }
              ]
            },
            "us.app": {
              "policy": [ { "type": "healthy" }, { "type": "multivalue" } ],
              "endpoints": [
                { "dataCenter": "us-east", "address": "198.51.100.1" }
              ]
            }
          }
        }
        """;

    private static DnsName Name(string relative) => DnsName.Parse(relative + ".example.com.");

    [Fact]
    public void Service_endpoints_link_to_their_children_and_rules_read()
    {
        var config = Load(Nested);
        var app = config.Services[Name("app")];
        Assert.Same(config.Services[Name("eu.app")], app.Endpoints[0].Child);
        Assert.Same(config.Services[Name("us.app")], app.Endpoints[1].Child);
        Assert.Equal("app.example.com/eu-west/eu.app.example.com", app.Endpoints[0].Id);
        var eu = config.Services[Name("eu.app")];
        Assert.Equal(new HealthRule(HealthRuleKind.AtLeast, 2), eu.ServiceHealth);
        Assert.Equal(HealthRule.All, eu.DataCenterHealth);
        Assert.Equal(HealthRule.Any, config.Services[Name("us.app")].ServiceHealth);
        Assert.Null(config.Services[Name("us.app")].DataCenterHealth);

        // A child service's endpoints are probed as its own; the parent's endpoints are not probed at all.
        var services = Load(Nested.Replace("\"endpoints\": [\n        { \"dataCenter\": \"us-east\", \"address\"", "\"check\": { \"type\": \"tcp\", \"port\": 80 },\n      \"endpoints\": [\n        { \"dataCenter\": \"us-east\", \"address\"", StringComparison.Ordinal));
        Assert.Equal(["us.app.example.com/us-east/198.51.100.1"], ProbeTarget.FromConfig(services).Select(t => t.EndpointId));
    }

    [Fact]
    public void A_child_may_live_in_another_file()
    {
        var parent = """
            {
              "services": {
                "region": { "policy": [ { "type": "healthy" }, { "type": "first" } ], "endpoints": [ { "dataCenter": "eu-west", "service": "eu.app.example.com." } ] }
              }
            }
            """;
        var config = GslbDns.Gslb.Config.GslbConfigLoader.LoadFromText([(FileName, Nested), ("zones/example.net.gslb.json", parent)], Served);
        Assert.Same(config.Services[Name("eu.app")], config.Services[DnsName.Parse("region.example.net.")].Endpoints[0].Child);
    }

    public static TheoryData<string, string, string, string> Rules => new()
    {
        // The reference that closes the cycle is named: eu.app -> app -> eu.app, written in eu.app's endpoints.
        { "{ \"dataCenter\": \"us-east\", \"address\": \"198.51.100.1\" }", Marker + "{ \"dataCenter\": \"us-east\", \"service\": \"app\" }", "$.services['us.app'].endpoints[0].service", "nested services form a cycle (app.example.com. -> us.app.example.com. -> app.example.com.): this reference closes it" },
        { "{ \"dataCenter\": \"us-east\", \"address\": \"198.51.100.1\" }", Marker + "{ \"dataCenter\": \"us-east\", \"service\": \"us.app\" }", "$.services['us.app'].endpoints[0].service", "service us.app.example.com. refers to itself" },
        { "\"service\": \"us.app.example.com.\"", Marker + "\"service\": \"uss.app.example.com.\"", "$.services.app.endpoints[1].service", "unknown service 'uss.app.example.com.' (did you mean 'us.app.example.com.'?)" },
        { "\"service\": { \"atLeast\": 2 }", Marker + "\"service\": { \"atLeast\": 3 }", "$.services['eu.app'].health.service", "atLeast 3 is more than the service's 2 endpoints" },
        { "\"dataCenter\": \"all\"", Marker + "\"dataCenter\": { \"atLeast\": 3 }", "$.services['eu.app'].health.dataCenter", "atLeast 3 is more than data center eu-west's 2 endpoints" },
        { "\"dataCenter\": \"all\"", Marker + "\"dataCenter\": \"most\"", "$.services['eu.app'].health.dataCenter", "a health rule is \"all\", \"any\" or {\"atLeast\": N}, not 'most'" },
        { "\"service\": { \"atLeast\": 2 }", Marker + "\"service\": { \"atLeast\": 0 }", "$.services['eu.app'].health.service.atLeast", "out of range 1..1000" },
        { "\"health\": { \"service\": \"any\" },", Marker + "\"health\": { \"servce\": \"any\" },", "$.services.app.health.servce", "(did you mean 'service'?)" },
        { "{ \"dataCenter\": \"eu-west\", \"service\": \"eu.app\", \"priority\": 1 }", Marker + "{ \"dataCenter\": \"eu-west\", \"service\": \"eu.app\", \"address\": \"192.0.2.9\" }", "$.services.app.endpoints[0].address", "an endpoint is one of 'address', 'host' or 'service'" },
        { "\"any\" },\n      \"endpoints\"|{ \"dataCenter\": \"us-east\", \"service\": \"us.app.example.com.\", \"priority\": 2 }", "\"any\" },\n      " + Marker + "\"endpoints\"|{ \"dataCenter\": \"us-east\", \"address\": \"192.0.2.9\" }", "$.services.app.endpoints", "all services or none" },
        { "\"health\": { \"service\": \"any\" },", Marker + "\"check\": { \"type\": \"tcp\", \"port\": 80 },", "$.services.app.check", "has no check of its own" },
        { "{ \"dataCenter\": \"us-east\", \"service\": \"us.app.example.com.\", \"priority\": 2 }", Marker + "{ \"dataCenter\": \"eu-west\", \"service\": \"eu.app\" }", "$.services.app.endpoints[1]", "is listed twice" },
    };

    [Theory]
    [MemberData(nameof(Rules))]
    public void Each_calculated_health_rule_names_file_line_and_path(string find, string replace, string path, string reason)
    {
        var text = Edit(Nested, find, replace);
        var error = Single(Errors(text), path);
        Assert.Equal(FileName, error.File);
        Assert.Equal(MarkedLine(text), error.Line);
        Assert.Contains(reason, error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Nesting_deeper_than_the_limit_is_refused_at_the_reference_that_exceeds_it()
    {
        // l0 -> l1 -> ... -> l5: l0's reference makes l1's depth-4 chain five deep.
        var levels = Enumerable.Range(0, CalculatedHealth.MaxNesting + 2).Select(i => i == CalculatedHealth.MaxNesting + 1
            ? $$"""    "l{{i}}": { "policy": [ { "type": "first" } ], "endpoints": [ { "dataCenter": "eu-west", "address": "192.0.2.1" } ] }"""
            : $$"""    "l{{i}}": { "policy": [ { "type": "first" } ], "endpoints": [ { "dataCenter": "eu-west", "service": "l{{i + 1}}" } ] }""");
        var text = $$"""
            {
              "dataCenters": { "eu-west": { "latitude": 53.35, "longitude": -6.26 } },
              "services": {
            {{string.Join(",\n", levels)}}
              }
            }
            """;
        var error = Single(Errors(text), "$.services.l0.endpoints[0].service");
        Assert.Contains($"at most {CalculatedHealth.MaxNesting} levels", error.Reason, StringComparison.Ordinal);
        Assert.Equal(LineOf(text, "\"l0\""), error.Line);
    }
}
