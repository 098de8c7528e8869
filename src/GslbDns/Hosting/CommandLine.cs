using System.Net;
using GslbDns.Hosting;
using GslbDns.Server.Listeners;
using GslbDns.Server.Dnstap;

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

    public static readonly CommandOption<int> UdpBatch = Option.Value(
        "--udp-batch", "N", "datagrams per recvmmsg/sendmmsg call on Linux; 0 = portable one-datagram sockets", OptionValues.Int(0, 1024), UdpListener.DefaultBatch, "32");

    public static readonly CommandOption<int> TcpMaxConnections = Option.Value(
        "--tcp-max-connections", "N", "concurrent DNS-over-TCP connections", OptionValues.Int(1, 65536), 256, "256");

    public static readonly CommandOption<int> TcpIdleTimeout = Option.Value(
        "--tcp-idle-timeout", "SEC", "close a TCP connection idle this long", OptionValues.Int(1, 3600), 10, "10");

    public static readonly CommandOption<int> TcpMaxPerClient = Option.Value(
        "--tcp-max-per-client", "N", "concurrent TCP connections from one client address", OptionValues.Int(1, 65536), 32, "32");

    public static readonly CommandOption<int> TcpReadTimeout = Option.Value(
        "--tcp-read-timeout", "SEC", "a query must arrive whole within this after its first byte, and a reply be taken", OptionValues.Int(1, 600), 5, "5");

    public static readonly CommandOption<int> RrlResponses = Option.Value(
        "--rrl-responses-per-second", "N", "response rate limiting (UDP): NOERROR replies per second per client prefix and name", OptionValues.Int(0, 1_000_000), 0, "0, off");

    public static readonly CommandOption<int?> RrlNxDomains = Option.Value<int?>(
        "--rrl-nxdomains-per-second", "N", "NXDOMAIN replies per second per client prefix", v => OptionValues.Int(0, 1_000_000)(v), null, "the responses rate");

    public static readonly CommandOption<int?> RrlErrors = Option.Value<int?>(
        "--rrl-errors-per-second", "N", "error replies (REFUSED, FORMERR, ...) per second per client prefix", v => OptionValues.Int(0, 1_000_000)(v), null, "the responses rate");

    public static readonly CommandOption<int> RrlSlip = Option.Value(
        "--rrl-slip", "N", "every Nth limited reply goes out truncated (TC, no records) so real clients retry over TCP; 0 never", OptionValues.Int(0, 10), 2, "2");

    public static readonly CommandOption<int> RrlWindow = Option.Value(
        "--rrl-window", "SEC", "debt a flood can run up, in seconds of the rate", OptionValues.Int(1, 3600), 15, "15");

    public static readonly CommandOption<int> RrlIPv4Prefix = Option.Value(
        "--rrl-ipv4-prefix", "N", "client prefix length for IPv4", OptionValues.Int(8, 32), 24, "24");

    public static readonly CommandOption<int> RrlIPv6Prefix = Option.Value(
        "--rrl-ipv6-prefix", "N", "client prefix length for IPv6", OptionValues.Int(16, 128), 56, "56");

    public static readonly CommandOption<int> RrlTableSize = Option.Value(
        "--rrl-table-size", "N", "rate limiting buckets, 8 bytes each, fixed", OptionValues.Int(1024, 1 << 24), 65536, "65536");

    public static readonly CommandOption<IPNetwork> RrlExempt = Option.Repeatable(
        "--rrl-exempt", "CIDR", "never rate limit this prefix; repeat for more",
        v => IPNetwork.TryParse(v, out var network) ? network : throw new FormatException("is not a CIDR prefix such as 192.0.2.0/24 (host bits zero)"));

    public static readonly CommandOption<bool> NoCookies = Option.Flag("--no-cookies", "do not answer DNS cookies (RFC 7873)");

    public static readonly CommandOption<string?> CookieSecretFile = Option.Value<string?>(
        "--cookie-secret-file", "FILE", "cookie secret, 32 hex digits, optionally the previous one on the next line (re-read on SIGHUP)", OptionValues.ExistingFile, null, "generated at start and rotated");

    public static readonly CommandOption<int> CookieSecretLifetime = Option.Value(
        "--cookie-secret-lifetime", "SEC", "rotation period of a generated cookie secret", OptionValues.Int(60, 365 * 86400), 86400, "86400");

    public static readonly CommandOption<IPEndPoint?> Metrics = CommonOptions.Metrics(9153);

    public static readonly CommandOption<DnstapTarget?> DnstapOutput = Option.Value<DnstapTarget?>(
        "--dnstap", "FILE|unix:PATH", "log sampled queries and responses as dnstap (Frame Streams) to FILE, or to a reader's UNIX socket", DnstapTarget.Parse, null, "off");

    public static readonly CommandOption<int> DnstapSample = Option.Value(
        "--dnstap-sample", "N", "log one query in N", OptionValues.Int(1, 1_000_000), 1, "1, every query");

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

    public static readonly CommandOption<GslbDns.Dns.DnsName> DnssecZone = Option.Repeatable(
        "--dnssec-zone", "ZONE", "sign this served zone online (DNSSEC, ECDSA P-256, compact denial); repeat for more\nkeys are generated on first start in --dnssec-keys",
        v => GslbDns.Dns.DnsName.TryParse(v, GslbDns.Dns.DnsName.Root, out var name, out var error) ? name : throw new FormatException(error));

    public static readonly CommandOption<string?> DnssecKeys = Option.Value<string?>(
        "--dnssec-keys", "DIR", "DNSSEC key folder (one folder per zone: ksk.pem, zsk*.pem, state.json with the ZSK schedule, mode 0600)", v => v, null, "STATE/dnssec");

    public static readonly CommandOption<string?> DnssecKeyEncryptionFile = Option.Value<string?>(
        "--dnssec-key-encryption-file", "FILE", "with --consul: the zones' keys are shared in Consul KV, encrypted (AES-256-GCM) with the 64 hex digits in FILE", OptionValues.ExistingFile, null, "none; required with --consul and --dnssec-zone");

    public static readonly CommandOption<int> DnssecZskLifetime = Option.Value(
        "--dnssec-zsk-lifetime", "SEC", "how long a ZSK signs before a rollover (pre-publication) replaces it", OptionValues.Int(60, 10 * 365 * 86400), 30 * 86400, "2592000 (30 days)");

    public static readonly CommandOption<int> DnssecMaxTtl = Option.Value(
        "--dnssec-max-ttl", "SEC", "the largest TTL in the signed zones (DNSKEY and every RRset): a new ZSK signs, and an old one goes, this long + the propagation delay after a change", OptionValues.Int(0, 7 * 86400), 86400, "86400");

    public static readonly CommandOption<int> DnssecPropagationDelay = Option.Value(
        "--dnssec-propagation-delay", "SEC", "time for a key change to reach every server of the fleet and secondaries, added to each rollover step", OptionValues.Int(0, 86400), 3600, "3600");

    public static readonly CommandOption<int> DnssecParentDsTtl = Option.Value(
        "--dnssec-parent-ds-ttl", "SEC", "the TTL of the zone's DS at the parent: after a KSK rollover's DS change the old KSK stays this long + the propagation delay", OptionValues.Int(0, 7 * 86400), 86400, "86400");

    public static readonly CommandOption<string?> RolloverKey = Option.Value<string?>(
        "--key", "zsk|ksk", "dnssec-rollover: the key to roll (zsk: pre-publication, automatic from there; ksk: double-KSK, waits for --ds-published)", v => v is "zsk" or "ksk" ? v : throw new FormatException("expected zsk or ksk"), null, "none");

    public static readonly CommandOption<bool> DsPublished = Option.Flag(
        "--ds-published", "dnssec-rollover --key ksk: the parent's DS now names the new KSK (the one CDS shows): retire the old KSK");

    public static readonly CommandOption<bool> RolloverStatus = Option.Flag(
        "--status", "dnssec-rollover: print each key's phase and times, change nothing");

    public static readonly CommandOption<bool> NoProber = Option.Flag("--no-prober", "embedded mode without the in-process prober (every endpoint counts as healthy)");

    public static readonly CommandOption<string> ProberRegion = Option.Text("--prober-region", "NAME", "the embedded prober's region", "local", "local");

    /// <summary>What <c>serve</c> and <c>check</c> take.</summary>
    public static readonly OptionTable ServeOptions = new(
    [
        CommonOptions.Zones,
        Dns, UdpThreads, UdpBatch, TcpMaxConnections, TcpIdleTimeout, TcpMaxPerClient, TcpReadTimeout,
        RrlResponses, RrlNxDomains, RrlErrors, RrlSlip, RrlWindow, RrlIPv4Prefix, RrlIPv6Prefix, RrlTableSize, RrlExempt,
        NoCookies, CookieSecretFile, CookieSecretLifetime, Metrics, DnstapOutput, DnstapSample, Nsid, Identity, VersionText, MaxUdpSize,
        CommonOptions.GeoIp, CommonOptions.GeoData,
        Consul, CommonOptions.ConsulTokenFile, CommonOptions.ConsulPrefix,
        Api, State, ApiTokensFile, NoProber, ProberRegion, CommonOptions.NoWatch, DnssecZone, DnssecKeys, DnssecKeyEncryptionFile, DnssecZskLifetime, DnssecMaxTtl, DnssecPropagationDelay, DnssecParentDsTtl,
    ],
    TlsOptions.Api,
    ApiAuthOptions.Api,
    TlsOptions.Consul);

    public static readonly CommandOption<string?> ExplainName = Option.OptionalText("--name", "NAME", "the name to resolve", required: true);

    public static readonly CommandOption<string> ExplainType = Option.Text("--type", "A|AAAA", "the record type", "A", "A");

    public static readonly CommandOption<string?> ExplainClient = Option.OptionalText("--client", "ADDR[/PREFIX]", "the client, or its subnet as EDNS Client Subnet would give it", required: true);

    public static readonly ProgramDefinition Program = new(
        ProgramName,
        "gslbdns ctl status|endpoints|datacenters|drain|undrain|weight|override|explain|audit|drills|drill ...: the operator REST API from a shell (gslbdns ctl --help).",
        new CommandDefinition("serve", "serve [options]", "run the authoritative DNS server", ServeOptions),
        new CommandDefinition("check", "check [options]", "load every zone and the GSLB config, print problems, exit 1 if any", ServeOptions),
        new CommandDefinition("dnssec-ds", "dnssec-ds --dnssec-zone ZONE [--state DIR | --dnssec-keys DIR]", "print the DS records to give the parent zone (registrar) for each --dnssec-zone, creating its keys if there are none yet", ServeOptions),
        new CommandDefinition("dnssec-rollover", "dnssec-rollover --dnssec-zone ZONE (--key zsk | --key ksk [--ds-published] | --status) [--state DIR | --dnssec-keys DIR | --consul ...]", "start a ZSK rollover now (pre-publication: the new ZSK signs after --dnssec-max-ttl + --dnssec-propagation-delay), or a KSK rollover (double-KSK: the new KSK is ready for the parent's DS after --dnssec-max-ttl + --dnssec-propagation-delay; confirm the DS change with --ds-published, the old KSK goes --dnssec-parent-ds-ttl + --dnssec-propagation-delay later); prints each key's phase and times", ServeOptions.With(RolloverKey, DsPublished, RolloverStatus)),
        new CommandDefinition("explain", "explain --name NAME [--type A|AAAA] --client ADDR[/PREFIX] [options]", "the answer a client would get, and why (location, each policy step)", ServeOptions.With(ExplainName, ExplainType, ExplainClient)));

    public sealed record Parsed(string Command, ServerOptions Options, ExplainRequest? Explain, RolloverRequest? Rollover = null);

    /// <summary>What dnssec-rollover is asked: start a rollover of a key (zsk, ksk), confirm a KSK's DS, or only show the keys.</summary>
    public sealed record RolloverRequest(string? Key, bool DsPublished, bool Status);

    public sealed record ExplainRequest(string Name, string Type, string Client);

    /// <summary>The server's options from a parsed command line (defaults where nothing was given).</summary>
    public static Parsed Bind(ParsedCommandLine cl)
    {
        var command = cl.Command ?? "serve";
        var consul = cl.All(Consul);
        var apiTls = TlsOptions.BindApi(cl);
        if (apiTls is not null && (consul.Count > 0 || cl.Get(Api) is null))
        {
            cl.AddError($"{TlsOptions.ApiCertificate.Name}: the server serves the API only in embedded mode (no --consul, --api not off); give it to gslbdns-api instead");
        }

        if (ApiAuthOptions.AnySet(cl) && (consul.Count > 0 || cl.Get(Api) is null))
        {
            var option = cl.IsSet(ApiAuthOptions.FailureBurst) ? ApiAuthOptions.FailureBurst.Name : ApiAuthOptions.FailureInterval.Name;
            cl.AddError($"{option}: the server serves the API only in embedded mode (no --consul, --api not off); give it to gslbdns-api instead");
        }

        var options = new ServerOptions
        {
            ZonesFolder = cl.Get(CommonOptions.Zones),
            DnsEndPoints = cl.All(Dns),
            UdpThreads = cl.Get(UdpThreads),
            UdpBatch = cl.Get(UdpBatch),
            Tcp = new TcpLimits(cl.Get(TcpMaxConnections), TimeSpan.FromSeconds(cl.Get(TcpIdleTimeout)), TimeSpan.FromSeconds(cl.Get(TcpReadTimeout))) { MaxPerClient = cl.Get(TcpMaxPerClient) },
            RateLimit = new Guards.RateLimitOptions
            {
                ResponsesPerSecond = cl.Get(RrlResponses),
                NxDomainsPerSecond = cl.Get(RrlNxDomains),
                ErrorsPerSecond = cl.Get(RrlErrors),
                Slip = cl.Get(RrlSlip),
                WindowSeconds = cl.Get(RrlWindow),
                IPv4PrefixLength = cl.Get(RrlIPv4Prefix),
                IPv6PrefixLength = cl.Get(RrlIPv6Prefix),
                TableSize = cl.Get(RrlTableSize),
                Exempt = [.. cl.All(RrlExempt).Select(n => (n.BaseAddress, n.PrefixLength))],
            },
            Cookies = !cl.Get(NoCookies),
            CookieSecretFile = cl.Get(CookieSecretFile),
            CookieSecretLifetime = TimeSpan.FromSeconds(cl.Get(CookieSecretLifetime)),
            MetricsEndPoint = cl.Get(Metrics),
            Dnstap = cl.Get(DnstapOutput) is { } dnstap ? new DnstapOptions(dnstap, cl.Get(DnstapSample)) { Identity = cl.Get(Identity) ?? Environment.MachineName } : null,
            Engine = new Query.QueryEngineOptions { Nsid = cl.Get(Nsid), Identity = cl.Get(Identity), Version = cl.Get(VersionText), MaxUdpPayload = (ushort)cl.Get(MaxUdpSize) },
            WatchZones = !cl.Get(CommonOptions.NoWatch),
            GeoIpDatabase = cl.Get(CommonOptions.GeoIp),
            GeoDataFolder = cl.Get(CommonOptions.GeoData),
            ConsulAddresses = consul,
            ConsulTokenFile = cl.Get(CommonOptions.ConsulTokenFile),
            ConsulTls = TlsOptions.BindConsul(cl, consul),
            ApiTls = apiTls,
            ConsulPrefix = cl.Get(CommonOptions.ConsulPrefix),
            EmbeddedProber = !cl.Get(NoProber),
            ApiEndPoint = cl.Get(Api),
            StateFolder = cl.Get(State),
            ApiTokensFile = cl.Get(ApiTokensFile),
            DnssecZones = cl.All(DnssecZone),
            DnssecKeysFolder = cl.Get(DnssecKeys) ?? Path.Combine(cl.Get(State), "dnssec"),
            DnssecKeyEncryptionFile = cl.Get(DnssecKeyEncryptionFile),
            ApiAuthFailureLimit = ApiAuthOptions.Bind(cl),
            DnssecTimings = new GslbDns.Dnssec.RolloverTimings(TimeSpan.FromSeconds(cl.Get(DnssecMaxTtl)), TimeSpan.FromSeconds(cl.Get(DnssecPropagationDelay)), TimeSpan.FromSeconds(cl.Get(DnssecZskLifetime)))
            {
                ParentDsTtl = TimeSpan.FromSeconds(cl.Get(DnssecParentDsTtl)),
            },
            EmbeddedProberInfo = new Reports.ProberInfo("embedded", cl.Get(ProberRegion), 0, 0, DateTimeOffset.UtcNow),
        };
        var explain = command == "explain"
            ? new ExplainRequest(cl.Get(ExplainName) ?? ".", cl.Get(ExplainType), cl.Get(ExplainClient) ?? "0.0.0.0")
            : null;
        return new Parsed(command, options, explain, command == "dnssec-rollover" ? new RolloverRequest(cl.Get(RolloverKey), cl.Get(DsPublished), cl.Get(RolloverStatus)) : null);
    }
}
