using GslbDns.Tests.Core.Probing;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Fleet;

/// <summary>
/// The <c>prometheus</c> check on the real embedded server (issue 15 item 4): a real Prometheus scrapes an exporter that
/// says which endpoints are up; the DNS answers follow it. The answered addresses are never contacted.
/// </summary>
public sealed class PrometheusCheckProcessTests
{
    private const string Zone = "pm.test";
    private const string Name = "app.pm.test";

    [Fact]
    public async Task Answers_follow_a_prometheus_expression()
    {
        await using var prometheus = await PrometheusServer.StartAsync("app_up{address=\"127.0.0.41\"} 1\napp_up{address=\"127.0.0.42\"} 1\n");
        using var folder = new TempFolder("prometheus-check");
        var zones = folder.Folder("zones");
        // Probed every 500 ms rather than the shipped 1 s: what is tested is that the answers follow the query's result,
        // and each of the four changes below waits out the thresholds (3 down, 2 up) at the check's interval.
        TwoDataCenterZone.Write(
            zones,
            Zone,
            $$"""{ "type": "prometheus", "url": "{{prometheus.Url}}", "query": "app_up{address=\"$address\"} > 0", "interval": "500ms" }""",
            """[ { "dataCenter": "dc-a", "address": "127.0.0.41" }, { "dataCenter": "dc-b", "address": "127.0.0.42" } ]""");
        var (server, dns, _) = await FleetProcesses.StartServerAsync(RepoLayout.DotnetHost, RepoLayout.ServerDll, zones, [], null, metrics: false, readyZone: Zone);
        using var _ = server;

        async Task UntilAnswerAsync(string what, params string[] expected) =>
            await Deadline.UntilAsync(what, TimeSpan.FromSeconds(20), async () =>
            {
                if (server.HasExited)
                {
                    throw new PollAbortedException("the server exited:\n" + server.Describe());
                }

                var answer = await FleetProcesses.AskAsync(dns, Name, TimeSpan.FromSeconds(1));
                return (answer is not null && answer.Addresses.SequenceEqual(expected), $"answer {answer?.ToString() ?? "none"}");
            }, TimeSpan.FromMilliseconds(100));

        await UntilAnswerAsync("both up by Prometheus", "127.0.0.41", "127.0.0.42");

        // "> 0" filters a zero sample out: an empty result, so down.
        prometheus.Exporter.Body = "app_up{address=\"127.0.0.41\"} 1\napp_up{address=\"127.0.0.42\"} 0\n";
        await UntilAnswerAsync("127.0.0.42 down by Prometheus", "127.0.0.41");

        prometheus.Exporter.Body = "app_up{address=\"127.0.0.41\"} 0\napp_up{address=\"127.0.0.42\"} 0\n";
        await UntilAnswerAsync("both down: the fallback", TwoDataCenterZone.Fallback);

        prometheus.Exporter.Body = "app_up{address=\"127.0.0.41\"} 0\napp_up{address=\"127.0.0.42\"} 1\n";
        await UntilAnswerAsync("127.0.0.42 back", "127.0.0.42");
    }
}
