using System.Runtime.InteropServices;
using GslbDns.Api.Auth;
using GslbDns.Consul;
using GslbDns.Geo;
using GslbDns.Health;
using GslbDns.Query;
using GslbDns.Snapshots;
using GslbDns.State;
using Serilog;
using Serilog.Extensions.Logging;

namespace GslbDns.Api;

/// <summary><c>gslbdns-api</c>: the operator REST API as its own process (Consul mode or embedded mode).</summary>
internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        var options = ApiCommandLine.Parse(args, out var errors);
        if (errors.Count > 0)
        {
            var help = errors.Remove("help");
            foreach (var error in errors)
            {
                await Console.Error.WriteLineAsync($"gslbdns-api: {error}");
            }

            await Console.Error.WriteLineAsync(ApiCommandLine.Usage);
            return help && errors.Count == 0 ? 0 : 2;
        }

        // Logs go to standard error; standard output carries only the start-up lines (and a generated token, once).
        Log.Logger = new LoggerConfiguration()
            .MinimumLevel.Information()
            .WriteTo.Console(outputTemplate: "{Timestamp:HH:mm:ss.fff} {Level:u3} {SourceContext}: {Message:lj}{NewLine}{Exception}", standardErrorFromLevel: Serilog.Events.LogEventLevel.Verbose)
            .CreateLogger();
        using var loggerFactory = new SerilogLoggerFactory(Log.Logger, dispose: false);
        try
        {
            return await RunAsync(options, loggerFactory);
        }
        catch (Exception ex) when (ex is ApiTokensException or IOException or UnauthorizedAccessException or ArgumentException or Microsoft.Data.Sqlite.SqliteException)
        {
            Log.Error("{Error}", ex.Message);
            await Console.Error.WriteLineAsync($"gslbdns-api: {ex.Message}");
            return 1;
        }
        finally
        {
            await Log.CloseAndFlushAsync();
        }
    }

    private static async Task<int> RunAsync(ApiOptions options, SerilogLoggerFactory loggerFactory)
    {
        var snapshots = new SnapshotHolder(ServerSnapshot.Empty);
        using var geoIp = options.GeoIpDatabase is null ? null : GeoIpDatabase.Open(options.GeoIpDatabase, logger: loggerFactory.CreateLogger("GslbDns.Geo"));
        var builder = new SnapshotBuilder(options.ZonesFolder, options.GeoDataFolder, geoIp, snapshots, loggerFactory.CreateLogger("GslbDns.Zones"));
        foreach (var error in builder.Reload())
        {
            Log.Error("{Error}", error.ToString());
        }

        ApiMetrics.GeoIpLoaded.Set(builder.GeoIpLoaded ? 1 : 0);
        var engine = new QueryEngine(snapshots, new QueryEngineOptions());

        // The same reload triggers as the DNS server, on the same builder: SIGHUP and file change.
        using var watcher = new SnapshotWatcher(builder, watchFiles: true, loggerFactory.CreateLogger("GslbDns.Zones"));

        if (options.Embedded)
        {
            await using var embedded = await EmbeddedApi.StartAsync(
                new EmbeddedApiOptions { StateFolder = options.StateFolder!, Listen = options.Listen, TokensFile = options.TokensFile, Logger = Log.Logger },
                snapshots,
                engine,
                null);
            await Console.Out.WriteLineAsync($"gslbdns-api listening on {string.Join(", ", embedded.Host.Urls)} (embedded mode, state in {embedded.Store.Path})");
            await Console.Out.FlushAsync();
            await WaitForStopAsync();
            return 0;
        }

        var token = options.ConsulTokenFile is { } file ? (await File.ReadAllTextAsync(file)).Trim() : Environment.GetEnvironmentVariable("GSLBDNS_CONSUL_TOKEN");
        using var consulHttp = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        var client = new ConsulClient(consulHttp, new ConsulClientOptions { Addresses = options.ConsulAddresses, Token = string.IsNullOrEmpty(token) ? null : token }, loggerFactory.CreateLogger<ConsulClient>());

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
        await using var host = await ApiHost.StartAsync(new ApiHostOptions { Listen = options.Listen, Tokens = tokens, Logger = Log.Logger }, store, snapshots, engine, health);
        await Console.Out.WriteLineAsync($"gslbdns-api listening on {string.Join(", ", host.Urls)} (Consul mode, keys under {options.ConsulPrefix})");
        await Console.Out.FlushAsync();
        await WaitForStopAsync();
        return 0;
    }

    private static async Task WaitForStopAsync()
    {
        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            stop.TrySetResult();
        });
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c =>
        {
            c.Cancel = true;
            stop.TrySetResult();
        });
        await stop.Task;
    }
}
