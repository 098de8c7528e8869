using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;
using GslbDns.Tests.Api;
using GslbDns.Tests.Core.Probing;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Fleet;

/// <summary>
/// Check targets apart from the answer (issue 15 item 2) on the real embedded server: the answers are addresses nothing
/// listens on, the probes go to health backends at other addresses and ports with another Host header, and the answer
/// follows the backends' health. The API's service view and explain show where each endpoint is probed.
/// </summary>
public sealed partial class CheckTargetProcessTests
{
    private const string Zone = "ct.test";
    private const string Name = "app.ct.test";

    // Answered, never probed: if the prober probed these instead of the check targets, both would be down and the
    // service would answer its fallback.
    private static readonly IPAddress AnswerA = IPAddress.Parse("127.0.0.21");
    private static readonly IPAddress AnswerB = IPAddress.Parse("127.0.0.22");
    private static readonly IPAddress Fallback = IPAddress.Parse(TwoDataCenterZone.Fallback);

    [GeneratedRegex(@"REST API on (http://\S+/)")]
    private static partial Regex ApiLine();

    [Fact]
    public async Task Probes_go_to_the_check_target_while_answers_keep_the_public_address()
    {
        using var folder = new TempFolder("check-target");
        await using var healthA = HttpBackend.Start(IPAddress.Parse("127.0.0.31"), 0);
        await using var healthB = HttpBackend.Start(IPAddress.Parse("127.0.0.32"), 0);
        var zones = folder.Folder("zones");
        // Probed every 500 ms rather than the shipped 1 s: where the probes go is tested here, not the timing, and each
        // of the three changes below waits out the thresholds (3 down, 2 up) at the check's interval.
        TwoDataCenterZone.Write(
            zones,
            Zone,
            $"{{ \"type\": \"http\", \"port\": {healthA.Port}, \"path\": \"/health\", \"host\": \"health.ct.internal\", \"interval\": \"500ms\" }}",
            $$"""
            [
              { "dataCenter": "dc-a", "address": "{{AnswerA}}", "check": { "address": "{{healthA.Address}}" } },
              { "dataCenter": "dc-b", "address": "{{AnswerB}}", "check": { "address": "{{healthB.Address}}", "port": {{healthB.Port}}, "host": "b.health.ct.internal" } }
            ]
            """);
        var tokens = ApiProcess.WriteTokensFile(folder.File("tokens"));
        var (server, dns, _) = await FleetProcesses.StartServerAsync(
            RepoLayout.DotnetHost, RepoLayout.ServerDll, zones, [], null, metrics: false,
            extraArguments: ["--api", "127.0.0.1:0", "--state", folder.Folder("state"), "--api-tokens-file", tokens], readyZone: Zone);
        using var _ = server;

        async Task<FleetAnswer> AskAsync()
        {
            if (server.HasExited)
            {
                throw new PollAbortedException("the server exited:\n" + server.Describe());
            }

            return await FleetProcesses.AskAsync(dns, Name, TimeSpan.FromSeconds(1)) ?? new FleetAnswer(-1, []);
        }

        string[] both = [AnswerA.ToString(), AnswerB.ToString()];
        await Deadline.UntilAsync("both public addresses answered", TimeSpan.FromSeconds(15), async () =>
        {
            var answer = await AskAsync();
            return (answer.Addresses.SequenceEqual(both), $"answer {answer}\n{server.Describe()}");
        }, TimeSpan.FromMilliseconds(100));

        // Each health backend was probed under its configured Host (with the port, as HTTP writes a non-default one).
        Assert.Contains($"health.ct.internal:{healthA.Port}", healthA.HostHeaders);
        Assert.Contains($"b.health.ct.internal:{healthB.Port}", healthB.HostHeaders);

        // The API's service view and explain say where each endpoint is probed.
        var api = ApiLine().Match(server.StandardError + server.StandardOutput);
        Assert.True(api.Success, "no 'REST API on' line in the server's output\n" + server.Describe());
        using var http = new HttpClient { BaseAddress = new Uri(api.Groups[1].Value), Timeout = TimeSpan.FromSeconds(5) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", InProcessApi.ReadToken);
        using (var view = JsonDocument.Parse(await http.GetStringAsync(new Uri($"v1/services/{Name}", UriKind.Relative))))
        {
            var targets = view.RootElement.GetProperty("endpoints").EnumerateArray()
                .ToDictionary(e => e.GetProperty("address").GetString()!, e => e.GetProperty("checkTarget"));
            Assert.Equal("127.0.0.31", targets[AnswerA.ToString()].GetProperty("address").GetString());
            Assert.Equal(healthA.Port, targets[AnswerA.ToString()].GetProperty("port").GetInt32());
            Assert.Equal("health.ct.internal", targets[AnswerA.ToString()].GetProperty("host").GetString());
            Assert.True(targets[AnswerA.ToString()].GetProperty("apartFromAnswer").GetBoolean());
            Assert.Equal("127.0.0.32", targets[AnswerB.ToString()].GetProperty("address").GetString());
            Assert.Equal(healthB.Port, targets[AnswerB.ToString()].GetProperty("port").GetInt32());
            Assert.Equal("b.health.ct.internal", targets[AnswerB.ToString()].GetProperty("host").GetString());
        }

        using (var explain = JsonDocument.Parse(await http.GetStringAsync(new Uri($"v1/explain?name={Name}&client=127.0.0.1", UriKind.Relative))))
        {
            var healthy = explain.RootElement.GetProperty("steps").EnumerateArray().Single(s => s.GetProperty("policy").GetString() == "healthy");
            var note = healthy.GetProperty("note").GetString() ?? "";
            Assert.Contains($"app.ct.test/dc-a/{AnswerA} probed at 127.0.0.31:{healthA.Port} host health.ct.internal", note, StringComparison.Ordinal);
            Assert.Contains($"app.ct.test/dc-b/{AnswerB} probed at 127.0.0.32:{healthB.Port} host b.health.ct.internal", note, StringComparison.Ordinal);
        }

        // The health backend of dc-b goes away: its public address leaves the answer, dc-a's stays.
        healthB.Refuse();
        await Deadline.UntilAsync($"answers without {AnswerB}", TimeSpan.FromSeconds(10), async () =>
        {
            var answer = await AskAsync();
            return (answer.Addresses.SequenceEqual([AnswerA.ToString()]), $"answer {answer}");
        }, TimeSpan.FromMilliseconds(100));

        // And both down: the fallback, proving the verdicts come from the check targets alone.
        healthA.Refuse();
        await Deadline.UntilAsync("the fallback answered", TimeSpan.FromSeconds(10), async () =>
        {
            var answer = await AskAsync();
            return (answer.Addresses.SequenceEqual([Fallback.ToString()]), $"answer {answer}");
        }, TimeSpan.FromMilliseconds(100));

        healthB.Accept();
        await Deadline.UntilAsync($"{AnswerB} back", TimeSpan.FromSeconds(10), async () =>
        {
            var answer = await AskAsync();
            return (answer.Addresses.SequenceEqual([AnswerB.ToString()]), $"answer {answer}");
        }, TimeSpan.FromMilliseconds(100));
    }
}
