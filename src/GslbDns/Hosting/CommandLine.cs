using System.Globalization;
using System.Net;
using GslbDns.Hosting;
using GslbDns.Reports;
using GslbDns.Server.Listeners;

namespace GslbDns.Server.Hosting;

/// <summary>Parses the documented command line; every error names the option and what is wrong.</summary>
internal static class CommandLine
{
    public const string Usage = """
        Usage: gslbdns serve [options]     run the authoritative DNS server
               gslbdns check [options]     load every zone and the GSLB config, print problems, exit 1 if any
               gslbdns explain --name NAME [--type A|AAAA] --client ADDR[/PREFIX] [options]
                                           the answer a client would get, and why (location, each policy step)

        Options:
          --zones DIR               zone folder: one RFC 1035 master file per zone, named ORIGIN.zone (default: zones)
          --dns ADDR:PORT           answer DNS (UDP and TCP) here; repeat for more addresses (default: 127.0.0.1:5353)
                                    IPv6 as [::1]:5353. Only loopback unless you say otherwise.
          --udp-threads N           receive threads per UDP address (default: number of cores)
          --tcp-max-connections N   concurrent DNS-over-TCP connections (default: 256)
          --tcp-idle-timeout SEC    close a TCP connection idle this long (default: 10)
          --metrics ADDR:PORT|off   Prometheus /metrics (default: 127.0.0.1:9153)
          --nsid TEXT               RFC 5001 name server identifier (default: none)
          --identity TEXT           CHAOS hostname.bind / id.server answer (default: refused)
          --version-text TEXT       CHAOS version.bind answer (default: refused, the version is not revealed)
          --max-udp-size N          largest EDNS UDP reply, 512..4096 (default: 1232)
          --geoip FILE              GeoLite2-City database (default: .cache/geoip/GeoLite2-City.mmdb if present)
          --geo-data DIR            CIDR-to-location overrides (default: geo-data)
          --consul URL              read prober health from this Consul agent; repeat for several (default: embedded mode)
          --consul-token-file FILE  Consul ACL token (or env GSLBDNS_CONSUL_TOKEN); never pass a token on the command line
          --consul-prefix PREFIX    root of GslbDns keys in Consul KV (default: gslbdns/)
          --api ADDR:PORT|off       embedded mode: REST API on loopback (default: 127.0.0.1:8080)
          --state DIR               embedded mode: durable operator state and the API token (default: state)
          --api-tokens-file FILE    API tokens, one "operator TOKEN" or "read TOKEN" per line (default: generated in --state)
          --no-prober               embedded mode without the in-process prober (every endpoint counts as healthy)
          --prober-region NAME      the embedded prober's region (default: local)
          --no-watch                reload only on SIGHUP, not on file change
        """;

    public sealed record Parsed(string Command, ServerOptions Options, ExplainRequest? Explain);

    public sealed record ExplainRequest(string Name, string Type, string Client);

