using System.Net;
using GslbDns.Gslb;
using GslbDns.Probing;
using static GslbDns.Tests.Core.Gslb.ConfigFiles.ConfigTestSupport;

namespace GslbDns.Tests.Core.Gslb.ConfigFiles;

/// <summary>
/// <c>check.address</c>, <c>check.port</c> and <c>check.host</c>, per service and per endpoint (issue 15 item 2): what the loader
/// accepts, what the prober gets from it, and every rejection with file, line and path.
/// </summary>
public sealed class CheckTargetConfigTests
{
    private const string FirstEndpoint = "{ \"dataCenter\": \"eu-west\", \"address\": \"192.0.2.10\", \"weight\": 100, \"priority\": 1 }";

    /// <summary>The service's whole <c>check</c> line in <see cref="ConfigTestSupport.Valid"/>.</summary>
    private static readonly string ServiceCheck = Valid.Split('\n').Single(l => l.TrimStart().StartsWith("\"check\":", StringComparison.Ordinal)).Trim();

    public static TheoryData<string, string, string, string> Rules => new()
    {
        { "\"path\": \"/health\"", Marker + "\"path\": \"/health\", \"address\": \"10.0.0.300\"", "$.services.www.check.address", "10.0.0.300" },
        { "\"path\": \"/health\"", Marker + "\"path\": \"/health\", \"host\": \"a..b\"", "$.services.www.check.host", "host 'a..b'" },
        { "\"path\": \"/health\"", Marker + "\"path\": \"/health\", \"host\": \"*.example.com\"", "$.services.www.check.host", "is not a host name" },
        { "\"path\": \"/health\"", Marker + "\"path\": \"/health\", \"host\": \"a b.example\"", "$.services.www.check.host", "may hold only letters" },
        { "\"type\": \"http\", \"port\": 80, \"path\": \"/health\", \"expectStatus\": 200, \"expectBody\": null,", Marker + "\"type\": \"tcp\", \"port\": 80, \"host\": \"h.example\",", "$.services.www.check.host", "'host' does not apply to tcp checks" },
        { FirstEndpoint, Marker + FirstEndpoint[..^2] + ", \"check\": { \"adress\": \"10.0.0.1\" } }", "$.services.www.endpoints[0].check.adress", "(did you mean 'address'?)" },
        { FirstEndpoint, Marker + FirstEndpoint[..^2] + ", \"check\": { \"port\": 70000 } }", "$.services.www.endpoints[0].check.port", "out of range 1..65535" },
        { FirstEndpoint, Marker + FirstEndpoint[..^2] + ", \"check\": { \"address\": \"224.0.0.1\" } }", "$.services.www.endpoints[0].check.address", "224.0.0.1" },
        { FirstEndpoint, Marker + FirstEndpoint[..^2] + ", \"check\": { } }", "$.services.www.endpoints[0].check", "needs at least one of 'address', 'port', 'host'" },

        // An endpoint's check target needs the service's check, and a host an HTTP one.
        { ServiceCheck + "|" + FirstEndpoint, "|" + Marker + FirstEndpoint[..^2] + ", \"check\": { \"port\": 8080 } }", "$.services.www.endpoints[0].check", "the service has no 'check'" },
        {
            "\"type\": \"http\", \"port\": 80, \"path\": \"/health\", \"expectStatus\": 200, \"expectBody\": null, \"queryName\": null,|" + FirstEndpoint,
            "\"type\": \"dns\", \"queryName\": \"probe.example.com\",|" + Marker + FirstEndpoint[..^2] + ", \"check\": { \"host\": \"h.example\" } }",
            "$.services.www.endpoints[0].check.host",
            "'host' does not apply to dns checks"
        },
    };

    [Theory]
    [MemberData(nameof(Rules))]
    public void Each_check_target_rule_names_file_line_and_path(string find, string replace, string path, string reason)
        => AssertRule(find, replace, path, reason);

    [Fact]
    public void The_prober_targets_the_check_address_port_and_host_while_the_answer_keeps_the_public_address()
    {
        var text = Edit(
            Valid,
            "\"path\": \"/health\"|" + FirstEndpoint + "|{ \"dataCenter\": \"us-east\", \"address\": \"2001:db8::10\" }",
            "\"path\": \"/health\", \"host\": \"health.internal.example\"|"
            + FirstEndpoint[..^2] + ", \"check\": { \"address\": \"10.1.2.3\", \"port\": 8081 } }|"
            + "{ \"dataCenter\": \"us-east\", \"address\": \"2001:db8::10\", \"check\": { \"host\": \"us.health.example.\" } }");

        var config = Load(text);
        var www = config.Services[Served[0].Prepend("www"u8)];
        Assert.Equal([IPAddress.Parse("192.0.2.10"), IPAddress.Parse("2001:db8::10")], www.Endpoints.Select(e => e.Address));

        var targets = ProbeTarget.FromConfig(config).ToDictionary(t => t.EndpointId);
        var eu = targets["www.example.com/eu-west/192.0.2.10"];
        Assert.Equal(IPAddress.Parse("10.1.2.3"), eu.Address);
        Assert.Equal(8081, eu.Check.Port);
        Assert.Equal("health.internal.example", eu.HostName);
        var us = targets["www.example.com/us-east/2001:db8::10"];
        Assert.Equal(IPAddress.Parse("2001:db8::10"), us.Address);
        Assert.Equal(80, us.Check.Port);
        Assert.Equal("us.health.example", us.HostName);

        // A service-wide check.address sends every endpoint's probe there (a monitor or sidecar for all of them).
        var shared = Load(Edit(Valid, "\"path\": \"/health\"", "\"path\": \"/health\", \"address\": \"10.9.9.9\""));
        Assert.All(ProbeTarget.FromConfig(shared), t => Assert.Equal(IPAddress.Parse("10.9.9.9"), t.Address));
        Assert.All(ProbeTarget.FromConfig(shared), t => Assert.Equal("www.example.com", t.HostName));

        // Without any of it, the probe goes to the answer under the service name, as before.
        Assert.All(ProbeTarget.FromConfig(Load(Valid)), t => Assert.EndsWith(t.Address.ToString(), t.EndpointId, StringComparison.Ordinal));
    }
}
