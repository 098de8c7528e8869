using GslbDns.Certificates;
using GslbDns.Hosting;
using GslbDns.Server.Hosting;
using Microsoft.Extensions.Logging;

namespace GslbDns.Server;

internal static class Program
{
    // "ctl" is an HTTP client of the API, not a server: no process host, its own command table (CtlCommandLine).
    // "drill ..." is kept as the older spelling of "ctl drill ...".
    private static Task<int> Main(string[] args) => args switch
    {
        ["ctl", .. var rest] => Ctl.CtlCommand.RunAsync(rest, Console.Out, Console.Error),
        ["drill", .. var rest] => Ctl.CtlCommand.RunAsync(["drill", .. rest], Console.Out, Console.Error),
        _ => ProcessHost.RunAsync(CommandLine.Program, args, CommandLine.Bind, RunAsync),
    };

    private static async Task<int> RunAsync(CommandLine.Parsed parsed, ProcessContext context)
    {
        var loggerFactory = context.LoggerFactory;
        if (parsed.Command == "check")
        {
            return CheckZones(parsed.Options, loggerFactory);
        }

        if (parsed.Command == "dnssec-ds")
        {
            return PrintDs(parsed.Options);
        }

        if (parsed.Command == "dnssec-rollover")
        {
            return await DnssecRolloverCommand.RunAsync(parsed.Options, parsed.Rollover!, Console.Out, Console.Error);
        }

        if (parsed.Command == "explain")
        {
            return await ExplainCommand.RunAsync(parsed.Options, parsed.Explain!, loggerFactory);
        }

        await using var server = new DnsServer(parsed.Options, loggerFactory);
        try
        {
            server.Start(context.Signals);
        }
        catch (System.Net.Sockets.SocketException ex)
        {
            throw new StartupException($"cannot listen: {ex.Message}", exitCode: 1);
        }
        catch (System.Net.HttpListenerException ex)
        {
            throw new StartupException($"cannot serve /metrics on {parsed.Options.MetricsEndPoint}: {ex.Message}", exitCode: 1);
        }
        catch (IOException ex)
        {
            // Kestrel's "Failed to bind to address ...: address already in use" for the embedded API.
            throw new StartupException($"cannot start: {ex.Message}", exitCode: 1);
        }

        var first = server.UdpListeners[0].LocalEndPoint;
        var zone = server.Snapshots.Current.Zones.Zones.FirstOrDefault()?.Origin.ToString() ?? "example.com.";
        Console.WriteLine($"GslbDns is answering on {string.Join(", ", server.UdpListeners.Select(u => u.LocalEndPoint))}. Try:");
        Console.WriteLine($"  dig @{first.Address} -p {first.Port} {zone} SOA");
        Console.WriteLine($"  dig @{first.Address} -p {first.Port} www.{zone} A +tcp");
        foreach (var service in server.Snapshots.Current.Gslb.Services.Keys.Take(3))
        {
            Console.WriteLine($"  dig @{first.Address} -p {first.Port} {service} A +subnet=81.2.69.0/24     (load-balanced)");
        }

        if (server.Snapshots.Current.Gslb.Services.Count > 0)
        {
            var name = server.Snapshots.Current.Gslb.Services.Keys.First();
            Console.WriteLine($"  dotnet {Environment.GetCommandLineArgs()[0]} explain --zones {parsed.Options.ZonesFolder} --name {name} --client 81.2.69.0/24");
        }
        Console.Out.Flush();
        context.NotifyReady($"answering on {string.Join(", ", server.UdpListeners.Select(u => u.LocalEndPoint))}, {server.Snapshots.Current.Zones.Count} zones");

        // The watchdog's liveness is an answer to our own SOA query through the first UDP listener: a process that
        // is alive but whose serving threads wedged stops pinging, and systemd restarts it.
        using var stop = new CancellationTokenSource();
        var watchdog = context.RunWatchdogAsync(token => SelfQuery.AskAsync(first, zone, token), stop.Token);
        await context.Signals.Stopping;
        await stop.CancelAsync();
        await watchdog;
        return 0;
    }

    /// <summary>The DS (SHA-256) of each signed zone's KSK, one line per zone in presentation format, for the registrar.</summary>
    private static int PrintDs(ServerOptions options)
    {
        if (options.DnssecZones.Count == 0)
        {
            Console.Error.WriteLine("dnssec-ds: give the zone with --dnssec-zone ZONE");
            return 2;
        }

        var token = ConsulToken.ReadIfUsed(options.ConsulAddresses, options.ConsulTokenFile);
        using var consulHttp = options.ConsulAddresses.Count > 0 ? ConsulHttp.Create(options.ConsulTls, pooledConnectionLifetime: TimeSpan.FromMinutes(1)) : null;
        foreach (var state in DnsServer.LoadDnssecKeyStates(options, DnsServer.CreateKeyRollover(options, consulHttp?.Client, token, TimeProvider.System)).Values)
        {
            // During a KSK rollover: the old KSK's DS until the new one is ready, then the new one's (what CDS shows).
            Console.WriteLine(state.KeysAt(DateTimeOffset.UtcNow).DsText());
        }

        return 0;
    }

    private static int CheckZones(ServerOptions options, ILoggerFactory loggerFactory)
    {
        var snapshots = new Query.SnapshotHolder(Query.ServerSnapshot.Empty);
        using var geoIp = options.GeoIpDatabase is null ? null : Geo.GeoIpDatabase.Open(options.GeoIpDatabase, logger: loggerFactory.CreateLogger("GslbDns.Geo"));
        var builder = new Snapshots.SnapshotBuilder(options.ZonesFolder, options.GeoDataFolder, geoIp, snapshots, loggerFactory.CreateLogger("GslbDns.Zones"));
        var errors = builder.Reload();
        foreach (var error in errors)
        {
            Console.Error.WriteLine(error);
        }

        Console.WriteLine($"{snapshots.Current.Zones.Count} zones, {snapshots.Current.Gslb.Services.Count} load-balanced services, {errors.Count} errors");
        return errors.Count == 0 ? 0 : 1;
    }
}
