using System.Globalization;
using GslbDns.Hosting;

namespace GslbDns.Server.Ctl;

/// <summary>
/// <c>gslbdns ctl</c>: its commands and options as tables (the shared <see cref="OptionTable"/> machinery), so the
/// parser and <c>--help</c> come from one declaration and <c>--token</c> is refused like everywhere else.
/// </summary>
internal static class CtlCommandLine
{
    public const string ProgramName = "gslbdns ctl";

    public static readonly CommandOption<string?> ApiUrl = Option.OptionalText("--api", "URL", "the API's base URL", "env GSLBDNS_API, else http://127.0.0.1:8080/");

    public static readonly CommandOption<string?> TokenFile = Option.Value<string?>(
        "--token-file", "FILE", "API token from FILE (a bare token or a tokens-file line); else env GSLBDNS_API_TOKEN_FILE,\nelse the token itself in env GSLBDNS_API_TOKEN. Never on the command line.", static t => t);

    public static readonly CommandOption<string> Output = Option.Value("--output", "json|table", "what to print on standard output", static t => t is "json" or "table" ? t : throw new FormatException("is not json or table"), "table", "table").WithAliases("-o");

    public static readonly CommandOption<string?> Reason = Option.OptionalText("--reason", "TEXT", "why (goes to the audit log)");
    public static readonly CommandOption<bool> Force = Option.Flag("--force", "past the guardrail (with --reason): may leave a service without a usable endpoint");
    public static readonly CommandOption<ulong?> IfMatch = Option.Value<ulong?>("--if-match", "VERSION", "write only if the entry is still at VERSION (its ETag; 0: only if not set); else 412, exit 1",
        static t => ulong.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : throw new FormatException("is not a version number"));

    public static readonly CommandOption<string?> Service = Option.OptionalText("--service", "NAME", "only this service's endpoints");
    public static readonly CommandOption<string?> Dc = Option.OptionalText("--dc", "NAME", "only this data center's endpoints");

