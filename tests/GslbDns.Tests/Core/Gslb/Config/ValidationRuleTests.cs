using static GslbDns.Tests.Core.Gslb.ConfigFiles.ConfigTestSupport;

namespace GslbDns.Tests.Core.Gslb.ConfigFiles;

/// <summary>
/// Every validation rule, one broken thing at a time in an otherwise valid config: the error must
/// name the file, the line (marked in the edited text with <c>/*!*/</c>) and the JSON path.
/// </summary>
public sealed class ValidationRuleTests
{
    public static TheoryData<string, string, string, string> Rules => new()
    {
        // Unknown properties, at every level, with a hint.
        { "\"ttl\": {", "\"tll\": " + Marker + " {", "$.tll", "unknown property 'tll' (did you mean 'ttl'?)" },
        { "\"bias\": 0", Marker + "\"bais\": 0", "$.dataCenters['eu-west'].bais", "unknown property 'bais' (did you mean 'bias'?)" },
        { "\"longitude\": 8.7", Marker + "\"longitude\": 8.7, \"altitude\": 3", "$.regions.eu.altitude", "unknown property 'altitude'" },
        { "\"ttl\": 20,", "\"ttl\": 20, " + Marker + "\"tl\": 20,", "$.services.www.tl", "unknown property 'tl'" },
        { "\"weight\": 100", Marker + "\"wieght\": 100", "$.services.www.endpoints[0].wieght", "(did you mean 'weight'?)" },
        { "\"successThreshold\": 2", Marker + "\"successTreshold\": 2", "$.services.www.check.successTreshold", "(did you mean 'successThreshold'?)" },
        { "\"latitude\": 39.0,", Marker + "\"Latitude\": 39.0,", "$.defaultLocation.Latitude", "(did you mean 'latitude'?)" },

        // Property names repeated inside one object.
        { "\"ttl\": 20,", "\"ttl\": 20, " + Marker + "\"ttl\": 25,", "$.services.www.ttl", "duplicate property 'ttl' (first at line" },

        // Types.
        { "\"weight\": 100", Marker + "\"weight\": \"100\"", "$.services.www.endpoints[0].weight", "must be a number, not a string" },
        { "\"weight\": 100", Marker + "\"weight\": 1.5", "$.services.www.endpoints[0].weight", "must be a whole number" },
        { "\"interval\": \"1s\"", Marker + "\"interval\": 1", "$.services.www.check.interval", "must be a string" },
        { "\"endpoints\": [", Marker + "\"endpoints\": {}, \"x\": [", "$.services.www.endpoints", "must be an array" },

        // Data centers and regions.
        { "\"latitude\": 53.35", Marker + "\"latitude\": 95", "$.dataCenters['eu-west'].latitude", "latitude 95 is out of range -90..90" },
        { "\"longitude\": -6.26", Marker + "\"longitude\": -181", "$.dataCenters['eu-west'].longitude", "out of range -180..180" },
        { "\"bias\": 0", Marker + "\"bias\": 100", "$.dataCenters['eu-west'].bias", "bias 100 is out of range -99..99" },
        { "\"region\": \"eu\"", Marker + "\"region\": \"europe\"", "$.dataCenters['eu-west'].region", "unknown region 'europe'" },
        { "\"latitude\": 53.35, ", Marker, "$.dataCenters['eu-west'].latitude", "missing required property 'latitude'" },
        { "\"us-east\": { \"latitude\": 39.04", Marker + "\"us/east\": { \"latitude\": 39.04", "$.dataCenters['us/east']", "must be 1..63 characters" },
        { "\"latitude\": 50.1", Marker + "\"latitude\": -91", "$.regions.eu.latitude", "out of range -90..90" },
        { "\"latitude\": 39.0,", Marker + "\"latitude\": 91,", "$.defaultLocation.latitude", "out of range -90..90" },

        // RTT matrix.
        { "\"rtt\": { \"eu\":", "\"rtt\": { " + Marker + "\"asia\":", "$.rtt.asia", "unknown region 'asia'" },
        { "\"us-east\": 80 }", Marker + "\"us-esat\": 80 }", "$.rtt.eu['us-esat']", "unknown data center 'us-esat' (did you mean 'us-east'?)" },
        { "\"us-east\": 80 }", Marker + "\"us-east\": 20000 }", "$.rtt.eu['us-east']", "rtt 20000 is out of range 0..10000" },
        { "\"us-east\": 80 }", Marker + "\"us-east\": -1 }", "$.rtt.eu['us-east']", "out of range 0..10000" },

        // TTL limits and the service TTL.
        { "\"min\": 5", Marker + "\"min\": 0", "$.ttl.min", "min 0 is out of range 1..86400" },
        { "\"max\": 300", Marker + "\"max\": 90000", "$.ttl.max", "max 90000 is out of range 1..86400" },
        { "\"min\": 5", Marker + "\"min\": 40", "$.ttl.default", "ttl.default 30 is outside ttl.min..ttl.max (40..300)" },
        { "\"min\": 5, \"max\": 300", Marker + "\"min\": 50, \"max\": 40", "$.ttl.min", "ttl.min 50 is above ttl.max 40" },
        { "\"ttl\": 20,", Marker + "\"ttl\": 400,", "$.services.www.ttl", "ttl 400 is outside ttl.min..ttl.max (5..300)" },
        { "\"ttl\": 20,", Marker + "\"ttl\": 1,", "$.services.www.ttl", "outside ttl.min..ttl.max" },

        // Service names.
        { "\"www\": {", Marker + "\"www.example.org.\": {", "$.services['www.example.org.']", "not inside a served zone" },
        { "\"www\": {", Marker + "\"a.b.\": {", "$.services['a.b.']", "service a.b. is not inside a served zone (served: example.com., example.net.)" },
        { "\"www\": {", Marker + "\"example.net.\": {", "$.services['example.net.']", "is a zone apex" },
        { "\"www\": {", Marker + "\"@\": {", "$.services['@']", "is a zone apex" },
        { "\"www\": {", Marker + "\"a..b\": {", "$.services['a..b']", "invalid service name 'a..b'" },
        { "\"www\": {", Marker + "\"*.www\": {", "$.services['*.www']", "wildcard" },

        // Endpoints.
        { "\"dataCenter\": \"eu-west\"", Marker + "\"dataCenter\": \"eu-wset\"", "$.services.www.endpoints[0].dataCenter", "unknown data center 'eu-wset' (did you mean 'eu-west'?)" },
        { "\"dataCenter\": \"eu-west\", ", Marker, "$.services.www.endpoints[0].dataCenter", "missing required property 'dataCenter'" },
        { "\"address\": \"192.0.2.10\"", Marker + "\"address\": \"192.0.2\"", "$.services.www.endpoints[0].address", "'192.0.2' is not an IPv4 address" },
        { "\"address\": \"192.0.2.10\"", Marker + "\"address\": \"192.0.2.256\"", "$.services.www.endpoints[0].address", "is not an IPv4 address" },
        { "\"address\": \"192.0.2.10\"", Marker + "\"address\": \"www.example.com\"", "$.services.www.endpoints[0].address", "is not an IPv4 address" },
        { "\"address\": \"2001:db8::10\"", Marker + "\"address\": \"2001:db8::10::1\"", "$.services.www.endpoints[1].address", "is not an IPv6 address" },
        { "\"address\": \"2001:db8::10\"", Marker + "\"address\": \"fe80::1%eth0\"", "$.services.www.endpoints[1].address", "is not an IPv6 address" },
        { "\"address\": \"2001:db8::10\"", Marker + "\"address\": \"0.0.0.0\"", "$.services.www.endpoints[1].address", "not a unicast address" },
        { "\"weight\": 100", Marker + "\"weight\": 1001", "$.services.www.endpoints[0].weight", "weight 1001 is out of range 0..1000" },
        { "\"weight\": 100", Marker + "\"weight\": -1", "$.services.www.endpoints[0].weight", "out of range 0..1000" },
        { "\"priority\": 1", Marker + "\"priority\": 101", "$.services.www.endpoints[0].priority", "priority 101 is out of range 0..100" },
        {
            "{ \"dataCenter\": \"us-east\", \"address\": \"2001:db8::10\" }",
            Marker + "{ \"dataCenter\": \"eu-west\", \"address\": \"192.0.2.10\" }",
            "$.services.www.endpoints[1]",
            "endpoint eu-west/192.0.2.10 is listed twice (first at endpoints[0])"
        },

        // All-unhealthy behaviour and fallback.
        { "\"fail-open\"", Marker + "\"fail-closed\"", "$.services.www.whenAllUnhealthy", "must be 'fail-open' or 'fallback', not 'fail-closed'" },
        { "\"www\": {|\"fail-open\"", "\"www\": {" + Marker + "|\"fallback\"", "$.services.www.fallback", "needs a non-empty 'fallback' list" },
        { "\"fail-open\"", "\"fallback\", " + Marker + "\"fallback\": []", "$.services.www.fallback", "at least one address" },
        { "\"fail-open\"", "\"fallback\", \"fallback\": [ \"192.0.2.1\", " + Marker + "\"192.0.2.300\" ]", "$.services.www.fallback[1]", "'192.0.2.300' is not an IPv4 address" },
        { "\"fail-open\"", "\"fallback\", \"fallback\": [ \"192.0.2.1\", " + Marker + "\"192.0.2.1\" ]", "$.services.www.fallback[1]", "listed twice" },

        // Health checks.
        { "\"type\": \"http\"", Marker + "\"type\": \"htp\"", "$.services.www.check.type", "unknown check type 'htp'" },
        { "\"port\": 80,", Marker + "\"port\": 0,", "$.services.www.check.port", "port 0 is out of range 1..65535" },
        { "\"expectStatus\": 200", Marker + "\"expectStatus\": 600", "$.services.www.check.expectStatus", "expectStatus 600 is out of range 100..599" },
        { "\"path\": \"/health\"", Marker + "\"path\": \"health\"", "$.services.www.check.path", "must start with '/'" },
        { "\"check\": { \"type\": \"http\", \"port\": 80,", Marker + "\"check\": { \"type\": \"tcp\",", "$.services.www.check.port", "missing required property 'port'" },
        { "\"check\": { \"type\": \"http\", \"port\": 80, \"path\": \"/health\"", "\"check\": { \"type\": \"tcp\", \"port\": 80, " + Marker + "\"path\": \"/health\"", "$.services.www.check.path", "'path' does not apply to tcp checks" },
        { "\"check\": { \"type\": \"http\",", Marker + "\"check\": { \"type\": \"dns\",", "$.services.www.check.queryName", "missing required property 'queryName'" },
        { "\"queryName\": null", Marker + "\"queryName\": \"probe.example.com.\"", "$.services.www.check.queryName", "'queryName' does not apply to http checks" },
        { "\"interval\": \"1s\"", Marker + "\"interval\": \"50ms\"", "$.services.www.check.interval", "interval 50ms is out of range 100ms..1h" },
        { "\"interval\": \"1s\"", Marker + "\"interval\": \"2h\"", "$.services.www.check.interval", "out of range 100ms..1h" },
        { "\"interval\": \"1s\"", Marker + "\"interval\": \"1000\"", "$.services.www.check.interval", "a number needs a unit" },
        { "\"interval\": \"1s\"", Marker + "\"interval\": \"1sec\"", "$.services.www.check.interval", "unknown unit 'sec'" },
        { "\"timeout\": \"800ms\"", Marker + "\"timeout\": \"1s\"", "$.services.www.check.timeout", "timeout 1s must be shorter than the interval 1s" },
        { "\"failureThreshold\": 3", Marker + "\"failureThreshold\": 0", "$.services.www.check.failureThreshold", "failureThreshold 0 is out of range 1..100" },
        { "\"successThreshold\": 2", Marker + "\"successThreshold\": 101", "$.services.www.check.successThreshold", "out of range 1..100" },

        // Policy chain: the loader's own rules, and the policy factory's errors given their lines.
        { "\"www\": {|\"policy\": [ { \"type\": \"healthy\" }, { \"type\": \"geo-proximity\", \"count\": 1 }, { \"type\": \"weighted\" } ],", "\"www\": {" + Marker + "|", "$.services.www.policy", "missing required property 'policy'" },
        { "\"policy\": [ { \"type\": \"healthy\" }, { \"type\": \"geo-proximity\", \"count\": 1 }, { \"type\": \"weighted\" } ],", Marker + "\"policy\": [],", "$.services.www.policy", "at least one step" },
        { "{ \"type\": \"healthy\" }, {", "{ \"type\": \"healthy\" }, " + Marker + "\"geo\", {", "$.services.www.policy[1]", "must be an object" },
        { "{ \"type\": \"weighted\" }", Marker + "{ \"type\": \"wieghted\" }", "$.services.www.policy[2].type", "wieghted" },
    };

