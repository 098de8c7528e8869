using System.Net;
using GslbDns.Hosting;
using GslbDns.Server.Listeners;

namespace GslbDns.Server.Hosting;

/// <summary>
/// The server's command line, as tables: the options of <c>serve</c> (shared ones from
/// <see cref="CommonOptions"/>), which <c>check</c> takes too, and <c>explain</c>'s own on top. A new
/// subcommand is one more <see cref="CommandDefinition"/> in <see cref="Program"/>.
/// </summary>
internal static class CommandLine
{
    public const string ProgramName = "gslbdns";

    public static readonly CommandOption<IPEndPoint> Dns = Option.Repeatable(
        "--dns", "ADDR:PORT", "answer DNS (UDP and TCP) here; repeat for more addresses\nIPv6 as [::1]:5353. Only loopback unless you say otherwise.",
        OptionValues.EndPoint("[::1]:53"), [new IPEndPoint(IPAddress.Loopback, 5353)], "127.0.0.1:5353");

    public static readonly CommandOption<int> UdpThreads = Option.Value(
        "--udp-threads", "N", "receive threads per UDP address", OptionValues.Int(1, 64), Environment.ProcessorCount, "number of cores");

    public static readonly CommandOption<int> TcpMaxConnections = Option.Value(
        "--tcp-max-connections", "N", "concurrent DNS-over-TCP connections", OptionValues.Int(1, 65536), 256, "256");

    public static readonly CommandOption<int> TcpIdleTimeout = Option.Value(
        "--tcp-idle-timeout", "SEC", "close a TCP connection idle this long", OptionValues.Int(1, 3600), 10, "10");

    public static readonly CommandOption<IPEndPoint?> Metrics = CommonOptions.Metrics(9153);

    public static readonly CommandOption<string?> Nsid = Option.OptionalText("--nsid", "TEXT", "RFC 5001 name server identifier", "none");

    public static readonly CommandOption<string?> Identity = Option.OptionalText("--identity", "TEXT", "CHAOS hostname.bind / id.server answer", "refused");

    public static readonly CommandOption<string?> VersionText = Option.OptionalText("--version-text", "TEXT", "CHAOS version.bind answer", "refused, the version is not revealed");

    public static readonly CommandOption<int> MaxUdpSize = Option.Value(
        "--max-udp-size", "N", "largest EDNS UDP reply, 512..4096", OptionValues.Int(512, 4096), 1232, "1232");

    public static readonly CommandOption<Uri> Consul = CommonOptions.Consul.WithHelp("read prober health and operator state from this Consul agent; repeat for several\n(none: embedded mode)");

    public static readonly CommandOption<IPEndPoint?> Api = Option.Value(
        "--api", "ADDR:PORT|off", "embedded mode: REST API on loopback", OptionValues.EndPointOrOff(), new IPEndPoint(IPAddress.Loopback, 8080), "127.0.0.1:8080");

    public static readonly CommandOption<string> State = Option.Text("--state", "DIR", "embedded mode: durable operator state and the API token", "state", "state");

    public static readonly CommandOption<string?> ApiTokensFile = Option.Value<string?>(
        "--api-tokens-file", "FILE", "API tokens, one \"operator TOKEN\" or \"read TOKEN\" per line", OptionValues.ExistingFile, null, "generated in --state");

    public static readonly CommandOption<bool> NoProber = Option.Flag("--no-prober", "embedded mode without the in-process prober (every endpoint counts as healthy)");

    public static readonly CommandOption<string> ProberRegion = Option.Text("--prober-region", "NAME", "the embedded prober's region", "local", "local");

    /// <summary>What <c>serve</c> and <c>check</c> take.</summary>
    public static readonly OptionTable ServeOptions = new(
    [
        CommonOptions.Zones,
        Dns, UdpThreads, TcpMaxConnections, TcpIdleTimeout, Metrics, Nsid, Identity, VersionText, MaxUdpSize,
        CommonOptions.GeoIp, CommonOptions.GeoData,
        Consul, CommonOptions.ConsulTokenFile, CommonOptions.ConsulPrefix,
        Api, State, ApiTokensFile, NoProber, ProberRegion, CommonOptions.NoWatch,
    ]);

    public static readonly CommandOption<string?> ExplainName = Option.OptionalText("--name", "NAME", "the name to resolve", required: true);

    public static readonly CommandOption<string> ExplainType = Option.Text("--type", "A|AAAA", "the record type", "A", "A");

    public static readonly CommandOption<string?> ExplainClient = Option.OptionalText("--client", "ADDR[/PREFIX]", "the client, or its subnet as EDNS Client Subnet would give it", required: true);

    public static readonly ProgramDefinition Program = new(
        ProgramName,
        "gslbdns drill plan|start|status|abort|report ...: disaster-recovery drills over the REST API (gslbdns drill --help).",
        new CommandDefinition("serve", "serve [options]", "run the authoritative DNS server", ServeOptions),
        new CommandDefinition("check", "check [options]", "load every zone and the GSLB config, print problems, exit 1 if any", ServeOptions),
        new CommandDefinition("explain", "explain --name NAME [--type A|AAAA] --client ADDR[/PREFIX] [options]", "the answer a client would get, and why (location, each policy step)", ServeOptions.With(ExplainName, ExplainType, ExplainClient)));

    public sealed record Parsed(string Command, ServerOptions Options, ExplainRequest? Explain);

    public sealed record ExplainRequest(string Name, string Type, string Client);

    /// <summary>The server's options from a parsed command line (defaults where nothing was given).</summary>
    public static Parsed Bind(ParsedCommandLine cl)
    {
        var command = cl.Command ?? "serve";
        var options = new ServerOptions
        {
            ZonesFolder = cl.Get(CommonOptions.Zones),
            DnsEndPoints = cl.All(Dns),
            UdpThreads = cl.Get(UdpThreads),
            Tcp = new TcpLimits(cl.Get(TcpMaxConnections), TimeSpan.FromSeconds(cl.Get(TcpIdleTimeout)), TimeSpan.FromSeconds(5)),
            MetricsEndPoint = cl.Get(Metrics),
            Engine = new Query.QueryEngineOptions { Nsid = cl.Get(Nsid), Identity = cl.Get(Identity), Version = cl.Get(VersionText), MaxUdpPayload = (ushort)cl.Get(MaxUdpSize) },
            WatchZones = !cl.Get(CommonOptions.NoWatch),
            GeoIpDatabase = cl.Get(CommonOptions.GeoIp),
            GeoDataFolder = cl.Get(CommonOptions.GeoData),
            ConsulAddresses = cl.All(Consul),
            ConsulTokenFile = cl.Get(CommonOptions.ConsulTokenFile),
            ConsulPrefix = cl.Get(CommonOptions.ConsulPrefix),
            EmbeddedProber = !cl.Get(NoProber),
            ApiEndPoint = cl.Get(Api),
            StateFolder = cl.Get(State),
            ApiTokensFile = cl.Get(ApiTokensFile),
            EmbeddedProberInfo = new Reports.ProberInfo("embedded", cl.Get(ProberRegion), 0, 0, DateTimeOffset.UtcNow),
        };
        var explain = command == "explain"
            ? new ExplainRequest(cl.Get(ExplainName) ?? ".", cl.Get(ExplainType), cl.Get(ExplainClient) ?? "0.0.0.0")
            : null;
        return new Parsed(command, options, explain);
    }
}
