using System.Net;
using GslbDns.Guards;
using GslbDns.Query;
using GslbDns.Reports;
using GslbDns.Server.Listeners;
using GslbDns.Server.Dnstap;

namespace GslbDns.Server.Hosting;

/// <summary>Everything the server process is told on its command line, validated as a whole.</summary>
internal sealed record ServerOptions
{
    public required string ZonesFolder { get; init; }

    /// <summary>Addresses to answer DNS on, UDP and TCP both. Loopback unless configured otherwise.</summary>
    public IReadOnlyList<IPEndPoint> DnsEndPoints { get; init; } = [new(IPAddress.Loopback, 5353)];

    /// <summary>Receive threads (one SO_REUSEPORT socket each) per UDP address; defaults to the core count.</summary>
    public int UdpThreads { get; init; } = Environment.ProcessorCount;

    /// <summary>Datagrams per recvmmsg/sendmmsg on Linux; 0 uses the portable synchronous sockets (also the only path elsewhere).</summary>
    public int UdpBatch { get; init; } = UdpListener.DefaultBatch;

    public TcpLimits Tcp { get; init; } = new(MaxConnections: 256, IdleTimeout: TimeSpan.FromSeconds(10), ReadTimeout: TimeSpan.FromSeconds(5));

    /// <summary>Where /metrics is served; null turns it off.</summary>
    public IPEndPoint? MetricsEndPoint { get; init; } = new(IPAddress.Loopback, 9153);

    public QueryEngineOptions Engine { get; init; } = new();

    /// <summary>The dnstap query log; null (the default) runs none.</summary>
    public DnstapOptions? Dnstap { get; init; }

    /// <summary>Response rate limiting for UDP replies; off unless a rate is given.</summary>
    public RateLimitOptions RateLimit { get; init; } = new();

    /// <summary>Answer DNS cookies (RFC 7873, RFC 9018 server cookies); on by default, as in BIND.</summary>
    public bool Cookies { get; init; } = true;

    /// <summary>The cookie secret (32 hex digits, then optionally the previous one); when absent one is generated at start and rotated.</summary>
    public string? CookieSecretFile { get; init; }

    /// <summary>How often a generated cookie secret is replaced; the previous one keeps verifying until the next rotation.</summary>
    public TimeSpan CookieSecretLifetime { get; init; } = TimeSpan.FromDays(1);

    /// <summary>GeoLite2-City (or GeoIP2-City) database; when absent, clients are placed by geo-data overrides and the default location only.</summary>
    public string? GeoIpDatabase { get; init; }

    /// <summary>Folder of our own CIDR-to-location overrides (<c>*.txt</c>).</summary>
    public string? GeoDataFolder { get; init; }

    /// <summary>Consul agents to read shared state from; empty means embedded mode (in-process prober, local state).</summary>
    public IReadOnlyList<Uri> ConsulAddresses { get; init; } = [];

    /// <summary>File holding the Consul ACL token (never on the command line, never logged).</summary>
    public string? ConsulTokenFile { get; init; }

    /// <summary>CA and client certificate for https Consul addresses; null: plain HTTP or the system trust store.</summary>
    public GslbDns.Hosting.ConsulTlsFiles? ConsulTls { get; init; }

    /// <summary>Embedded mode: serve the API over HTTPS with these files; null: HTTP.</summary>
    public GslbDns.Hosting.ApiTlsFiles? ApiTls { get; init; }

    /// <summary>Embedded mode: wrong API tokens a client address may present before 429.</summary>
    public GslbDns.Hosting.AuthFailureLimit ApiAuthFailureLimit { get; init; } = new();

    /// <summary>Root of GslbDns keys in Consul KV.</summary>
    public string ConsulPrefix { get; init; } = HealthKeys.DefaultPrefix;

    /// <summary>Embedded mode: where the REST API listens (loopback); null runs no API. The command line defaults it to 127.0.0.1:8080.</summary>
    public IPEndPoint? ApiEndPoint { get; init; }

    /// <summary>Embedded mode: the durable local store (SQLite) for weights, drains, overrides and audit, and the generated API token.</summary>
    public string StateFolder { get; init; } = "state";

    /// <summary>API tokens (<c>role token</c> per line); when absent in embedded mode one is generated at first start.</summary>
    public string? ApiTokensFile { get; init; }

    /// <summary>Embedded mode runs a prober in-process unless this is false.</summary>
    public bool EmbeddedProber { get; init; } = true;

    /// <summary>The embedded prober's region name and coordinates (the latency policy ranks data centers by RTT from it).</summary>
    public ProberInfo EmbeddedProberInfo { get; init; } = new("embedded", "local", 0, 0, DateTimeOffset.UtcNow);

    /// <summary>A prober report older than this no longer votes.</summary>
    public TimeSpan ReportStaleAfter { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Zones signed online (DNSSEC); empty: none.</summary>
    public IReadOnlyList<GslbDns.Dns.DnsName> DnssecZones { get; init; } = [];

    /// <summary>Where each signed zone's keys live (<c>ZONE/ksk.pem</c>, <c>ZONE/zsk.pem</c>).</summary>
    public string DnssecKeysFolder { get; init; } = Path.Combine("state", "dnssec");

    /// <summary>The ZSK rollover schedule: max TTL, propagation delay, ZSK lifetime.</summary>
    public GslbDns.Dnssec.RolloverTimings DnssecTimings { get; init; } = GslbDns.Dnssec.RolloverTimings.Default;

    /// <summary>Consul mode: the file with the key that encrypts the zones' keys in Consul KV.</summary>
    public string? DnssecKeyEncryptionFile { get; init; }

    /// <summary>Watch the zone folder and reload on change (SIGHUP always reloads).</summary>
    public bool WatchZones { get; init; } = true;
}
