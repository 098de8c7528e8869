using GslbDns.Server.Dnstap;
using GslbDns.Query;
using GslbDns.Server.Listeners;
using GslbDns.Snapshots;
using Microsoft.Extensions.Logging;

namespace GslbDns.Server.Hosting;

/// <summary>
/// The authoritative server: loads zones, starts UDP and TCP listeners on every configured address,
/// reloads on SIGHUP and on file change, and on stop finishes the TCP queries it has read.
/// </summary>
internal sealed partial class DnsServer : IAsyncDisposable
{
    private readonly ServerOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;

    /// <summary>How long start-up waits for the first read of the prober reports from Consul before answering anyway.</summary>
    private static readonly TimeSpan ConsulFirstReadBound = TimeSpan.FromSeconds(3);
    private readonly List<UdpListener> _udp = [];
    private readonly List<TcpListener> _tcp = [];
    private readonly string? _consulToken;
    private SnapshotWatcher? _watcher;
    private ServerMetrics? _metrics;
    private GslbDns.Certificates.ConsulHttp? _consulHttp;
    private Health.ConsulReportWatcher? _consulWatcher;
    private Timer? _healthTicker;
    private Probing.ProbeScheduler? _embeddedProber;
    private Resolution.HostResolver? _hostResolver;
    private Probing.ProbeRunner? _probeRunner;
    private Api.EmbeddedApi? _embeddedApi;
    private State.OperatorStateWatcher? _operatorState;
    private Timer? _cookieRotation;
    private IDisposable? _cookieReload;
    private readonly Api.Tls.ApiCertificate? _apiCertificate;

    private readonly TimeProvider _time;

    public DnsServer(ServerOptions options, ILoggerFactory loggerFactory, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        // Read before anything opens, binds or starts: a token file that cannot be read is a start-up error.
        _consulToken = GslbDns.Hosting.ConsulToken.ReadIfUsed(options.ConsulAddresses, options.ConsulTokenFile);
        if (options.ConsulAddresses.Count > 0)
        {
            _consulHttp = GslbDns.Certificates.ConsulHttp.Create(options.ConsulTls, loggerFactory.CreateLogger("GslbDns.Consul"), pooledConnectionLifetime: TimeSpan.FromMinutes(1));
        }

        if (options.ApiTls is { } apiTls)
        {
            _apiCertificate = Api.Tls.ApiCertificate.Load(apiTls, loggerFactory.CreateLogger("GslbDns.Api.Tls"));
        }

        _options = options;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("GslbDns.Server");
        Snapshots = new SnapshotHolder(ServerSnapshot.Empty);
        RateLimiter = options.RateLimit.Enabled ? new Guards.ResponseRateLimiter(options.RateLimit) : null;
        if (options.Cookies)
        {
            Cookies = new Guards.ServerCookies(options.CookieSecretFile is { } secretFile ? Guards.CookieSecrets.Read(secretFile) : Guards.CookieSecrets.Generate());
        }

        Engine = new QueryEngine(Snapshots, options.Engine, RateLimiter, Cookies);
        if (options.GeoIpDatabase is not null)
        {
            GeoIp = Geo.GeoIpDatabase.Open(options.GeoIpDatabase, logger: loggerFactory.CreateLogger("GslbDns.Geo"));
        }

        // Listening must not wait for the geo trees (seconds): until they are built, clients are located per query.
        Builder = new SnapshotBuilder(options.ZonesFolder, options.GeoDataFolder, GeoIp, Snapshots, loggerFactory.CreateLogger("GslbDns.Zones"), time)
        {
            GeoTreesInBackground = true,
        };
        _dnssecRollover = CreateKeyRollover(options, _consulHttp?.Client, _consulToken, _time);
        _keyStates = LoadDnssecKeyStates(options, _dnssecRollover);
        Builder.DnssecKeys = KeysAt(_keyStates, _time.GetUtcNow());
        HealthPublisher = new Health.HealthStatePublisher(Snapshots, loggerFactory.CreateLogger("GslbDns.Health"), options.ReportStaleAfter, time);
        if (options.Dnstap is { } dnstap)
        {
            try
            {
                Dnstap = new DnstapLog(dnstap, loggerFactory.CreateLogger("GslbDns.Dnstap"));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new GslbDns.Hosting.StartupException($"--dnstap: cannot create '{dnstap.Target.Path}': {ex.Message}");
            }
        }
    }

    /// <summary>/readyz: zones loaded, snapshot fresh, and with Consul the first reads of the fleet's reports and the operator state.</summary>
    public GslbDns.Observability.Readiness Readiness { get; } = new();

