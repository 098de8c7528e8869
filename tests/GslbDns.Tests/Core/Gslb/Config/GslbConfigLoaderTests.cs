using GslbDns.Dns;
using GslbDns.Gslb;
using GslbDns.Gslb.Config;
using static GslbDns.Tests.Core.Gslb.ConfigFiles.ConfigTestSupport;

namespace GslbDns.Tests.Core.Gslb.ConfigFiles;

/// <summary>Loading as a whole: files, merging, names, syntax errors and reporting every error at once.</summary>
public sealed class GslbConfigLoaderTests
{
    private const string Topology = """
        {
          "regions": { "eu": { "latitude": 50.1, "longitude": 8.7 } },
          "dataCenters": {
            "eu-west": { "latitude": 53.35, "longitude": -6.26, "region": "eu" },
            "us-east": { "latitude": 39.04, "longitude": -77.49 }
          }
        }
        """;

    private static readonly DnsName Www = DnsName.Parse("www.example.com.");

    private static string Service(string name, string address = "192.0.2.10", string dataCenter = "eu-west") => $$"""
        {
          "services": {
            "{{name}}": {
              "policy": [ { "type": "healthy" } ],
              "endpoints": [ { "dataCenter": "{{dataCenter}}", "address": "{{address}}" } ]
            }
          }
        }
        """;