    public static Parsed Parse(string[] args, out List<string> errors)
    {
        errors = [];
        var command = "serve";
        var start = 0;
        if (args.Length > 0 && !args[0].StartsWith('-'))
        {
            command = args[0];
            start = 1;
            if (command is not ("serve" or "check" or "explain"))
            {
                errors.Add($"unknown command '{command}'");
            }
        }

        var zones = "zones";
        var dns = new List<IPEndPoint>();
        var udpThreads = Environment.ProcessorCount;
        var maxConnections = 256;
        var idle = 10.0;
        IPEndPoint? metrics = new(IPAddress.Loopback, 9153);
        string? nsid = null, identity = null, version = null;
        var maxUdp = 1232;
        var watch = true;
        var embeddedProber = true;
        var proberRegion = "local";
        IPEndPoint? api = new(IPAddress.Loopback, 8080);
        var stateFolder = "state";
        string? apiTokensFile = null;
        string? geoIp = File.Exists(".cache/geoip/GeoLite2-City.mmdb") ? ".cache/geoip/GeoLite2-City.mmdb" : null;
        var geoData = "geo-data";
        string? explainName = null, explainClient = null;
        var consul = new List<Uri>();
        string? consulTokenFile = null;
        var consulPrefix = HealthKeys.DefaultPrefix;
        var explainType = "A";

        for (var i = start; i < args.Length; i++)
        {
            var name = args[i];
            if (name == "--no-watch")
            {
                watch = false;
                continue;
            }

            if (name == "--no-prober")
            {
                embeddedProber = false;
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
                case "--dns":
                    if (OptionValues.TryEndPoint(value, out var ep))
                    {
                        dns.Add(ep);
                    }
                    else
                    {
                        errors.Add($"--dns: '{value}' is not ADDR:PORT (IPv6 as [::1]:53)");
                    }

                    break;
                case "--udp-threads":
                    udpThreads = OptionValues.Int(name, value, 1, 64, errors);
                    break;
                case "--tcp-max-connections":
                    maxConnections = OptionValues.Int(name, value, 1, 65536, errors);
                    break;
                case "--tcp-idle-timeout":
                    idle = OptionValues.Int(name, value, 1, 3600, errors);
                    break;
                case "--metrics":
                    if (value == "off")
                    {
                        metrics = null;
                    }
                    else if (OptionValues.TryEndPoint(value, out var m))
                    {
                        metrics = m;
                    }
                    else
                    {
                        errors.Add($"--metrics: '{value}' is not ADDR:PORT or off");
                    }

                    break;
                case "--geoip":
                    geoIp = OptionValues.ExistingFile(name, value, errors);

                    break;
                case "--consul":
                    OptionValues.ConsulAddress(name, value, consul, errors);

                    break;
                case "--consul-token-file":
                    consulTokenFile = OptionValues.ExistingFile(name, value, errors);

                    break;
                case "--consul-prefix":
                    consulPrefix = OptionValues.KeyPrefix(value);
                    break;
                case "--api":
                    if (value == "off")
                    {
                        api = null;
                    }
                    else if (OptionValues.TryEndPoint(value, out var apiEndPoint))
                    {
                        api = apiEndPoint;
                    }
                    else
                    {
                        errors.Add($"--api: '{value}' is not ADDR:PORT or off");
                    }

                    break;
                case "--state":
                    stateFolder = value;
                    break;
                case "--api-tokens-file":
                    apiTokensFile = OptionValues.ExistingFile(name, value, errors);

                    break;
                case "--prober-region":
                    proberRegion = value;
                    break;
                case "--geo-data":
                    geoData = value;
                    break;
                case "--name" when command == "explain":
                    explainName = value;
                    break;
                case "--type" when command == "explain":
                    explainType = value;
                    break;
                case "--client" when command == "explain":
                    explainClient = value;
                    break;
                case "--nsid":
                    nsid = value;
                    break;
                case "--identity":
                    identity = value;
                    break;
                case "--version-text":
                    version = value;
                    break;
                case "--max-udp-size":
                    maxUdp = OptionValues.Int(name, value, 512, 4096, errors);
                    break;
                default:
                    errors.Add($"unknown option '{name}'");
                    break;
            }
        }

        var options = new ServerOptions
        {
            ZonesFolder = zones,
            DnsEndPoints = dns.Count > 0 ? dns : [new IPEndPoint(IPAddress.Loopback, 5353)],
            UdpThreads = udpThreads,
            Tcp = new TcpLimits(maxConnections, TimeSpan.FromSeconds(idle), TimeSpan.FromSeconds(5)),
            MetricsEndPoint = metrics,
            Engine = new Query.QueryEngineOptions { Nsid = nsid, Identity = identity, Version = version, MaxUdpPayload = (ushort)maxUdp },
            WatchZones = watch,
            GeoIpDatabase = geoIp,
            GeoDataFolder = geoData,
            ConsulAddresses = consul,
            ConsulTokenFile = consulTokenFile,
            ConsulPrefix = consulPrefix,
            EmbeddedProber = embeddedProber,
            ApiEndPoint = api,
            StateFolder = stateFolder,
            ApiTokensFile = apiTokensFile,
            EmbeddedProberInfo = new ProberInfo("embedded", proberRegion, 0, 0, DateTimeOffset.UtcNow),
        };
        ExplainRequest? explain = null;
        if (command == "explain")
        {
            if (explainName is null)
            {
                errors.Add("explain: --name is required");
            }

            if (explainClient is null)
            {
                errors.Add("explain: --client is required (ADDR or ADDR/PREFIX)");
            }

            explain = new ExplainRequest(explainName ?? ".", explainType, explainClient ?? "0.0.0.0");
        }

        return new Parsed(command, options, explain);
    }

}
