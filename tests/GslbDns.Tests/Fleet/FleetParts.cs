using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using GslbDns.Tests.Core.Probing;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Fleet;

// The pieces a real-process fleet is made of: its zone folder, its loopback backends, starting the DNS server
// and prober processes, asking the server which addresses it answers, reading /metrics. Shared by the Fleet
// tests and by bench/failover (which compiles this file in), so both exercise exactly the same set-up.

/// <summary>
/// What goes in the fleet's zone folder: zone <c>fleet.test.</c> with two load-balanced services.
/// <list type="bullet">
/// <item><c>svc.fleet.test</c>: multivalue over 127.0.0.2 (dc-eu), 127.0.0.3 (dc-us), 127.0.0.4 (dc-ap), HTTP-checked on <see cref="ServicePort"/>.</item>
/// <item><c>part.fleet.test</c>: failover from 127.0.0.5 (dc-eu, priority 0) to 127.0.0.6 (dc-us, priority 1), HTTP-checked on <see cref="PartitionPort"/>.</item>
/// <item><c>lat.fleet.test</c>: latency (count 1) over svc's three endpoints and backends: the data center with the lowest RTT measured from the client's region.</item>
/// <item><c>w.fleet.test</c>: weighted, sticky per client /24 (count 1), over svc's three endpoints and backends.</item>
/// </list>
/// <see cref="WriteGeoData"/> places the client subnets of <see cref="ClientSubnets"/> near each prober region, so an
/// ECS query can speak for a client in that region without a GeoIP database.
/// Check timing left null is not written, so the loader's shipped defaults apply (interval 1 s, timeout 80%, thresholds 3 and 2).
/// </summary>
internal sealed record FleetSpec(
    int ServicePort,
    int PartitionPort,
    string? Interval = null,
    string? Timeout = null,
    int? FailureThreshold = null,
    int? SuccessThreshold = null,
    int Ttl = 5,
    string? ChangeWindow = null)
{
    public const string Zone = "fleet.test";
    public const string ServiceName = "svc.fleet.test";
    public const string PartitionName = "part.fleet.test";
    public const string LatencyName = "lat.fleet.test";
    public const string WeightedName = "w.fleet.test";

    /// <summary>svc's endpoints, index-aligned with <see cref="ServiceDataCenters"/>.</summary>
    public static readonly IPAddress[] ServiceAddresses = [IPAddress.Parse("127.0.0.2"), IPAddress.Parse("127.0.0.3"), IPAddress.Parse("127.0.0.4")];

    public static readonly string[] ServiceDataCenters = ["dc-eu", "dc-us", "dc-ap"];

    /// <summary>part's primary (priority 0) and secondary (priority 1).</summary>
    public static readonly IPAddress PartitionPrimary = IPAddress.Parse("127.0.0.5");

    public static readonly IPAddress PartitionSecondary = IPAddress.Parse("127.0.0.6");

    /// <summary>Prober id, region and coordinates of the three-prober fleet, one per region.</summary>
    public static readonly (string Id, string Region, double Lat, double Lon)[] Probers =
    [
        ("prober-eu", "eu", 50.11, 8.68),
        ("prober-us", "us", 39.04, -77.49),
        ("prober-ap", "ap", 35.68, 139.69),
    ];

    /// <summary>The services checked on <see cref="ServicePort"/> with svc's endpoints: one backend down is one endpoint down in each.</summary>
    public static readonly string[] ServicesOnServiceBackends = [ServiceName, LatencyName, WeightedName];

    /// <summary>Client networks, index-aligned with <see cref="Probers"/>: each is placed at its prober region's coordinates.</summary>
    public static readonly string[] ClientSubnets = ["10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16"];

    public static string ServiceEndpointId(int index) => $"{ServiceName}/{ServiceDataCenters[index]}/{ServiceAddresses[index]}";

    public static string PartitionPrimaryId => $"{PartitionName}/dc-eu/{PartitionPrimary}";

    /// <summary>svc's endpoints, which lat and w share (same addresses, same backends).</summary>
    private const string ServiceEndpoints = """
        [
                            { "dataCenter": "dc-eu", "address": "127.0.0.2" },
                            { "dataCenter": "dc-us", "address": "127.0.0.3" },
                            { "dataCenter": "dc-ap", "address": "127.0.0.4" }
                          ]
        """;

    /// <summary>Writes (atomically, by rename) the zone file and the GSLB config into <paramref name="folder"/>.</summary>
    public void WriteTo(string folder)
    {
        Directory.CreateDirectory(folder);
        WriteAtomically(Path.Combine(folder, Zone + ".zone"), """
            $TTL 300
            @ IN SOA ns1 hostmaster 1 3600 600 86400 60
              IN NS ns1
            ns1 IN A 127.0.0.1
            """);
        WriteAtomically(Path.Combine(folder, Zone + ".gslb.json"), $$"""
            {
              "regions": {
                "eu": { "latitude": 50.11, "longitude": 8.68 },
                "us": { "latitude": 39.04, "longitude": -77.49 },
                "ap": { "latitude": 35.68, "longitude": 139.69 }
              },
              "dataCenters": {
                "dc-eu": { "latitude": 53.35, "longitude": -6.26, "region": "eu" },
                "dc-us": { "latitude": 39.04, "longitude": -77.49, "region": "us" },
                "dc-ap": { "latitude": 35.68, "longitude": 139.69, "region": "ap" }
              },
              "ttl": { "default": {{Ttl}}, "min": 1, "max": 300{{(ChangeWindow is null ? "" : $", \"changeWindow\": \"{ChangeWindow}\"")}} },
              "services": {
                "svc": {
                  "policy": [ { "type": "healthy" }, { "type": "multivalue" } ],
                  "check": {{Check(ServicePort)}},
                  "endpoints": {{ServiceEndpoints}}
                },
                "lat": {
                  "policy": [ { "type": "healthy" }, { "type": "latency", "count": 1 } ],
                  "check": {{Check(ServicePort)}},
                  "endpoints": {{ServiceEndpoints}}
                },
                "w": {
                  "policy": [ { "type": "healthy" }, { "type": "weighted", "count": 1, "sticky": true } ],
                  "check": {{Check(ServicePort)}},
                  "endpoints": {{ServiceEndpoints}}
                },
                "part": {
                  "policy": [ { "type": "healthy" }, { "type": "failover" } ],
                  "check": {{Check(PartitionPort)}},
                  "endpoints": [
                    { "dataCenter": "dc-eu", "address": "127.0.0.5", "priority": 0 },
                    { "dataCenter": "dc-us", "address": "127.0.0.6", "priority": 1 }
                  ]
                }
              }
            }
            """);
    }

    /// <summary>Writes the geo-data override file that places <see cref="ClientSubnets"/> (the server's <c>--geo-data</c> folder).</summary>
    public static void WriteGeoData(string folder)
    {
        Directory.CreateDirectory(folder);
        var text = new StringBuilder("# Fleet test clients: one network per prober region.\n");
        for (var i = 0; i < Probers.Length; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"{ClientSubnets[i]} {Probers[i].Lat},{Probers[i].Lon}\n");
        }

        WriteAtomically(Path.Combine(folder, "fleet.txt"), text.ToString());
    }

    private string Check(int port)
    {
        var text = new StringBuilder();
        text.Append("{ \"type\": \"http\", \"port\": ").Append(port).Append(", \"path\": \"/health\"");
        if (Interval is not null)
        {
            text.Append(", \"interval\": \"").Append(Interval).Append('"');
        }

        if (Timeout is not null)
        {
            text.Append(", \"timeout\": \"").Append(Timeout).Append('"');
        }

        if (FailureThreshold is { } failures)
        {
            text.Append(", \"failureThreshold\": ").Append(failures);
        }

        if (SuccessThreshold is { } successes)
        {
            text.Append(", \"successThreshold\": ").Append(successes);
        }

        return text.Append(" }").ToString();
    }

    private static void WriteAtomically(string path, string text)
    {
        File.WriteAllText(path + ".tmp", text);
        File.Move(path + ".tmp", path, overwrite: true);
    }
}

