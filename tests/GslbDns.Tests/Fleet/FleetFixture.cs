using System.Net;
using System.Text.Json;
using GslbDns.Consul;
using GslbDns.Reports;
using GslbDns.Tests.Core.Consul;
using GslbDns.Tests.Core.Probing;
using GslbDns.Tests.Prober;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Fleet;

/// <summary>The fleet's test classes run one after another on one <see cref="FleetFixture"/>.</summary>
[CollectionDefinition(Name)]
public sealed class FleetCollection : ICollectionFixture<FleetFixture>
{
    public const string Name = "Fleet of real processes on one Consul cluster";
}

/// <summary>
/// A whole fleet of real processes, shared by the scenarios of <see cref="FleetTests"/> and <see cref="ConsulModeClaimsTests"/>:
/// a 3-server Consul cluster (raft_multiplier 1, session_ttl_min 1 s), three gslbdns-prober processes (regions eu,
/// us, ap; session TTL 2 s), two GslbDns server processes watching Consul (the first with /metrics on) and the
/// gslbdns-api process in Consul mode, all under one key prefix. The servers place clients by the geo-data of
/// <see cref="FleetSpec.WriteGeoData"/>. The zone folder is <see cref="FleetSpec"/>
/// at the shipped check timing (interval 1 s, thresholds 3 and 2); every backend is an <see cref="HttpBackend"/>
/// on a 127.0.0.x address.
/// </summary>
/// <remarks>
/// prober-ap permanently has a minority-partition view of part.fleet.test: its zone folder is the same but for
/// part's check port, which is one where part's primary (127.0.0.5, dc-eu) refuses connections, as a firewall
/// rejecting that prober's traffic to that data center would. A check port belongs to a service, so this cuts
/// prober-ap off from that one endpoint and nothing else; svc, which every other scenario uses, looks the same
/// to all three probers.
/// </remarks>
public sealed class FleetFixture : IAsyncLifetime
{
    public const int SessionTtlSeconds = 2;
    public const string Prefix = "fleet/";
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly TempFolder _folder = new("fleet");
    private readonly ChildProcess?[] _probers = new ChildProcess?[FleetSpec.Probers.Length];
    private string _zones = "";
    private string _partitionedZones = "";
    private string _proberDll = "";
    private string _tokens = "";
    private string _geoData = "";

    internal ConsulCluster Cluster { get; } = new("session_ttl_min = \"1s\"");

    internal FleetBackends Backends { get; private set; } = null!;

    internal ChildProcess Server { get; private set; } = null!;

    /// <summary>The zone folder the server and the two unpartitioned probers read.</summary>
    internal string Zones => _zones;

    public IPEndPoint Dns { get; private set; } = null!;

    /// <summary>A second DNS server process on the same Consul and zone folder (metrics off).</summary>
    internal ChildProcess SecondServer { get; private set; } = null!;

    public IPEndPoint SecondDns { get; private set; } = null!;

    /// <summary>The gslbdns-api process (Consul mode, same prefix); <see cref="Api"/> talks to it.</summary>
    internal ChildProcess ApiProcess { get; private set; } = null!;

    public HttpClient Api { get; private set; } = null!;

    public Uri Metrics { get; private set; } = null!;

