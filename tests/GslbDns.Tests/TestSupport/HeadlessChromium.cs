using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace GslbDns.Tests.TestSupport;

/// <summary>
/// Debian's <c>chromium</c>, headless, driven over the DevTools protocol (a WebSocket on a loopback port the browser
/// picks): navigate, run a line of script in the page (to fill a form as a user would), read the DOM, take a
/// screenshot. The command line alone (<c>--dump-dom</c>) cannot log in, so the real login flow is driven this way.
/// </summary>
internal sealed partial class HeadlessChromium : IAsyncDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(30);

    private readonly ChildProcess _process;
    private readonly TempFolder _profile;
    private readonly ClientWebSocket _socket;
    private int _nextId;

    private HeadlessChromium(ChildProcess process, TempFolder profile, ClientWebSocket socket)
    {
        _process = process;
        _profile = profile;
        _socket = socket;
    }

    public static async Task<HeadlessChromium> StartAsync(int width, int height)
    {
        var profile = new TempFolder("chromium");
        var process = ChildProcess.Start("chromium", [
            "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions", "--disable-background-networking",
            "--disable-sync", "--disable-default-apps", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
            $"--user-data-dir={profile.Path}", $"--window-size={width},{height}", "about:blank"]);
        try
        {
            var browserUrl = await Deadline.PollAsync("chromium to print its DevTools address", TimeSpan.FromSeconds(30), () =>
            {
                if (process.HasExited)
                {
                    throw new PollAbortedException("chromium exited:\n" + process.Describe());
                }

                var match = DevToolsLine().Match(process.StandardError);
                return Task.FromResult((match.Success, match.Success ? new Uri(match.Groups[1].Value) : null!, process.StandardError));
            });

            // The page target (about:blank) has its own socket; the browser's list of targets names it.
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            var pageSocket = await Deadline.PollAsync("chromium's page target", TimeSpan.FromSeconds(15), async () =>
            {
                var list = JsonNode.Parse(await http.GetStringAsync($"http://127.0.0.1:{browserUrl.Port}/json/list"))!.AsArray();
                var page = list.FirstOrDefault(t => t?["type"]?.GetValue<string>() == "page");
                return (page is not null, page?["webSocketDebuggerUrl"]?.GetValue<string>() ?? "", list.ToJsonString());
            });
            var socket = new ClientWebSocket();
            await socket.ConnectAsync(new Uri(pageSocket), CancellationToken.None);
            return new HeadlessChromium(process, profile, socket);
        }
        catch
        {
            process.Dispose();
            profile.Dispose();
            throw;
        }
    }

    public Task NavigateAsync(string url) => SendAsync("Page.navigate", new JsonObject { ["url"] = url });

    /// <summary>Evaluates <paramref name="expression"/> in the page and returns its value as a string.</summary>
    public async Task<string> EvaluateAsync(string expression)
    {
        var result = await SendAsync("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["returnByValue"] = true });
        if (result["exceptionDetails"] is { } exception)
        {
            throw new InvalidOperationException($"script failed: {exception.ToJsonString()}");
        }

        var value = result["result"]?["value"];
        return value is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : value?.ToJsonString() ?? "";
    }

    /// <summary>Waits until the page at <paramref name="path"/> has loaded.</summary>
    public Task WaitForPageAsync(string path) =>
        Deadline.UntilAsync($"the browser to load {path}", TimeSpan.FromSeconds(30), async () =>
        {
            var seen = await EvaluateAsync("location.pathname + '|' + document.readyState");
            var done = seen == path + "|complete";
            return (done, done ? seen : seen + ": " + await EvaluateAsync("document.body ? document.body.innerText.slice(0, 300) : ''"));
        }, TimeSpan.FromMilliseconds(100));

    public Task<string> OuterHtmlAsync() => EvaluateAsync("document.documentElement.outerHTML");

    /// <summary>A PNG of the whole page (beyond the window when it is longer).</summary>
    public async Task<byte[]> ScreenshotAsync()
    {
        var result = await SendAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png", ["captureBeyondViewport"] = true });
        return Convert.FromBase64String(result["data"]!.GetValue<string>());
    }

    private async Task<JsonNode> SendAsync(string method, JsonObject parameters)
    {
        var id = ++_nextId;
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters }.ToJsonString();
        using var timeout = new CancellationTokenSource(CommandTimeout);
        await _socket.SendAsync(Encoding.UTF8.GetBytes(message), WebSocketMessageType.Text, true, timeout.Token);
        var buffer = new byte[64 * 1024];
        while (true)
        {
            // Events arrive in between; the answer is the message with our id.
            using var text = new MemoryStream();
            WebSocketReceiveResult received;
            do
            {
                received = await _socket.ReceiveAsync(buffer, timeout.Token);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    throw new InvalidOperationException("chromium closed the DevTools socket:\n" + _process.Describe());
                }

                text.Write(buffer, 0, received.Count);
            }
            while (!received.EndOfMessage);

            var node = JsonNode.Parse(text.ToArray())!;
            if (node["id"]?.GetValue<int>() != id)
            {
                continue;
            }

            if (node["error"] is { } error)
            {
                throw new InvalidOperationException($"{method}: {error.ToJsonString()}");
            }

            return node["result"]!;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", timeout.Token);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            // The browser goes away next anyway.
        }

        _socket.Dispose();
        _process.Dispose();
        _profile.Dispose();
    }

    [GeneratedRegex(@"DevTools listening on (ws://\S+)")]
    private static partial Regex DevToolsLine();
}
