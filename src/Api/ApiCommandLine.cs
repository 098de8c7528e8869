using System.Net;
using GslbDns.Hosting;

namespace GslbDns.Api;

/// <summary>The standalone API process's options, validated as a whole.</summary>
internal sealed record ApiOptions
{
    public string ZonesFolder { get; init; } = "zones";

    public IReadOnlyList<Uri> ConsulAddresses { get; init; } = [];

    public string? ConsulTokenFile { get; init; }

    /// <summary>CA and client certificate for https Consul addresses; null: plain HTTP or the system trust store.</summary>
    public ConsulTlsFiles? ConsulTls { get; init; }

    /// <summary>Serve HTTPS with these files; null: HTTP.</summary>
    public ApiTlsFiles? Tls { get; init; }

    public string ConsulPrefix { get; init; } = Reports.HealthKeys.DefaultPrefix;

    public bool Embedded { get; init; }

    public string? StateFolder { get; init; }

    public IReadOnlyList<IPEndPoint> Listen { get; init; } = [];

    public string? TokensFile { get; init; }

    public string? GeoIpDatabase { get; init; }

    public string? GeoDataFolder { get; init; }

    /// <summary>A prober report older than this no longer votes (Consul mode's health view).</summary>
    public TimeSpan ReportStaleAfter { get; init; } = TimeSpan.FromSeconds(5);

    public Drills.DrillOptions Drills { get; init; } = new();

    /// <summary>Wrong tokens a client address may present before 429.</summary>
    public AuthFailureLimit AuthFailureLimit { get; init; } = new();
}

/// <summary>The API's command line as a table; shared options come from <see cref="CommonOptions"/>.</summary>
internal static class ApiCommandLine
{
    public static readonly CommandOption<Uri> Consul = CommonOptions.Consul.WithHelp("Consul agent; repeat for several (Consul mode)");

    public static readonly CommandOption<bool> Embedded = Option.Flag("--embedded", "embedded mode (no Consul); needs --state");

    public static readonly CommandOption<string?> State = Option.OptionalText("--state", "DIR", "embedded mode's state folder");

    public static readonly CommandOption<IPEndPoint> Listen = Option.Repeatable(
        "--listen", "ADDR:PORT", "listen here (HTTP); repeat for more (port 0: any free port)\nembedded mode accepts loopback addresses only",
        OptionValues.EndPoint("[::1]:8080"), [new IPEndPoint(IPAddress.Loopback, 8080)], "127.0.0.1:8080");

    public static readonly CommandOption<string?> TokensFile = Option.Value<string?>(
        "--tokens-file", "FILE", "bearer tokens, one 'role token [name]' per line, role 'operator' or 'read'\n(required in Consul mode)", OptionValues.ExistingFile);

    public static readonly ProgramDefinition Program = new(
        "gslbdns-api",
        """
        Consul mode: operator state and the audit log live in Consul KV (check-and-set, one transaction per
        change); every DNS server watching the same Consul applies a change within a second.
        Embedded mode: state lives in DIR/state.db (SQLite, WAL, synchronous=FULL); the API listens on
        loopback only and, without --tokens-file, generates an operator token at first start, saves it to
        DIR/api-tokens (mode 0600) and prints it once.
        """,
        new CommandDefinition(
            null,
            "--zones DIR --consul URL [--consul URL]... --tokens-file FILE [options]\n--embedded --state DIR --zones DIR [options]",
            string.Empty,
            new OptionTable(
            [
                CommonOptions.Zones, Consul, CommonOptions.ConsulTokenFile, CommonOptions.ConsulPrefix, Embedded, State, Listen, TokensFile,
                CommonOptions.GeoIp, CommonOptions.GeoData,
            ],
            TlsOptions.Api,
            ApiAuthOptions.Api,
            TlsOptions.Consul,
            Drills.DrillOptions.CommandLine)));

    /// <summary>The API's options; adds an error for each mode rule the command line breaks.</summary>
    public static ApiOptions Bind(ParsedCommandLine cl)
    {
        var consul = cl.All(Consul);
        var embedded = cl.Get(Embedded);
        var state = cl.Get(State);
        var listen = cl.All(Listen);
        var tokens = cl.Get(TokensFile);
        if (embedded)
        {
            if (state is null)
            {
                cl.AddError("--embedded: --state DIR is required");
            }

            if (consul.Count > 0)
            {
                cl.AddError("--embedded and --consul exclude each other");
            }

            if (listen.FirstOrDefault(e => !IPAddress.IsLoopback(e.Address)) is { } exposed)
            {
                cl.AddError($"--listen: embedded mode listens on loopback only, not {exposed}");
            }
        }
        else if (!cl.HelpRequested)
        {
            if (consul.Count == 0)
            {
                cl.AddError("--consul URL is required (or --embedded --state DIR)");
            }

            if (tokens is null)
            {
                cl.AddError("--tokens-file is required in Consul mode");
            }

            if (state is not null)
            {
                cl.AddError("--state is for --embedded mode");
            }
        }

        return new ApiOptions
        {
            ZonesFolder = cl.Get(CommonOptions.Zones),
            ConsulAddresses = consul,
            ConsulTokenFile = cl.Get(CommonOptions.ConsulTokenFile),
            ConsulTls = TlsOptions.BindConsul(cl, consul),
            Tls = TlsOptions.BindApi(cl),
            ConsulPrefix = cl.Get(CommonOptions.ConsulPrefix),
            Embedded = embedded,
            StateFolder = state,
            Listen = listen,
            TokensFile = tokens,
            GeoIpDatabase = cl.Get(CommonOptions.GeoIp),
            GeoDataFolder = cl.Get(CommonOptions.GeoData),
            Drills = Drills.DrillOptions.Bind(cl),
            AuthFailureLimit = ApiAuthOptions.Bind(cl),
        };
    }
}
