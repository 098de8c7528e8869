using GslbDns.Server.Hosting;
using Microsoft.Extensions.Logging;
using Serilog;
using Serilog.Extensions.Logging;

namespace GslbDns.Server;

internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        var parsed = CommandLine.Parse(args, out var errors);
        if (errors.Count > 0)
        {
            var help = errors.Remove("help");
            foreach (var error in errors)
            {
                Console.Error.WriteLine($"gslbdns: {error}");
            }

            Console.Error.WriteLine(CommandLine.Usage);
            return help && errors.Count == 0 ? 0 : 2;
        }

        Log.Logger = new LoggerConfiguration()
            .MinimumLevel.Information()
            .WriteTo.Console(outputTemplate: "{Timestamp:HH:mm:ss.fff} {Level:u3} {SourceContext}: {Message:lj}{NewLine}{Exception}", standardErrorFromLevel: Serilog.Events.LogEventLevel.Verbose)
            .CreateLogger();
        using var loggerFactory = new SerilogLoggerFactory(Log.Logger, dispose: true);

        if (parsed.Command == "check")
        {
            return CheckZones(parsed.Options, loggerFactory);
        }

        if (parsed.Command == "explain")
        {
            return await ExplainCommand.RunAsync(parsed.Options, parsed.Explain!, loggerFactory);
        }

        await using var server = new DnsServer(parsed.Options, loggerFactory);
        try
        {
            server.Start();
        }
        catch (System.Net.Sockets.SocketException ex)
        {
            Console.Error.WriteLine($"gslbdns: cannot listen: {ex.Message}");
            return 1;
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

        var stop = new TaskCompletionSource();
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            stop.TrySetResult();
        });
        using var sigint = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, c =>
        {
            c.Cancel = true;
            stop.TrySetResult();
        });
        await stop.Task;
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
