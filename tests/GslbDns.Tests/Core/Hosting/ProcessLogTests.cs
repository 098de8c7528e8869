using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;
using GslbDns.Tests.Api;
using GslbDns.Tests.Prober;
using GslbDns.Tests.Server;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Core.Hosting;

/// <summary>
/// How the real processes log: compact JSON (CLEF) to a pipe by default, text with <c>--log-format text</c>,
/// <c>--log-level</c> honoured, state changes as structured events, and never a token in any output.
/// </summary>
public sealed partial class ProcessLogTests : IDisposable
{
    /// <summary>ChildProcess sets text for every test; empty means unset, so the process picks by itself.</summary>
    private static readonly Dictionary<string, string> AutoFormat = new() { ["GSLBDNS_LOG_FORMAT"] = "" };

    private readonly TempFolder _folder = new("process-logs");

    public void Dispose() => _folder.Dispose();

    [GeneratedRegex(@"^\d\d:\d\d:\d\d\.\d{3} (VRB|DBG|INF|WRN|ERR|FTL) \S+: ")]
    private static partial Regex TextLine();

    [GeneratedRegex(@"REST API on (http://\S+/)")]
    private static partial Regex ApiLine();

    [Fact]
    public async Task Zone_check_logs_loaded_and_rejected_zones_as_compact_JSON_events_with_file_line_and_reason_on_a_pipe()
    {
        var zones = WriteZonesWithOneBroken(out var broken);
        var result = await RunAsync([RepoLayout.ServerDll, "check", "--zones", zones, "--geo-data", _folder.Folder("no-geo")], AutoFormat);
        Assert.True(result.ExitCode == 1, result.ToString());

        var events = JsonEvents(result.StandardError);
        var loaded = Assert.Single(events, e => Template(e).StartsWith("Loaded zone", StringComparison.Ordinal));
        Assert.Equal("good.test.", loaded.GetProperty("Origin").GetString());
        Assert.True(loaded.TryGetProperty("@t", out _));
        var rejected = Assert.Single(events, e => Template(e).StartsWith("Zone rejected", StringComparison.Ordinal));
        Assert.Equal(broken, rejected.GetProperty("File").GetString());
        Assert.Equal(4, rejected.GetProperty("Line").GetInt32());
        Assert.False(string.IsNullOrEmpty(rejected.GetProperty("Reason").GetString()));
        Assert.Equal("Error", rejected.GetProperty("@l").GetString());
    }

    [Fact]
    public async Task Log_format_text_writes_readable_lines_and_log_level_warning_leaves_out_information()
    {
        var zones = WriteZonesWithOneBroken(out var broken);
        var text = await RunAsync([RepoLayout.ServerDll, "check", "--zones", zones, "--geo-data", _folder.Folder("no-geo"), "--log-format", "text"], AutoFormat);
        var lines = text.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => TextLine().IsMatch(l) && l.Contains("INF GslbDns.Zones: Loaded zone good.test.", StringComparison.Ordinal));
        Assert.Contains(lines, l => TextLine().IsMatch(l) && l.Contains($"ERR GslbDns.Zones: Zone rejected: {broken}:4: ", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.StartsWith('{'));

        var quiet = await RunAsync([RepoLayout.ServerDll, "check", "--zones", zones, "--geo-data", _folder.Folder("no-geo"), "--log-level", "warning"], AutoFormat);
        var events = JsonEvents(quiet.StandardError);
        Assert.Contains(events, e => Template(e).StartsWith("Zone rejected", StringComparison.Ordinal));
        Assert.DoesNotContain(events, e => Template(e).StartsWith("Loaded zone", StringComparison.Ordinal));

        var bad = await RunAsync([RepoLayout.ServerDll, "check", "--zones", zones, "--log-format", "yaml"], AutoFormat);
        Assert.True(bad.ExitCode == 2 && bad.StandardError.Contains("--log-format: 'yaml' is not auto, json or text", StringComparison.Ordinal), bad.ToString());
    }

