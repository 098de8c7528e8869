using System.Globalization;
using System.Net;
using GslbDns.Hosting;
using GslbDns.Reports;

namespace GslbDns.Prober;

/// <summary>Everything the command line says, validated.</summary>
internal sealed record ProberOptions(
    string Id,
    string Region,
    double Latitude,
    double Longitude,
    string ZonesFolder,
    IReadOnlyList<Uri> ConsulAddresses,
    string? ConsulTokenFile,
    string Prefix,
    IPEndPoint? MetricsEndPoint,
    bool AllowInsecureTls,
    TimeSpan SessionTtl,
    int MaxConcurrency,
    bool WatchZones);

/// <summary>Parses the documented command line (README.md); every error names the option and what is wrong.</summary>
internal static class ProberCommandLine
{
    public const string TokenEnvironmentVariable = "GSLBDNS_CONSUL_TOKEN";

    public const string Usage = """
        Usage: gslbdns-prober --id ID --region NAME --lat X --lon Y [options]

        Probes every endpoint of every load-balanced service that has a check and keeps this prober's
        report in Consul at PREFIX/probers/ID, held by a TTL session (gone when the prober dies).

        Required:
          --id ID                     this prober's unique id (no '/'), the report's key
          --region NAME               the prober region it probes from (a "regions" entry of the GSLB config)
          --lat X, --lon Y            where it probes from, in degrees

        Options:
          --zones DIR                 zone folder with *.zone and *.gslb.json (default: zones)
          --consul URL                Consul agent HTTP address; repeat for fallbacks (default: http://127.0.0.1:8500)
          --consul-token-file FILE    read the Consul ACL token from FILE (else env GSLBDNS_CONSUL_TOKEN; never on the command line)
          --prefix PREFIX             Consul KV root shared by the fleet (default: gslbdns/)
          --session-ttl SEC           Consul session TTL; the report vanishes 1-2x this after a crash (default: 10)
          --max-concurrency N         probes in flight at once (default: 64)
          --metrics ADDR:PORT|off     Prometheus /metrics (default: 127.0.0.1:9154)
          --allow-insecure-tls        do not validate https endpoints' certificates (lab use only)
          --no-watch                  reload the config only on SIGHUP, not on file change
        """;

    public static ProberOptions Parse(string[] args, out List<string> errors)
    {
        errors = [];
        string? id = null, region = null, tokenFile = null;
        double? lat = null, lon = null;
        var zones = "zones";
        var consul = new List<Uri>();
        var prefix = HealthKeys.DefaultPrefix;
        IPEndPoint? metrics = new(IPAddress.Loopback, 9154);
        var insecure = false;
        var watch = true;
        var ttl = 10;
        var concurrency = 64;

        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (name.StartsWith("--consul-token=", StringComparison.Ordinal) || name.StartsWith("--token=", StringComparison.Ordinal))
            {
                // Not echoed: the value is a secret.
                errors.Add($"{name[..name.IndexOf('=', StringComparison.Ordinal)]}: not accepted on the command line; use --consul-token-file FILE or {TokenEnvironmentVariable}");
                continue;
            }

            switch (name)
            {
                case "-h" or "--help":
                    errors.Add("help");
                    continue;
                case "--allow-insecure-tls":
                    insecure = true;
                    continue;
                case "--no-watch":
                    watch = false;
                    continue;
                case "--consul-token" or "--token":
                    // Refused on purpose: a token in argv is visible to every user through ps and /proc.
                    errors.Add($"{name}: not accepted on the command line (ps shows it to everyone); use --consul-token-file FILE or {TokenEnvironmentVariable}");
                    i++;
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
                case "--id":
                    id = value;
                    if (value.Length == 0 || value.Contains('/', StringComparison.Ordinal) || value.Any(char.IsWhiteSpace))
                    {
                        errors.Add($"--id: '{value}' must be non-empty, without '/' or spaces");
                    }

                    break;
                case "--region":
                    region = value;
                    break;
                case "--lat":
                    lat = Degrees(name, value, 90, errors);
                    break;
                case "--lon":
                    lon = Degrees(name, value, 180, errors);
                    break;
                case "--zones":
                    zones = value;
                    break;
                case "--consul":
                    OptionValues.ConsulAddress(name, value, consul, errors);

                    break;
                case "--consul-token-file":
                    tokenFile = value;
                    break;
                case "--prefix":
                    prefix = OptionValues.KeyPrefix(value);
                    break;
                case "--session-ttl":
                    ttl = OptionValues.Int(name, value, 1, 86400, errors);
                    break;
                case "--max-concurrency":
                    concurrency = OptionValues.Int(name, value, 1, 4096, errors);
                    break;
                case "--metrics":
                    if (value == "off")
                    {
                        metrics = null;
                    }
                    else if (OptionValues.TryEndPoint(value, out var ep) && ep.Port != 0)
                    {
                        metrics = ep;
                    }
                    else
                    {
                        errors.Add($"--metrics: '{value}' is not ADDR:PORT or off");
                    }

                    break;
                default:
                    errors.Add($"unknown option '{name}'");
                    break;
            }
        }

        if (id is null)
        {
            errors.Add("--id is required");
        }

        if (region is null || region.Length == 0)
        {
            errors.Add("--region is required");
        }

        if (lat is null || lon is null)
        {
            errors.Add("--lat and --lon are required");
        }

        return new ProberOptions(
            id ?? "",
            region ?? "",
            lat ?? 0,
            lon ?? 0,
            zones,
            consul.Count > 0 ? consul : [new Uri("http://127.0.0.1:8500/")],
            tokenFile,
            prefix,
            metrics,
            insecure,
            TimeSpan.FromSeconds(ttl),
            concurrency,
            watch);
    }

    /// <summary>The token from the file, else the environment, else none. Never logged, never echoed in errors.</summary>
    public static string? ReadToken(ProberOptions options, out string? error)
    {
        error = null;
        if (options.ConsulTokenFile is { } file)
        {
            try
            {
                var token = File.ReadAllText(file).Trim();
                if (token.Length == 0)
                {
                    error = $"--consul-token-file: '{file}' is empty";
                }

                return token;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                error = $"--consul-token-file: cannot read '{file}': {ex.Message}";
                return null;
            }
        }

        var fromEnvironment = Environment.GetEnvironmentVariable(TokenEnvironmentVariable)?.Trim();
        return string.IsNullOrEmpty(fromEnvironment) ? null : fromEnvironment;
    }

    private static double? Degrees(string name, string value, double limit, List<string> errors)
    {
        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var degrees) && Math.Abs(degrees) <= limit)
        {
            return degrees;
        }

        errors.Add($"{name}: '{value}' is not a number of degrees in -{limit}..{limit}");
        return null;
    }
}