    /// <summary>Failed Consul reads so far (prober reports, operator state); null without Consul.</summary>
    public (long Health, long State)? ConsulWatchErrors =>
        _consulWatcher is null ? null : (_consulWatcher.Errors, _operatorState?.Errors ?? 0);

    /// <summary>The dnstap query log; null when off (the default).</summary>
    public DnstapLog? Dnstap { get; }

    /// <summary>Quorum over the live probers' reports, published into the snapshot's state.</summary>
    public Health.HealthStatePublisher HealthPublisher { get; }

    public Geo.GeoIpDatabase? GeoIp { get; }

    public SnapshotHolder Snapshots { get; }

    public QueryEngine Engine { get; }

    /// <summary>Response rate limiting shared by every UDP receive thread; null when off.</summary>
    public Guards.ResponseRateLimiter? RateLimiter { get; }

    /// <summary>DNS cookie secrets; null when cookies are off.</summary>
    public Guards.ServerCookies? Cookies { get; }

    /// <summary>Builds the snapshot from the zone folder; the same builder the API process, check and explain use.</summary>
    public SnapshotBuilder Builder { get; }

    public IReadOnlyList<UdpListener> UdpListeners => _udp;

    /// <summary>The embedded REST API's base address once started (embedded mode with an API end point); null otherwise.</summary>
    public Uri? ApiBaseAddress => _embeddedApi?.Host.BaseAddress;

    public IReadOnlyList<TcpListener> TcpListeners => _tcp;

    /// <param name="signals">The process's signals: SIGHUP reloads the zones. Null when something else owns the process.</param>
    public void Start(GslbDns.Hosting.ProcessSignals? signals = null)
    {
        foreach (var error in Builder.Reload())
        {
            LogLoadError(_logger, error.ToString());
        }

        StartHostResolver();

        Readiness.Add(GslbDns.Observability.ReadinessChecks.ZonesLoaded(Snapshots, _options.ZonesFolder));
        Readiness.Add(GslbDns.Observability.ReadinessChecks.SnapshotFresh(Snapshots, healthFromProbers: _options.ConsulAddresses.Count > 0 || _options.EmbeddedProber));

        // SIGHUP (from the process's signals, when this server is the process) always reloads; file changes only when watching is on.
        _watcher = new SnapshotWatcher(Builder, _options.WatchZones, _loggerFactory.CreateLogger("GslbDns.Zones"), signals);
        if (Cookies is not null && _options.CookieSecretFile is null)
        {
            // A generated secret is ours alone, so rotating it needs no coordination; the previous one verifies until the next turn.
            _cookieRotation = new Timer(_ => Cookies.Rotate(), null, _options.CookieSecretLifetime, _options.CookieSecretLifetime);
        }
        else if (Cookies is not null)
        {
            _cookieReload = signals?.OnReload(ReloadCookieSecret);
        }
        _apiCertificate?.WatchForChanges(signals, _options.WatchZones);
        _consulHttp?.WatchForChanges(signals, _options.WatchZones);

        if (_options.ConsulAddresses.Count > 0)
        {
            StartConsulWatch();
        }
        else
        {
            if (_options.EmbeddedProber)
            {
                StartEmbeddedProber();
            }

            if (_options.ApiEndPoint is { } apiEndPoint)
            {
                // Start-up only: block until the stored state is applied, so the first answers already honour drains and weights.
                _embeddedApi = Api.EmbeddedApi.StartAsync(
                    new Api.EmbeddedApiOptions
                    {
                        StateFolder = _options.StateFolder,
                        Listen = [apiEndPoint],
                        TokensFile = _options.ApiTokensFile,
                        Logger = Serilog.Log.Logger,
                        Certificate = _apiCertificate,
                        AuthFailureLimit = _options.ApiAuthFailureLimit,
                        Dnssec = _dnssecRollover is null ? null : DnssecView,

                        // One process is the only authoritative server: drills verify it on its own listeners.
                        Drills = new Api.Drills.DrillOptions { Servers = [.. _options.DnsEndPoints.Select(LoopbackIfAny)] },
                    },
                    Snapshots,
                    Engine,
                    HealthPublisher).GetAwaiter().GetResult();
                LogApi(_logger, _embeddedApi.Host.BaseAddress.ToString());
            }
        }

        StartKeyRolloverTimer();
        Dnstap?.Start();

        // Only now, with health known (the first prober round, or the first read of the fleet's reports), do the
        // listeners open: the very first load-balanced answer must not hold an endpoint that is down.
        foreach (var endPoint in _options.DnsEndPoints)
        {
            var (udp, tcp) = BindPair(endPoint);
            _udp.Add(udp);
            _tcp.Add(tcp);
            udp.Start();
            tcp.Start();
            LogListening(_logger, udp.LocalEndPoint.ToString());
        }

        if (_options.MetricsEndPoint is { } metrics)
        {
            _metrics = new ServerMetrics(this, metrics);
            _metrics.Start();
        }
    }

