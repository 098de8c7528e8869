using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace GslbDns.Server.Hosting;

/// <summary>
/// <c>gslbdns drill plan|start|status|abort|report</c>: the drill routes of the REST API from a shell, for
/// SREs who script drills. The token comes from a file or the environment, never from the command line
/// (where <c>ps</c> would show it).
/// </summary>
internal static class DrillCommand
{
    public const string Usage = """
        Usage: gslbdns drill plan   (--dc NAME)... | --region NAME  --reason TEXT [drill options]   dry run: answers before/during, violations
               gslbdns drill start  (--dc NAME)... | --region NAME  --reason TEXT [drill options] [--force] [--wait]
               gslbdns drill status [ID]                  one drill, or all of them
               gslbdns drill abort  ID [--reason TEXT]
               gslbdns drill report ID [--html FILE]      JSON on standard output, or the HTML page to FILE

        Drill options: --duration SEC  --start RFC3339  --floor SHARE  --probe URL  --client SUBNET (repeatable)
        Connection:    --api URL (default: env GSLBDNS_API, else http://127.0.0.1:8080/)
                       --token-file FILE (default: env GSLBDNS_API_TOKEN_FILE); or the token itself in env GSLBDNS_API_TOKEN
        Exit status: 0 done (with --wait: the drill succeeded), 1 refused, failed or an error, 2 bad usage.
        """;

    private static readonly JsonSerializerOptions Pretty = new() { WriteIndented = true };

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help")
        {
            await error.WriteLineAsync(Usage);
            return args.Length == 0 ? 2 : 0;
        }

        var verb = args[0];
        string? api = Environment.GetEnvironmentVariable("GSLBDNS_API"), tokenFile = Environment.GetEnvironmentVariable("GSLBDNS_API_TOKEN_FILE");
        string? reason = null, region = null, start = null, probe = null, html = null, id = null;
        double? duration = null, floor = null;
        var dcs = new List<string>();
        var clients = new List<string>();
        bool force = false, wait = false;
        for (var i = 1; i < args.Length; i++)
        {
            var name = args[i];
            if (name == "--force")
            {
                force = true;
                continue;
            }

            if (name == "--wait")
            {
                wait = true;
                continue;
            }

            if (!name.StartsWith("--", StringComparison.Ordinal))
            {
                if (id is not null)
                {
                    return await UsageError(error, $"unexpected argument '{name}'");
                }

                id = name;
                continue;
            }

            if (name == "--token")
            {
                return await UsageError(error, "--token: never put a token on the command line; use --token-file FILE or env GSLBDNS_API_TOKEN");
            }

            if (i + 1 >= args.Length)
            {
                return await UsageError(error, $"{name}: needs a value");
            }

            var value = args[++i];
            switch (name)
            {
                case "--api": api = value; break;
                case "--token-file": tokenFile = value; break;
                case "--reason": reason = value; break;
                case "--dc": dcs.Add(value); break;
                case "--region": region = value; break;
                case "--start": start = value; break;
                case "--probe": probe = value; break;
                case "--client": clients.Add(value); break;
                case "--html": html = value; break;
                case "--duration" or "--floor":
                    if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
                    {
                        return await UsageError(error, $"{name}: '{value}' is not a number");
                    }

                    if (name == "--duration")
                    {
                        duration = number;
                    }
                    else
                    {
                        floor = number;
                    }

                    break;
                default:
                    return await UsageError(error, $"unknown option '{name}'");
            }
        }

        string token;
        try
        {
            token = tokenFile is not null ? (await File.ReadAllTextAsync(tokenFile)).Trim() : Environment.GetEnvironmentVariable("GSLBDNS_API_TOKEN") ?? "";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            await error.WriteLineAsync($"gslbdns drill: --token-file: {ex.Message}");
            return 2;
        }

        // A tokens file line is "role token [name]": take the token field when given such a line.
        var fields = token.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        token = fields.Length >= 2 && fields[0] is "operator" or "read" ? fields[1] : token;
        if (token.Length == 0)
        {
            return await UsageError(error, "no API token: give --token-file FILE, or set GSLBDNS_API_TOKEN_FILE or GSLBDNS_API_TOKEN");
        }

