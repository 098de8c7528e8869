using GslbDns.Api.Auth;
using GslbDns.Certificates;
using GslbDns.Consul;
using GslbDns.Geo;
using GslbDns.Health;
using GslbDns.Hosting;
using GslbDns.Query;
using GslbDns.Snapshots;
using GslbDns.State;
using Serilog;

namespace GslbDns.Api;

/// <summary><c>gslbdns-api</c>: the operator REST API as its own process (Consul mode or embedded mode).</summary>
internal static class Program
{
    private static Task<int> Main(string[] args) =>
        ProcessHost.RunAsync(ApiCommandLine.Program, args, ApiCommandLine.Bind, RunGuardedAsync);

    private static async Task<int> RunGuardedAsync(ApiOptions options, ProcessContext context)
    {
        try
        {
            return await RunAsync(options, context);
        }
        catch (Exception ex) when (ex is ApiTokensException or IOException or UnauthorizedAccessException or ArgumentException or Microsoft.Data.Sqlite.SqliteException)
        {
            Log.Error("{Error}", ex.Message);
            await Console.Error.WriteLineAsync($"{ApiCommandLine.Program.Name}: {ex.Message}");
            return 1;
        }
    }

    private static async Task<int> RunAsync(ApiOptions options, ProcessContext context)
    {
        // Before anything starts: a token file that cannot be read is a start-up error (exit 2).
        var token = ConsulToken.ReadIfUsed(options.ConsulAddresses, options.ConsulTokenFile);
        var loggerFactory = context.LoggerFactory;
        using var certificate = options.Tls is null ? null : Tls.ApiCertificate.Load(options.Tls, loggerFactory.CreateLogger("GslbDns.Api.Tls"));
        using var consulHttp = ConsulHttp.Create(options.ConsulTls, loggerFactory.CreateLogger("GslbDns.Consul"));
        certificate?.WatchForChanges(context.Signals, watchFiles: true);
        consulHttp.WatchForChanges(context.Signals, watchFiles: true);
        var snapshots = new SnapshotHolder(ServerSnapshot.Empty);
        using var geoIp = options.GeoIpDatabase is null ? null : GeoIpDatabase.Open(options.GeoIpDatabase, logger: loggerFactory.CreateLogger("GslbDns.Geo"));
        // As the DNS server: listen at once, geo trees follow in the background (explain locates per query until then).
        var builder = new SnapshotBuilder(options.ZonesFolder, options.GeoDataFolder, geoIp, snapshots, loggerFactory.CreateLogger("GslbDns.Zones")) { GeoTreesInBackground = true };
        foreach (var error in builder.Reload())
        {
            Log.Error("{Error}", error.ToString());
        }

        // Hostname endpoints resolved here too, so the views and explain show and decide on their addresses as the server does.
        await using var hosts = new GslbDns.Resolution.HostResolver(loggerFactory.CreateLogger("GslbDns.Resolution"));
        hosts.Published += resolved => snapshots.Update(s => s with { Hosts = resolved });
        hosts.UpdateConfig(snapshots.Current.Gslb);
        builder.GslbChanged += hosts.UpdateConfig;
        hosts.Start();

        ApiMetrics.GeoIpLoaded.Set(builder.GeoIpLoaded ? 1 : 0);
        var engine = new QueryEngine(snapshots, new QueryEngineOptions());

        // The same reload triggers as the DNS server, on the same builder: SIGHUP and file change.
        using var watcher = new SnapshotWatcher(builder, watchFiles: true, loggerFactory.CreateLogger("GslbDns.Zones"), context.Signals);

        if (options.Embedded)
        {
            await using var embedded = await EmbeddedApi.StartAsync(
                new EmbeddedApiOptions { StateFolder = options.StateFolder!, Listen = options.Listen, TokensFile = options.TokensFile, Logger = Log.Logger, Drills = options.Drills, Certificate = certificate, AuthFailureLimit = options.AuthFailureLimit },
                snapshots,
                engine,
                null);
            await Console.Out.WriteLineAsync($"gslbdns-api listening on {string.Join(", ", embedded.Host.Urls)} (embedded mode, state in {embedded.Store.Path})");
            await Console.Out.FlushAsync();
            context.NotifyReady($"listening on {string.Join(", ", embedded.Host.Urls)} (embedded mode)");
            await context.Signals.Stopping;
            return 0;
        }

        var client = new ConsulClient(consulHttp.Client, new ConsulClientOptions { Addresses = options.ConsulAddresses, Token = token }, loggerFactory.CreateLogger<ConsulClient>());

        // The live health view (per-prober detail for the list routes, and the health explain decides on).
        var health = new HealthStatePublisher(snapshots, loggerFactory.CreateLogger("GslbDns.Health"), options.ReportStaleAfter);
        await using var reports = new ConsulReportWatcher(client, options.ConsulPrefix, health.OnReports, loggerFactory.CreateLogger("GslbDns.Consul"));
        reports.Start();
        await using var ticker = new Timer(_ =>
        {
            if (reports.Connected)
            {
                health.Tick();
            }
        }, null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));

        var tokens = ApiTokens.Load(options.TokensFile!);
        foreach (var warning in tokens.Warnings)
        {
            Log.Warning("{Warning}", warning);
        }

        var store = new ConsulOperatorStateStore(client, options.ConsulPrefix, loggerFactory.CreateLogger("GslbDns.State"));
        var readiness = new GslbDns.Observability.Readiness()
            .Add(GslbDns.Observability.ReadinessChecks.SyncedOnce("consul_watch", "the prober reports from Consul", () => reports.FirstRead.IsCompleted));
        await using var host = await ApiHost.StartAsync(new ApiHostOptions { Listen = options.Listen, Tokens = tokens, Logger = Log.Logger, Drills = options.Drills, Certificate = certificate, Readiness = readiness, AuthFailureLimit = options.AuthFailureLimit }, store, snapshots, engine, health);
        await Console.Out.WriteLineAsync($"gslbdns-api listening on {string.Join(", ", host.Urls)} (Consul mode, keys under {options.ConsulPrefix})");
        context.NotifyReady($"listening on {string.Join(", ", host.Urls)} (Consul mode)");
        await Console.Out.FlushAsync();
        await context.Signals.Stopping;
        return 0;
    }
}
