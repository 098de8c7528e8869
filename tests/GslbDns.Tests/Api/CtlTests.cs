using System.Text.Json;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Api;

/// <summary>
/// <c>gslbdns ctl</c> (the real GslbDns.dll) against a real <c>gslbdns-api</c> process: every command, its JSON output
/// parsed, and every exit status (0 done, 1 the API said no, 2 usage, 3 cannot reach or token refused).
/// </summary>
public sealed class CtlTests
{
    private const string FeedToken = "feed-token-0123456789-ctl-tests";

    [Fact]
    public async Task Every_command_and_every_exit_status_against_a_running_api()
    {
        using var folder = new TempFolder("ctl");
        var zones = folder.Folder("zones");
        ApiTestZones.Write(zones);
        var tokens = ApiProcess.WriteTokensFile(folder.File("tokens"));
        File.AppendAllText(tokens, $"feed {FeedToken} monitor\n");
        var feedToken = folder.File("feed-token");
        File.WriteAllText(feedToken, $"feed {FeedToken} monitor\n");
        var operatorToken = folder.File("operator-token");
        File.WriteAllText(operatorToken, InProcessApi.OperatorToken + "\n");
        var readToken = folder.File("read-token");
        File.WriteAllText(readToken, $"read {InProcessApi.ReadToken} grafana\n"); // a tokens-file line works too
        using var api = ApiProcess.Start(["--embedded", "--state", folder.Folder("state"), "--zones", zones, "--tokens-file", tokens, "--geo-data", Path.Combine(zones, "none")]);
        var url = await ApiProcess.WaitForUrlAsync(api);
        var w = ApiTestZones.WeightedId("dc-a");

        // Most commands run CtlCommand in this process (the code `gslbdns ctl` runs, over real HTTP to the API
        // process): a process start per command made this test the suite's slowest. What only the binary shows
        // (the entry point's dispatch, the `drill` alias, environment tokens, a refused --token) runs as a process below.
        async Task<(int Exit, JsonElement Json, ProcessResult Run)> Ctl(string token, params string[] args)
        {
            var run = await RunInProcessAsync([.. args, "--api", url, "--token-file", token, "--output", "json"]);
            var json = run.StandardOutput.Trim().Length > 0 ? JsonDocument.Parse(run.StandardOutput).RootElement : default;
            return (run.ExitCode, json, run);
        }

        var statusRun = await RunAsync(["ctl", "status", "--api", url, "--token-file", readToken, "--output", "json"]);
        var status = (Exit: statusRun.ExitCode, Json: JsonDocument.Parse(statusRun.StandardOutput).RootElement, Run: statusRun);
        Assert.True(status.Exit == 0, status.Run.ToString());
        Assert.Equal("sqlite", status.Json.GetProperty("store").GetString());
        Assert.Equal(3, status.Json.GetProperty("dataCenters").GetInt32());

        var endpoints = await Ctl(readToken, "endpoints", "--service", ApiTestZones.Weighted, "--dc", "dc-a");
        Assert.Equal(0, endpoints.Exit);
        Assert.Equal(2, endpoints.Json.GetProperty("count").GetInt32());
        Assert.All(endpoints.Json.GetProperty("items").EnumerateArray(), e => Assert.Equal("dc-a", e.GetProperty("dataCenter").GetString()));

        var dcs = await Ctl(readToken, "datacenters");
        Assert.Equal(["dc-a", "dc-b", "dc-c"], dcs.Json.GetProperty("items").EnumerateArray().Select(d => d.GetProperty("name").GetString()));

        // Drain, with If-Match: "0" (create-only) the first time; the second create-only is a 412 (exit 1).
        var drain = await Ctl(operatorToken, "drain", "dc-c", "--reason", "ctl test", "--if-match", "0");
        Assert.True(drain.Exit == 0, drain.Run.ToString());
        Assert.True(drain.Json.GetProperty("set").GetBoolean());
        var again = await Ctl(operatorToken, "drain", "dc-c", "--reason", "ctl test", "--if-match", "0");
        Assert.Equal(1, again.Exit);
        Assert.Equal(412, again.Json.GetProperty("status").GetInt32());

        // The guardrail: draining dc-b too would leave pair.api.test without an endpoint of dc-a... and dc-a then w; 409, exit 1.
        Assert.Equal(0, (await Ctl(operatorToken, "drain", "dc-b", "--reason", "ctl test")).Exit);
        var refused = await Ctl(operatorToken, "drain", "dc-a", "--reason", "ctl test");
        Assert.Equal(1, refused.Exit);
        Assert.Equal(409, refused.Json.GetProperty("status").GetInt32());
        Assert.Contains("would have no", refused.Run.StandardError, StringComparison.Ordinal);
        Assert.Equal(0, (await Ctl(operatorToken, "undrain", "dc-b")).Exit);
        var undrained = await Ctl(operatorToken, "undrain", "dc-c", "--reason", "done");
        Assert.Equal(0, undrained.Exit);
        Assert.False(undrained.Json.GetProperty("set").GetBoolean());

        // Weights: set, change by N (read, then If-Match), clear.
        var weight = await Ctl(operatorToken, "weight", w, "250", "--reason", "ctl");
        Assert.Equal(250, weight.Json.GetProperty("weight").GetInt32());
        var added = await Ctl(operatorToken, "weight", w, "--add", "-40");
        Assert.True(added.Exit == 0, added.Run.ToString());
        Assert.Equal(210, added.Json.GetProperty("weight").GetInt32());
        Assert.True(added.Json.GetProperty("version").GetUInt64() > weight.Json.GetProperty("version").GetUInt64());
        var stale = await Ctl(operatorToken, "weight", w, "300", "--if-match", weight.Json.GetProperty("version").GetUInt64().ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(1, stale.Exit);
        Assert.Equal(412, stale.Json.GetProperty("status").GetInt32());
        Assert.False((await Ctl(operatorToken, "weight", w, "--clear")).Json.GetProperty("set").GetBoolean());

        // Forced verdicts.
        var forced = await Ctl(operatorToken, "override", "set", w, "--healthy", "false", "--ttl", "120", "--reason", "ctl");
        Assert.True(forced.Exit == 0, forced.Run.ToString());
        Assert.False(forced.Json.GetProperty("healthy").GetBoolean());
        Assert.Equal(0, (await Ctl(operatorToken, "override", "clear", w, "--reason", "ctl")).Exit);

        // External feeds: a feed token sets and clears one endpoint's vote and load, and may do nothing else.
        var feed = await Ctl(feedToken, "feed", "set", w, "--up", "false", "--load", "3.5", "--expires-in", "60s", "--reason", "monitor says so");
        Assert.True(feed.Exit == 0, feed.Run.ToString());
        Assert.Equal("feed", feed.Json.GetProperty("kind").GetString());
        Assert.False(feed.Json.GetProperty("healthy").GetBoolean());
        Assert.Equal(3.5, feed.Json.GetProperty("load").GetDouble());
        var fed = (await Ctl(readToken, "endpoints", "--service", ApiTestZones.Weighted, "--dc", "dc-a")).Json.GetProperty("items").EnumerateArray().Single(e => e.GetProperty("id").GetString() == w);
        Assert.False(fed.GetProperty("feed").GetProperty("up").GetBoolean());
        Assert.Equal(3, (await Ctl(feedToken, "drain", "dc-c", "--reason", "x")).Exit); // 403: a feed token writes feeds only
        var badExpiry = await Ctl(feedToken, "feed", "set", w, "--up", "true", "--expires-in", "3d");
        Assert.Equal(1, badExpiry.Exit); // 400 naming the field
        Assert.Contains("expiresIn", badExpiry.Run.StandardError, StringComparison.Ordinal);
        Assert.Equal(2, (await Ctl(feedToken, "feed", "set", w, "--up", "true")).Exit); // no --expires-in: refused before sending
        Assert.Equal(2, (await Ctl(feedToken, "feed", "set", "dc-a", "--up", "true", "--expires-in", "60s")).Exit); // not an endpoint
        var cleared = await Ctl(feedToken, "feed", "clear", w, "--reason", "recovered");
        Assert.True(cleared.Exit == 0, cleared.Run.ToString());
        Assert.False(cleared.Json.GetProperty("set").GetBoolean());

        var explain = await Ctl(readToken, "explain", "--name", ApiTestZones.Weighted, "--client", "192.0.2.0/24");
        Assert.True(explain.Exit == 0, explain.Run.ToString());
        Assert.Contains("192.0.2.", explain.Run.StandardOutput, StringComparison.Ordinal);

        var audit = await Ctl(readToken, "audit", "--object", w);
        Assert.Equal(7, audit.Json.GetProperty("count").GetInt32()); // weight set, add, clear; override set, clear; feed set, clear

        // Drills: plan (dry run), start one two hours ahead, list, status, report, abort; a second abort is a 409.
        var plan = await Ctl(operatorToken, "drill", "plan", "--dc", "dc-b", "--reason", "ctl practice");
        Assert.True(plan.Exit == 0, plan.Run.ToString());
        Assert.Contains("w.api.test", plan.Json.GetProperty("affectedNames").EnumerateArray().Select(n => n.GetString()!.TrimEnd('.')));
        var start = DateTimeOffset.UtcNow.AddHours(2).ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        var drill = await Ctl(operatorToken, "drill", "start", "--dc", "dc-b", "--reason", "ctl practice", "--start", start, "--duration", "600");
        Assert.True(drill.Exit == 0, drill.Run.ToString());
        var id = drill.Json.GetProperty("id").GetString()!;
        Assert.Equal(id, (await Ctl(readToken, "drills")).Json.GetProperty("items")[0].GetProperty("id").GetString());
        Assert.Equal("scheduled", (await Ctl(readToken, "drill", "status", id)).Json.GetProperty("state").GetString());
        Assert.Equal(id, (await Ctl(readToken, "drill", "report", id)).Json.GetProperty("drill").GetProperty("id").GetString());
        Assert.Equal("aborted", (await Ctl(operatorToken, "drill", "abort", id, "--reason", "enough")).Json.GetProperty("state").GetString());
        Assert.Equal(1, (await Ctl(operatorToken, "drill", "abort", id)).Exit);

        // The old spelling still works.
        var alias = await RunAsync(["drill", "status", id, "--api", url, "--token-file", readToken, "-o", "json"]);
        Assert.True(alias.ExitCode == 0, alias.ToString());
        Assert.Equal("aborted", JsonDocument.Parse(alias.StandardOutput).RootElement.GetProperty("state").GetString());

        // 1: not found. 3: a read token on a write (403), an unknown token (401), nothing listening.
        Assert.Equal(1, (await Ctl(readToken, "drill", "status", "drill-nope")).Exit);
        Assert.Equal(1, (await Ctl(operatorToken, "drain", "dc-nowhere", "--reason", "x")).Exit);
        Assert.Equal(3, (await Ctl(readToken, "drain", "dc-c", "--reason", "x")).Exit);
        var bogus = folder.File("bogus-token");
        File.WriteAllText(bogus, "not-a-token-we-know-of-at-all");
        Assert.Equal(3, (await Ctl(bogus, "status")).Exit);
        var nowhere = await RunAsync(["ctl", "status", "--api", $"http://127.0.0.1:{PortFinder.Take()}/", "--token-file", readToken]);
        Assert.Equal(3, nowhere.ExitCode);
        Assert.Contains("cannot reach the API", nowhere.StandardError, StringComparison.Ordinal);

        // 2: usage, before anything is sent; a token on the command line is refused without being echoed.
        Assert.Equal(2, (await Ctl(operatorToken, "drain", "dc-c")).Exit); // no --reason
        Assert.Equal(2, (await Ctl(operatorToken, "weight", w, "5", "--clear")).Exit);
        Assert.Equal(2, (await Ctl(operatorToken, "frobnicate")).Exit);
        var secret = await RunAsync(["ctl", "status", "--api", url, "--token", InProcessApi.OperatorToken]);
        Assert.Equal(2, secret.ExitCode);
        Assert.DoesNotContain(InProcessApi.OperatorToken, secret.StandardError + secret.StandardOutput, StringComparison.Ordinal);

        // The token from the environment, and the table output.
        using var fromEnv = ChildProcess.Start(RepoLayout.DotnetHost, [RepoLayout.ServerDll, "ctl", "endpoints", "--api", url], environment: new Dictionary<string, string> { ["GSLBDNS_API_TOKEN"] = InProcessApi.ReadToken });
        Assert.True(await fromEnv.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.True(fromEnv.ExitCode == 0, fromEnv.Describe());
        Assert.StartsWith("ENDPOINT", fromEnv.StandardOutput, StringComparison.Ordinal);
        Assert.Contains(w, fromEnv.StandardOutput, StringComparison.Ordinal);
    }

    private static async Task<ProcessResult> RunInProcessAsync(string[] args)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await GslbDns.Server.Ctl.CtlCommand.RunAsync(args, output, error);
        return new ProcessResult(exit, output.ToString(), error.ToString(), started.Elapsed);
    }

    private static Task<ProcessResult> RunAsync(string[] args) =>
        ChildProcess.RunAsync(RepoLayout.DotnetHost, [RepoLayout.ServerDll, .. args], TimeSpan.FromSeconds(60));
}