    [Theory]
    [MemberData(nameof(Rules))]
    public void Each_rule_names_file_line_and_path(string find, string replace, string path, string reason)
        => AssertRule(find, replace, path, reason);

    [Fact]
    public void The_valid_text_is_valid()
    {
        var config = Load(Valid);

        var www = config.Services[Served[0].Prepend("www"u8)];
        Assert.Equal(20u, www.Ttl);
        Assert.Equal(["healthy", "geo-proximity", "weighted"], www.Policies.Select(p => p.Name));
    }

    [Fact]
    public void A_service_without_endpoints_is_an_error()
    {
        var text = Edit(Valid, "\"www\": {", "\"www\": {" + Marker);
        var start = text.IndexOf("\"endpoints\": [", StringComparison.Ordinal);
        var end = text.IndexOf(']', text.IndexOf("2001:db8::10", StringComparison.Ordinal));
        var empty = string.Concat(text.AsSpan(0, start), "\"endpoints\": [ ]", text.AsSpan(end + 1));

        var error = Single(Errors(empty), "$.services.www.endpoints");
        Assert.Equal(LineOf(empty, "\"endpoints\""), error.Line);
        Assert.Contains("at least one endpoint", error.Reason, StringComparison.Ordinal);

        var missing = string.Concat(text.AsSpan(0, text.LastIndexOf(',', start)), text.AsSpan(end + 1));
        error = Single(Errors(missing), "$.services.www.endpoints");
        Assert.Equal(MarkedLine(missing), error.Line);
    }

    [Fact]
    public void Regions_may_be_free_text_when_none_are_defined()
    {
        var text = Edit(Valid, "\"eu\": { \"latitude\": 50.1, \"longitude\": 8.7 },|\"na\": { \"latitude\": 38.9, \"longitude\": -77.0 }|\"rtt\": { \"eu\": { \"eu-west\": 5, \"us-east\": 80 } },", "||");

        var config = Load(text);

        Assert.Equal("eu", config.DataCenters["eu-west"].Region);
        Assert.Empty(config.Regions);
        Assert.Equal(0, config.StaticRtt.Count);
    }
}
