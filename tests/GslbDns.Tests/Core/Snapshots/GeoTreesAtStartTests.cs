using System.Buffers.Binary;
using System.Net;
using System.Text.RegularExpressions;
using GslbDns.Tests.Core.Geo;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Core.Snapshots;

/// <summary>
/// The server listens before its geo decision trees are built (a whole-database walk) and answers geo
/// names right away by locating each client per query; once the trees are in, the answers are the
/// same and the ECS scope is the merged network's (never narrower than the database network's).
/// </summary>
public sealed partial class GeoTreesAtStartTests
{
    private const string TreesBuilt = "Geo decision trees built";

    [Fact]
    public async Task Server_answers_geo_names_right_while_the_trees_build_and_the_same_after()
    {
        using var folder = new TempFolder("geo-trees-start");
        var zones = folder.Folder("zones");
        File.WriteAllText(Path.Combine(zones, "geo.test.zone"), """
            $TTL 300
            @ IN SOA ns1 hostmaster 1 3600 600 86400 60
              IN NS ns1
            ns1 IN A 127.0.0.1
            """);
        File.WriteAllText(Path.Combine(zones, "geo.test.gslb.json"), """
            {
              "dataCenters": {
                "dc-us": {"latitude": 39.04, "longitude": -77.49},
                "dc-eu": {"latitude": 53.35, "longitude": -6.26},
                "dc-ap": {"latitude": 35.68, "longitude": 139.69}
              },
              "services": {
                "near": {
                  "policy": [{"type": "healthy"}, {"type": "geo-proximity", "count": 1}],
                  "endpoints": [{"dataCenter": "dc-us", "address": "192.0.2.1"}, {"dataCenter": "dc-eu", "address": "192.0.2.2"}, {"dataCenter": "dc-ap", "address": "192.0.2.3"}]
                }
              }
            }
            """);
        using var server = ChildProcess.Start(
            RepoLayout.DotnetHost,
            [RepoLayout.ServerDll, "serve", "--zones", zones, "--geo-data", folder.Folder("geo-data"), "--geoip", GeoTestEnvironment.DatabasePath,
             "--dns", "127.0.0.1:0", "--udp-threads", "1", "--no-watch", "--no-prober", "--metrics", "off", "--api", "off", "--state", folder.Folder("state")],
            workingDirectory: folder.Path);
        var dns = await Deadline.PollAsync("the server answering", TimeSpan.FromSeconds(30), () =>
        {
            if (server.HasExited)
            {
                throw new PollAbortedException("the server exited:\n" + server.Describe());
            }

            var match = ServerAnswering().Match(server.StandardOutput);
            return Task.FromResult((match.Success, match.Success ? IPEndPoint.Parse(match.Groups[1].Value) : null, server.Describe()));
        }, TimeSpan.FromMilliseconds(20));

        // Listening did not wait for the trees: the listener was up before they were built.
        Assert.DoesNotContain(TreesBuilt, server.StandardError, StringComparison.Ordinal);

        // London (GB, 81.2.69.0/24 in GeoLite2-City), Tokyo-side and US clients, asked over and over
        // until the trees are in and once after: every answer the nearest data center's, never an error.
        (string Subnet, string Expected)[] clients = [("81.2.69.0", "192.0.2.2"), ("1.0.16.0", "192.0.2.3"), ("8.8.8.0", "192.0.2.1")];
        var scopesBefore = new Dictionary<string, int>();
        var askedBefore = 0;
        var built = false;
        await Deadline.UntilAsync("the geo trees built", TimeSpan.FromSeconds(120), async () =>
        {
            built = server.StandardError.Contains(TreesBuilt, StringComparison.Ordinal);
            foreach (var (subnet, expected) in clients)
            {
                var scope = await AskAsync(dns!, subnet, expected);
                if (!built)
                {
                    scopesBefore[subnet] = scope;
                    askedBefore++;
                }
            }

            return (built, server.Describe());
        }, TimeSpan.FromMilliseconds(20));

        // The line is logged once the snapshot with the trees serves: the merged network is no narrower.
        foreach (var (subnet, expected) in clients)
        {
            var after = await AskAsync(dns!, subnet, expected);
            if (scopesBefore.TryGetValue(subnet, out var before))
            {
                Assert.True(after <= before, $"{subnet}: scope /{after} with the trees is narrower than /{before} without");
            }
        }

        Assert.True(askedBefore > 0, "no query was answered before the trees were built");
    }

    // One ECS query for SUBNET/24: the answer must be EXPECTED alone; returns the ECS scope.
    private static async Task<int> AskAsync(IPEndPoint dns, string subnet, string expected)
    {
        var address = IPAddress.Parse(subnet).GetAddressBytes();
        var ecs = new EdnsOptionBytes(DnsWire.OptionClientSubnet, DnsWire.ClientSubnet(1, 24, 0, address[0], address[1], address[2]));
        var reply = await RawDnsClient.UdpQueryAsync(dns, "near.geo.test.", DnsWire.TypeA, new EdnsSpec(Options: [ecs]));
        Assert.Equal(0, reply.Rcode);
        Assert.Equal(expected, Assert.Single(reply.Answers).Address.ToString());
        var echoed = reply.Opt?.Option(DnsWire.OptionClientSubnet) ?? throw new InvalidOperationException("no ECS option in the reply");
        return echoed[3];
    }

    [GeneratedRegex(@"answering on (127\.0\.0\.1:\d+)")]
    private static partial Regex ServerAnswering();
}
