using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using GslbDns.Tests.Api;
using GslbDns.Tests.Core.Consul;
using GslbDns.Tests.Core.Probing;
using GslbDns.Tests.Prober;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Fleet;

/// <summary>
/// Real processes for drills: a 3-server Consul cluster, three gslbdns-prober processes (eu, us, ap), two
/// GslbDns servers watching Consul, and the gslbdns-api process (Consul mode, drill runner on, minimum
/// duration 1 s, verifying both DNS servers, one blocked date ten days ahead). The zone folder is the
/// fleet's (<see cref="FleetSpec"/>): svc.fleet.test answers all healthy endpoints of dc-eu (127.0.0.2),
/// dc-us (127.0.0.3) and dc-ap (127.0.0.4); part.fleet.test fails over from dc-eu to dc-us.
/// </summary>
public class DrillFleet : IAsyncLifetime
{
    public const string Prefix = "drills/";
    public const string Token = "drill-operator-token-0123456789abcdef";
    public static readonly IPAddress Eu = FleetSpec.ServiceAddresses[0];

    private readonly TempFolder _folder = new("drill-fleet");
    private readonly ChildProcess?[] _probers = new ChildProcess?[FleetSpec.Probers.Length];
    private readonly bool _withProbers;
    private string _zones = "";
    private string _tokens = "";

    public DrillFleet()
        : this(withProbers: true)
    {
    }

    protected DrillFleet(bool withProbers)
    {
        _withProbers = withProbers;
    }

    internal ConsulCluster Cluster { get; } = new("session_ttl_min = \"1s\"");

    internal FleetBackends Backends { get; private set; } = null!;

    internal ChildProcess[] Servers { get; } = new ChildProcess[2];

    public IPEndPoint[] Dns { get; } = new IPEndPoint[2];

    internal ChildProcess? Api { get; private set; }

    public HttpClient Http { get; private set; } = new();

    /// <summary>A date no drill may touch (the API's --drill-blocked-window).</summary>
    public DateOnly BlockedDate { get; } = DateOnly.FromDateTime(DateTime.UtcNow.AddDays(10));

    public string Folder => _folder.Path;

    public async Task InitializeAsync()
    {
        var cluster = Cluster.InitializeAsync();
        var proberDll = _withProbers ? await ProberLayout.ProberDllAsync() : "";
        Backends = FleetBackends.Start();
        _zones = _folder.Folder("zones");
        Backends.Spec().WriteTo(_zones);
        _tokens = Path.Combine(_folder.Path, "api-tokens");
        await File.WriteAllTextAsync(_tokens, $"operator {Token} drill-tester\n");
        await cluster;
        if (_withProbers)
        {
            for (var i = 0; i < _probers.Length; i++)
            {
                _probers[i] = FleetProcesses.StartProber(RepoLayout.DotnetHost, proberDll, FleetSpec.Probers[i], _zones, Cluster.HttpAddresses, Prefix, 2);
            }
        }

        for (var i = 0; i < Servers.Length; i++)
        {
            (Servers[i], Dns[i], _) = await FleetProcesses.StartServerAsync(RepoLayout.DotnetHost, RepoLayout.ServerDll, _zones, Cluster.HttpAddresses, Prefix, metrics: false);
        }

        await StartApiAsync();
        await EnsureHealthyAsync();
    }

