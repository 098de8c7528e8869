using System.Net;
using GslbDns.Hosting;

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
    ConsulTlsFiles? ConsulTls,
    string Prefix,
    IPEndPoint? MetricsEndPoint,
    bool AllowInsecureTls,
    TimeSpan SessionTtl,
    int MaxConcurrency,
    bool WatchZones);

/// <summary>The prober's command line (README.md) as a table; shared options come from <see cref="CommonOptions"/>.</summary>
internal static class ProberCommandLine
{
    public static readonly CommandOption<string?> Id = Option.Value<string?>(
        "--id", "ID", "this prober's unique id (no '/'), the report's key",
        static v => v.Length == 0 || v.Contains('/', StringComparison.Ordinal) || v.Any(char.IsWhiteSpace) ? throw new FormatException("must be non-empty, without '/' or spaces") : v,
        required: true);

    public static readonly CommandOption<string?> Region = Option.Value<string?>(
        "--region", "NAME", "the prober region it probes from (a \"regions\" entry of the GSLB config)",
        static v => v.Length == 0 ? throw new FormatException("must not be empty") : v,
        required: true);

    public static readonly CommandOption<double> Latitude = Option.Value("--lat", "X", "where it probes from: latitude in degrees", OptionValues.Degrees(90), required: true);

    public static readonly CommandOption<double> Longitude = Option.Value("--lon", "Y", "where it probes from: longitude in degrees", OptionValues.Degrees(180), required: true);

    // The prober always talks to Consul: without --consul it uses the local agent.
    public static readonly CommandOption<Uri> Consul = CommonOptions.Consul.WithDefault(new Uri("http://127.0.0.1:8500/"), "http://127.0.0.1:8500");

    // --prefix is the prober's older name for the same option.
    public static readonly CommandOption<string> Prefix = CommonOptions.ConsulPrefix.WithHelp("Consul KV root shared by the fleet").WithAliases("--prefix");

    public static readonly CommandOption<int> SessionTtl = Option.Value(
        "--session-ttl", "SEC", "Consul session TTL; the report vanishes 1-2x this after a crash", OptionValues.Int(1, 86400), 10, "10");

    public static readonly CommandOption<int> MaxConcurrency = Option.Value(
        "--max-concurrency", "N", "probes in flight at once", OptionValues.Int(1, 4096), 64, "64");

    // HttpListener cannot bind port 0, so the prober's /metrics needs a real port.
    public static readonly CommandOption<IPEndPoint?> Metrics = CommonOptions.Metrics(9154, allowPortZero: false);

    public static readonly CommandOption<bool> AllowInsecureTls = Option.Flag("--allow-insecure-tls", "do not validate https endpoints' certificates (lab use only)");

    public static readonly ProgramDefinition Program = new(
        "gslbdns-prober",
        """
        Probes every endpoint of every load-balanced service that has a check and keeps this prober's
        report in Consul at PREFIX/probers/ID, held by a TTL session (gone when the prober dies).
        """,
        new CommandDefinition(
            null,
            "--id ID --region NAME --lat X --lon Y [options]",
            string.Empty,
            new OptionTable(
            [
                Id, Region, Latitude, Longitude, CommonOptions.Zones, Consul, CommonOptions.ConsulTokenFile, Prefix,
                SessionTtl, MaxConcurrency, Metrics, AllowInsecureTls, CommonOptions.NoWatch,
            ],
            TlsOptions.Consul)));

    public static ProberOptions Bind(ParsedCommandLine cl) => new(
        cl.Get(Id) ?? string.Empty,
        cl.Get(Region) ?? string.Empty,
        cl.Get(Latitude),
        cl.Get(Longitude),
        cl.Get(CommonOptions.Zones),
        cl.All(Consul),
        cl.Get(CommonOptions.ConsulTokenFile),
        TlsOptions.BindConsul(cl, cl.All(Consul)),
        cl.Get(Prefix),
        cl.Get(Metrics),
        cl.Get(AllowInsecureTls),
        TimeSpan.FromSeconds(cl.Get(SessionTtl)),
        cl.Get(MaxConcurrency),
        !cl.Get(CommonOptions.NoWatch));
}