/// <summary>
/// The fleet's HTTP backends, all on loopback: one per svc endpoint on one shared port (a check's port is per
/// service), part's two endpoints on a second port, and the partitioned prober's view of part on a third port
/// (<see cref="PartitionViewPort"/>) where only the secondary listens: the primary refuses connections there.
/// </summary>
internal sealed class FleetBackends : IAsyncDisposable
{
    private FleetBackends(HttpBackend[] service, int servicePort, HttpBackend partPrimary, HttpBackend partSecondary, int partitionPort, HttpBackend partSecondaryView, int viewPort)
    {
        Service = service;
        ServicePort = servicePort;
        PartitionPrimary = partPrimary;
        PartitionSecondary = partSecondary;
        PartitionPort = partitionPort;
        PartitionSecondaryView = partSecondaryView;
        PartitionViewPort = viewPort;
    }

    /// <summary>svc's backends, index-aligned with <see cref="FleetSpec.ServiceAddresses"/>.</summary>
    public IReadOnlyList<HttpBackend> Service { get; }

    public int ServicePort { get; }

    public HttpBackend PartitionPrimary { get; }

    public HttpBackend PartitionSecondary { get; }

    public int PartitionPort { get; }

    /// <summary>127.0.0.6 on <see cref="PartitionViewPort"/>; nothing listens on 127.0.0.5 there.</summary>
    public HttpBackend PartitionSecondaryView { get; }

