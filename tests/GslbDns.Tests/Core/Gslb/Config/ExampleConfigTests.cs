using System.Net;
using GslbDns.Dns;
using GslbDns.Gslb;
using GslbDns.Gslb.Config;
using GslbDns.Zones;

namespace GslbDns.Tests.Core.Gslb.ConfigFiles;

/// <summary>The shipped zones/example.com.gslb.json loads from the real zones folder, beside the zone it extends.</summary>
public sealed class ExampleConfigTests
{
    private static readonly string Zones = Path.Combine(ConfigTestSupport.RepositoryRoot(), "zones");
    private static readonly DnsName Example = DnsName.Parse("example.com.");

    private static DnsName Name(string relative) => DnsName.Parse(relative, Example);

    [Fact]
    public void Loads_with_every_service_and_data_center()
    {
        var config = GslbConfigLoader.Load(Zones, [Example]);

        Assert.Equal(["af-south", "ap-southeast", "ap-southeast-2", "eu-west", "sa-east", "us-east"], config.DataCenters.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(6, config.Regions.Count);
        Assert.Equal(36, config.StaticRtt.Count);
        Assert.True(config.StaticRtt.TryGet("eu", "us-east", out var rtt));
        Assert.Equal(80, rtt);
        Assert.Equal(new TtlLimits(30, 5, 300), config.Ttl);
        Assert.Equal(-77.5, config.DefaultLocation.Longitude);
        Assert.Equal([Name("app"), Name("geo"), Name("geoloc"), Name("lat"), Name("local"), Name("weighted")], config.Services.Keys.OrderBy(n => n.ToString(), StringComparer.Ordinal));

        var dublin = config.DataCenters["eu-west"];
        Assert.Equal(new DataCenter("eu-west", 53.35, -6.26, "eu", 0), dublin);
        Assert.Equal(20, config.DataCenters["sa-east"].Bias);
    }

    [Fact]
    public void Services_carry_their_policies_checks_and_defaults()
    {
        var config = GslbConfigLoader.Load(Zones, [Example]);

        var geo = config.Services[Name("geo")];
        Assert.Equal(20u, geo.Ttl);
        Assert.Equal(["healthy", "geo-proximity", "weighted"], geo.Policies.Select(p => p.Name));

        // TEST-NET endpoints carry no check: nothing may probe addresses off this machine.
        Assert.Null(geo.Check);
        Assert.Equal(AllUnhealthyBehavior.FailOpen, geo.WhenAllUnhealthy);
        var first = geo.Endpoints[0];
        Assert.Equal(new Endpoint("geo.example.com/us-east/192.0.2.20", "us-east", IPAddress.Parse("192.0.2.20"), 100, 0), first);
        Assert.Contains(geo.Endpoints, e => e.IsIPv6 && e.Id == "geo.example.com/eu-west/2001:db8:20::20");

        var app = config.Services[Name("app")];
        Assert.Equal(30u, app.Ttl);
        Assert.Equal(["healthy", "failover", "multivalue"], app.Policies.Select(p => p.Name));
        Assert.Equal(AllUnhealthyBehavior.Fallback, app.WhenAllUnhealthy);
        Assert.Equal([IPAddress.Parse("192.0.2.200"), IPAddress.Parse("2001:db8:ff::200")], app.FallbackAddresses);
        Assert.Equal([0, 0, 1, 1, 2], app.Endpoints.Select(e => e.Priority));

        var weighted = config.Services[Name("weighted")];
        Assert.Equal(["healthy", "weighted"], weighted.Policies.Select(p => p.Name));
        Assert.Equal([70, 20, 10], weighted.Endpoints.Select(e => e.Weight));

        var lat = config.Services[Name("lat")];
        Assert.Equal(["healthy", "latency", "weighted"], lat.Policies.Select(p => p.Name));

        var geoloc = config.Services[Name("geoloc")];
        Assert.Equal(["healthy", "geolocation", "weighted"], geoloc.Policies.Select(p => p.Name));
        Assert.Null(geoloc.Check);

        // The one checked service probes loopback only: the DNS server's own TCP port.
        var local = config.Services[Name("local")];
        Assert.Equal(new HealthCheck("tcp", 5353, null, 0, null, null, TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(500), 3, 2), local.Check);
        Assert.All(local.Endpoints, e => Assert.True(IPAddress.IsLoopback(e.Address)));
        Assert.All(config.Services.Values.Where(s => s.Check is not null).SelectMany(s => s.Endpoints), e => Assert.True(IPAddress.IsLoopback(e.Address)));
    }

    [Fact]
    public void Service_names_do_not_collide_with_the_static_zone()
    {
        var config = GslbConfigLoader.Load(Zones, [Example]);
        var zone = ZoneFileReader.ReadFile(Path.Combine(Zones, "example.com.zone"));

        // Not an owner, not below one (the *.apps wildcard, the lab delegation), and no owner below it.
        foreach (var service in config.Services.Keys)
        {
            Assert.DoesNotContain(zone.Records, r => r.Owner != Example && (Below(service, r.Owner) || Below(r.Owner, service)));
        }
    }

    // IsAtOrBelow indexes out of range for an ancestor with as many labels and a longer wire form.
    private static bool Below(DnsName name, DnsName ancestor) => ancestor.WireLength <= name.WireLength && name.IsAtOrBelow(ancestor);

    [Fact]
    public void Service_addresses_are_documentation_or_loopback_addresses()
    {
        var config = GslbConfigLoader.Load(Zones, [Example]);
        string[] testNets = ["192.0.2.", "198.51.100.", "203.0.113.", "2001:db8:", "127."];

        var addresses = config.Services.Values.SelectMany(s => s.Endpoints.Select(e => e.Address).Concat(s.FallbackAddresses));
        Assert.All(addresses, a => Assert.Contains(testNets, n => a.ToString().StartsWith(n, StringComparison.Ordinal)));
    }
}
