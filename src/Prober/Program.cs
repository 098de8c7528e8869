using GslbDns.Certificates;
using GslbDns.Consul;
using GslbDns.Hosting;
using GslbDns.Probing;
using GslbDns.Reports;
using Microsoft.Extensions.Logging;

namespace GslbDns.Prober;

/// <summary>gslbdns-prober: probes the configured endpoints and keeps its report in Consul (README.md).</summary>
internal static partial class Program
{
    private static Task<int> Main(string[] args) =>
        ProcessHost.RunAsync(ProberCommandLine.Program, args, ProberCommandLine.Bind, RunAsync);

    private static async Task<int> RunAsync(ProberOptions options, ProcessContext context)
    {
        var token = ConsulToken.Read(options.ConsulTokenFile);

        // Before anything starts: a CA or client certificate that cannot be used is a start-up error (exit 2).
        var loggerFactory = context.LoggerFactory;
        using var http = ConsulHttp.Create(options.ConsulTls, loggerFactory.CreateLogger("GslbDns.Consul"), pooledConnectionLifetime: TimeSpan.FromMinutes(1));
        http.WatchForChanges(context.Signals, options.WatchZones);
        var logger = loggerFactory.CreateLogger("GslbDns.Prober");

        if (!ConfigWatcher.TryLoad(options.ZonesFolder, logger, out var config))
        {
            Console.Error.WriteLine($"gslbdns-prober: the GSLB config in '{options.ZonesFolder}' does not load; nothing to probe");
            return 1;
        }

        if (config.Regions.Count > 0 && !config.Regions.ContainsKey(options.Region))
        {
            LogUnknownRegion(logger, options.Region, string.Join(", ", config.Regions.Keys));
        }

        // ConsulClient times each attempt itself; a quarter of the TTL leaves room to try a second agent before the session lapses.
        var consul = new ConsulClient(
            http.Client,
            new ConsulClientOptions
            {
                Addresses = options.ConsulAddresses,
                Token = token,
                RequestTimeout = TimeSpan.FromTicks(Math.Clamp(options.SessionTtl.Ticks / 4, TimeSpan.TicksPerSecond, 5 * TimeSpan.TicksPerSecond)),
            },
            loggerFactory.CreateLogger<ConsulClient>());
        var sink = new ConsulReportSink(
            consul,
            new ConsulReportSinkOptions { ProberId = options.Id, Prefix = options.Prefix, SessionTtl = options.SessionTtl },
            loggerFactory.CreateLogger<ConsulReportSink>());
        var runner = ProbeRunner.CreateDefault(options.AllowInsecureTls);
        var metrics = options.MetricsEndPoint is { } metricsEndPoint ? new ProberMetrics(metricsEndPoint, options.Region, options.SessionTtl) : null;
        var scheduler = new ProbeScheduler(
            new ProberInfo(options.Id, options.Region, options.Latitude, options.Longitude, DateTimeOffset.UtcNow),
            runner,
            sink,
            new ProbeSchedulerOptions { MaxConcurrency = options.MaxConcurrency },
            loggerFactory.CreateLogger<ProbeScheduler>(),
            observer: metrics);
        ConfigWatcher? watcher = null;

        // Hostname endpoints are probed at their first resolved address: the prober resolves them itself, as the server does.
        await using var hosts = new GslbDns.Resolution.HostResolver(loggerFactory.CreateLogger("GslbDns.Resolution"));
        hosts.Published += scheduler.UpdateHosts;
        try
        {
            try
            {
                metrics?.Start(scheduler, sink);
            }
            catch (System.Net.HttpListenerException ex)
            {
                Console.Error.WriteLine($"gslbdns-prober: cannot serve /metrics on {options.MetricsEndPoint}: {ex.Message}");
                return 1;
            }

            sink.Start();
            hosts.UpdateConfig(config);
            hosts.Start();
            await hosts.FirstRoundAsync(config.Resolution.Timeout * 2 + TimeSpan.FromSeconds(1));
            scheduler.UpdateConfig(config);
            scheduler.Start();
            watcher = new ConfigWatcher(options.ZonesFolder, scheduler, options.WatchZones, context.Signals, logger);
            watcher.Applied += hosts.UpdateConfig;
            LogStarted(logger, options.Id, options.Region, sink.Key, string.Join(", ", options.ConsulAddresses), options.MetricsEndPoint?.ToString() ?? "off");
            context.NotifyReady($"probing as {options.Id} in {options.Region}");
            await context.Signals.Stopping;
            LogStopping(logger, options.Id);
            return 0;
        }
        finally
        {
            // Stop probing first so nothing is written after the session is destroyed; destroying it removes the report at once.
            watcher?.Dispose();
            await scheduler.DisposeAsync();
            await sink.DisposeAsync();
            runner.Dispose();
            metrics?.Dispose();
        }
    }

    [LoggerMessage(EventId = 7240, Level = LogLevel.Information, Message = "Prober {Id} ({Region}) started: report at {Key} via {Consul}; metrics {Metrics}")]
    private static partial void LogStarted(ILogger logger, string id, string region, string key, string consul, string metrics);

    [LoggerMessage(EventId = 7241, Level = LogLevel.Information, Message = "Prober {Id} stopping: destroying its Consul session")]
    private static partial void LogStopping(ILogger logger, string id);

    [LoggerMessage(EventId = 7242, Level = LogLevel.Warning, Message = "Region {Region} is not one of the config's regions ({Regions}); RTTs measured here match no region of the latency policy")]
    private static partial void LogUnknownRegion(ILogger logger, string region, string regions);
}