    public int PartitionViewPort { get; }

    /// <summary>The spec every process but the partitioned prober uses.</summary>
    public FleetSpec Spec(string? interval = null, string? timeout = null, int? failureThreshold = null, int? successThreshold = null) =>
        new(ServicePort, PartitionPort, interval, timeout, failureThreshold, successThreshold);

    public static FleetBackends Start()
    {
        var service = StartOnSharedPort(FleetSpec.ServiceAddresses, out var servicePort);
        var part = StartOnSharedPort([FleetSpec.PartitionPrimary, FleetSpec.PartitionSecondary], out var partitionPort);
        HttpBackend[] view;
        int viewPort;
        do
        {
            view = StartOnSharedPort([FleetSpec.PartitionSecondary], out viewPort);
            if (IsFree(FleetSpec.PartitionPrimary, viewPort))
            {
                break;
            }

            view[0].DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        while (true);

        return new FleetBackends(service, servicePort, part[0], part[1], partitionPort, view[0], viewPort);
    }

    /// <summary>Every backend healthy and accepting again.</summary>
    public void HealAll()
    {
        foreach (var backend in Service.Append(PartitionPrimary).Append(PartitionSecondary).Append(PartitionSecondaryView))
        {
            backend.Mode = BackendMode.Healthy;
            backend.Latency = TimeSpan.Zero;
            backend.Accept();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var backend in Service.Append(PartitionPrimary).Append(PartitionSecondary).Append(PartitionSecondaryView))
        {
            await backend.DisposeAsync();
        }
    }

    /// <summary>One backend per address, all on the same free port (picked like <see cref="PortFinder"/>, from 10000-19999).</summary>
    private static HttpBackend[] StartOnSharedPort(IPAddress[] addresses, out int port)
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var candidate = PortFinder.Take();
            var started = new List<HttpBackend>();
            try
            {
                foreach (var address in addresses)
                {
                    started.Add(HttpBackend.Start(address, candidate));
                }

                port = candidate;
                return [.. started];
            }
            catch (SocketException)
            {
                foreach (var backend in started)
                {
                    backend.DisposeAsync().AsTask().GetAwaiter().GetResult();
                }
            }
        }

        throw new InvalidOperationException($"no port free on all of {string.Join(", ", addresses.Select(a => a.ToString()))}");
    }

    private static bool IsFree(IPAddress address, int port)
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(address, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}

/// <summary>One A answer of the real server: its RCODE, its addresses, sorted, and the lowest TTL among them.</summary>
internal sealed record FleetAnswer(int Rcode, IReadOnlyList<string> Addresses, uint Ttl = 0)
{
    public bool Contains(IPAddress address) => Addresses.Contains(address.ToString());

    public override string ToString() => Rcode == 0 ? $"[{string.Join(", ", Addresses)}]" : $"rcode {Rcode} [{string.Join(", ", Addresses)}]";
}