        var baseUri = new Uri((api ?? "http://127.0.0.1:8080/").TrimEnd('/') + "/");
        using var http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        try
        {
            switch (verb)
            {
                case "plan" or "start":
                    var body = new JsonObject
                    {
                        ["reason"] = reason,
                        ["dryRun"] = verb == "plan",
                    };
                    if (dcs.Count > 0)
                    {
                        body["dataCenters"] = new JsonArray([.. dcs.Select(d => (JsonNode)d)]);
                    }

                    if (region is not null)
                    {
                        body["region"] = region;
                    }

                    if (start is not null)
                    {
                        body["start"] = start;
                    }

                    if (duration is not null)
                    {
                        body["durationSeconds"] = duration;
                    }

                    if (floor is not null)
                    {
                        body["capacityFloor"] = floor;
                    }

                    if (probe is not null)
                    {
                        body["outcomeProbe"] = probe;
                    }

                    if (clients.Count > 0)
                    {
                        body["clientSubnets"] = new JsonArray([.. clients.Select(c => (JsonNode)c)]);
                    }

                    if (force)
                    {
                        body["force"] = true;
                    }

                    var (ok, created) = await SendAsync(http, HttpMethod.Post, "v1/drills", body, output, error);
                    if (!ok || verb == "plan" || !wait)
                    {
                        return ok ? 0 : 1;
                    }

                    return await WaitAsync(http, created!["id"]!.GetValue<string>(), output, error);
                case "status":
                    return (await SendAsync(http, HttpMethod.Get, id is null ? "v1/drills" : $"v1/drills/{Uri.EscapeDataString(id)}", null, output, error)).Ok ? 0 : 1;
                case "abort" when id is not null:
                    return (await SendAsync(http, HttpMethod.Post, $"v1/drills/{Uri.EscapeDataString(id)}/abort", new JsonObject { ["reason"] = reason }, output, error)).Ok ? 0 : 1;
                case "report" when id is not null:
                    if (html is null)
                    {
                        return (await SendAsync(http, HttpMethod.Get, $"v1/drills/{Uri.EscapeDataString(id)}/report", null, output, error)).Ok ? 0 : 1;
                    }

                    using (var response = await http.GetAsync($"v1/drills/{Uri.EscapeDataString(id)}/report?format=html"))
                    {
                        var page = await response.Content.ReadAsStringAsync();
                        if (!response.IsSuccessStatusCode)
                        {
                            await error.WriteLineAsync($"gslbdns drill: {(int)response.StatusCode}: {page}");
                            return 1;
                        }

                        await File.WriteAllTextAsync(html, page);
                        await output.WriteLineAsync($"wrote {html} ({page.Length} characters)");
                        return 0;
                    }

                case "abort" or "report":
                    return await UsageError(error, $"drill {verb}: the drill id is required");
                default:
                    return await UsageError(error, $"unknown drill command '{verb}' (plan, start, status, abort, report)");
            }
        }
        catch (HttpRequestException ex)
        {
            await error.WriteLineAsync($"gslbdns drill: cannot reach the API at {baseUri}: {ex.Message}");
            return 1;
        }
    }

    /// <summary>Polls the drill until it is over; 0 only if it succeeded.</summary>
    private static async Task<int> WaitAsync(HttpClient http, string id, TextWriter output, TextWriter error)
    {
        while (true)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(500));
            using var response = await http.GetAsync($"v1/drills/{Uri.EscapeDataString(id)}");
            var node = JsonNode.Parse(await response.Content.ReadAsStringAsync());
            var state = node?["state"]?.GetValue<string>();
            if (state is "succeeded" or "failed" or "aborted" or "refused")
            {
                await output.WriteLineAsync($"{id}: {node?["outcome"]?.GetValue<string>() ?? state}");
                return state == "succeeded" ? 0 : 1;
            }
        }
    }

    private static async Task<(bool Ok, JsonNode? Body)> SendAsync(HttpClient http, HttpMethod method, string path, JsonNode? body, TextWriter output, TextWriter error)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }

        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        JsonNode? parsed = null;
        try
        {
            parsed = text.Length == 0 ? null : JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            // Not JSON: shown as it is.
        }

        var shown = parsed?.ToJsonString(Pretty) ?? text;
        if (!response.IsSuccessStatusCode)
        {
            await error.WriteLineAsync($"gslbdns drill: {(int)response.StatusCode} {response.ReasonPhrase}");
            await error.WriteLineAsync(shown);
            return (false, parsed);
        }

        await output.WriteLineAsync(shown);
        return (true, parsed);
    }

    private static async Task<int> UsageError(TextWriter error, string message)
    {
        await error.WriteLineAsync($"gslbdns drill: {message}");
        await error.WriteLineAsync(Usage);
        return 2;
    }
}
