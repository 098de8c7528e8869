using GslbDns.Gslb;
using static GslbDns.Tests.Core.Gslb.ConfigFiles.ConfigTestSupport;

namespace GslbDns.Tests.Core.Gslb.ConfigFiles;

/// <summary>
/// The config elements of external feeds and load shedding (issue 15 items 4 and 5): top-level <c>feeds.mode</c>, a
/// service's <c>feed</c> and <c>loadShedding</c>, an endpoint's <c>capacity</c> and a check's <c>load</c>; what loads and
/// every rejection with file, line and path.
/// </summary>
public sealed class FeedConfigTests
{
    private const string Policy = "\"policy\": [ { \"type\": \"healthy\" }, { \"type\": \"geo-proximity\", \"count\": 1 }, { \"type\": \"weighted\" } ],";
    private const string FirstEndpoint = "{ \"dataCenter\": \"eu-west\", \"address\": \"192.0.2.10\", \"weight\": 100, \"priority\": 1 }";

    public static TheoryData<string, string, string, string> Rules => new()
    {
        { Policy, Policy + Marker + "\"feed\": \"vetoo\",", "$.services.www.feed", "must be one of vote, veto, off, not 'vetoo' (did you mean 'veto'?)" },
        { Policy, Policy + Marker + "\"feed\": true,", "$.services.www.feed", "must be a string" },
        { Policy, Policy + Marker + "\"loadShedding\": { \"lowWatermark\": 0.9, \"highWatermark\": 0.8 },", "$.services.www.loadShedding.highWatermark", "must be above lowWatermark" },
        { Policy, Policy + Marker + "\"loadShedding\": { \"lowWatermark\": 0.9 },", "$.services.www.loadShedding.highWatermark", "missing required property" },
        { Policy, Policy + Marker + "\"loadShedding\": { \"lowWatermark\": 0.9, \"highWatermark\": 11 },", "$.services.www.loadShedding.highWatermark", "out of range 0..10" },
        { Policy, Policy + Marker + "\"loadShedding\": { \"low\": 0.9, \"highWatermark\": 1 },", "$.services.www.loadShedding.low", "unknown property 'low'" },
        { FirstEndpoint, Marker + FirstEndpoint[..^2] + ", \"capacity\": 0 }", "$.services.www.endpoints[0].capacity", "capacity must be greater than 0" },
        { FirstEndpoint, Marker + FirstEndpoint[..^2] + ", \"capacity\": \"10\" }", "$.services.www.endpoints[0].capacity", "must be a number" },
        { "\"path\": \"/health\"", Marker + "\"path\": \"/health\", \"load\": { }", "$.services.www.check.load", "exactly one of 'header'" },
        { "\"path\": \"/health\"", Marker + "\"path\": \"/health\", \"load\": { \"header\": \"X-Load\", \"json\": \"load\" }", "$.services.www.check.load", "exactly one of 'header'" },
        { "\"path\": \"/health\"", Marker + "\"path\": \"/health\", \"load\": { \"header\": \"X Load\" }", "$.services.www.check.load.header", "is not an HTTP header name" },
        { "\"path\": \"/health\"", Marker + "\"path\": \"/health\", \"load\": { \"json\": \"stats..cpu\" }", "$.services.www.check.load.json", "dotted path" },
        { "\"type\": \"http\", \"port\": 80, \"path\": \"/health\", \"expectStatus\": 200, \"expectBody\": null,", Marker + "\"type\": \"tcp\", \"port\": 80, \"load\": { \"header\": \"X-Load\" },", "$.services.www.check.load", "a tcp check has none" },
        { "\"ttl\": { \"default\": 30", Marker + "\"feeds\": { \"mode\": \"sometimes\" }, \"ttl\": { \"default\": 30", "$.feeds.mode", "must be one of vote, veto, off" },
        { "\"ttl\": { \"default\": 30", Marker + "\"feeds\": { \"mod\": \"veto\" }, \"ttl\": { \"default\": 30", "$.feeds.mod", "unknown property 'mod'" },
    };

    [Theory]
    [MemberData(nameof(Rules))]
    public void Each_feed_and_shedding_rule_names_file_line_and_path(string find, string replace, string path, string reason)
        => AssertRule(find, replace, path, reason);

    [Fact]
    public void Modes_watermarks_capacities_and_load_sources_load()
    {
        var www = Served[0].Prepend("www"u8);
        var plain = Load(Valid).Services[www];
        Assert.Equal(FeedMode.Vote, plain.FeedMode);
        Assert.All(plain.Endpoints, e => Assert.Equal((FeedMode.Vote, 1.0), (e.FeedMode, e.Capacity)));
        Assert.Null(plain.Shedding);
        Assert.Null(plain.Check!.LoadFrom);

        // The top-level default applies to every service that sets none; a service's own wins.
        var text = Edit(
            Valid,
            "\"ttl\": { \"default\": 30|" + Policy + "|" + FirstEndpoint + "|\"path\": \"/health\"",
            "\"feeds\": { \"mode\": \"off\" }, \"ttl\": { \"default\": 30|" + Policy + " \"feed\": \"veto\", \"loadShedding\": { \"lowWatermark\": 0.75, \"highWatermark\": 0.95 },|"
            + FirstEndpoint[..^2] + ", \"capacity\": 250 }|\"path\": \"/health\", \"load\": { \"json\": \"stats.cpu\" }");
        var service = Load(text).Services[www];
        Assert.Equal(FeedMode.Veto, service.FeedMode);
        Assert.All(service.Endpoints, e => Assert.Equal(FeedMode.Veto, e.FeedMode));
        Assert.Equal([250.0, 1.0], service.Endpoints.Select(e => e.Capacity));
        Assert.Equal(new LoadShedding(0.75, 0.95), service.Shedding);
        Assert.Equal(["stats", "cpu"], service.Check!.LoadFrom!.JsonPath);
        Assert.Equal(FeedMode.Off, Load(Edit(Valid, "\"ttl\": { \"default\": 30", "\"feeds\": { \"mode\": \"off\" }, \"ttl\": { \"default\": 30")).Services[www].FeedMode);
    }

    [Fact]
    public void Two_files_setting_the_feed_default_is_an_error_in_the_second()
    {
        var second = "{ \"feeds\": { \"mode\": \"veto\" } }";
        var errors = Errors((FileName, Edit(Valid, "\"ttl\": { \"default\": 30", "\"feeds\": { \"mode\": \"off\" }, \"ttl\": { \"default\": 30")), ("zones/other.gslb.json", second));
        var error = Single(errors, "$.feeds");
        Assert.Equal("zones/other.gslb.json", error.File);
        Assert.Contains("already set in " + FileName, error.Reason, StringComparison.Ordinal);
    }
}
