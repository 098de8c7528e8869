using System.Net;
using System.Net.Sockets;
using ARSoft.Tools.Net.Dns;
using DnsServer = GslbDns.Server.Hosting.DnsServer;
using RecordType = ARSoft.Tools.Net.Dns.RecordType;
using DnsName = GslbDns.Dns.DnsName;
using GslbDns.Answers;
using GslbDns.Gslb;
using GslbDns.Server.Hosting;
using GslbDns.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace GslbDns.Tests.Core.Gslb.Answers;

/// <summary>
/// A real server in-process on a loopback port, with a GSLB config of eight data centers on six
/// continents, the real GeoLite2-City database and a geo-data override folder.
/// </summary>
public sealed class GslbServerFixture : IAsyncLifetime
{
    public static readonly (string Name, double Lat, double Lon, int Octet)[] DataCenters =
    [
        ("us-east", 39.04, -77.49, 1),
        ("us-west", 37.34, -121.89, 2),
        ("eu-west", 53.35, -6.26, 3),
        ("eu-central", 50.11, 8.68, 4),
        ("ap-northeast", 35.68, 139.69, 5),
        ("ap-southeast-2", -33.87, 151.21, 6),
        ("sa-east", -23.55, -46.63, 7),
        ("af-south", -26.20, 28.05, 8),
    ];

    private readonly TempFolder _folder = new("gslb-answers");
    private DnsServer? _server;

    public string ZonesFolder => _folder.Folder("zones");

    /// <summary>Set before InitializeAsync to read health from Consul instead of running embedded.</summary>
    public IReadOnlyList<Uri> ConsulAddresses { get; set; } = [];

    public string ConsulPrefix { get; set; } = GslbDns.Reports.HealthKeys.DefaultPrefix;

    public string ConfigFile => Path.Combine(ZonesFolder, "gslb.test.gslb.json");

    internal DnsServer Server => _server!;

    public IPEndPoint EndPoint => Server.UdpListeners[0].LocalEndPoint;

    public static string GeoIpPath => Path.Combine(RepoLayout.Root, ".cache", "geoip", "GeoLite2-City.mmdb");

    public static IPAddress AddressOf(string dataCenter) => IPAddress.Parse($"192.0.2.{DataCenters.Single(d => d.Name == dataCenter).Octet}");

    public async Task InitializeAsync()
    {
        File.WriteAllText(Path.Combine(ZonesFolder, "gslb.test.zone"), """
            $TTL 300
            @ IN SOA ns1 hostmaster 1 3600 600 86400 60
              IN NS ns1
            ns1 IN A 127.0.0.1
            static IN A 198.51.100.1
            alias IN CNAME geo
            """);
        File.WriteAllText(ConfigFile, Config());
        var geoData = _folder.Folder("geo-data");
        File.WriteAllText(Path.Combine(geoData, "overrides.txt"), """
            # Corporate networks that the database cannot place.
            10.0.0.0/8      dc=eu-west
            172.16.0.0/12   -33.87,151.21 continent=OC country=AU
            """);
        _server = new DnsServer(
            new ServerOptions
            {
                ZonesFolder = ZonesFolder,
                DnsEndPoints = [new IPEndPoint(IPAddress.Loopback, 0)],
                UdpThreads = 2,
                MetricsEndPoint = null,
                WatchZones = false,
                GeoIpDatabase = GeoIpPath,
                GeoDataFolder = geoData,
                ConsulAddresses = ConsulAddresses,

                // These tests install health by hand; the embedded prober would publish its own.
                EmbeddedProber = false,
                ConsulPrefix = ConsulPrefix,
            },
            NullLoggerFactory.Instance);
        _server.Start();
        Assert.Empty(_server.Builder.LastErrors);
        await Task.CompletedTask;
    }

