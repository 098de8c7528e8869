using System.Net;
using GslbDns.Gslb;
using GslbDns.Probing;

namespace GslbDns.Tests.Core.Probing;

/// <summary>A check's <c>load</c> (issue 15 item 5): the figure read from a real HTTP health response, by header or JSON path.</summary>
public sealed class HttpCheckLoadTests
{
    private static async Task<ProbeResult> ProbeAsync(HttpBackend backend, LoadSource load, string? expectBody = null)
    {
        var check = new HealthCheck("http", backend.Port, "/health", 200, expectBody, null, TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(800), 3, 2) { LoadFrom = load };
        using var http = new HttpCheck();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        return await http.CheckAsync(new ProbeTarget("svc/dc/127.0.0.1", "svc.example", IPAddress.Loopback, check), timeout.Token);
    }

    [Fact]
    public async Task The_figure_comes_from_the_header_or_the_json_path_and_a_missing_one_fails_nothing()
    {
        await using var backend = HttpBackend.Start();
        backend.ExtraHeaders = "X-Load: 0.73\r\n";
        backend.Body = """{"status": "ok", "stats": {"cpu": 0.42, "text": "0.5", "bad": "high"}}""";

        Assert.Equal(0.73, (await ProbeAsync(backend, new LoadSource("X-Load", null))).Load);
        Assert.Equal(0.42, (await ProbeAsync(backend, new LoadSource(null, ["stats", "cpu"]))).Load);
        Assert.Equal(0.5, (await ProbeAsync(backend, new LoadSource(null, ["stats", "text"]), expectBody: "ok")).Load);

        // Absent or unreadable: no figure, and the probe still passes (health is the status and body alone).
        var missing = await ProbeAsync(backend, new LoadSource("X-Other", null));
        Assert.True(missing.Success);
        Assert.Null(missing.Load);
        Assert.Null((await ProbeAsync(backend, new LoadSource(null, ["stats", "bad"]))).Load);
        Assert.Null((await ProbeAsync(backend, new LoadSource(null, ["stats", "cpu", "deeper"]))).Load);
        backend.ExtraHeaders = "X-Load: -1\r\n";
        Assert.Null((await ProbeAsync(backend, new LoadSource("X-Load", null))).Load);

        // A failing expected body still fails, with the load left unread.
        var failed = await ProbeAsync(backend, new LoadSource(null, ["stats", "cpu"]), expectBody: "not there");
        Assert.False(failed.Success);
    }
}