    /// <summary>
    /// UDP and TCP on one port. With port 0 (tests) the OS picks a free UDP port, which a TCP socket may
    /// already hold; then both are released and another port is tried, a bounded number of times.
    /// </summary>
    private (UdpListener Udp, TcpListener Tcp) BindPair(System.Net.IPEndPoint endPoint)
    {
        for (var attempt = 1; ; attempt++)
        {
            var udp = new UdpListener(endPoint, _options.UdpThreads, Engine, _logger, Dnstap, _options.UdpBatch);
            try
            {
                return (udp, new TcpListener(udp.LocalEndPoint, Engine, _options.Tcp, _logger, Dnstap));
            }
            catch (System.Net.Sockets.SocketException ex) when (endPoint.Port == 0 && attempt < 20 && ex.SocketErrorCode == System.Net.Sockets.SocketError.AddressAlreadyInUse)
            {
                udp.Dispose();
            }
            catch
            {
                udp.Dispose();
                throw;
            }
        }
    }

    private static System.Net.IPEndPoint LoopbackIfAny(System.Net.IPEndPoint endPoint) =>
        endPoint.Address.Equals(System.Net.IPAddress.Any) ? new(System.Net.IPAddress.Loopback, endPoint.Port)
        : endPoint.Address.Equals(System.Net.IPAddress.IPv6Any) ? new(System.Net.IPAddress.IPv6Loopback, endPoint.Port)
        : endPoint;

    /// <summary>SIGHUP re-reads a shared cookie secret file: operators of a server set rotate by writing the new secret above the old one.</summary>
    private void ReloadCookieSecret()
    {
        if (Cookies is null || _options.CookieSecretFile is not { } file)
        {
            return;
        }

        try
        {
            Cookies.Use(Guards.CookieSecrets.Read(file));
            LogCookieSecret(_logger, file);
        }
        catch (Exception ex) when (ex is FormatException or IOException or UnauthorizedAccessException)
        {
            // Keep the secrets in use: a broken file must not make every cookie invalid.
            LogLoadError(_logger, ex.Message);
        }
    }

    /// <summary>
    /// Hostname endpoints: resolved off the query path, their addresses swapped into the snapshot (and handed to the embedded
    /// prober, which probes them). Start-up waits for the first round, bounded, so the first answers already carry addresses.
    /// </summary>
    private void StartHostResolver()
    {
        _hostResolver = new Resolution.HostResolver(_loggerFactory.CreateLogger("GslbDns.Resolution"));
        _hostResolver.Published += hosts =>
        {
            Snapshots.Update(s => s with { Hosts = hosts });
            _embeddedProber?.UpdateHosts(hosts);
        };
        _hostResolver.UpdateConfig(Snapshots.Current.Gslb);
        Builder.GslbChanged += _hostResolver.UpdateConfig;
        _hostResolver.Start();
        var resolution = Snapshots.Current.Gslb.Resolution;
        _hostResolver.FirstRoundAsync(resolution.Timeout * 2 + TimeSpan.FromSeconds(1)).GetAwaiter().GetResult();
    }

    /// <summary>The background resolver of hostname endpoints (its <see cref="Resolution.HostResolver.Current"/> is what the snapshot holds).</summary>
    public Resolution.HostResolver? HostResolver => _hostResolver;

    /// <summary>Embedded mode: one prober in this process, a quorum of one, same rules as the fleet.</summary>
    private void StartEmbeddedProber()
    {
        _probeRunner = Probing.ProbeRunner.CreateDefault();
        _embeddedProber = new Probing.ProbeScheduler(
            _options.EmbeddedProberInfo,
            _probeRunner,
            new Health.LocalReportSink(HealthPublisher),
            logger: _loggerFactory.CreateLogger<Probing.ProbeScheduler>());
        _embeddedProber.UpdateHosts(Snapshots.Current.Hosts);
        _embeddedProber.UpdateConfig(Snapshots.Current.Gslb);
        Builder.GslbChanged += _embeddedProber.UpdateConfig;
        _embeddedProber.Start();

        // Start-up only: the first round's verdicts, bounded by the checks' timeouts and re-checks, before any answer.
        var bound = _embeddedProber.SettleBound();
        var settled = _embeddedProber.SettleAsync().GetAwaiter().GetResult();
        LogFirstRound(_logger, settled ? "every endpoint settled" : "not every endpoint settled (fail open for those)", bound.TotalMilliseconds);
    }

