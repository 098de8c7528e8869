using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using GslbDns.Api;
using GslbDns.Api.Auth;
using GslbDns.Consul;
using GslbDns.Hosting;
using GslbDns.Query;
using GslbDns.Snapshots;
using GslbDns.State;
using GslbDns.Tests.Core.Consul;
using GslbDns.Tests.TestSupport;
using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace GslbDns.Tests.Api;

/// <summary>Where the built API is: Api.dll next to the test assembly (the test project references it), else the solution build's.</summary>
internal static class ApiLayout
{
    public static string ApiDll
    {
        get
        {
            var candidates = new List<string> { Path.Combine(AppContext.BaseDirectory, "Api.dll") };
            foreach (var configuration in new[] { "Debug", "Release" })
            {
                candidates.Add(Path.Combine(RepoLayout.Root, "src", "Api", "bin", configuration, "net10.0", "Api.dll"));
            }

            foreach (var candidate in candidates)
            {
                if (File.Exists(candidate) && File.Exists(Path.ChangeExtension(candidate, ".runtimeconfig.json")))
                {
                    return candidate;
                }
            }

            throw new FileNotFoundException($"Api.dll (with its runtimeconfig.json) not found; looked at: {string.Join(", ", candidates)}. Build the solution first.");
        }
    }
}

/// <summary>
/// The real <c>gslbdns-api</c> process (src/Api): started listening on <c>127.0.0.1:0</c>, its URL read from the
/// "listening on" line it prints once the OS has picked the port.
/// </summary>
internal static partial class ApiProcess
{
    public static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(30);

    /// <summary>Starts <c>Api.dll</c> with <paramref name="arguments"/> plus <c>--listen 127.0.0.1:0</c>; returns at once.</summary>
    public static ChildProcess Start(IEnumerable<string> arguments) =>
        ChildProcess.Start(RepoLayout.DotnetHost, [ApiLayout.ApiDll, .. arguments, "--listen", "127.0.0.1:0"]);

    /// <summary>Waits until <paramref name="process"/> prints where it listens, and returns that base URL.</summary>
    public static Task<string> WaitForUrlAsync(ChildProcess process) =>
        Deadline.PollAsync("the API process to listen", StartDeadline, () =>
        {
            if (process.HasExited)
            {
                throw new PollAbortedException("the API process exited:\n" + process.Describe());
            }

            var match = ListeningLine().Match(process.StandardOutput);
            return Task.FromResult((match.Success, match.Success ? match.Groups[1].Value : "", process.StandardOutput));
        });

    /// <summary>A tokens file (mode 0600) with <see cref="InProcessApi.OperatorToken"/> (alice) and the SHA-256 form of <see cref="InProcessApi.ReadToken"/> (grafana).</summary>
    public static string WriteTokensFile(string path)
    {
        File.WriteAllText(path, $"# test tokens\noperator {InProcessApi.OperatorToken} alice\nread sha256:{Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(InProcessApi.ReadToken)))} grafana\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        return path;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"listening on (https?://\S+/)")]
    private static partial System.Text.RegularExpressions.Regex ListeningLine();
}

/// <summary>A zone folder with a small GSLB config: three data centers, a weighted service and a two-endpoint service.</summary>
internal static class ApiTestZones
{
    public const string Zone = "api.test";
    public const string Weighted = "w.api.test";
    public const string Pair = "pair.api.test";

    public static string WeightedId(string dc) => $"{Weighted}/{dc}/{WeightedAddress(dc)}";

    public static string WeightedAddress(string dc) => dc switch
    {
        "dc-a" => "192.0.2.1",
        "dc-b" => "192.0.2.2",
        "dc-c" => "192.0.2.3",
        _ => throw new ArgumentOutOfRangeException(nameof(dc)),
    };

    public static string PairAddress(string dc) => dc == "dc-a" ? "198.51.100.1" : "198.51.100.2";

    public static void Write(string folder)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, Zone + ".zone"), """
            $TTL 300
            @ IN SOA ns1 hostmaster 1 3600 600 86400 60
              IN NS ns1
            ns1 IN A 127.0.0.1
            """);
        File.WriteAllText(Path.Combine(folder, Zone + ".gslb.json"), """
            {
              "dataCenters": {
                "dc-a": {"latitude": 39.04, "longitude": -77.49},
                "dc-b": {"latitude": 53.35, "longitude": -6.26},
                "dc-c": {"latitude": 35.68, "longitude": 139.69}
              },
              "services": {
                "w": {
                  "ttl": 5,
                  "policy": [{"type": "healthy"}, {"type": "weighted"}],
                  "endpoints": [
                    {"dataCenter": "dc-a", "address": "192.0.2.1"},
                    {"dataCenter": "dc-b", "address": "192.0.2.2"},
                    {"dataCenter": "dc-c", "address": "192.0.2.3"},
                    {"dataCenter": "dc-a", "address": "2001:db8::1"}
                  ]
                },
                "pair": {
                  "policy": [{"type": "healthy"}, {"type": "multivalue"}],
                  "endpoints": [
                    {"dataCenter": "dc-a", "address": "198.51.100.1"},
                    {"dataCenter": "dc-b", "address": "198.51.100.2"}
                  ]
                }
              }
            }
            """);
    }
}

