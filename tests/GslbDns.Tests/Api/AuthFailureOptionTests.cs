using System.Net;
using GslbDns.Tests.Fleet;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Api;

/// <summary>
/// <c>--api-auth-failure-burst</c> and <c>--api-auth-failure-interval</c> on the real processes: gslbdns-api and the
/// DNS server's embedded API refuse the wrong token after the burst given, with a Retry-After from the interval
/// given; bad values and a server that serves no API are command-line errors (exit 2).
/// </summary>
public sealed class AuthFailureOptionTests
{
    private const string WrongToken = "wrong-token-0123456789-abcdefghij";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task The_api_process_limits_after_the_burst_given_and_retries_after_the_interval_given()
    {
        using var folder = new TempFolder("auth-options-api");
        var zones = folder.Folder("zones");
        ApiTestZones.Write(zones);
        var tokens = ApiProcess.WriteTokensFile(folder.File("tokens"));
        using var api = ApiProcess.Start(["--embedded", "--state", folder.Folder("state"), "--zones", zones, "--tokens-file", tokens, "--geo-data", Path.Combine(zones, "none"), "--api-auth-failure-burst", "2", "--api-auth-failure-interval", "600"]);
        using var http = new HttpClient { BaseAddress = new Uri(await ApiProcess.WaitForUrlAsync(api)), Timeout = TimeSpan.FromSeconds(10) };

        await AssertLimitedAfterAsync(http, burst: 2, interval: TimeSpan.FromSeconds(600));
    }

    [Fact]
    public async Task The_servers_embedded_api_takes_the_same_options()
    {
        using var folder = new TempFolder("auth-options-server");
        var zones = folder.Folder("zones");
        ApiTestZones.Write(zones);
        var tokens = ApiProcess.WriteTokensFile(folder.File("tokens"));
        var port = PortFinder.Take();
        var (server, _, _) = await FleetProcesses.StartServerAsync(
            RepoLayout.DotnetHost, RepoLayout.ServerDll, zones, [], null, metrics: false,
            extraArguments: ["--no-prober", "--api", $"127.0.0.1:{port}", "--state", folder.Folder("state"), "--api-tokens-file", tokens, "--api-auth-failure-burst", "3", "--api-auth-failure-interval", "120"],
            readyZone: ApiTestZones.Zone);
        using var _ = server;
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(10) };
        await Deadline.UntilAsync("the embedded API answering", Patience, async () =>
        {
            try
            {
                using var health = await http.GetAsync("/healthz");
                return (health.IsSuccessStatusCode, server.StandardError);
            }
            catch (HttpRequestException)
            {
                return (false, server.StandardError);
            }
        });

        await AssertLimitedAfterAsync(http, burst: 3, interval: TimeSpan.FromSeconds(120));
    }

    [Theory]
    [InlineData("api", new[] { "--embedded", "--state", "/nonexistent/state", "--api-auth-failure-burst", "0" }, "--api-auth-failure-burst: '0' is not a whole number from 1 to 10000")]
    [InlineData("api", new[] { "--embedded", "--state", "/nonexistent/state", "--api-auth-failure-interval", "1.5" }, "--api-auth-failure-interval: '1.5' is not a whole number from 1 to 86400")]
    [InlineData("server", new[] { "--api", "off", "--api-auth-failure-burst", "5" }, "--api-auth-failure-burst: the server serves the API only in embedded mode")]
    [InlineData("server", new[] { "--consul", "http://127.0.0.1:1", "--api-auth-failure-interval", "5" }, "--api-auth-failure-interval: the server serves the API only in embedded mode")]
    public async Task Bad_values_and_options_for_an_api_that_is_not_served_exit_2(string program, string[] arguments, string message)
    {
        string[] command = program == "api" ? [ApiLayout.ApiDll, .. arguments] : [RepoLayout.ServerDll, "check", .. arguments];
        var result = await ChildProcess.RunAsync(RepoLayout.DotnetHost, command, TimeSpan.FromSeconds(30));
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(message, result.StandardError, StringComparison.Ordinal);
    }

    /// <summary><paramref name="burst"/> wrong tokens get 401, the next 429 with a Retry-After near <paramref name="interval"/> (the default is 6 s).</summary>
    private static async Task AssertLimitedAfterAsync(HttpClient http, int burst, TimeSpan interval)
    {
        for (var i = 0; i < burst; i++)
        {
            using var wrong = await ApiCalls.SendAsync(http, HttpMethod.Get, "/v1/status", WrongToken);
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        }

        using var limited = await ApiCalls.SendAsync(http, HttpMethod.Get, "/v1/status", WrongToken);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        var retryAfter = limited.Headers.RetryAfter?.Delta;
        Assert.True(retryAfter is { } delta && delta > interval - TimeSpan.FromSeconds(30) && delta <= interval, $"Retry-After {retryAfter}, interval {interval}");
    }
}
