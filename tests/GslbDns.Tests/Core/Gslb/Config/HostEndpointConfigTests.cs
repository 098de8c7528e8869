using System.Collections.Frozen;
using System.Net;
using GslbDns.Dns;
using GslbDns.Gslb;
using GslbDns.Probing;
using static GslbDns.Tests.Core.Gslb.ConfigFiles.ConfigTestSupport;

namespace GslbDns.Tests.Core.Gslb.ConfigFiles;

/// <summary>
/// Hostname endpoints (issue 15 item 1) in the loader: <c>host</c> endpoints, <c>hostAnswer</c> and the <c>resolvers</c> section,
/// every rejection with file, line and JSON path, and where the prober sends a hostname endpoint's probe.
/// </summary>
public sealed class HostEndpointConfigTests
{
    public const string Hosts = """
        {
          "dataCenters": { "eu-west": { "latitude": 53.35, "longitude": -6.26 }, "us-east": { "latitude": 39.04, "longitude": -77.49 } },
          "resolvers": { "servers": [ "127.0.0.1:5300", "[::1]:53", "192.0.2.53" ], "timeout": "500ms", "minRefresh": "1s", "maxRefresh": "1m", "keepLastGood": "2m" },
          "services": {
            "lb": {
              "policy": [ { "type": "healthy" }, { "type": "failover" } ],
              "hostAnswer": "cname",
              "check": { "type": "http", "path": "/health" },
              "endpoints": [
                { "dataCenter": "eu-west", "host": "lb-123.eu-west-1.elb.example.net.", "priority": 1 },
                { "dataCenter": "us-east", "host": "lb-456.us-east-1.elb.example.net", "priority": 2, "check": { "address": "10.0.0.9" } }
              ]
            }
          }
        }
        """;

    [Fact]
    public void Host_endpoints_and_resolvers_read()
    {
        var config = Load(Hosts);
        var lb = config.Services[DnsName.Parse("lb.example.com.")];
        Assert.Equal(HostAnswerMode.Cname, lb.HostAnswer);
        Assert.Equal(DnsName.Parse("lb-123.eu-west-1.elb.example.net."), lb.Endpoints[0].Host);
        Assert.Equal(DnsName.Parse("lb-456.us-east-1.elb.example.net."), lb.Endpoints[1].Host);
        Assert.Equal("lb.example.com/eu-west/lb-123.eu-west-1.elb.example.net", lb.Endpoints[0].Id);
        var resolution = config.Resolution;
        Assert.Equal([new IPEndPoint(IPAddress.Loopback, 5300), new IPEndPoint(IPAddress.IPv6Loopback, 53), new IPEndPoint(IPAddress.Parse("192.0.2.53"), 53)], resolution.Servers);
        Assert.Equal(TimeSpan.FromMilliseconds(500), resolution.Timeout);
        Assert.Equal(TimeSpan.FromMinutes(2), resolution.KeepLastGood);

        // Refreshed at three quarters of the TTL, within the floor and the ceiling.
        Assert.Equal(TimeSpan.FromSeconds(45), resolution.RefreshAfter(60));
        Assert.Equal(TimeSpan.FromSeconds(1), resolution.RefreshAfter(0));
        Assert.Equal(TimeSpan.FromMinutes(1), resolution.RefreshAfter(86400));

        // Without the section: the system's resolvers and the defaults; flattened by default.
        var plain = Load(Hosts.Replace("\"hostAnswer\": \"cname\",", string.Empty, StringComparison.Ordinal).Replace(Hosts.Split('\n')[2], string.Empty, StringComparison.Ordinal));
        Assert.Empty(plain.Resolution.Servers);
        Assert.Equal(HostAnswerMode.Flatten, plain.Services[DnsName.Parse("lb.example.com.")].HostAnswer);
    }

    [Fact]
    public void A_hostname_endpoint_is_probed_at_its_first_resolved_address_and_not_before_it_resolved()
    {
        var config = Load(Hosts);
        var host = DnsName.Parse("lb-123.eu-west-1.elb.example.net.");

        // Not resolved: only the endpoint whose check.address says where to go is probed.
        Assert.Equal(["lb.example.com/us-east/lb-456.us-east-1.elb.example.net"], ProbeTarget.FromConfig(config).Select(t => t.EndpointId));
        Assert.Equal(IPAddress.Parse("10.0.0.9"), ProbeTarget.FromConfig(config).Single().Address);

        var now = DateTimeOffset.UtcNow;
        var resolved = new ResolvedHosts(new Dictionary<DnsName, HostAddresses>
        {
            [host] = new(host, [IPAddress.Parse("2001:db8::1"), IPAddress.Parse("192.0.2.20"), IPAddress.Parse("192.0.2.3")], 60, now, now.AddMinutes(5)),
        }.ToFrozenDictionary());
        var targets = ProbeTarget.FromConfig(config, resolved).ToDictionary(t => t.EndpointId);
        Assert.Equal(IPAddress.Parse("192.0.2.20"), targets["lb.example.com/eu-west/lb-123.eu-west-1.elb.example.net"].Address); // the lowest IPv4, as text
        Assert.Equal("lb.example.com", targets["lb.example.com/eu-west/lb-123.eu-west-1.elb.example.net"].HostName);
    }