/// <summary>Every log event, rendered with its properties, to prove what never gets logged.</summary>
internal sealed class CapturingSink : ILogEventSink
{
    private static readonly Serilog.Formatting.Display.MessageTemplateTextFormatter Literal = new("{Message:lj}");

    public ConcurrentQueue<string> Lines { get; } = new();

    public void Emit(LogEvent logEvent)
    {
        using var rendered = new StringWriter();
        Literal.Format(logEvent, rendered);
        var text = new StringBuilder(rendered.ToString());
        foreach (var (name, value) in logEvent.Properties)
        {
            text.Append(' ').Append(name).Append('=').Append(value);
        }

        if (logEvent.Exception is not null)
        {
            text.Append(' ').Append(logEvent.Exception);
        }

        Lines.Enqueue(text.ToString());
    }

    public string All => string.Join('\n', Lines);
}

/// <summary>
/// The API in this process on a free loopback port over real HTTP, against a real store (a SQLite file in a
/// temp folder, or Consul under a unique prefix), with its own snapshot loaded from <see cref="ApiTestZones"/>.
/// </summary>
internal sealed class InProcessApi : IAsyncDisposable
{
    public const string OperatorToken = "op-token-0123456789-abcdefghij";
    public const string ReadToken = "read-token-0123456789-abcdefghij";

    private readonly TempFolder _folder;
    private readonly Logger _logger;
    private HttpClient? _consulHttp;

    private InProcessApi(TempFolder folder, Logger logger, CapturingSink sink)
    {
        _folder = folder;
        _logger = logger;
        Sink = sink;
    }

    public CapturingSink Sink { get; }

    public ApiHost Host { get; private set; } = null!;

    public IOperatorStateStore Store { get; private set; } = null!;

    public SnapshotHolder Snapshots { get; } = new(ServerSnapshot.Empty);

    public HttpClient Http { get; private set; } = null!;

    public string ZonesFolder => Path.Combine(_folder.Path, "zones");

    /// <param name="authFailureLimit">Null: the shipped limit. The route walks present a wrong token on every route, far more than a client may.</param>
    public static async Task<InProcessApi> StartAsync(string store, ConsulDevAgent? consul = null, string? consulPrefix = null, AuthFailureLimit? authFailureLimit = null)
    {
        var folder = new TempFolder("api");
        var sink = new CapturingSink();
        var logger = new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(sink).CreateLogger();
        var api = new InProcessApi(folder, logger, sink);
        ApiTestZones.Write(api.ZonesFolder);
        var errors = new SnapshotBuilder(api.ZonesFolder, null, null, api.Snapshots, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance).Reload();
        Assert.Empty(errors);
        if (store == "sqlite")
        {
            api.Store = SqliteOperatorStateStore.Open(Path.Combine(folder.Path, "state.db"));
        }
        else
        {
            Assert.NotNull(consul);
            api._consulHttp = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
            var client = new ConsulClient(api._consulHttp, new ConsulClientOptions { Addresses = [consul.HttpAddress], RequestTimeout = TimeSpan.FromSeconds(5) });
            api.Store = new ConsulOperatorStateStore(client, consulPrefix ?? ConsulTestSupport.UniquePrefix("api"));
        }

        var tokens = ApiTokens.FromTokens((ApiRole.Operator, OperatorToken, "alice"), (ApiRole.Read, ReadToken, "grafana"));
        api.Host = await ApiHost.StartAsync(
            new ApiHostOptions { Listen = [new IPEndPoint(IPAddress.Loopback, 0)], Tokens = tokens, Logger = logger, AuthFailureLimit = authFailureLimit ?? new() },
            api.Store,
            api.Snapshots,
            new QueryEngine(api.Snapshots, new QueryEngineOptions()),
            null);
        api.Http = new HttpClient { BaseAddress = api.Host.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        return api;
    }

    public async ValueTask DisposeAsync()
    {
        Http?.Dispose();
        if (Host is not null)
        {
            await Host.DisposeAsync();
        }

        if (Store is not null)
        {
            await Store.DisposeAsync();
        }

        _consulHttp?.Dispose();
        await _logger.DisposeAsync();
        _folder.Dispose();
    }
}

/// <summary>Small HTTP helpers: one request with a token, a JSON body and If-Match.</summary>
internal static class ApiCalls
{
    public static async Task<HttpResponseMessage> SendAsync(HttpClient http, HttpMethod method, string path, string? token, object? body = null, string? ifMatch = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }

        if (body is string raw)
        {
            request.Content = new StringContent(raw, Encoding.UTF8, "application/json");
        }
        else if (body is not null)
        {
            request.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        }

        return await http.SendAsync(request);
    }

    public static async Task<JsonElement> JsonAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }

    public static async Task<string> DescribeAsync(HttpResponseMessage response) =>
        $"{(int)response.StatusCode} {response.StatusCode}: {await response.Content.ReadAsStringAsync()}";

    public static string EndpointPath(string id) => "/v1/endpoints/" + string.Join('/', id.Split('/').Select(Uri.EscapeDataString));

    public static ulong ETagVersion(HttpResponseMessage response) =>
        ulong.Parse(response.Headers.ETag!.Tag.Trim('"'), System.Globalization.CultureInfo.InvariantCulture);
}
