using System.Net;
using System.Text.Json.Nodes;
using GslbDns.Hosting;
using static GslbDns.Server.Ctl.CtlCommandLine;

namespace GslbDns.Server.Ctl;

/// <summary>
/// <c>gslbdns ctl ...</c>: the operator REST API from a shell (status, endpoints, drains, weights, forced verdicts,
/// external feeds, explain, audit, drills). JSON or a table on standard output, errors on standard error, and the exit statuses of
/// <see cref="CtlExit"/>. The token comes from a file or the environment, never from the command line.
/// </summary>
internal static class CtlCommand
{
    /// <summary>How many times <c>weight --add</c> re-reads and retries when someone else changed the weight in between (412).</summary>
    private const int ConflictRetries = 10;

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        var parsed = Commands.Parse(args);
        if (parsed.HelpRequested || args.Length == 0)
        {
            await (args.Length == 0 ? error : output).WriteAsync(Commands.Usage(parsed.Command));
            return args.Length == 0 ? CtlExit.Usage : CtlExit.Ok;
        }

        var command = parsed.Command!;
        var words = parsed.Positionals;
        var usage = UsageProblem(command, parsed);
        if (usage is not null)
        {
            parsed.AddError(usage);
        }

        if (parsed.Errors.Count > 0)
        {
            foreach (var e in parsed.Errors)
            {
                await error.WriteLineAsync($"{ProgramName}: {e}");
            }

            await error.WriteLineAsync($"Try: {ProgramName} {command} --help");
            return CtlExit.Usage;
        }

        var (token, tokenError) = await ReadTokenAsync(parsed.Get(TokenFile));
        if (token is null)
        {
            await error.WriteLineAsync($"{ProgramName}: {tokenError}");
            return CtlExit.Usage;
        }

        var apiText = parsed.Get(ApiUrl) ?? Environment.GetEnvironmentVariable("GSLBDNS_API") ?? "http://127.0.0.1:8080/";
        if (!Uri.TryCreate(apiText.TrimEnd('/') + "/", UriKind.Absolute, out var baseUri) || baseUri.Scheme is not ("http" or "https"))
        {
            await error.WriteLineAsync($"{ProgramName}: --api: '{apiText}' is not an http(s) URL");
            return CtlExit.Usage;
        }

