using System.Net;
using GslbDns.Hosting;
using GslbDns.Reports;

namespace GslbDns.Api;

/// <summary>The standalone API process's options, validated as a whole.</summary>
internal sealed record ApiOptions
{
    public string ZonesFolder { get; init; } = "zones";

    public IReadOnlyList<Uri> ConsulAddresses { get; init; } = [];

    public string? ConsulTokenFile { get; init; }

    public string ConsulPrefix { get; init; } = HealthKeys.DefaultPrefix;

    public bool Embedded { get; init; }

    public string? StateFolder { get; init; }

    public IReadOnlyList<IPEndPoint> Listen { get; init; } = [];

    public string? TokensFile { get; init; }

    public string? GeoIpDatabase { get; init; }

    public string? GeoDataFolder { get; init; }

    /// <summary>A prober report older than this no longer votes (Consul mode's health view).</summary>
    public TimeSpan ReportStaleAfter { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>Parses the documented command line; every error names the option.</summary>
internal static class ApiCommandLine
{
    public const string Usage = """
        Usage: gslbdns-api --zones DIR --consul URL [--consul URL]... --tokens-file FILE [options]
               gslbdns-api --embedded --state DIR --zones DIR [options]

        Consul mode: operator state and the audit log live in Consul KV (check-and-set, one transaction per
        change); every DNS server watching the same Consul applies a change within a second.
        Embedded mode: state lives in DIR/state.db (SQLite, WAL, synchronous=FULL); the API listens on
        loopback only and, without --tokens-file, generates an operator token at first start, saves it to
        DIR/api-tokens (mode 0600) and prints it once.

        Options:
          --zones DIR               zone folder with *.zone and *.gslb.json, as the DNS server reads it (default: zones)
          --consul URL              Consul agent; repeat for several (Consul mode)
          --consul-token-file FILE  Consul ACL token (or env GSLBDNS_CONSUL_TOKEN); never on the command line
          --consul-prefix PREFIX    root of GslbDns keys in Consul KV (default: gslbdns/)
          --embedded                embedded mode (no Consul); needs --state
          --state DIR               embedded mode's state folder
          --listen ADDR:PORT        listen here (HTTP); repeat for more (default: 127.0.0.1:8080; port 0: any free port)
                                    embedded mode accepts loopback addresses only
          --tokens-file FILE        bearer tokens, one 'role token [name]' per line, role 'operator' or 'read'
                                    (required in Consul mode)
          --geoip FILE              GeoLite2-City database, for explain (default: .cache/geoip/GeoLite2-City.mmdb if present)
          --geo-data DIR            CIDR-to-location overrides, for explain (default: geo-data)
          -h, --help                this text
        """;

    public static ApiOptions Parse(string[] args, out List<string> errors)
    {
        errors = [];
        var zones = "zones";
        var consul = new List<Uri>();
        string? consulTokenFile = null, state = null, tokens = null;
        var prefix = HealthKeys.DefaultPrefix;
        var embedded = false;
        var listen = new List<IPEndPoint>();
        string? geoIp = File.Exists(".cache/geoip/GeoLite2-City.mmdb") ? ".cache/geoip/GeoLite2-City.mmdb" : null;
        var geoData = "geo-data";

        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (name == "--embedded")
            {
                embedded = true;
                continue;
            }

            if (name is "-h" or "--help")
            {
                errors.Add("help");
                continue;
            }

            if (i + 1 >= args.Length)
            {
                errors.Add($"{name}: needs a value");
                break;
            }

            var value = args[++i];
            switch (name)
            {
                case "--zones":
                    zones = value;
                    break;
                case "--consul":
                    OptionValues.ConsulAddress(name, value, consul, errors);

                    break;
                case "--consul-token-file":
                    consulTokenFile = OptionValues.ExistingFile(name, value, errors);

                    break;
                case "--consul-prefix":
                    prefix = OptionValues.KeyPrefix(value);
                    break;
                case "--state":
                    state = value;
                    break;
                case "--listen":
                    if (OptionValues.TryEndPoint(value, out var endPoint))
                    {
                        listen.Add(endPoint);
                    }
                    else
                    {
                        errors.Add($"--listen: '{value}' is not ADDR:PORT (IPv6 as [::1]:8080)");
                    }

                    break;
                case "--tokens-file":
                    tokens = OptionValues.ExistingFile(name, value, errors);

                    break;
                case "--geoip":
                    geoIp = OptionValues.ExistingFile(name, value, errors);

                    break;
                case "--geo-data":
                    geoData = value;
                    break;
                default:
                    errors.Add($"unknown option '{name}'");
                    break;
            }
        }

        if (embedded)
        {
            if (state is null)
            {
                errors.Add("--embedded: --state DIR is required");
            }

            if (consul.Count > 0)
            {
                errors.Add("--embedded and --consul exclude each other");
            }

            if (listen.FirstOrDefault(e => !IPAddress.IsLoopback(e.Address)) is { } exposed)
            {
                errors.Add($"--listen: embedded mode listens on loopback only, not {exposed}");
            }
        }
        else if (!errors.Contains("help"))
        {
            if (consul.Count == 0)
            {
                errors.Add("--consul URL is required (or --embedded --state DIR)");
            }

            if (tokens is null)
            {
                errors.Add("--tokens-file is required in Consul mode");
            }

            if (state is not null)
            {
                errors.Add("--state is for --embedded mode");
            }
        }

        return new ApiOptions
        {
            ZonesFolder = zones,
            ConsulAddresses = consul,
            ConsulTokenFile = consulTokenFile,
            ConsulPrefix = prefix,
            Embedded = embedded,
            StateFolder = state,
            Listen = listen.Count > 0 ? listen : [new IPEndPoint(IPAddress.Loopback, 8080)],
            TokensFile = tokens,
            GeoIpDatabase = geoIp,
            GeoDataFolder = geoData,
        };
    }
}
