using GslbDns.Gslb;
using GslbDns.Probing;
using static GslbDns.Tests.Core.Gslb.ConfigFiles.ConfigTestSupport;

namespace GslbDns.Tests.Core.Probing;

/// <summary>
/// The <c>prometheus</c> check type (issue 15 item 4) against a real Prometheus scraping a test exporter: healthy when the
/// instant query's result is non-empty and non-zero; its options validated with file, line and path.
/// </summary>
public sealed class PrometheusCheckTests
{
    private const string HttpCheck = "\"type\": \"http\", \"port\": 80, \"path\": \"/health\", \"expectStatus\": 200, \"expectBody\": null, \"queryName\": null,";

    public static TheoryData<string, string, string, string> Rules => new()
    {
        { HttpCheck, Marker + "\"type\": \"prometheus\", \"query\": \"up\",", "$.services.www.check.url", "missing required property 'url'" },
        { HttpCheck, Marker + "\"type\": \"prometheus\", \"url\": \"http://127.0.0.1:9090\",", "$.services.www.check.query", "missing required property 'query'" },
        { HttpCheck, Marker + "\"type\": \"prometheus\", \"url\": \"ftp://127.0.0.1\", \"query\": \"up\",", "$.services.www.check.url", "must be an absolute http or https URL" },
        { HttpCheck, Marker + "\"type\": \"prometheus\", \"url\": \"http://127.0.0.1:9090/?x=1\", \"query\": \"up\",", "$.services.www.check.url", "without user, query or fragment" },
        { HttpCheck, Marker + "\"type\": \"prometheus\", \"url\": \"http://127.0.0.1:9090\", \"query\": \" \",", "$.services.www.check.query", "non-empty PromQL expression" },
        { HttpCheck, Marker + "\"type\": \"prometheus\", \"port\": 9090, \"url\": \"http://127.0.0.1:9090\", \"query\": \"up\",", "$.services.www.check.port", "'port' does not apply to prometheus checks" },
        { HttpCheck, Marker + "\"type\": \"http\", \"port\": 80, \"query\": \"up\",", "$.services.www.check.query", "'query' does not apply to http checks" },
        { "\"path\": \"/health\"", Marker + "\"path\": \"/health\", \"url\": \"http://127.0.0.1:9090\"", "$.services.www.check.url", "'url' does not apply to http checks" },
    };

    [Theory]
    [MemberData(nameof(Rules))]
    public void Each_prometheus_option_rule_names_file_line_and_path(string find, string replace, string path, string reason)
        => AssertRule(find, replace, path, reason);

    [Fact]
    public async Task A_real_prometheus_decides_health_by_its_query_result()
    {
        await using var prometheus = await PrometheusServer.StartAsync("app_up{address=\"192.0.2.10\"} 1\napp_up{address=\"192.0.2.11\"} 0\n");
        var config = Load(Edit(
            Valid,
            HttpCheck + "|\"interval\": \"1s\", \"timeout\": \"800ms\"|{ \"dataCenter\": \"us-east\", \"address\": \"2001:db8::10\" }",
            $"\"type\": \"prometheus\", \"url\": \"{prometheus.Url}\", \"query\": \"app_up{{address=\\\"$address\\\"}}\",|\"interval\": \"3s\", \"timeout\": \"2s\"|"
            + "{ \"dataCenter\": \"us-east\", \"address\": \"192.0.2.11\" }, { \"dataCenter\": \"us-east\", \"address\": \"192.0.2.12\" }"));
        var targets = ProbeTarget.FromConfig(config).ToDictionary(t => t.Address.ToString());
        Assert.Equal("app_up{address=\"192.0.2.10\"}", PrometheusCheck.Expression(targets["192.0.2.10"]));
        using var runner = ProbeRunner.CreateDefault();

        // Prometheus has the first scrape within a scrape interval or two; until then every result is empty.
        await TestSupport.Deadline.UntilAsync("192.0.2.10 healthy by its sample 1", TimeSpan.FromSeconds(15), async () =>
        {
            var outcome = await runner.RunAsync(targets["192.0.2.10"], CancellationToken.None);
            return (outcome.Success, outcome.Error ?? "ok");
        }, TimeSpan.FromMilliseconds(100));

        var zero = await runner.RunAsync(targets["192.0.2.11"], CancellationToken.None);
        Assert.False(zero.Success);
        Assert.Contains("is 0 for app_up{address=\"192.0.2.11\"}", zero.Error, StringComparison.Ordinal);
        var empty = await runner.RunAsync(targets["192.0.2.12"], CancellationToken.None);
        Assert.False(empty.Success);
        Assert.Equal("empty result for app_up{address=\"192.0.2.12\"}", empty.Error);

        // The exporter turns the value around: the verdicts follow the next scrapes.
        prometheus.Exporter.Body = "app_up{address=\"192.0.2.10\"} 0\napp_up{address=\"192.0.2.11\"} 3\n";
        await TestSupport.Deadline.UntilAsync("the verdicts to follow the new samples", TimeSpan.FromSeconds(15), async () =>
        {
            var first = await runner.RunAsync(targets["192.0.2.10"], CancellationToken.None);
            var second = await runner.RunAsync(targets["192.0.2.11"], CancellationToken.None);
            return (!first.Success && second.Success, $"{first.Error ?? "ok"} / {second.Error ?? "ok"}");
        }, TimeSpan.FromMilliseconds(100));

        // A PromQL syntax error is Prometheus's 400, reported with its message.
        var broken = targets["192.0.2.10"] with { Check = targets["192.0.2.10"].Check with { Query = "app_up{" } };
        var error = await runner.RunAsync(broken, CancellationToken.None);
        Assert.False(error.Success);
        Assert.StartsWith("Prometheus HTTP 400: ", error.Error, StringComparison.Ordinal);
    }
}
