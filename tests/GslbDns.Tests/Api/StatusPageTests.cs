using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Api;

/// <summary>
/// The status page (<c>/ui</c>) of a real <c>gslbdns-api</c> process, opened in headless Chromium through the login
/// form, checked against the API's own JSON: every data center (and its map position), endpoint verdict and vote,
/// drain and drill.
/// </summary>
public sealed partial class StatusPageTests
{
    [Fact]
    public async Task Status_page_in_chromium_shows_what_the_json_api_says_after_a_login()
    {
        using var folder = new TempFolder("status-page");
        var zones = folder.Folder("zones");
        ApiTestZones.Write(zones);
        var tokens = ApiProcess.WriteTokensFile(folder.File("tokens"));
        using var api = ApiProcess.Start(["--embedded", "--state", folder.Folder("state"), "--zones", zones, "--tokens-file", tokens, "--geo-data", Path.Combine(zones, "none")]);
        var url = await ApiProcess.WaitForUrlAsync(api);
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(10) };

        // State to show: a drained data center (with markup in the reason), a weight, a forced verdict, an external feed and a scheduled drill.
        const string hostileReason = "maintenance <script>alert(1)</script> & \"quotes\"";
        await ExpectOkAsync(http, HttpMethod.Put, "/v1/datacenters/dc-c/drain", new { reason = hostileReason });
        await ExpectOkAsync(http, HttpMethod.Put, ApiCalls.EndpointPath(ApiTestZones.WeightedId("dc-a")) + "/weight", new { weight = 300, reason = "more to a" });
        await ExpectOkAsync(http, HttpMethod.Put, ApiCalls.EndpointPath($"{ApiTestZones.Pair}/dc-b/{ApiTestZones.PairAddress("dc-b")}") + "/override", new { healthy = true, ttlSeconds = 600, reason = "known good" });
        await ExpectOkAsync(http, HttpMethod.Put, ApiCalls.EndpointPath(ApiTestZones.WeightedId("dc-b")) + "/feed", new { up = true, load = 2.5, expiresIn = "10m", reason = "monitor" });
        var drill = await ExpectOkAsync(http, HttpMethod.Post, "/v1/drills", new { dataCenters = new[] { "dc-b" }, reason = "practice", start = DateTimeOffset.UtcNow.AddHours(2), durationSeconds = 600, force = true });
        var drillId = drill.GetProperty("id").GetString()!;