    public static string Config(string geoPolicy = """[{"type": "healthy"}, {"type": "geo-proximity"}]""")
    {
        var dcs = string.Join(",\n", DataCenters.Select(d => $$"""    "{{d.Name}}": {"latitude": {{d.Lat}}, "longitude": {{d.Lon}}, "region": "r-{{d.Name}}"}"""));
        var regions = string.Join(",\n", DataCenters.Select(d => $$"""    "r-{{d.Name}}": {"latitude": {{d.Lat}}, "longitude": {{d.Lon}}}"""));
        var geoEndpoints = string.Join(",\n", DataCenters.SelectMany(d => new[]
        {
            $$"""        {"dataCenter": "{{d.Name}}", "address": "192.0.2.{{d.Octet}}"}""",
            $$"""        {"dataCenter": "{{d.Name}}", "address": "2001:db8::{{d.Octet}}"}""",
        }));
        return $$"""
            {
              "dataCenters": {
            {{dcs}}
              },
              "regions": {
            {{regions}}
              },
              "defaultLocation": {"latitude": 39.04, "longitude": -77.49},
              "services": {
                "geo": {
                  "ttl": 20,
                  "policy": {{geoPolicy}},
                  "endpoints": [
            {{geoEndpoints}}
                  ]
                },
                "w": {
                  "policy": [{"type": "healthy"}, {"type": "weighted"}],
                  "endpoints": [
                    {"dataCenter": "us-east", "address": "198.51.100.10", "weight": 10},
                    {"dataCenter": "eu-west", "address": "198.51.100.30", "weight": 30},
                    {"dataCenter": "ap-northeast", "address": "198.51.100.60", "weight": 60}
                  ]
                },
                "sticky": {
                  "policy": [{"type": "healthy"}, {"type": "weighted", "sticky": true}],
                  "endpoints": [
                    {"dataCenter": "us-east", "address": "198.51.100.11"},
                    {"dataCenter": "eu-west", "address": "198.51.100.12"},
                    {"dataCenter": "ap-northeast", "address": "198.51.100.13"},
                    {"dataCenter": "sa-east", "address": "198.51.100.14"}
                  ]
                },
                "fo": {
                  "policy": [{"type": "healthy"}, {"type": "failover"}, {"type": "first"}],
                  "endpoints": [
                    {"dataCenter": "us-east", "address": "203.0.113.1", "priority": 1},
                    {"dataCenter": "eu-west", "address": "203.0.113.2", "priority": 2},
                    {"dataCenter": "af-south", "address": "203.0.113.3", "priority": 3}
                  ]
                },
                "mv": {
                  "policy": [{"type": "healthy"}, {"type": "multivalue", "count": 3}],
                  "endpoints": [
                    {"dataCenter": "us-east", "address": "203.0.113.21"},
                    {"dataCenter": "us-west", "address": "203.0.113.22"},
                    {"dataCenter": "eu-west", "address": "203.0.113.23"},
                    {"dataCenter": "eu-central", "address": "203.0.113.24"},
                    {"dataCenter": "sa-east", "address": "203.0.113.25"}
                  ]
                },
                "open": {
                  "policy": [{"type": "healthy"}, {"type": "multivalue"}],
                  "endpoints": [
                    {"dataCenter": "us-east", "address": "203.0.113.41"},
                    {"dataCenter": "eu-west", "address": "203.0.113.42"}
                  ]
                },
                "fb": {
                  "policy": [{"type": "healthy"}, {"type": "multivalue"}],
                  "whenAllUnhealthy": "fallback",
                  "fallback": ["203.0.113.99"],
                  "endpoints": [
                    {"dataCenter": "us-east", "address": "203.0.113.51"},
                    {"dataCenter": "eu-west", "address": "203.0.113.52"}
                  ]
                }
              }
            }
            """;
    }

    /// <summary>Installs run-time state as the prober and API will: a whole new snapshot, swapped.</summary>
    public void SetState(GslbState state)
    {
        Server.Snapshots.Update(current => current with { State = state });
    }

    public async Task<DnsMessage> QueryAsync(string name, RecordType type, string? subnet = null)
    {
        var dnsName = DnsName.Parse(name.EndsWith('.') ? name : name + ".");
        var id = (ushort)Random.Shared.Next(ushort.MaxValue);
        byte[] packet;
        if (subnet is null)
        {
            packet = PlainQuery(dnsName, (ushort)type, id);
        }
        else
        {
            var parts = subnet.Split('/');
            packet = Explainer.BuildQuery(dnsName, (ushort)type, IPAddress.Parse(parts[0]), int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture), id);
        }

        using var udp = new UdpClient(AddressFamily.InterNetwork);
        udp.Connect(EndPoint);
        await udp.SendAsync(packet);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var reply = await udp.ReceiveAsync(timeout.Token);
        return DnsMessage.Parse(reply.Buffer);
    }

    /// <summary>A query with EDNS but no client subnet.</summary>
    private static byte[] PlainQuery(DnsName name, ushort type, ushort id)
    {
        var packet = new byte[12 + name.WireLength + 4 + 11];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(packet, id);
        packet[5] = 1;
        packet[11] = 1;
        name.WriteTo(packet.AsSpan(12));
        var pos = 12 + name.WireLength;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(pos), type);
        packet[pos + 3] = 1;
        pos += 4;
        packet[pos + 2] = 41;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(pos + 3), 1232);
        return packet;
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _folder.Dispose();
    }
}
