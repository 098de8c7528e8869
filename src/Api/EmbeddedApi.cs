using System.Net;
using GslbDns.Api.Auth;
using GslbDns.Health;
using GslbDns.Query;
using GslbDns.State;
using Serilog;
using Serilog.Extensions.Logging;

namespace GslbDns.Api;

/// <summary>Embedded mode (no Consul): where the state lives and where the API listens.</summary>
public sealed record EmbeddedApiOptions
{
    /// <summary>Folder for <c>state.db</c> (SQLite) and, without <see cref="TokensFile"/>, the generated <c>api-tokens</c>. Created 0700 if missing.</summary>
    public required string StateFolder { get; init; }

    /// <summary>Loopback addresses only; anything else is refused.</summary>
    public IReadOnlyList<IPEndPoint> Listen { get; init; } = [new(IPAddress.Loopback, 8080)];

    /// <summary>Tokens file (<c>role token [name]</c> per line); null: <c>{StateFolder}/api-tokens</c>, generated at first start.</summary>
    public string? TokensFile { get; init; }

    public Serilog.ILogger? Logger { get; init; }

    /// <summary>Where a generated token is printed, once (default: standard output). Never the log.</summary>
    public TextWriter? TokenOutput { get; init; }

    public TimeProvider? Time { get; init; }

    /// <summary>How drills are planned and run; with no servers configured, the DNS server's own listeners are a good choice.</summary>
    public Drills.DrillOptions Drills { get; init; } = new();

    /// <summary>Serve HTTPS with this certificate (owned by the caller); null: HTTP.</summary>
    public Tls.ApiCertificate? Certificate { get; init; }

    /// <summary>Wrong tokens a client address may present before 429.</summary>
    public Hosting.AuthFailureLimit AuthFailureLimit { get; init; } = new();

    /// <summary>The DNS server's signed zones and their keys now (GET /v1/dnssec); null: the server signs nothing.</summary>
    public Func<IReadOnlyList<GslbDns.Dnssec.SignedZoneView>>? Dnssec { get; init; }
}

/// <summary>
/// Everything embedded mode needs in one call: the SQLite store in the state folder, its state applied to
/// the snapshot before this returns (so the first DNS answer already honours drains), the watcher that
/// applies every later change, the tokens, and the API on loopback.
/// </summary>
public sealed class EmbeddedApi : IAsyncDisposable
{
    public const string DatabaseFileName = "state.db";

    private EmbeddedApi(SqliteOperatorStateStore store, OperatorStateWatcher watcher, ApiHost host)
    {
        Store = store;
        Watcher = watcher;
        Host = host;
    }

    public SqliteOperatorStateStore Store { get; }

    public OperatorStateWatcher Watcher { get; }

    public ApiHost Host { get; }

    public static async Task<EmbeddedApi> StartAsync(EmbeddedApiOptions options, SnapshotHolder snapshots, QueryEngine engine, HealthStatePublisher? health, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var logger = options.Logger ?? Log.Logger;
        var time = options.Time ?? TimeProvider.System;
        if (!Directory.Exists(options.StateFolder))
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(options.StateFolder);
            }
            else
            {
                Directory.CreateDirectory(options.StateFolder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }

        ApiTokens tokens;
        if (options.TokensFile is { } file)
        {
            tokens = ApiTokens.Load(file);
        }
        else
        {
            tokens = ApiTokens.LoadOrGenerate(options.StateFolder, out var generated);
            if (generated is not null)
            {
                var output = options.TokenOutput ?? Console.Out;
                await output.WriteLineAsync($"gslbdns-api: no tokens file given; generated an operator token and saved it to {Path.Combine(options.StateFolder, ApiTokens.GeneratedFileName)} (mode 0600).");
                await output.WriteLineAsync($"gslbdns-api: it is shown only this once: {generated}");
                await output.FlushAsync(cancellationToken);
            }
        }

        foreach (var warning in tokens.Warnings)
        {
            logger.Warning("{Warning}", warning);
        }

        var store = SqliteOperatorStateStore.Open(Path.Combine(options.StateFolder, DatabaseFileName));
        OperatorStateWatcher? watcher = null;
        try
        {
            var publisher = new OperatorStatePublisher(snapshots, time);
            publisher.Apply(await store.ReadAsync(cancellationToken));
            using var loggerFactory = new SerilogLoggerFactory(logger);
            watcher = new OperatorStateWatcher(store, publisher, loggerFactory.CreateLogger("GslbDns.State"), time);
            watcher.Start();
            var host = await ApiHost.StartAsync(
                new ApiHostOptions { Listen = options.Listen, LoopbackOnly = true, Tokens = tokens, Logger = logger, Time = time, Drills = options.Drills, Certificate = options.Certificate, AuthFailureLimit = options.AuthFailureLimit, Dnssec = options.Dnssec },
                store,
                snapshots,
                engine,
                health,
                watcher,
                cancellationToken);
            return new EmbeddedApi(store, watcher, host);
        }
        catch
        {
            if (watcher is not null)
            {
                await watcher.DisposeAsync();
            }

            await store.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        await Watcher.DisposeAsync();
        await Store.DisposeAsync();
    }
}