    [Fact]
    public void No_files_give_the_empty_config()
    {
        Assert.Same(GslbConfig.Empty, GslbConfigLoader.LoadFromText([], Served));

        var folder = Directory.CreateTempSubdirectory("gslb-config-");
        try
        {
            System.IO.File.WriteAllText(Path.Combine(folder.FullName, "example.com.zone"), "not read here");
            Assert.Same(GslbConfig.Empty, GslbConfigLoader.Load(folder.FullName, Served));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void A_missing_folder_is_an_error_not_an_empty_config()
    {
        var missing = Path.Combine(Path.GetTempPath(), "gslb-config-missing-" + Guid.NewGuid().ToString("N"));

        var ex = Assert.Throws<GslbConfigException>(() => GslbConfigLoader.Load(missing, Served));

        var error = Assert.Single(ex.Errors);
        Assert.Equal(missing, error.File);
        Assert.StartsWith("cannot list the folder", error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_reads_every_GSLB_file_of_the_folder_and_names_them_in_errors()
    {
        var folder = Directory.CreateTempSubdirectory("gslb-config-");
        try
        {
            System.IO.File.WriteAllText(Path.Combine(folder.FullName, "topology.gslb.json"), Topology);
            System.IO.File.WriteAllText(Path.Combine(folder.FullName, "example.com.gslb.json"), Service("www"));
            System.IO.File.WriteAllText(Path.Combine(folder.FullName, "notes.json"), "not JSON and not read");

            var config = GslbConfigLoader.Load(folder.FullName, Served);
            Assert.Equal("www.example.com/eu-west/192.0.2.10", config.Services[Www].Endpoints[0].Id);

            var bad = Path.Combine(folder.FullName, "example.net.gslb.json");
            System.IO.File.WriteAllText(bad, Service("api", address: "192.0.2.999"));
            var ex = Assert.Throws<GslbConfigException>(() => GslbConfigLoader.Load(folder.FullName, Served));
            var error = Assert.Single(ex.Errors);
            Assert.Equal(new ConfigError(bad, 5, "$.services.api.endpoints[0].address", "'192.0.2.999' is not an IPv4 address (four decimal octets) or an IPv6 address"), error);
            Assert.Contains($"{bad}:5: $.services.api.endpoints[0].address: ", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void Sections_merge_across_files()
    {
        var config = GslbConfigLoader.LoadFromText(
            [("topology.gslb.json", Topology), ("example.com.gslb.json", Service("www")), ("example.net.gslb.json", Service("api", dataCenter: "us-east"))],
            Served);

        Assert.Equal(2, config.DataCenters.Count);
        Assert.Equal(string.Empty, config.DataCenters["us-east"].Region);
        Assert.Equal([DnsName.Parse("api.example.net."), Www], config.Services.Keys.OrderBy(n => n.ToString(), StringComparer.Ordinal));
        Assert.Equal(TtlLimits.Standard, config.Ttl);
        Assert.Equal(30u, config.Services[Www].Ttl);
        Assert.Null(config.Services[Www].Check);
    }

    [Fact]
    public void References_may_point_into_a_later_file()
    {
        // Services first, data centers and regions after: order of files does not matter.
        var config = GslbConfigLoader.LoadFromText([("example.com.gslb.json", Service("www")), ("z.gslb.json", Topology)], Served);

        Assert.Equal("eu", config.DataCenters["eu-west"].Region);
    }

    [Fact]
    public void Definitions_repeated_in_another_file_name_both_files()
    {
        const string again = """
            {
              "regions": { "eu": { "latitude": 50.1, "longitude": 8.7 } },
              "dataCenters": { "eu-west": { "latitude": 53.35, "longitude": -6.26 } },
              "ttl": { "default": 60 },
              "defaultLocation": { "latitude": 1, "longitude": 2 }
            }
            """;
        const string first = """
            {
              "ttl": { "default": 30 },
              "defaultLocation": { "latitude": 1, "longitude": 2 },
              "rtt": { "eu": { "eu-west": 5 } }
            }
            """;
        const string rttAgain = """{ "rtt": { "eu": { "eu-west": 6 } } }""";

        var errors = Errors(("a.gslb.json", Topology), ("b.gslb.json", first), ("c.gslb.json", again), ("d.gslb.json", rttAgain));

        Assert.Equal(
            [
                "c.gslb.json:2: $.regions.eu: region 'eu' is already defined at a.gslb.json:2",
                "c.gslb.json:3: $.dataCenters['eu-west']: data center 'eu-west' is already defined at a.gslb.json:4",
                "c.gslb.json:4: $.ttl: ttl is already set at b.gslb.json:2; set it in one file only",
                "c.gslb.json:5: $.defaultLocation: defaultLocation is already set at b.gslb.json:3; set it in one file only",
                "d.gslb.json:1: $.rtt.eu['eu-west']: rtt from 'eu' to 'eu-west' is already set at b.gslb.json:4",
            ],
            errors.Select(e => e.ToString()));
    }

    [Fact]
    public void A_service_defined_twice_names_both_places_whatever_spelling_names_it()
    {
        var errors = Errors(
            ("topology.gslb.json", Topology),
            ("example.com.gslb.json", Service("www")),
            ("more.gslb.json", Service("WWW.Example.COM.", address: "192.0.2.11")));

        var error = Assert.Single(errors);
        Assert.Equal("more.gslb.json:3: $.services['WWW.Example.COM.']: service www.example.com. is already defined at example.com.gslb.json:3", error.ToString());

        // Within one file: relative and absolute spellings of one name.
        var both = Edit(Service("www"), "\"services\": {", "\"services\": { \"www.example.com.\": { \"policy\": [ { \"type\": \"healthy\" } ], \"endpoints\": [ { \"dataCenter\": \"eu-west\", \"address\": \"192.0.2.9\" } ] },");
        error = Assert.Single(Errors(("topology.gslb.json", Topology), ("example.com.gslb.json", both)));
        Assert.Equal("$.services.www", error.Path);
        Assert.Contains("already defined at example.com.gslb.json:2", error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Relative_names_take_the_zone_the_file_is_named_after()
    {
        var config = GslbConfigLoader.LoadFromText(
            [("topology.gslb.json", Topology), ("/etc/gslb/example.net.gslb.json", Service("www.eu")), ("other.gslb.json", Service("api.example.com.", address: "192.0.2.11"))],
            Served);

        Assert.True(config.Services.ContainsKey(DnsName.Parse("www.eu.example.net.")));
        Assert.True(config.Services.ContainsKey(DnsName.Parse("api.example.com.")));
        Assert.Equal("www.eu.example.net/eu-west/192.0.2.10", config.Services[DnsName.Parse("www.eu.example.net.")].Endpoints[0].Id);
    }

    [Fact]
    public void A_relative_name_in_a_file_not_named_after_a_served_zone_is_an_error()
    {
        var errors = Errors(("topology.gslb.json", Topology), ("services.gslb.json", Service("www")), ("example.org.gslb.json", Service("api")));

        Assert.Equal(2, errors.Count);
        Assert.Equal(new ConfigError("services.gslb.json", 3, "$.services.www", "relative service name 'www' needs a file named after a served zone, such as example.com.gslb.json ('services.gslb.json' is not), or write it absolute with a trailing dot"), errors[0]);
        Assert.Equal("example.org.gslb.json", errors[1].File);
        Assert.Contains("('example.org.gslb.json' is not)", errors[1].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_syntax_error_gives_its_line_and_the_path_reached()
    {
        var text = Edit(Valid, "\"weight\": 100,", "\"weight\": 10O,");

        var errors = Errors(text);

        var error = Assert.Single(errors);
        Assert.Equal(LineOf(text, "10O"), error.Line);
        Assert.Equal("$.services.www.endpoints[0].weight", error.Path);
        Assert.StartsWith("JSON syntax: ", error.Reason, StringComparison.Ordinal);
        Assert.Contains("(column ", error.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("LineNumber", error.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", 1, "$")]
    [InlineData("{\n  \"services\": {\n    \"www\": {\n  }\n", 5, "$.services")]
    [InlineData("{\n  \"ttl\": { \"default\": 30, }\n}\n[]", 4, "$")]
    [InlineData("{\n  \"ttl\": { \"default\": 030 }\n}", 2, "$.ttl.default")]
    public void SyntaxErrorsAnywhere(string text, int line, string path)
    {
        var error = Assert.Single(Errors(text));

        Assert.Equal(line, error.Line);
        Assert.Equal(path, error.Path);
    }

    [Fact]
    public void A_missing_colon_is_reported_after_the_last_value_read()
    {
        // The reader rejects a property name without its colon before returning the name, so the path is the one before it.
        var text = Edit(Valid, "\"weight\": 100,", "\"weight\" 100,");

        var error = Assert.Single(Errors(text));

        Assert.Equal(LineOf(text, "\"weight\" 100"), error.Line);
        Assert.Equal("$.services.www.endpoints[0].address", error.Path);
        Assert.Contains("Expected a ':'", error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_syntax_error_in_one_file_does_not_hide_the_others_but_silences_unknown_references()
    {
        // The broken file may well define what the others refer to; "unknown data center" would be noise.
        var errors = Errors(("topology.gslb.json", "{ \"dataCenters\": { \"eu-west\": "), ("example.com.gslb.json", Service("www", address: "192.0.2.300")));

        Assert.Equal(2, errors.Count);
        Assert.Equal("topology.gslb.json", errors[0].File);
        Assert.Equal("$.services.www.endpoints[0].address", errors[1].Path);
    }

    [Fact]
    public void Every_error_is_reported_in_one_go_sorted_by_file_and_line()
    {
        var text = Edit(
            Valid,
            "\"bias\": 0|\"us-east\": 80|\"ttl\": 20,|\"weight\": 100|\"interval\": \"1s\"",
            "\"bias\": 200|\"us-east\": 99999|\"ttl\": 2,|\"weight\": 5000|\"interval\": \"1 s\"");

        var errors = Errors(("topology.gslb.json", "{ \"regions\": { \"x\": { } } }"), (FileName, text));

        Assert.Equal(
            [
                "$.regions.x.latitude",
                "$.regions.x.longitude",
                "$.dataCenters['eu-west'].bias",
                "$.rtt.eu['us-east']",
                "$.services.www.ttl",
                "$.services.www.check.interval",
                "$.services.www.endpoints[0].weight",
            ],
            errors.Select(e => e.Path));
        Assert.Equal(errors.OrderBy(e => e.File == FileName).ThenBy(e => e.Line), errors);
        Assert.All(errors.Skip(2), e => Assert.True(e.Line > 1));
    }

    [Fact]
    public void Null_means_absent()
    {
        var text = Edit(Valid, "\"ttl\": 20,|\"weight\": 100, \"priority\": 1|\"check\": {", "\"ttl\": null,|\"weight\": null, \"priority\": null|\"fallback\": null, \"check\": {");

        var www = Load(text).Services[Www];

        Assert.Equal(30u, www.Ttl);
        Assert.Equal((100, 0), (www.Endpoints[0].Weight, www.Endpoints[0].Priority));
        Assert.Empty(www.FallbackAddresses);
    }

    [Fact]
    public void Comments_and_trailing_commas_are_allowed()
    {
        var text = Edit(Valid, "\"rtt\": {|\"successThreshold\": 2 }", "// measured by hand, 2026-11\n  \"rtt\": {|\"successThreshold\": 2, /* trailing comma next */ }");

        Assert.Single(Load(text).Services);
    }

    [Fact]
    public void A_byte_order_mark_is_ignored()
    {
        Assert.Single(Load("\uFEFF" + Valid).Services);
    }

    [Fact]
    public void Addresses_are_stored_canonically()
    {
        var text = Edit(Valid, "\"2001:db8::10\"", "\"2001:DB8:0:0::10\"");

        var endpoint = Load(text).Services[Www].Endpoints[1];

        Assert.Equal("www.example.com/us-east/2001:db8::10", endpoint.Id);
    }

    [Fact]
    public void Checks_fill_in_their_defaults()
    {
        static HealthCheck? CheckOf(string check) =>
            Load(Edit(Valid, Valid.Split('\n').Single(l => l.Contains("\"check\"", StringComparison.Ordinal)).Trim(), $"\"check\": {check},")).Services[Www].Check;

        Assert.Equal(new HealthCheck("http", 80, "/", 200, null, null, TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(800), 3, 2), CheckOf("{ \"type\": \"http\" }"));
        Assert.Equal(new HealthCheck("https", 443, "/", 200, null, null, TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(400), 3, 2), CheckOf("{ \"type\": \"https\", \"interval\": \"500ms\" }"));
        Assert.Equal(new HealthCheck("tcp", 22, null, 0, null, null, TimeSpan.FromMinutes(1.5), TimeSpan.FromSeconds(5), 1, 1), CheckOf("{ \"type\": \"tcp\", \"port\": 22, \"interval\": \"1m30s\", \"failureThreshold\": 1, \"successThreshold\": 1 }"));
        Assert.Equal(new HealthCheck("dns", 5353, null, 0, null, "probe.example.com.", TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(800), 3, 2), CheckOf("{ \"type\": \"dns\", \"port\": 5353, \"queryName\": \"Probe.Example.com\" }"));
        Assert.Null(CheckOf("null"));
    }
}