    public static TheoryData<string, string, string, string> Rules => new()
    {
        { "{ \"dataCenter\": \"eu-west\", \"host\": \"lb-123.eu-west-1.elb.example.net.\", \"priority\": 1 }", Marker + "{ \"dataCenter\": \"eu-west\", \"host\": \"lb.example.net.\", \"address\": \"192.0.2.1\" }", "$.services.lb.endpoints[0].address", "an endpoint is one of 'address', 'host' or 'service'" },
        { "\"host\": \"lb-123.eu-west-1.elb.example.net.\"", Marker + "\"host\": \"lb..example.net\"", "$.services.lb.endpoints[0].host", "host 'lb..example.net'" },
        { "\"host\": \"lb-123.eu-west-1.elb.example.net.\"", Marker + "\"host\": \"*.elb.example.net\"", "$.services.lb.endpoints[0].host", "is not a host name" },
        { "\"hostAnswer\": \"cname\",", Marker + "\"hostAnswer\": \"alias\",", "$.services.lb.hostAnswer", "hostAnswer must be 'flatten' or 'cname', not 'alias'" },
        { "\"servers\": [ \"127.0.0.1:5300\",", Marker + "\"servers\": [ \"127.0.0.1:99999\",", "$.resolvers.servers[0]", "resolver '127.0.0.1:99999' is not ADDRESS, ADDRESS:PORT or [IPv6]:PORT" },
        { "\"servers\": [ \"127.0.0.1:5300\",", Marker + "\"servers\": [ \"resolver.example\",", "$.resolvers.servers[0]", "is not ADDRESS" },
        { "\"servers\": [ \"127.0.0.1:5300\", \"[::1]:53\", \"192.0.2.53\" ]", Marker + "\"servers\": [ \"127.0.0.1:5300\", \"127.0.0.1:5300\" ]", "$.resolvers.servers[1]", "resolver 127.0.0.1:5300 is listed twice" },
        { "\"servers\": [ \"127.0.0.1:5300\", \"[::1]:53\", \"192.0.2.53\" ]", Marker + "\"servers\": [ ]", "$.resolvers.servers", "servers must list 1..8 resolvers" },
        { "\"minRefresh\": \"1s\"", Marker + "\"minRefresh\": \"2m\"", "$.resolvers.minRefresh", "minRefresh 2m is above maxRefresh 1m" },
        { "\"timeout\": \"500ms\"", Marker + "\"timeout\": \"1m\"", "$.resolvers.timeout", "out of range" },
        { "\"keepLastGood\": \"2m\"", Marker + "\"keepLastGood\": \"2m\", \"retries\": 3", "$.resolvers.retries", "unknown property 'retries'" },
    };

    [Theory]
    [MemberData(nameof(Rules))]
    public void Each_hostname_endpoint_rule_names_file_line_and_path(string find, string replace, string path, string reason)
    {
        var text = Edit(Hosts, find, replace);
        var error = Single(Errors(text), path);
        Assert.Equal(FileName, error.File);
        Assert.Equal(MarkedLine(text), error.Line);
        Assert.Contains(reason, error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void HostAnswer_without_host_endpoints_and_resolvers_in_two_files_are_refused()
    {
        var text = Edit(Valid, "\"whenAllUnhealthy\": \"fail-open\",", Marker + "\"whenAllUnhealthy\": \"fail-open\", \"hostAnswer\": \"cname\",");
        var error = Single(Errors(text), "$.services.www.hostAnswer");
        Assert.Contains("applies to services with 'host' endpoints", error.Reason, StringComparison.Ordinal);

        var second = """{ "resolvers": { "servers": [ "127.0.0.1" ] } }""";
        var errors = Errors((FileName, Hosts), ("zones/z.gslb.json", second));
        Assert.Contains("resolvers is already set at zones/example.com.gslb.json:3", Single(errors, "$.resolvers").Reason, StringComparison.Ordinal);
    }
}