    public static readonly CommandOption<bool> Clear = Option.Flag("--clear", "drop the weight override (back to the configured weight)");
    public static readonly CommandOption<int?> Add = Option.Value<int?>("--add", "N", "change the current weight by N (read, then write with If-Match; retried on a concurrent change)", static t => int.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) && n is >= -1000 and <= 1000 ? n : throw new FormatException("is not a whole number from -1000 to 1000"));

    public static readonly CommandOption<bool?> Healthy = Option.Value<bool?>("--healthy", "true|false", "the forced verdict", static t => bool.TryParse(t, out var b) ? b : throw new FormatException("is not true or false"));
    public static readonly CommandOption<int?> Ttl = Option.Value<int?>("--ttl", "SEC", "the forced verdict expires after SEC seconds", static t => OptionValues.Int(1, 30 * 86400)(t));
    public static readonly CommandOption<string?> Expires = Option.OptionalText("--expires", "RFC3339", "the forced verdict expires at this time");

    public static readonly CommandOption<bool?> FeedUp = Option.Value<bool?>("--up", "true|false", "the feed's vote: up or down", static t => bool.TryParse(t, out var b) ? b : throw new FormatException("is not true or false"));
    public static readonly CommandOption<double?> FeedLoad = Option.Value<double?>("--load", "N", "the feed's load figure, in the unit of the endpoint's capacity", Number);
    public static readonly CommandOption<string?> ExpiresIn = Option.OptionalText("--expires-in", "DURATION", "the feed stops counting after DURATION (1s..24h, e.g. 60s, 5m)");

    public static readonly CommandOption<string?> Name = Option.OptionalText("--name", "NAME", "the name to resolve", required: true);
    public static readonly CommandOption<string> QueryType = Option.Text("--type", "A|AAAA", "the record type", "A", "A");
    public static readonly CommandOption<string?> Client = Option.OptionalText("--client", "ADDR[/PREFIX]", "the client, or its subnet (as EDNS Client Subnet)", required: true);

    public static readonly CommandOption<string?> From = Option.OptionalText("--from", "RFC3339", "entries at or after this time");
    public static readonly CommandOption<string?> To = Option.OptionalText("--to", "RFC3339", "entries before this time");
    public static readonly CommandOption<string?> AuditObject = Option.OptionalText("--object", "ID", "one endpoint id, data center or drill id");
    public static readonly CommandOption<string?> Kind = Option.OptionalText("--kind", "KIND", "weight, drain, override or drill");
    public static readonly CommandOption<string?> Limit = Option.OptionalText("--limit", "N", "at most N entries (1..10000)", "1000");

    public static readonly CommandOption<string> DrillDc = Option.Repeatable("--dc", "NAME", "a data center to evacuate; repeatable", static t => t);
    public static readonly CommandOption<string?> Region = Option.OptionalText("--region", "NAME", "evacuate every data center of this region");
    public static readonly CommandOption<double?> Duration = Option.Value<double?>("--duration", "SEC", "how long", Number, null, "1800");
    public static readonly CommandOption<string?> Start = Option.OptionalText("--start", "RFC3339", "when", "now");
    public static readonly CommandOption<double?> Floor = Option.Value<double?>("--floor", "SHARE", "capacity floor 0..1", Number, null, "0.5");
    public static readonly CommandOption<string?> Probe = Option.OptionalText("--probe", "URL", "outcome probe that must keep answering 2xx");
    public static readonly CommandOption<string> DrillClient = Option.Repeatable("--client", "SUBNET", "ask as this client subnet; repeatable", static t => t);
    public static readonly CommandOption<bool> Wait = Option.Flag("--wait", "start: wait until the drill is over; exit 0 only if it succeeded");
    public static readonly CommandOption<string?> Html = Option.OptionalText("--html", "FILE", "report: write the HTML page to FILE");

    private static readonly CommandOption[] Connection = [ApiUrl, TokenFile, Output];

    private static OptionTable Table(params CommandOption[] own) => new(Connection, own);

    public static readonly ProgramDefinition Commands = new(
        ProgramName,
        """
        The operator REST API from a shell. TARGET is a data center (eu-west) or an endpoint id (SERVICE/DC/ADDRESS).
        Exit status: 0 done; 1 the API said no (400 invalid, 404 unknown, 409 refused by a guardrail or a drill check,
        412 changed since --if-match) or a drill did not succeed (--wait); 2 bad usage; 3 cannot reach the API, the
        token was refused (401/403), or the API or its store failed (5xx).
        """,
        new CommandDefinition("status", "status", "store, snapshot and prober status", Table()),
        new CommandDefinition("endpoints", "endpoints [--service NAME] [--dc NAME]", "every endpoint: verdict, votes, weight, drain", Table(Service, Dc)),
        new CommandDefinition("datacenters", "datacenters", "every data center: usable endpoints, drain", Table()),
        new CommandDefinition("drain", "drain TARGET --reason TEXT [--force] [--if-match V]", "no answers from TARGET until undrained", Table(Reason, Force, IfMatch), 1),
        new CommandDefinition("undrain", "undrain TARGET [--reason TEXT] [--force] [--if-match V]", "answer from TARGET again", Table(Reason, Force, IfMatch), 1),
        new CommandDefinition("weight", "weight TARGET (N | --add N | --clear) [--reason TEXT] [--if-match V]", "set, change or clear a weight", Table(Clear, Add, Reason, IfMatch), 2),
        new CommandDefinition("override", "override set TARGET --healthy true|false (--ttl SEC | --expires T) --reason TEXT\noverride clear TARGET [--reason TEXT]", "force a verdict, or drop it", Table(Healthy, Ttl, Expires, Reason, Force, IfMatch), 2),
        new CommandDefinition("feed", "feed set SERVICE/DC/ADDRESS [--up true|false] [--load N] --expires-in DURATION [--reason TEXT] [--if-match V]\nfeed clear SERVICE/DC/ADDRESS [--reason TEXT] [--if-match V]", "an external health and load feed (a feed token may do only this)", Table(FeedUp, FeedLoad, ExpiresIn, Reason, IfMatch), 2),
        new CommandDefinition("explain", "explain --name NAME [--type A|AAAA] --client ADDR[/PREFIX]", "the answer a client gets, and why", Table(Name, QueryType, Client)),
        new CommandDefinition("audit", "audit [--from T] [--to T] [--object ID] [--kind KIND] [--limit N]", "the audit log, oldest first", Table(From, To, AuditObject, Kind, Limit)),
        new CommandDefinition("drills", "drills", "every drill, newest first", Table()),
        new CommandDefinition(
            "drill",
            "drill plan|start (--dc NAME)... | --region NAME --reason TEXT [--duration SEC] [--start T] [--floor SHARE] [--probe URL] [--client SUBNET]... [--force] [--wait]\ndrill status [ID]\ndrill abort ID [--reason TEXT]\ndrill report ID [--html FILE]",
            "disaster-recovery drills",
            Table(DrillDc, Region, Reason, Duration, Start, Floor, Probe, DrillClient, Force, Wait, Html),
            2));

    private static double? Number(string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) ? d : throw new FormatException("is not a number");
}