    internal ConsulClient Consul { get; private set; } = null!;

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(5) };

    public async Task InitializeAsync()
    {
        var cluster = Cluster.InitializeAsync();
        var proberDll = ProberLayout.ProberDllAsync();
        Backends = FleetBackends.Start();
        _zones = _folder.Folder("zones");
        Backends.Spec().WriteTo(_zones);
        _partitionedZones = _folder.Folder("zones-partitioned");
        (Backends.Spec() with { PartitionPort = Backends.PartitionViewPort }).WriteTo(_partitionedZones);
        _geoData = _folder.Folder("geo-data");
        FleetSpec.WriteGeoData(_geoData);
        _tokens = Tests.Api.ApiProcess.WriteTokensFile(_folder.File("api-tokens"));
        await cluster;
        _proberDll = await proberDll;

        // Short per-attempt timeout: a request to a killed server must not hold a test up for long.
        Consul = ConsulTestSupport.Client(Cluster.HttpAddresses, requestTimeout: TimeSpan.FromSeconds(2));
        for (var i = 0; i < _probers.Length; i++)
        {
            StartProber(i);
        }

        var api = StartApiAsync();
        var second = FleetProcesses.StartServerAsync(RepoLayout.DotnetHost, RepoLayout.ServerDll, _zones, Cluster.HttpAddresses, Prefix, metrics: false, _geoData);
        (Server, Dns, var metrics) = await FleetProcesses.StartServerAsync(RepoLayout.DotnetHost, RepoLayout.ServerDll, _zones, Cluster.HttpAddresses, Prefix, metrics: true, _geoData);
        Metrics = metrics!;
        (SecondServer, SecondDns, _) = await second;
        await api;
        await EnsureHealthyAsync();
    }

    private async Task StartApiAsync()
    {
        var addresses = Cluster.HttpAddresses.SelectMany(a => new[] { "--consul", a.ToString() });
        ApiProcess = Tests.Api.ApiProcess.Start(["--zones", _zones, .. addresses, "--consul-prefix", Prefix, "--tokens-file", _tokens, "--geo-data", _geoData]);
        Api = new HttpClient { BaseAddress = new Uri(await Tests.Api.ApiProcess.WaitForUrlAsync(ApiProcess)), Timeout = TimeSpan.FromSeconds(10) };
    }

    public async Task DisposeAsync()
    {
        Api?.Dispose();
        ApiProcess?.Dispose();
        SecondServer?.Dispose();
        Server?.Dispose();
        foreach (var prober in _probers)
        {
            prober?.Dispose();
        }

        if (Backends is not null)
        {
            await Backends.DisposeAsync();
        }

        await Cluster.DisposeAsync();
        Http.Dispose();
        _folder.Dispose();
    }

    /// <summary>The process of prober <paramref name="index"/> (0 eu, 1 us, 2 ap), null after <see cref="KillProber"/>.</summary>
    internal ChildProcess? Prober(int index) => _probers[index];

    /// <summary>SIGKILL, like a crashed host: no graceful session destroy, the report has to expire.</summary>
    internal void KillProber(int index)
    {
        _probers[index]?.Dispose();
        _probers[index] = null;
    }

    internal void StartProber(int index)
    {
        _probers[index]?.Dispose();
        _probers[index] = FleetProcesses.StartProber(
            RepoLayout.DotnetHost, _proberDll, FleetSpec.Probers[index], index == 2 ? _partitionedZones : _zones, Cluster.HttpAddresses, Prefix, SessionTtlSeconds);
    }

    public static string ReportKey(int index) => HealthKeys.ProberReport(Prefix, FleetSpec.Probers[index].Id);

    /// <summary>
    /// Back to the starting state every scenario expects: every backend healthy, all three probers running and
    /// reporting every svc endpoint up with no failure streak, prober-ap seeing part's primary down (the
    /// partition), and the server answering every svc endpoint and part's primary, with 3 live probers (the
    /// second server every svc endpoint too). A Consul cluster a scenario left stopped is started again first.
    /// </summary>
    public async Task EnsureHealthyAsync()
    {
        if (!Enumerable.Range(0, ConsulCluster.Size).Any(Cluster.IsAlive))
        {
            await Cluster.RestartEmptyAsync();
        }

        Backends.HealAll();
        for (var i = 0; i < _probers.Length; i++)
        {
            if (_probers[i] is null or { HasExited: true })
            {
                StartProber(i);
            }
        }

        await Deadline.UntilAsync("the fleet healthy: 3 live probers, every endpoint up and answered", TimeSpan.FromSeconds(60), async () =>
        {
            AssertRunning();
            var reports = await ReportsAsync();
            var problems = new List<string>();
            foreach (var (id, _, _, _) in FleetSpec.Probers)
            {
                if (!reports.TryGetValue(id, out var report))
                {
                    problems.Add($"{id}: no report");
                    continue;
                }

                for (var e = 0; e < FleetSpec.ServiceAddresses.Length; e++)
                {
                    if (report.Endpoints.GetValueOrDefault(FleetSpec.ServiceEndpointId(e)) is not { Up: true, ConsecutiveFailures: 0 })
                    {
                        problems.Add($"{id}: {FleetSpec.ServiceEndpointId(e)} not up");
                    }
                }

                var partitioned = id == FleetSpec.Probers[2].Id;
                if (report.Endpoints.GetValueOrDefault(FleetSpec.PartitionPrimaryId) is not { } primary || primary.Up == partitioned)
                {
                    problems.Add($"{id}: part primary {(partitioned ? "not yet seen down" : "not up")}");
                }
            }

            var (svc, secondSvc) = await AskBothAsync(FleetSpec.ServiceName);
            var part = await AskAsync(FleetSpec.PartitionName);
            var live = await MetricAsync("gslbdns_live_probers");
            if (svc?.Addresses.Count != 3 || part?.Addresses.SequenceEqual([FleetSpec.PartitionPrimary.ToString()]) != true || live != 3)
            {
                problems.Add($"server: svc {svc}, part {part}, live probers {live}");
            }

            if (secondSvc?.Addresses.Count != 3)
            {
                problems.Add($"second server: svc {secondSvc}");
            }

            return (problems.Count == 0, string.Join("; ", problems));
        }, TimeSpan.FromMilliseconds(200));
    }

    /// <summary>Every prober report in Consul, by prober id.</summary>
    internal async Task<Dictionary<string, ProberReport>> ReportsAsync()
    {
        var pairs = await Consul.KvListAsync(HealthKeys.Probers(Prefix));
        var reports = new Dictionary<string, ProberReport>(StringComparer.Ordinal);
        foreach (var pair in pairs)
        {
            if (pair.Value.Length > 0 && JsonSerializer.Deserialize(pair.Value, HealthJsonContext.Default.ProberReport) is { } report)
            {
                reports[report.Prober.Id] = report;
            }
        }

        return reports;
    }

    internal Task<FleetAnswer?> AskAsync(string name) => FleetProcesses.AskAsync(Dns, name, TimeSpan.FromSeconds(1));

    /// <summary>The same question to the first and the second server, asked at the same time.</summary>
    internal async Task<(FleetAnswer? First, FleetAnswer? Second)> AskBothAsync(string name, IPAddress? clientSubnet = null)
    {
        var first = FleetProcesses.AskAsync(Dns, name, TimeSpan.FromSeconds(1), clientSubnet);
        var second = FleetProcesses.AskAsync(SecondDns, name, TimeSpan.FromSeconds(1), clientSubnet);
        return (await first, await second);
    }

    public async Task<double?> MetricAsync(string name) => FleetProcesses.Metric(await Http.GetStringAsync(Metrics), name);

    /// <summary>Fails at once, with its output, when a server, the API or a prober that should run has died.</summary>
    internal void AssertRunning()
    {
        foreach (var (name, process) in new[] { ("the DNS server", Server), ("the second DNS server", SecondServer), ("the API", ApiProcess) })
        {
            if (process.HasExited)
            {
                throw new PollAbortedException($"{name} process exited:\n" + process.Describe());
            }
        }

        foreach (var prober in _probers)
        {
            if (prober is { HasExited: true })
            {
                throw new PollAbortedException("a prober exited:\n" + prober.Describe());
            }
        }
    }

    /// <summary>The server's and the probers' output, to attach to a failure.</summary>
    internal string Describe() =>
        "--- server ---\n" + Server.Describe() + "\n--- second server ---\n" + SecondServer.Describe() + "\n--- api ---\n" + ApiProcess.Describe() + string.Concat(_probers.Select((p, i) => $"\n--- {FleetSpec.Probers[i].Id} ---\n{p?.Describe() ?? "(killed)"}"));
}