    /// <summary>The in-process prober in embedded mode; null with Consul.</summary>
    public Probing.ProbeScheduler? EmbeddedProber => _embeddedProber;

    private void StartConsulWatch()
    {
        var consulOptions = new Consul.ConsulClientOptions { Addresses = _options.ConsulAddresses, Token = _consulToken };
        var client = new Consul.ConsulClient(_consulHttp!.Client, consulOptions);
        _consulWatcher = new Health.ConsulReportWatcher(client, _options.ConsulPrefix, HealthPublisher.OnReports, _loggerFactory.CreateLogger("GslbDns.Consul"));
        _consulWatcher.Start();
        var watcher = _consulWatcher;
        Readiness.Add(GslbDns.Observability.ReadinessChecks.SyncedOnce("consul_watch", "the prober reports from Consul", () => watcher.FirstRead.IsCompleted));

        // Start-up only: the fleet's current verdicts before any answer, unless Consul does not answer within the bound.
        if (!_consulWatcher.FirstRead.Wait(ConsulFirstReadBound))
        {
            LogNoFirstRead(_logger, ConsulFirstReadBound.TotalSeconds);
        }

        // Operator state (weights, drains, overrides) written by the API into Consul, applied within a second.
        _operatorState = new State.OperatorStateWatcher(
            new State.ConsulOperatorStateStore(client, _options.ConsulPrefix),
            new State.OperatorStatePublisher(Snapshots),
            _loggerFactory.CreateLogger("GslbDns.State"));
        _operatorState.Start();
        var operatorState = _operatorState;
        Readiness.Add(GslbDns.Observability.ReadinessChecks.SyncedOnce("operator_state", "the operator state (weights, drains, overrides) from Consul", () => operatorState.LastSuccess != default));

        // Reports age even when nothing changes in Consul; re-apply the staleness rule, but only while
        // Consul answers: a blind server must keep its last good verdicts, not age them into "no probers".
        _healthTicker = new Timer(_ =>
        {
            if (_consulWatcher.Connected)
            {
                HealthPublisher.Tick();
            }
        }, null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    public async ValueTask DisposeAsync()
    {
        _cookieReload?.Dispose();
        if (_cookieRotation is not null)
        {
            await _cookieRotation.DisposeAsync();
        }

        if (_keyRolloverTimer is not null)
        {
            await _keyRolloverTimer.DisposeAsync();
        }

        if (_healthTicker is not null)
        {
            await _healthTicker.DisposeAsync();
        }

        if (_embeddedApi is not null)
        {
            await _embeddedApi.DisposeAsync();
        }

        if (_operatorState is not null)
        {
            await _operatorState.DisposeAsync();
        }

        if (_consulWatcher is not null)
        {
            await _consulWatcher.DisposeAsync();
        }

        if (_hostResolver is not null)
        {
            Builder.GslbChanged -= _hostResolver.UpdateConfig;
            await _hostResolver.DisposeAsync();
        }

        if (_embeddedProber is not null)
        {
            Builder.GslbChanged -= _embeddedProber.UpdateConfig;
            await _embeddedProber.DisposeAsync();
        }

        _probeRunner?.Dispose();

        _consulHttp?.Dispose();
        _apiCertificate?.Dispose();
        _watcher?.Dispose();
        foreach (var udp in _udp)
        {
            udp.Dispose();
        }

        await Task.WhenAll(_tcp.Select(t => t.DisposeAsync().AsTask()));
        Dnstap?.Dispose(); // after the listeners: nothing offers any more, the writer drains and ends the stream
        _metrics?.Dispose();
        GeoIp?.Dispose();
        LogStopped(_logger);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "{Error}")]
    private static partial void LogLoadError(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Answering DNS on {EndPoint} (UDP and TCP)")]
    private static partial void LogListening(ILogger logger, string endPoint);

    [LoggerMessage(Level = LogLevel.Information, Message = "REST API on {Address} (embedded mode, state in SQLite)")]
    private static partial void LogApi(ILogger logger, string address);

    [LoggerMessage(Level = LogLevel.Information, Message = "Embedded prober's first round: {Outcome} (bound {BoundMs} ms)")]
    private static partial void LogFirstRound(ILogger logger, string outcome, double boundMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No prober reports read from Consul within {Seconds} s; answering with what is known (fail open)")]
    private static partial void LogNoFirstRead(ILogger logger, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Cookie secret re-read from {File}")]
    private static partial void LogCookieSecret(ILogger logger, string file);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopped")]
    private static partial void LogStopped(ILogger logger);
}