    /// <summary>Starts (or restarts) the API process on a fresh port and waits for /healthz.</summary>
    internal async Task StartApiAsync()
    {
        Api?.Dispose();
        var port = PortFinder.Take();
        var args = new List<string>
        {
            ApiLayout.ApiDll, "--zones", _zones, "--consul-prefix", Prefix, "--tokens-file", _tokens, "--listen", $"127.0.0.1:{port}",
            "--drill-min-duration", "1", "--drill-slack", "3", "--drill-blocked-window", BlockedDate.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            "--drill-client", "81.2.69.0/24", "--geoip", GeoTestPath(),
        };
        foreach (var address in Cluster.HttpAddresses)
        {
            args.Add("--consul");
            args.Add(address.ToString());
        }

        foreach (var dns in Dns)
        {
            args.Add("--drill-server");
            args.Add(dns.ToString());
        }

        Api = ChildProcess.Start(RepoLayout.DotnetHost, args);
        Http.Dispose();
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(10) };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        await Deadline.UntilAsync("the API answering /healthz", TimeSpan.FromSeconds(30), async () =>
        {
            if (Api.HasExited)
            {
                throw new PollAbortedException($"the API exited:\n{Api.Describe()}");
            }

            try
            {
                using var response = await Http.GetAsync("healthz");
                return (response.IsSuccessStatusCode, response.StatusCode.ToString());
            }
            catch (HttpRequestException ex)
            {
                return (false, ex.Message);
            }
        }, TimeSpan.FromMilliseconds(100));
    }

    private static string GeoTestPath() => Path.Combine(RepoLayout.Root, ".cache", "geoip", "GeoLite2-City.mmdb");

    /// <summary>SIGKILL, like a crashed host.</summary>
    internal void KillApi()
    {
        Api?.Dispose();
        Api = null;
    }

    /// <summary>Every backend healthy, every server answering all three svc endpoints, no drill running (with probers: the API sees them too).</summary>
    public async Task EnsureHealthyAsync()
    {
        Backends.HealAll();

        // A test that failed half-way may have left a drill on: end it, so the next one starts clean.
        if (Api is not null)
        {
            using var list = await Http.GetAsync("v1/drills");
            foreach (var drill in (await ApiCalls.JsonAsync(list)).GetProperty("items").EnumerateArray())
            {
                if (drill.GetProperty("state").GetString() is "scheduled" or "running" && drill.GetProperty("end").GetDateTimeOffset() > DateTimeOffset.UtcNow)
                {
                    await PostAsync($"v1/drills/{drill.GetProperty("id").GetString()}/abort", new { reason = "left over by an earlier test" });
                }
            }
        }

        await Deadline.UntilAsync("both servers answering every svc endpoint", TimeSpan.FromSeconds(60), async () =>
        {
            var seen = new List<string>();
            foreach (var dns in Dns)
            {
                var answer = await FleetProcesses.AskAsync(dns, FleetSpec.ServiceName, TimeSpan.FromSeconds(1));
                seen.Add($"{dns}: {answer}");
                if (answer?.Addresses.Count != 3)
                {
                    return (false, string.Join("; ", seen));
                }
            }

            if (Api is not null)
            {
                using var response = await Http.GetAsync("v1/endpoints");
                var body = await ApiCalls.JsonAsync(response);
                var unusable = body.GetProperty("items").EnumerateArray().Where(e => !e.GetProperty("usable").GetBoolean()).Select(e => e.GetProperty("id").GetString()).ToList();
                if (unusable.Count > 0)
                {
                    return (false, "API sees unusable: " + string.Join(", ", unusable));
                }
            }

            return (true, "");
        }, TimeSpan.FromMilliseconds(200));
    }

    public async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(string path, object body)
    {
        using var content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        using var response = await Http.PostAsync(path, content);
        return (response.StatusCode, await ApiCalls.JsonAsync(response));
    }

    public async Task<JsonElement> DrillAsync(string id)
    {
        using var response = await Http.GetAsync($"v1/drills/{id}");
        Assert.True(response.IsSuccessStatusCode, await ApiCalls.DescribeAsync(response));
        return await ApiCalls.JsonAsync(response);
    }

    /// <summary>Starts a drill of dc-eu and returns its id (asserting 201).</summary>
    public async Task<string> StartAsync(double seconds, string dc = "dc-eu", double? floor = null, string? probe = null)
    {
        var (status, body) = await PostAsync("v1/drills", new { dataCenters = new[] { dc }, durationSeconds = seconds, reason = "test drill", capacityFloor = floor, outcomeProbe = probe });
        Assert.True(status == HttpStatusCode.Created, $"{status}: {body}");
        return body.GetProperty("id").GetString()!;
    }

    public Task<JsonElement> WaitForStateAsync(string id, TimeSpan timeout, params string[] states) =>
        Deadline.PollAsync($"drill {id} in state {string.Join("|", states)}", timeout, async () =>
        {
            var drill = await DrillAsync(id);
            var state = drill.GetProperty("state").GetString();
            return (states.Contains(state), drill, $"{state}: {drill.GetProperty("results").GetProperty("steps")}");
        }, TimeSpan.FromMilliseconds(100));

    /// <summary>Waits until every DNS server answers (or stops answering) <paramref name="address"/> for svc.</summary>
    public Task WaitForAnswerAsync(IPAddress address, bool present, TimeSpan timeout) =>
        Deadline.UntilAsync($"every server {(present ? "answering" : "not answering")} {address}", timeout, async () =>
        {
            var seen = new List<string>();
            var done = true;
            foreach (var dns in Dns)
            {
                var answer = await FleetProcesses.AskAsync(dns, FleetSpec.ServiceName, TimeSpan.FromSeconds(1));
                seen.Add($"{dns}: {answer}");
                done &= answer is not null && answer.Contains(address) == present;
            }

            return (done, string.Join("; ", seen));
        }, TimeSpan.FromMilliseconds(20));

    public async Task DisposeAsync()
    {
        Api?.Dispose();
        foreach (var server in Servers)
        {
            server?.Dispose();
        }

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
}

/// <summary>The same without probers (health unknown is healthy): for the test that kills Consul.</summary>
public sealed class DrillFleetWithoutProbers : DrillFleet
{
    public DrillFleetWithoutProbers()
        : base(withProbers: false)
    {
    }
}