        // Without a session the page sends the browser to the login form; a bad bearer token is a 401.
        using (var noAuth = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(url) })
        {
            using var redirect = await noAuth.GetAsync("/ui");
            Assert.Equal(HttpStatusCode.Redirect, redirect.StatusCode);
            Assert.Equal("/ui/login", redirect.Headers.Location?.OriginalString);
            using var bad = await ApiCalls.SendAsync(noAuth, HttpMethod.Get, "/ui", "not-a-token-of-ours-at-all");
            Assert.Equal(HttpStatusCode.Unauthorized, bad.StatusCode);
            using var wrongLogin = await noAuth.PostAsync("/ui/login", new FormUrlEncodedContent([new("token", "not-a-token-of-ours-at-all")]));
            Assert.Equal(HttpStatusCode.Unauthorized, wrongLogin.StatusCode);
            Assert.Null(wrongLogin.Headers.TryGetValues("Set-Cookie", out var none) ? none.FirstOrDefault() : null);
        }

        // The read token works in the Authorization header too, with the strict headers.
        using (var direct = await ApiCalls.SendAsync(http, HttpMethod.Get, "/ui", InProcessApi.ReadToken))
        {
            Assert.Equal(HttpStatusCode.OK, direct.StatusCode);
            var csp = string.Join(";", direct.Headers.GetValues("Content-Security-Policy"));
            Assert.Contains("default-src 'none'", csp, StringComparison.Ordinal);
            Assert.Matches("style-src 'nonce-[A-Za-z0-9+/=]+'", csp);
            Assert.DoesNotContain("unsafe", csp, StringComparison.Ordinal);
            Assert.Equal("nosniff", direct.Headers.GetValues("X-Content-Type-Options").Single());
            Assert.Equal("no-store", direct.Headers.CacheControl?.ToString());
        }

        // The JSON the page must agree with, read before and after the browser so nothing moved in between.
        var before = await SnapshotAsync(http);

        await using var browser = await HeadlessChromium.StartAsync(1280, 1000);
        await browser.NavigateAsync(url + "ui");
        await browser.WaitForPageAsync("/ui/login");
        await browser.EvaluateAsync($"document.querySelector('input[name=token]').value = '{InProcessApi.ReadToken}'; document.querySelector('form').submit(); 'sent'");
        await browser.WaitForPageAsync("/ui");
        Assert.Equal("", await browser.EvaluateAsync("document.cookie")); // HttpOnly: no script can read the session
        var png = await browser.ScreenshotAsync();
        var dom = await browser.OuterHtmlAsync();
        await browser.NavigateAsync($"{url}ui/drills/{drillId}/report");
        await browser.WaitForPageAsync($"/ui/drills/{drillId}/report");
        var report = await browser.OuterHtmlAsync();

        Assert.Equal(before.GetRawText(), (await SnapshotAsync(http)).GetRawText());

        // A real PNG of a real page: signature, IHDR with the window's width, and more than a blank page's bytes.
        Assert.True(png.Length > 20_000, $"screenshot only {png.Length} bytes");
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
        Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(png, 12, 4));
        Assert.InRange(BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)), 1200, 1280); // the window, less a scrollbar
        Assert.True(BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)) >= 1000);
        File.WriteAllBytes(Path.Combine(Path.GetTempPath(), "gslbdns-status-page.png"), png);

        Assert.Contains(">alice<", dom, StringComparison.Ordinal); // who made the changes (the operator token)
        Assert.Contains("Signed in as <b>grafana</b>", dom, StringComparison.Ordinal); // who reads: the read token, by name
        Assert.DoesNotContain("<script", dom, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("maintenance &lt;script&gt;alert(1)&lt;/script&gt; &amp; \"quotes\"", dom, StringComparison.Ordinal);

        var dataCenters = before.GetProperty("datacenters").GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(3, dataCenters.Count);
        foreach (var dc in dataCenters)
        {
            var name = dc.GetProperty("name").GetString()!;
            var row = Row(dom, "data-dc", name);
            Assert.Equal(dc.GetProperty("drained").GetBoolean() ? "true" : "false", Attribute(row, "data-drained"));
            Assert.Equal(dc.GetProperty("usableEndpoints").GetInt32().ToString(CultureInfo.InvariantCulture), Attribute(row, "data-usable"));
            Assert.Equal(dc.GetProperty("endpoints").GetInt32().ToString(CultureInfo.InvariantCulture), Attribute(row, "data-endpoints"));

            // On the map where the equirectangular projection of its configured coordinates puts it (720 x 360 px).
            var marker = MapMarker().Matches(dom).Single(m => m.Groups["dc"].Value == name);
            Assert.Equal((dc.GetProperty("longitude").GetDouble() + 180) * 2, double.Parse(marker.Groups["x"].Value, CultureInfo.InvariantCulture), 2);
            Assert.Equal((90 - dc.GetProperty("latitude").GetDouble()) * 2, double.Parse(marker.Groups["y"].Value, CultureInfo.InvariantCulture), 2);
        }

        Assert.Equal("true", Attribute(Row(dom, "data-dc", "dc-c"), "data-drained"));
        var endpoints = before.GetProperty("endpoints").GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(6, endpoints.Count);
        foreach (var e in endpoints)
        {
            var row = Row(dom, "data-endpoint", e.GetProperty("id").GetString()!);
            Assert.Equal(e.GetProperty("health").GetProperty("verdict").GetString(), Attribute(row, "data-verdict"));
            Assert.Equal(e.GetProperty("usable").GetBoolean() ? "true" : "false", Attribute(row, "data-usable"));
            Assert.Equal(e.GetProperty("drained").GetBoolean() ? "true" : "false", Attribute(row, "data-drained"));
            Assert.Equal(e.GetProperty("effectiveWeight").GetInt32().ToString(CultureInfo.InvariantCulture), Attribute(row, "data-weight"));
            foreach (var vote in e.GetProperty("health").GetProperty("byProber").EnumerateObject())
            {
                Assert.Contains($"data-prober=\"{vote.Name}\" data-vote=\"{(vote.Value.GetBoolean() ? "up" : "down")}\"", row, StringComparison.Ordinal);
            }
        }

        Assert.Equal("300", Attribute(Row(dom, "data-endpoint", ApiTestZones.WeightedId("dc-a")), "data-weight"));
        var fedRow = Row(dom, "data-endpoint", ApiTestZones.WeightedId("dc-b"));
        Assert.Equal("up", Attribute(fedRow, "data-feed"));
        Assert.Contains("up load 2.5 (vote)", fedRow, StringComparison.Ordinal);
        Assert.Equal("none", Attribute(Row(dom, "data-endpoint", ApiTestZones.WeightedId("dc-a")), "data-feed"));
        Assert.Equal("false", Attribute(Row(dom, "data-endpoint", ApiTestZones.WeightedId("dc-c")), "data-usable"));

        var entries = before.GetProperty("state").GetProperty("entries").EnumerateArray().Where(e => e.GetProperty("kind").GetString() != "drill").ToList();
        Assert.Equal(4, entries.Count);
        foreach (var entry in entries)
        {
            var row = Row(dom, "data-entry", $"{entry.GetProperty("kind").GetString()}:{entry.GetProperty("target").GetString()}");
            Assert.Equal(entry.GetProperty("version").GetUInt64().ToString(CultureInfo.InvariantCulture), Attribute(row, "data-version"));
        }

        Assert.Contains("<td>feed up load 2.5 until ", Row(dom, "data-entry", $"feed:{ApiTestZones.WeightedId("dc-b")}"), StringComparison.Ordinal); // not "drained"

        var drills = before.GetProperty("drills").GetProperty("items").EnumerateArray().ToList();
        Assert.Single(drills);
        var drillRow = Row(dom, "data-drill", drillId);
        Assert.Equal(drills[0].GetProperty("state").GetString(), Attribute(drillRow, "data-state"));
        Assert.Contains($"href=\"/ui/drills/{drillId}/report\"", drillRow, StringComparison.Ordinal);
        Assert.Contains($"Drill {drillId}", report, StringComparison.Ordinal);
        Assert.Contains("id=\"timeline\"", report, StringComparison.Ordinal);
    }

    private static async Task<JsonElement> ExpectOkAsync(HttpClient http, HttpMethod method, string path, object body)
    {
        using var response = await ApiCalls.SendAsync(http, method, path, InProcessApi.OperatorToken, body);
        Assert.True(response.IsSuccessStatusCode, await ApiCalls.DescribeAsync(response));
        return await ApiCalls.JsonAsync(response);
    }

    /// <summary>The JSON routes the page draws on, as one document (minus the clock-dependent status fields).</summary>
    private static async Task<JsonElement> SnapshotAsync(HttpClient http)
    {
        var parts = new Dictionary<string, JsonElement>();
        foreach (var (name, path) in new[] { ("datacenters", "/v1/datacenters"), ("endpoints", "/v1/endpoints"), ("state", "/v1/state"), ("drills", "/v1/drills") })
        {
            using var response = await ApiCalls.SendAsync(http, HttpMethod.Get, path, InProcessApi.ReadToken);
            Assert.True(response.IsSuccessStatusCode, await ApiCalls.DescribeAsync(response));
            parts[name] = await ApiCalls.JsonAsync(response);
        }

        return JsonSerializer.SerializeToElement(parts);
    }

    /// <summary>The <c>&lt;tr&gt;</c> whose <paramref name="attribute"/> is <paramref name="value"/>, with its cells.</summary>
    private static string Row(string dom, string attribute, string value)
    {
        var start = dom.IndexOf($"<tr {attribute}=\"{WebUtility.HtmlEncode(value)}\"", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no row {attribute}={value} in the page");
        return dom[start..dom.IndexOf("</tr>", start, StringComparison.Ordinal)];
    }

    private static string Attribute(string element, string name)
    {
        var match = Regex.Match(element, $"{name}=\"([^\"]*)\"");
        Assert.True(match.Success, $"no {name} in {element}");
        return match.Groups[1].Value;
    }

    [GeneratedRegex("<circle data-dc=\"(?<dc>[^\"]+)\" cx=\"(?<x>[-0-9.]+)\" cy=\"(?<y>[-0-9.]+)\"")]
    private static partial Regex MapMarker();
}
