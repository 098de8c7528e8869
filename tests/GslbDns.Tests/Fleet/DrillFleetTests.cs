using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text.Json;
using GslbDns.Tests.TestSupport;
using Xunit.Abstractions;

namespace GslbDns.Tests.Fleet;

/// <summary>
/// Drills end to end on real processes (<see cref="DrillFleet"/>): two DNS servers, Consul, the probers and
/// the API. Every claim is checked from the clients' side: the test queries both DNS servers itself.
/// </summary>
public sealed class DrillFleetTests : IClassFixture<DrillFleet>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly DrillFleet _fleet;
    private readonly ITestOutputHelper _output;

    public DrillFleetTests(DrillFleet fleet, ITestOutputHelper output)
    {
        _fleet = fleet;
        _output = output;
    }

    [Fact]
    public async Task A_drill_converges_and_reverts_and_the_report_matches_what_the_test_saw_on_every_server()
    {
        await _fleet.EnsureHealthyAsync();
        using var stop = new CancellationTokenSource();
        var samples = new ConcurrentQueue<(int Server, DateTimeOffset At, bool HasEu)>();
        var watchers = _fleet.Dns.Select((dns, i) => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var answer = await FleetProcesses.AskAsync(dns, FleetSpec.ServiceName, TimeSpan.FromSeconds(1));
                if (answer is { Rcode: 0 })
                {
                    samples.Enqueue((i, DateTimeOffset.UtcNow, answer.Contains(DrillFleet.Eu)));
                }

                // Sampling rate of the observer that runs until the drill is over (cancelled), not a wait.
                await Task.Delay(10);
            }
        })).ToArray();

        var id = await _fleet.StartAsync(3);
        var done = await _fleet.WaitForStateAsync(id, Patience, "succeeded", "failed", "aborted");
        await stop.CancelAsync();
        await Task.WhenAll(watchers);
        Assert.True(done.GetProperty("state").GetString() == "succeeded", done.ToString());

        var started = done.GetProperty("startedAt").GetDateTimeOffset();
        var end = done.GetProperty("end").GetDateTimeOffset();
        using var response = await _fleet.Http.GetAsync($"v1/drills/{id}/report");
        var report = await Api.ApiCalls.JsonAsync(response);
        var servers = report.GetProperty("servers").EnumerateArray().ToDictionary(s => s.GetProperty("server").GetString()!);
        Assert.Equal(2, servers.Count);
        for (var i = 0; i < _fleet.Dns.Length; i++)
        {
            var mine = samples.Where(s => s.Server == i).OrderBy(s => s.At).ToList();
            var outAt = mine.First(s => s.At >= started && !s.HasEu).At;
            var backAt = mine.First(s => s.At >= end && s.HasEu).At;
            Assert.DoesNotContain(mine, s => s.At > outAt && s.At < end && s.HasEu);
            var observedOut = (outAt - started).TotalSeconds;
            var observedBack = (backAt - end).TotalSeconds;
            var reported = servers[_fleet.Dns[i].ToString()];
            var reportedOut = reported.GetProperty("outSeconds").GetDouble();
            var reportedBack = reported.GetProperty("backSeconds").GetDouble();
            _output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{_fleet.Dns[i]}: out reported {reportedOut:0.000} s, observed {observedOut:0.000} s; back reported {reportedBack:0.000} s, observed {observedBack:0.000} s"));
            Assert.InRange(reportedOut - observedOut, -0.5, 0.5);
            Assert.InRange(reportedBack - observedBack, -0.5, 0.5);
        }

        Assert.Empty(report.GetProperty("neverConvergedOut").EnumerateArray());
        var steps = report.GetProperty("timeline").EnumerateArray().Select(s => s.GetProperty("step").GetString()).ToList();
        Assert.Equal(["created", "claimed", "started"], steps.Take(3));
        Assert.Contains("converged-back", steps);
        Assert.Equal("outcome", steps[^1]);
        Assert.True(report.GetProperty("worstCaseExposureSeconds").GetDouble() >= 5, "exposure includes the 5 s TTL");
        var during = report.GetProperty("answerMix").EnumerateArray().Single(m => m.GetProperty("service").GetString() == FleetSpec.ServiceName && m.GetProperty("phase").GetString() == "after");
        Assert.True(during.GetProperty("addresses").TryGetProperty(DrillFleet.Eu.ToString(), out _));
        Assert.Contains(report.GetProperty("audit").EnumerateArray(), a => a.GetProperty("actor").GetString() == "drill-tester");
    }

    [Fact]
    public async Task The_HTML_report_renders_in_headless_Chromium_with_its_timeline()
    {
        await _fleet.EnsureHealthyAsync();
        var id = await _fleet.StartAsync(1);
        await _fleet.WaitForStateAsync(id, Patience, "succeeded", "failed");
        using var response = await _fleet.Http.GetAsync($"v1/drills/{id}/report?format=html");
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        var page = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("http://", page.Replace("http://www.w3.org/2000/svg", "", StringComparison.Ordinal), StringComparison.Ordinal); // self-contained
        var file = Path.Combine(_fleet.Folder, "report.html");
        await File.WriteAllTextAsync(file, page);
        var png = Path.Combine(_fleet.Folder, "report.png");

        // The screenshot and the DOM dump are two browsers, started side by side: each has a profile of its own, as two
        // browsers on one profile would hand the page to the first one over the profile's lock.
        string[] Common(string name) =>
            ["--headless", "--no-sandbox", "--disable-gpu", $"--user-data-dir={Directory.CreateDirectory(Path.Combine(_fleet.Folder, name)).FullName}", "--window-size=1200,900"];
        var shooting = ChildProcess.RunAsync("chromium", [.. Common("chromium-profile-shot"), $"--screenshot={png}", new Uri(file).AbsoluteUri], TimeSpan.FromSeconds(60));
        var dumping = ChildProcess.RunAsync("chromium", [.. Common("chromium-profile-dom"), "--dump-dom", new Uri(file).AbsoluteUri], TimeSpan.FromSeconds(60));
        var shot = await shooting;
        Assert.True(File.Exists(png), $"no screenshot: {shot}");
        var bytes = await File.ReadAllBytesAsync(png);
        Assert.True(bytes.Length > 1000, $"{bytes.Length} bytes");
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], bytes.Take(4));
        var dom = await dumping;
        Assert.Contains("<svg id=\"timeline\"", dom.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("class=\"out\"", dom.StandardOutput, StringComparison.Ordinal);
        Assert.Contains(id, dom.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_target_returns_on_every_server_at_the_end_time_with_the_API_killed_mid_drill()
    {
        await _fleet.EnsureHealthyAsync();
        try
        {
            var id = await _fleet.StartAsync(8);
            await _fleet.WaitForStateAsync(id, Patience, "running");
            await _fleet.WaitForAnswerAsync(DrillFleet.Eu, present: false, TimeSpan.FromSeconds(5));
            var end = (await _fleet.DrillAsync(id)).GetProperty("end").GetDateTimeOffset();
            _fleet.KillApi();

            // Nobody is left to end it: each server ends the lease on its own clock.
            Assert.True(DateTimeOffset.UtcNow < end - TimeSpan.FromSeconds(0.5), "the drill ended before the API was killed");
            await _fleet.WaitForAnswerAsync(DrillFleet.Eu, present: false, TimeSpan.FromSeconds(1));
            await _fleet.WaitForAnswerAsync(DrillFleet.Eu, present: true, end - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(3));
            var late = DateTimeOffset.UtcNow - end;
            _output.WriteLine($"back on both servers {late.TotalSeconds:0.000} s after the end");
            Assert.True(late < TimeSpan.FromSeconds(1.5), $"back {late.TotalSeconds:0.000} s after the end");
        }
        finally
        {
            await _fleet.StartApiAsync();
        }
    }

    [Fact]
    public async Task Refusals_name_every_violation_and_force_overrides_them_with_an_audit_trail()
    {
        await _fleet.EnsureHealthyAsync();

        // Guardrail and capacity: all three data centers.
        var (status, body) = await _fleet.PostAsync("v1/drills", new { dataCenters = new[] { "dc-eu", "dc-us", "dc-ap" }, durationSeconds = 5, reason = "too much" });
        Assert.Equal(HttpStatusCode.Conflict, status);
        var violations = Violations(body);
        Assert.Contains(violations, v => v.Contains(FleetSpec.ServiceName, StringComparison.Ordinal) && v.Contains("no healthy, undrained IPv4 endpoint", StringComparison.Ordinal));
        Assert.Contains(violations, v => v.Contains(FleetSpec.PartitionName, StringComparison.Ordinal) && v.Contains("no healthy, undrained IPv4 endpoint", StringComparison.Ordinal));
        Assert.Contains(violations, v => v.Contains("0% of its IPv4 effective weight", StringComparison.Ordinal));

        // Capacity floor alone: 2 of 3 equal weights stay, below 90%.
        (status, body) = await _fleet.PostAsync("v1/drills", new { dataCenters = new[] { "dc-eu" }, durationSeconds = 5, reason = "high floor", capacityFloor = 0.9 });
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Contains(Violations(body), v => v.Contains("66.7% of its IPv4 effective weight", StringComparison.Ordinal) && v.Contains("capacity floor of 90%", StringComparison.Ordinal));

        // Blocked window.
        var blocked = new DateTimeOffset(_fleet.BlockedDate.ToDateTime(new TimeOnly(12, 0)), TimeSpan.Zero);
        (status, body) = await _fleet.PostAsync("v1/drills", new { dataCenters = new[] { "dc-ap" }, durationSeconds = 5, reason = "holiday", start = blocked });
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Contains(Violations(body), v => v.Contains("blocked window " + _fleet.BlockedDate.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), StringComparison.Ordinal));

        // Bad input: 400 naming the field.
        (status, body) = await _fleet.PostAsync("v1/drills", new { dataCenters = new[] { "dc-eu" }, durationSeconds = 90000, reason = "long" });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.True(body.GetProperty("errors").TryGetProperty("durationSeconds", out _), body.ToString());
        (status, body) = await _fleet.PostAsync("v1/drills", new { dataCenters = new[] { "dc-nowhere" }, reason = "typo" });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.True(body.GetProperty("errors").TryGetProperty("dataCenters", out _), body.ToString());

        // Overlap: a running drill on the same services refuses the next one, naming it.
        var first = await _fleet.StartAsync(30);
        await _fleet.WaitForStateAsync(first, Patience, "running");
        (status, body) = await _fleet.PostAsync("v1/drills", new { dataCenters = new[] { "dc-ap" }, durationSeconds = 5, reason = "second" });
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Contains(Violations(body), v => v.Contains($"drill {first}", StringComparison.Ordinal) && v.Contains("overlaps", StringComparison.Ordinal));
        await AbortAsync(first);

        // Forced past the floor: accepted, marked and audited as forced.
        (status, body) = await _fleet.PostAsync("v1/drills", new { dataCenters = new[] { "dc-ap" }, durationSeconds = 30, reason = "we know", capacityFloor = 0.9, force = true });
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.True(body.GetProperty("forced").GetBoolean());
        var forced = body.GetProperty("id").GetString()!;
        using (var audit = await _fleet.Http.GetAsync($"v1/audit?object={forced}&kind=drill"))
        {
            var entries = (await Api.ApiCalls.JsonAsync(audit)).GetProperty("entries").EnumerateArray().ToList();
            Assert.True(entries[0].GetProperty("forced").GetBoolean(), entries[0].ToString());
            Assert.Equal("we know", entries[0].GetProperty("reason").GetString());
        }

        await _fleet.WaitForStateAsync(forced, Patience, "running");
        await AbortAsync(forced);

        // A dry run: the engine's answers before and during, as the configured client.
        (status, body) = await _fleet.PostAsync("v1/drills", new { dataCenters = new[] { "dc-eu" }, durationSeconds = 5, reason = "plan", dryRun = true });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(new[] { FleetSpec.LatencyName, FleetSpec.PartitionName, FleetSpec.ServiceName, FleetSpec.WeightedName }.Order(StringComparer.Ordinal), body.GetProperty("affectedNames").EnumerateArray().Select(n => n.GetString()).Order(StringComparer.Ordinal));
        var svc = body.GetProperty("services").EnumerateArray().Single(s => s.GetProperty("service").GetString() == FleetSpec.ServiceName).GetProperty("answers")[0];
        Assert.Contains(DrillFleet.Eu.ToString(), svc.GetProperty("before").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal(["127.0.0.3", "127.0.0.4"], svc.GetProperty("during").EnumerateArray().Select(a => a.GetString()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task An_aborted_drill_returns_the_target_at_once_and_records_the_return()
    {
        await _fleet.EnsureHealthyAsync();
        var id = await _fleet.StartAsync(60);
        await _fleet.WaitForStateAsync(id, Patience, "running");
        await _fleet.WaitForAnswerAsync(DrillFleet.Eu, present: false, TimeSpan.FromSeconds(5));
        await AbortAsync(id);
        await _fleet.WaitForAnswerAsync(DrillFleet.Eu, present: true, TimeSpan.FromSeconds(2));
        var done = await Deadline.PollAsync("the runner's verification of the return", Patience, async () =>
        {
            var drill = await _fleet.DrillAsync(id);
            var steps = drill.GetProperty("results").GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("step").GetString()).ToList();
            return (steps.Contains("outcome"), drill, string.Join(",", steps));
        }, TimeSpan.FromMilliseconds(200));
        Assert.Equal("aborted", done.GetProperty("state").GetString());
        Assert.All(done.GetProperty("results").GetProperty("servers").EnumerateArray(), s => Assert.True(s.GetProperty("backSeconds").GetDouble() < 2, s.ToString()));
        var (status, _) = await _fleet.PostAsync($"v1/drills/{id}/abort", new { reason = "again" });
        Assert.Equal(HttpStatusCode.Conflict, status);
    }

    [Fact]
    public async Task A_real_failure_elsewhere_aborts_the_drill_and_then_refuses_a_new_one()
    {
        await _fleet.EnsureHealthyAsync();
        try
        {
            var id = await _fleet.StartAsync(60);
            await _fleet.WaitForStateAsync(id, Patience, "running");
            await _fleet.WaitForAnswerAsync(DrillFleet.Eu, present: false, TimeSpan.FromSeconds(5));

            // dc-us fails for real: outside the target only dc-ap's third of the weight is left, below the 50% floor.
            _fleet.Backends.Service[1].Mode = Core.Probing.BackendMode.Unhealthy;
            var aborted = await _fleet.WaitForStateAsync(id, Patience, "aborted");
            _output.WriteLine(aborted.GetProperty("results").GetProperty("steps").ToString());
            Assert.Contains("self-aborted", aborted.GetProperty("outcome").GetString(), StringComparison.Ordinal);
            Assert.Contains("below the floor of 50%", aborted.GetProperty("outcome").GetString(), StringComparison.Ordinal);
            await _fleet.WaitForAnswerAsync(DrillFleet.Eu, present: true, TimeSpan.FromSeconds(2));

            // Precedence: with a real outage on the services, a new drill is refused.
            var (status, body) = await _fleet.PostAsync("v1/drills", new { dataCenters = new[] { "dc-eu" }, durationSeconds = 5, reason = "again" });
            Assert.Equal(HttpStatusCode.Conflict, status);
            Assert.Contains(Violations(body), v => v.Contains("/dc-us/127.0.0.3 is already out", StringComparison.Ordinal));
        }
        finally
        {
            _fleet.Backends.HealAll();
        }
    }

    private async Task AbortAsync(string id)
    {
        var (status, body) = await _fleet.PostAsync($"v1/drills/{id}/abort", new { reason = "test done" });
        Assert.True(status == HttpStatusCode.OK, body.ToString());
        Assert.Equal("aborted", body.GetProperty("state").GetString());
    }

    private static List<string> Violations(JsonElement problem) =>
        problem.TryGetProperty("violations", out var list) ? [.. list.EnumerateArray().Select(v => v.GetString()!)] : throw new Xunit.Sdk.XunitException($"no violations in {problem}");
}

/// <summary>Consul gone at the end time: every server still ends the lease on its own clock.</summary>
public sealed class DrillConsulLossTests : IClassFixture<DrillFleetWithoutProbers>
{
    private readonly DrillFleetWithoutProbers _fleet;
    private readonly ITestOutputHelper _output;

    public DrillConsulLossTests(DrillFleetWithoutProbers fleet, ITestOutputHelper output)
    {
        _fleet = fleet;
        _output = output;
    }

    [Fact]
    public async Task The_target_returns_at_the_end_time_with_every_Consul_server_stopped()
    {
        var id = await _fleet.StartAsync(8);
        await _fleet.WaitForStateAsync(id, TimeSpan.FromSeconds(30), "running");
        await _fleet.WaitForAnswerAsync(DrillFleet.Eu, present: false, TimeSpan.FromSeconds(5));
        var end = (await _fleet.DrillAsync(id)).GetProperty("end").GetDateTimeOffset();
        _fleet.Cluster.KillAll();
        Assert.True(DateTimeOffset.UtcNow < end - TimeSpan.FromSeconds(0.5), "the drill ended before Consul was stopped");
        await _fleet.WaitForAnswerAsync(DrillFleet.Eu, present: false, TimeSpan.FromSeconds(1));
        await _fleet.WaitForAnswerAsync(DrillFleet.Eu, present: true, end - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(3));
        var late = DateTimeOffset.UtcNow - end;
        _output.WriteLine($"back on both servers {late.TotalSeconds:0.000} s after the end, Consul down");
        Assert.True(late < TimeSpan.FromSeconds(1.5), $"back {late.TotalSeconds:0.000} s after the end");
    }
}
