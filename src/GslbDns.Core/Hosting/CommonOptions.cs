using System.Net;
using GslbDns.Reports;

namespace GslbDns.Hosting;

/// <summary>
/// The options the server, the prober and the API share, declared once. A program that needs another
/// default or wording derives it with <c>WithDefault</c> / <c>WithHelp</c>, never by declaring it again.
/// </summary>
public static class CommonOptions
{
    public const string DefaultGeoIpDatabase = ".cache/geoip/GeoLite2-City.mmdb";

    /// <summary>Names under which a token might be passed; refused by every table, without echoing the value.</summary>
    public static readonly IReadOnlyList<string> RefusedTokenOptions = ["--consul-token", "--token"];

    public static readonly CommandOption<string> Zones =
        Option.Text("--zones", "DIR", "zone folder: one master file per zone (ORIGIN.zone) and its ORIGIN.gslb.json", "zones", "zones");

    /// <summary>Consul agents; none means embedded mode for the server and the API.</summary>
    public static readonly CommandOption<Uri> Consul =
        Option.Repeatable("--consul", "URL", "Consul agent HTTP address; repeat for fallbacks", OptionValues.ConsulAddress);

    public static readonly CommandOption<string?> ConsulTokenFile =
        Option.Value<string?>("--consul-token-file", "FILE", $"Consul ACL token from FILE (else env {ConsulToken.EnvironmentVariable}); never on the command line", OptionValues.ExistingFile);

    public static readonly CommandOption<string> ConsulPrefix =
        Option.Value("--consul-prefix", "PREFIX", "root of GslbDns keys in Consul KV", OptionValues.KeyPrefix, HealthKeys.DefaultPrefix, HealthKeys.DefaultPrefix);

    /// <summary>Prometheus /metrics; each program gives its own default port.</summary>
    public static CommandOption<IPEndPoint?> Metrics(int defaultPort, bool allowPortZero = true) =>
        Option.Value("--metrics", "ADDR:PORT|off", "Prometheus /metrics", OptionValues.EndPointOrOff(allowPortZero), new IPEndPoint(IPAddress.Loopback, defaultPort), $"127.0.0.1:{defaultPort}");

    public static readonly CommandOption<string?> GeoIp =
        Option.Value<string?>("--geoip", "FILE", "GeoLite2-City database", OptionValues.ExistingFile, File.Exists(DefaultGeoIpDatabase) ? DefaultGeoIpDatabase : null, DefaultGeoIpDatabase + " if present");

    public static readonly CommandOption<string> GeoData =
        Option.Text("--geo-data", "DIR", "CIDR-to-location overrides", "geo-data", "geo-data");

    public static readonly CommandOption<bool> NoWatch =
        Option.Flag("--no-watch", "reload only on SIGHUP, not on file change");
}