    [Fact]
    public async Task No_process_writes_a_Consul_or_API_token_to_its_output_even_at_verbose_level()
    {
        var consulToken = "consul-secret-" + Guid.NewGuid().ToString("N");
        var operatorToken = "operator-secret-" + Guid.NewGuid().ToString("N");
        var readToken = "read-secret-" + Guid.NewGuid().ToString("N");
        var consulTokenFile = _folder.File("consul-token");
        File.WriteAllText(consulTokenFile, consulToken + "\n");
        var apiTokens = _folder.File("api-tokens");
        File.WriteAllText(apiTokens, $"operator {operatorToken}\nread {readToken}\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(apiTokens, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        var zones = _folder.Folder("zones");
        const string Consul = "http://127.0.0.1:1"; // nothing listens: every Consul call fails, and failures are what get logged
        var verbose = new[] { "--log-level", "verbose" };
        var withToken = new Dictionary<string, string> { ["GSLBDNS_LOG_FORMAT"] = "", ["GSLBDNS_CONSUL_TOKEN"] = consulToken };

        var processes = new List<ChildProcess>();
        try
        {
            // Embedded server with its API, used with right and wrong tokens.
            var embedded = ChildProcess.Start(RepoLayout.DotnetHost, [RepoLayout.ServerDll, "serve", "--zones", zones, "--dns", "127.0.0.1:0", "--metrics", "off", "--no-prober", "--api", "127.0.0.1:0", "--api-tokens-file", apiTokens, "--state", _folder.Folder("state"), "--log-format", "text", .. verbose], environment: withToken);
            processes.Add(embedded);

            // Consul mode: the server (token from the environment), the prober and the API (token from a file).
            var server = ChildProcess.Start(RepoLayout.DotnetHost, [RepoLayout.ServerDll, "serve", "--zones", zones, "--dns", "127.0.0.1:0", "--metrics", "off", "--consul", Consul, .. verbose], environment: withToken);
            processes.Add(server);
            var prober = ChildProcess.Start(RepoLayout.DotnetHost, [await ProberLayout.ProberDllAsync(), "--id", "p1", "--region", "eu", "--lat", "1", "--lon", "2", "--zones", zones, "--metrics", "off", "--consul", Consul, "--consul-token-file", consulTokenFile, .. verbose], environment: AutoFormat);
            processes.Add(prober);
            var api = ChildProcess.Start(RepoLayout.DotnetHost, [ApiLayout.ApiDll, "--zones", zones, "--consul", Consul, "--consul-token-file", consulTokenFile, "--tokens-file", apiTokens, "--listen", "127.0.0.1:0", .. verbose], environment: AutoFormat);
            processes.Add(api);

            var baseUri = await Deadline.PollAsync("the embedded API's address in the log", TimeSpan.FromSeconds(30), () =>
            {
                var match = ApiLine().Match(embedded.StandardError + embedded.StandardOutput);
                return embedded.HasExited
                    ? throw new PollAbortedException(embedded.Describe())
                    : Task.FromResult((match.Success, match.Success ? new Uri(match.Groups[1].Value) : null, embedded.StandardError));
            });
            using var http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(10) };
            Assert.Equal(HttpStatusCode.OK, await SendAsync(http, HttpMethod.Get, "v1/status", readToken));
            Assert.Equal(HttpStatusCode.Unauthorized, await SendAsync(http, HttpMethod.Get, "v1/status", readToken + "x"));
            Assert.Equal(HttpStatusCode.Forbidden, await SendAsync(http, HttpMethod.Put, "v1/datacenters/nowhere/weight", readToken));
            Assert.NotEqual(HttpStatusCode.Unauthorized, await SendAsync(http, HttpMethod.Put, "v1/datacenters/nowhere/weight", operatorToken));

            // Each Consul-mode process has tried Consul, failed, and said so (a warning or an error: where a leaked token would show).
            // One that gives up and exits has said its last word too.
            foreach (var process in new[] { server, prober, api })
            {
                await Deadline.UntilAsync($"a Consul failure logged by {process.CommandLine}", TimeSpan.FromSeconds(30), () =>
                    Task.FromResult((process.HasExited || process.StandardError.Contains("\"@l\":\"Warning\"", StringComparison.Ordinal) || process.StandardError.Contains("\"@l\":\"Error\"", StringComparison.Ordinal), process.StandardError)));
            }

            foreach (var process in processes.Where(p => !p.HasExited))
            {
                process.Signal(ChildProcess.SigTerm);
                Assert.True(await process.WaitForExitAsync(TimeSpan.FromSeconds(20)), process.Describe());
            }

            foreach (var process in processes)
            {
                var output = process.StandardOutput + process.StandardError;
                Assert.True(output.Length > 0, process.Describe());
                foreach (var token in new[] { consulToken, operatorToken, readToken })
                {
                    Assert.False(output.Contains(token, StringComparison.Ordinal), $"a token is in the output of {process.CommandLine}");
                }
            }
        }
        finally
        {
            foreach (var process in processes)
            {
                process.Dispose();
            }
        }
    }

    private static async Task<HttpStatusCode> SendAsync(HttpClient http, HttpMethod method, string path, string token)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (method == HttpMethod.Put)
        {
            request.Content = new StringContent("""{"weight": 5, "reason": "log test"}""", System.Text.Encoding.UTF8, "application/json");
        }

        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    private string WriteZonesWithOneBroken(out string broken)
    {
        var zones = _folder.Folder("zones-" + Guid.NewGuid().ToString("N")[..8]);
        File.WriteAllText(Path.Combine(zones, "good.test.zone"), "$ORIGIN good.test.\n$TTL 60\n@ IN SOA ns hostmaster 1 60 60 60 60\n@ IN NS ns\nns IN A 127.0.0.1\n");
        broken = Path.Combine(zones, "bad.test.zone");
        File.WriteAllText(broken, "$ORIGIN bad.test.\n$TTL 60\n@ IN SOA ns hostmaster 1 60 60 60 60\nns IN A 999.0.0.1\n");
        return zones;
    }

    private static async Task<ProcessResult> RunAsync(string[] args, IReadOnlyDictionary<string, string> environment)
    {
        using var child = ChildProcess.Start(RepoLayout.DotnetHost, args, environment: environment);
        Assert.True(await child.WaitForExitAsync(TimeSpan.FromSeconds(30)), child.Describe());
        return child.Result();
    }

    /// <summary>
    /// Every log line of standard error as a CLEF event. <c>check</c> also prints each problem there as
    /// <c>file:line: reason</c> on purpose; any other line that is not JSON fails the test.
    /// </summary>
    private static List<JsonElement> JsonEvents(string stderr)
    {
        var events = new List<JsonElement>();
        foreach (var line in stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith('/') && line.Contains(".zone:", StringComparison.Ordinal))
            {
                continue;
            }

            using var document = JsonDocument.Parse(line);
            Assert.True(document.RootElement.TryGetProperty("@t", out _), line);
            events.Add(document.RootElement.Clone());
        }

        Assert.NotEmpty(events);
        return events;
    }

    private static string Template(JsonElement e) => e.TryGetProperty("@mt", out var mt) ? mt.GetString() ?? "" : "";
}