/// <summary>Starting the real processes and talking to them.</summary>
internal static class FleetProcesses
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A fresh (never cached, we are the authority) A query for <paramref name="name"/>, with an EDNS Client Subnet
    /// option for <paramref name="clientSubnet"/> (an IPv4 /24, e.g. <c>10.1.7.0</c>) when given; null when no reply
    /// came within <paramref name="timeout"/>.
    /// </summary>
    public static async Task<FleetAnswer?> AskAsync(IPEndPoint dns, string name, TimeSpan timeout, IPAddress? clientSubnet = null)
    {
        var id = DnsWire.NewId();
        EdnsSpec? edns = null;
        if (clientSubnet is not null)
        {
            var octets = clientSubnet.GetAddressBytes();
            edns = new EdnsSpec(Options: [new EdnsOptionBytes(DnsWire.OptionClientSubnet, DnsWire.ClientSubnet(1, 24, 0, octets[0], octets[1], octets[2]))]);
        }

        var reply = await RawDnsClient.UdpAsync(dns, DnsWire.Query(name, DnsWire.TypeA, id, edns), id, timeout);
        if (reply is null)
        {
            return null;
        }

        var parsed = RawReply.Parse(reply);
        var records = parsed.Answers.Where(a => a.Type == DnsWire.TypeA).ToList();
        return new FleetAnswer(parsed.Rcode, [.. records.Select(a => a.Address.ToString()).Order(StringComparer.Ordinal)], records.Count == 0 ? 0 : records.Min(a => a.Ttl));
    }

    /// <summary>
    /// Starts <c>GslbDns.dll serve</c> on fresh loopback ports and waits until it answers DNS and (if on) /metrics;
    /// new ports and another try when a port was taken in between. Without <paramref name="consul"/>: embedded mode.
    /// The embedded REST API is off (nothing here uses it, and it would bind a port and write a state folder);
    /// client locations come from <paramref name="geoData"/> only (none when null). Ready once <paramref name="readyZone"/>'s
    /// SOA is answered.
    /// </summary>
    public static async Task<(ChildProcess Process, IPEndPoint Dns, Uri? Metrics)> StartServerAsync(
        string dotnet, string serverDll, string zones, IReadOnlyList<Uri> consul, string? prefix, bool metrics, string? geoData = null,
        IReadOnlyList<string>? extraArguments = null, string readyZone = FleetSpec.Zone, List<FleetAnswer>? firstAnswers = null)
    {
        var failures = new List<string>();
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            firstAnswers?.Clear();
            var dnsPort = PortFinder.Take();
            var metricsPort = PortFinder.Take();
            var args = new List<string>
            {
                serverDll, "serve", "--zones", zones, "--dns", $"127.0.0.1:{dnsPort}", "--udp-threads", "1", "--no-watch",
                "--metrics", metrics ? $"127.0.0.1:{metricsPort}" : "off", "--api", "off",
                "--geo-data", geoData ?? Path.Combine(zones, "no-geo-data"),
            };
            foreach (var address in consul)
            {
                args.Add("--consul");
                args.Add(address.ToString());
            }

            if (prefix is not null)
            {
                args.Add("--consul-prefix");
                args.Add(prefix);
            }

            args.AddRange(extraArguments ?? []);

            var process = ChildProcess.Start(dotnet, args);
            var endPoint = new IPEndPoint(IPAddress.Loopback, dnsPort);
            var metricsUri = metrics ? new Uri($"http://127.0.0.1:{metricsPort}/metrics") : null;
            try
            {
                await Deadline.UntilAsync("the DNS server process answering", StartTimeout, async () =>
                {
                    if (process.HasExited)
                    {
                        throw new PollAbortedException($"exited with {process.ExitCode}");
                    }

                    // With firstAnswers the readiness query is the load-balanced one, and the first reply is kept: the very
                    // first answer the process gave, for start-up tests.
                    if (firstAnswers is not null)
                    {
                        if (await AskAsync(endPoint, FleetSpec.ServiceName, TimeSpan.FromMilliseconds(300)) is not { } first)
                        {
                            return (false, "no DNS reply yet");
                        }

                        if (firstAnswers.Count == 0)
                        {
                            firstAnswers.Add(first);
                        }
                    }
                    else
                    {
                        var id = DnsWire.NewId();
                        if (await RawDnsClient.UdpAsync(endPoint, DnsWire.Query(readyZone, DnsWire.TypeSOA, id), id, TimeSpan.FromMilliseconds(300)) is null)
                        {
                            return (false, "no DNS reply yet");
                        }
                    }

                    if (metricsUri is null)
                    {
                        return (true, "");
                    }

                    using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
                    using var page = await http.GetAsync(metricsUri);
                    return (page.IsSuccessStatusCode, $"/metrics: {page.StatusCode}");
                }, TimeSpan.FromMilliseconds(100));
                return (process, endPoint, metricsUri);
            }
            catch (Exception ex) when (ex is PollAbortedException or TimeoutException)
            {
                failures.Add($"attempt {attempt}: {ex.Message}\n{process.Describe()}");
                process.Dispose();
            }
        }

        throw new InvalidOperationException($"the DNS server process did not start:\n{string.Join("\n", failures)}");
    }

    /// <summary>Starts a <c>gslbdns-prober</c> (metrics off, config read once: --no-watch), with <paramref name="extraArguments"/> (TLS, token file) at the end.</summary>
    public static ChildProcess StartProber(
        string dotnet, string proberDll, (string Id, string Region, double Lat, double Lon) who, string zones, IReadOnlyList<Uri> consul, string prefix, int sessionTtlSeconds,
        IReadOnlyList<string>? extraArguments = null)
    {
        var args = new List<string>
        {
            proberDll, "--id", who.Id, "--region", who.Region,
            "--lat", who.Lat.ToString(CultureInfo.InvariantCulture), "--lon", who.Lon.ToString(CultureInfo.InvariantCulture),
            "--zones", zones, "--prefix", prefix, "--session-ttl", sessionTtlSeconds.ToString(CultureInfo.InvariantCulture),
            "--metrics", "off", "--no-watch",
        };
        foreach (var address in consul)
        {
            args.Add("--consul");
            args.Add(address.ToString());
        }

        args.AddRange(extraArguments ?? []);
        return ChildProcess.Start(dotnet, args);
    }

    /// <summary>The value of an unlabelled gauge or counter in a Prometheus text page, or null if absent.</summary>
    public static double? Metric(string page, string name)
    {
        foreach (var line in page.Split('\n'))
        {
            if (line.StartsWith(name + " ", StringComparison.Ordinal)
                && double.TryParse(line.AsSpan(name.Length + 1).Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                return value;
            }
        }

        return null;
    }
}