        using var client = new ApiClient(baseUri, token, TimeSpan.FromSeconds(30));
        var run = new Run(client, parsed, parsed.Get(Output) == "json", output, error);
        try
        {
            return command switch
            {
                "status" => await run.ShowAsync(await client.SendAsync(HttpMethod.Get, "v1/status"), TableWriter.Object),
                "endpoints" => await run.EndpointsAsync(),
                "datacenters" => await run.ShowAsync(await client.SendAsync(HttpMethod.Get, "v1/datacenters"), DataCenterTable),
                "drain" => await run.EntryAsync(HttpMethod.Put, words[0], "drain", new JsonObject { ["reason"] = parsed.Get(Reason), ["force"] = parsed.Get(Force) }),
                "undrain" => await run.EntryAsync(HttpMethod.Delete, words[0], "drain", ClearBody(parsed)),
                "weight" => await run.WeightAsync(words[0], words.Count > 1 ? int.Parse(words[1], System.Globalization.CultureInfo.InvariantCulture) : null),
                "override" when words[0] == "set" => await run.EntryAsync(HttpMethod.Put, words[1], "override", new JsonObject
                {
                    ["healthy"] = parsed.Get(Healthy),
                    ["ttlSeconds"] = parsed.Get(Ttl),
                    ["expires"] = parsed.Get(Expires),
                    ["reason"] = parsed.Get(Reason),
                    ["force"] = parsed.Get(Force),
                }),
                "override" => await run.EntryAsync(HttpMethod.Delete, words[1], "override", ClearBody(parsed)),
                "feed" when words[0] == "set" => await run.EntryAsync(HttpMethod.Put, words[1], "feed", new JsonObject
                {
                    ["up"] = parsed.Get(FeedUp),
                    ["load"] = parsed.Get(FeedLoad),
                    ["expiresIn"] = parsed.Get(ExpiresIn),
                    ["reason"] = parsed.Get(Reason),
                }),
                "feed" => await run.EntryAsync(HttpMethod.Delete, words[1], "feed", new JsonObject { ["reason"] = parsed.Get(Reason) }),
                "explain" => await run.ShowAsync(await client.SendAsync(HttpMethod.Get, "v1/explain" + Query(("name", parsed.Get(Name)), ("type", parsed.Get(QueryType)), ("client", parsed.Get(Client)))), TableWriter.Object),
                "audit" => await run.ShowAsync(
                    await client.SendAsync(HttpMethod.Get, "v1/audit" + Query(("from", parsed.Get(From)), ("to", parsed.Get(To)), ("object", parsed.Get(AuditObject)), ("kind", parsed.Get(Kind)), ("limit", parsed.Get(Limit)))),
                    AuditTable),
                "drills" => await run.ShowAsync(await client.SendAsync(HttpMethod.Get, "v1/drills"), DrillTable),
                "drill" => await run.DrillAsync(words[0], words.Count > 1 ? words[1] : null),
                _ => CtlExit.Usage,
            };
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            await error.WriteLineAsync($"{ProgramName}: cannot reach the API at {baseUri}: {ex.Message}");
            return CtlExit.Unavailable;
        }
    }

    /// <summary>What the option table cannot say: the positional arguments and the options that go together.</summary>
    private static string? UsageProblem(string command, ParsedCommandLine parsed)
    {
        var words = parsed.Positionals;
        return command switch
        {
            "drain" or "undrain" when words.Count != 1 => $"{command}: TARGET is required (a data center, or SERVICE/DC/ADDRESS)",
            "drain" when parsed.Get(Reason) is null => "drain: --reason is required",
            "weight" when words.Count == 0 => "weight: TARGET is required",
            "weight" when (words.Count > 1 ? 1 : 0) + (parsed.Get(Clear) ? 1 : 0) + (parsed.IsSet(Add) ? 1 : 0) != 1 => "weight: give exactly one of N, --add N or --clear",
            "weight" when words.Count > 1 && !(int.TryParse(words[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var w) && w <= 1000) => $"weight: '{words[1]}' is not a weight 0..1000",
            "override" when words.Count != 2 || words[0] is not ("set" or "clear") => "override: override set TARGET ... or override clear TARGET",
            "override" when words[0] == "set" && parsed.Get(Healthy) is null => "override set: --healthy true|false is required",
            "override" when words[0] == "set" && parsed.IsSet(Ttl) == parsed.IsSet(Expires) => "override set: give one of --ttl SEC or --expires T",
            "override" when words[0] == "set" && parsed.Get(Reason) is null => "override set: --reason is required",
            "feed" when words.Count != 2 || words[0] is not ("set" or "clear") => "feed: feed set SERVICE/DC/ADDRESS ... or feed clear SERVICE/DC/ADDRESS",
            "feed" when !words[1].Contains('/', StringComparison.Ordinal) => $"feed: '{words[1]}' is not an endpoint id (SERVICE/DC/ADDRESS): a feed belongs to one endpoint",
            "feed" when words[0] == "set" && parsed.Get(FeedUp) is null && parsed.Get(FeedLoad) is null => "feed set: give --up true|false, --load N, or both",
            "feed" when words[0] == "set" && parsed.Get(ExpiresIn) is null => "feed set: --expires-in is required: a feed always expires",
            "drill" when words.Count == 0 || words[0] is not ("plan" or "start" or "status" or "abort" or "report") => "drill: plan, start, status, abort or report",
            "drill" when words[0] is "abort" or "report" && words.Count < 2 => $"drill {words[0]}: the drill id is required",
            "drill" when words[0] is "plan" or "start" && words.Count > 1 => $"drill {words[0]}: unexpected argument '{words[1]}'",
            "drill" when words[0] is "plan" or "start" && parsed.Get(Reason) is null => $"drill {words[0]}: --reason is required",
            _ when (parsed.IsSet(Force) && parsed.Get(Force)) && parsed.Get(Reason) is null => "--force needs --reason: say why the guardrail is overridden",
            _ => null,
        };
    }

    /// <summary>--token-file, else env GSLBDNS_API_TOKEN_FILE, else env GSLBDNS_API_TOKEN. A tokens-file line (<c>role token name</c>, any of the API's roles) gives its token.</summary>
    private static async Task<(string? Token, string? Error)> ReadTokenAsync(string? tokenFile)
    {
        tokenFile ??= Environment.GetEnvironmentVariable("GSLBDNS_API_TOKEN_FILE");
        string text;
        if (tokenFile is not null)
        {
            try
            {
                text = await File.ReadAllTextAsync(tokenFile);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return (null, $"--token-file: {ex.Message}");
            }
        }
        else
        {
            text = Environment.GetEnvironmentVariable("GSLBDNS_API_TOKEN") ?? "";
        }

        var line = text.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0 && !l.StartsWith('#')) ?? "";
        var fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        var token = fields.Length >= 2 && fields[0] is "operator" or "read" or "feed" ? fields[1] : line;
        return token.Length == 0
            ? (null, "no API token: give --token-file FILE, or set GSLBDNS_API_TOKEN_FILE or GSLBDNS_API_TOKEN")
            : (token, null);
    }

    private static JsonObject ClearBody(ParsedCommandLine parsed) => new() { ["reason"] = parsed.Get(Reason), ["force"] = parsed.Get(Force) };

    private static string Query(params (string Name, string? Value)[] parameters)
    {
        var given = parameters.Where(p => p.Value is not null).Select(p => $"{p.Name}={Uri.EscapeDataString(p.Value!)}").ToList();
        return given.Count == 0 ? "" : "?" + string.Join('&', given);
    }

    private static string DataCenterTable(JsonNode json) => TableWriter.Rows(
        json["items"]!.AsArray(),
        TableWriter.Column("name", "name"), TableWriter.Column("region", "region"), TableWriter.Column("usable", "usableEndpoints"),
        TableWriter.Column("endpoints", "endpoints"), TableWriter.Column("drained", "drained"), TableWriter.Column("weight", "weightOverride.weight"));

    private static string EndpointTable(JsonNode json) => TableWriter.Rows(
        json["items"]!.AsArray(),
        TableWriter.Column("endpoint", "id"), TableWriter.Column("verdict", "health.verdict"), TableWriter.Column("votes", "health.byProber"),
        TableWriter.Column("usable", "usable"), TableWriter.Column("drained", "drainedBy"), TableWriter.Column("forced", "forcedHealthy"),
        TableWriter.Column("weight", "effectiveWeight"), TableWriter.Column("configured", "configuredWeight"),
        TableWriter.Column("feed", "feed.up"), TableWriter.Column("load", "load.utilisation"));

    private static string EntryTable(JsonNode json) => TableWriter.Rows(
        [json],
        TableWriter.Column("kind", "kind"), TableWriter.Column("target", "target"), TableWriter.Column("set", "set"), TableWriter.Column("version", "version"),
        TableWriter.Column("weight", "weight"), TableWriter.Column("healthy", "healthy"), TableWriter.Column("load", "load"), TableWriter.Column("expires", "expires"), TableWriter.Column("reason", "reason"));

    private static string AuditTable(JsonNode json) => TableWriter.Rows(
        json["entries"]!.AsArray(),
        TableWriter.Column("at", "at"), TableWriter.Column("actor", "actor"), TableWriter.Column("action", "action"), TableWriter.Column("kind", "kind"),
        TableWriter.Column("target", "target"), TableWriter.Column("forced", "forced"), TableWriter.Column("reason", "reason"));

    private static string DrillTable(JsonNode json) => TableWriter.Rows(
        json["items"]!.AsArray(),
        TableWriter.Column("id", "id"), TableWriter.Column("state", "state"), TableWriter.Column("target", "dataCenters"),
        TableWriter.Column("start", "start"), TableWriter.Column("end", "end"), TableWriter.Column("outcome", "outcome"));

    /// <summary>One invocation: the client, the options, where output goes.</summary>
    private sealed class Run(ApiClient client, ParsedCommandLine parsed, bool json, TextWriter output, TextWriter error)
    {
        /// <summary>Prints the answer (JSON as the API sent it, or a table) and returns its exit status; a refusal goes to standard error.</summary>
        public async Task<int> ShowAsync(ApiAnswer answer, Func<JsonNode, string> table)
        {
            if (!answer.Ok)
            {
                var detail = answer.Json?["detail"]?.GetValue<string>() ?? answer.Json?["title"]?.GetValue<string>() ?? answer.Text;
                await error.WriteLineAsync($"{ProgramName}: {(int)answer.Status} {answer.Status}: {detail}");
                if (answer.Json?["violations"] is JsonArray violations)
                {
                    foreach (var v in violations)
                    {
                        await error.WriteLineAsync($"  {TableWriter.Text(v)}");
                    }
                }

                if (json && answer.Json is not null)
                {
                    await output.WriteLineAsync(answer.Json.ToJsonString(TableWriter.Pretty));
                }

                return CtlExit.ForStatus(answer.Status);
            }

            if (answer.Json is null)
            {
                await output.WriteAsync(answer.Text);
            }
            else
            {
                await output.WriteAsync(json ? answer.Json.ToJsonString(TableWriter.Pretty) + "\n" : table(answer.Json));
            }

            return CtlExit.Ok;
        }

        public async Task<int> EndpointsAsync()
        {
            var answer = await client.SendAsync(HttpMethod.Get, "v1/endpoints");
            if (answer.Ok && answer.Json?["items"] is JsonArray items)
            {
                var service = parsed.Get(Service)?.TrimEnd('.');
                var dc = parsed.Get(Dc);
                var kept = items.Where(e => (service is null || TableWriter.Text(e?["service"]) == service) && (dc is null || TableWriter.Text(e?["dataCenter"]) == dc))
                    .Select(e => e!.DeepClone()).ToArray();
                answer = answer with { Json = new JsonObject { ["count"] = kept.Length, ["items"] = new JsonArray(kept) } };
            }

            return await ShowAsync(answer, EndpointTable);
        }

        /// <summary>PUT or DELETE one entry of a target, with If-Match when asked.</summary>
        public async Task<int> EntryAsync(HttpMethod method, string target, string kind, JsonObject body)
        {
            foreach (var (key, value) in body.ToList())
            {
                if (value is null || (value is JsonValue v && v.TryGetValue<bool>(out var b) && !b && key == "force"))
                {
                    body.Remove(key);
                }
            }

            return await ShowAsync(await client.SendAsync(method, $"{ApiClient.TargetPath(target)}/{kind}", body, parsed.Get(IfMatch)), EntryTable);
        }

        /// <summary>Set (N), clear, or change by N: the last reads the entry's version and writes with If-Match, again on a 412.</summary>
        public async Task<int> WeightAsync(string target, int? weight)
        {
            var path = $"{ApiClient.TargetPath(target)}/weight";
            if (parsed.Get(Clear))
            {
                return await EntryAsync(HttpMethod.Delete, target, "weight", new JsonObject { ["reason"] = parsed.Get(Reason) });
            }

            if (weight is { } set)
            {
                return await EntryAsync(HttpMethod.Put, target, "weight", new JsonObject { ["weight"] = set, ["reason"] = parsed.Get(Reason) });
            }

            var add = parsed.Get(Add)!.Value;
            for (var attempt = 0; ; attempt++)
            {
                var current = await client.SendAsync(HttpMethod.Get, path);
                if (!current.Ok)
                {
                    return await ShowAsync(current, EntryTable);
                }

                var now = current.Json?["weight"]?.GetValue<int>() ?? current.Json?["configuredWeight"]?.GetValue<int>();
                if (now is null)
                {
                    await error.WriteLineAsync($"{ProgramName}: {target} has no weight to change (a data center's weight is only what an operator set): give N");
                    return CtlExit.Refused;
                }

                var next = Math.Clamp(now.Value + add, 0, 1000);
                var version = parsed.Get(IfMatch) ?? current.Version ?? 0;
                var answer = await client.SendAsync(HttpMethod.Put, path, new JsonObject { ["weight"] = next, ["reason"] = parsed.Get(Reason) }, version);
                if (answer.Status != HttpStatusCode.PreconditionFailed || parsed.IsSet(IfMatch) || attempt >= ConflictRetries)
                {
                    return await ShowAsync(answer, EntryTable);
                }

                await error.WriteLineAsync($"{ProgramName}: {target}'s weight changed meanwhile (412); reading it again");
            }
        }

        public async Task<int> DrillAsync(string verb, string? id)
        {
            var escaped = id is null ? null : Uri.EscapeDataString(id);
            switch (verb)
            {
                case "plan" or "start":
                    var body = new JsonObject { ["reason"] = parsed.Get(Reason), ["dryRun"] = verb == "plan" };
                    var dcs = parsed.All(DrillDc);
                    if (dcs.Count > 0)
                    {
                        body["dataCenters"] = new JsonArray([.. dcs.Select(d => (JsonNode)d)]);
                    }

                    var clients = parsed.All(DrillClient);
                    if (clients.Count > 0)
                    {
                        body["clientSubnets"] = new JsonArray([.. clients.Select(c => (JsonNode)c)]);
                    }

                    body["region"] = parsed.Get(Region);
                    body["start"] = parsed.Get(Start);
                    body["durationSeconds"] = parsed.Get(Duration);
                    body["capacityFloor"] = parsed.Get(Floor);
                    body["outcomeProbe"] = parsed.Get(Probe);
                    body["force"] = parsed.Get(Force);
                    foreach (var (key, value) in body.ToList())
                    {
                        if (value is null)
                        {
                            body.Remove(key);
                        }
                    }

                    var created = await client.SendAsync(HttpMethod.Post, "v1/drills", body);
                    var status = await ShowAsync(created, TableWriter.Object);
                    return status != CtlExit.Ok || verb == "plan" || !parsed.Get(Wait)
                        ? status
                        : await WaitAsync(created.Json!["id"]!.GetValue<string>());
                case "status":
                    return escaped is null
                        ? await ShowAsync(await client.SendAsync(HttpMethod.Get, "v1/drills"), DrillTable)
                        : await ShowAsync(await client.SendAsync(HttpMethod.Get, $"v1/drills/{escaped}"), TableWriter.Object);
                case "abort":
                    return await ShowAsync(await client.SendAsync(HttpMethod.Post, $"v1/drills/{escaped}/abort", new JsonObject { ["reason"] = parsed.Get(Reason) }), TableWriter.Object);
                default:
                    if (parsed.Get(Html) is not { } file)
                    {
                        return await ShowAsync(await client.SendAsync(HttpMethod.Get, $"v1/drills/{escaped}/report"), TableWriter.Object);
                    }

                    var page = await client.SendAsync(HttpMethod.Get, $"v1/drills/{escaped}/report?format=html");
                    if (!page.Ok)
                    {
                        return await ShowAsync(page, TableWriter.Object);
                    }

                    await File.WriteAllTextAsync(file, page.Text);
                    await error.WriteLineAsync($"wrote {file} ({page.Text.Length} characters)");
                    return CtlExit.Ok;
            }
        }

        /// <summary>Follows the drill until it is over; 0 only if it succeeded.</summary>
        private async Task<int> WaitAsync(string id)
        {
            while (true)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500));
                var answer = await client.SendAsync(HttpMethod.Get, $"v1/drills/{Uri.EscapeDataString(id)}");
                if (!answer.Ok)
                {
                    return await ShowAsync(answer, TableWriter.Object);
                }

                var state = answer.Json?["state"]?.GetValue<string>();
                if (state is "succeeded" or "failed" or "aborted" or "refused")
                {
                    await error.WriteLineAsync($"{id}: {answer.Json?["outcome"]?.GetValue<string>() ?? state}");
                    return state == "succeeded" ? CtlExit.Ok : CtlExit.Refused;
                }
            }
        }
    }
}
