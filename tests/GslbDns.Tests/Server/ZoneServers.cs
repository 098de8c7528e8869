using System.Net;
using System.Net.Sockets;
using GslbDns.Server.Hosting;
using GslbDns.Server.Listeners;
using GslbDns.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace GslbDns.Tests.Server;

/// <summary>Starts <see cref="DnsServer"/> in this process, metrics off, on ports the kernel picks unless told otherwise.</summary>
internal static class InProcessServer
{
    public static ServerOptions Options(string zonesFolder, params IPEndPoint[] endPoints) => new()
    {
        ZonesFolder = zonesFolder,
        DnsEndPoints = endPoints.Length > 0 ? endPoints : [new IPEndPoint(IPAddress.Loopback, 0)],
        UdpThreads = 2,
        MetricsEndPoint = null,
        WatchZones = false,
        Tcp = new TcpLimits(MaxConnections: 64, IdleTimeout: TimeSpan.FromSeconds(10), ReadTimeout: TimeSpan.FromSeconds(5)),
    };

    /// <summary>A server signing <paramref name="zone"/> (keys in STATE/dnssec), without prober or API.</summary>
    public static ServerOptions Signed(string zonesFolder, string zone, string stateFolder, params IPEndPoint[] endPoints) => Options(zonesFolder, endPoints) with
    {
        DnssecZones = [GslbDns.Dns.DnsName.Parse(zone.TrimEnd('.') + ".")],
        DnssecKeysFolder = Path.Combine(stateFolder, "dnssec"),
        EmbeddedProber = false,
        ApiEndPoint = null,
        StateFolder = stateFolder,
    };

    /// <summary>
    /// Embedded mode as shipped: its own prober probing the config's checks, and its REST API on a kernel-chosen loopback port
    /// (<see cref="DnsServer.ApiBaseAddress"/>) with the test tokens (<see cref="Api.InProcessApi"/>), state in the folder.
    /// </summary>
    public static Task<DnsServer> StartEmbeddedAsync(TempFolder folder, string zonesFolder) => StartAsync(Options(zonesFolder) with
    {
        EmbeddedProber = true,
        ApiEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
        ApiTokensFile = Api.ApiProcess.WriteTokensFile(folder.File("tokens")),
        StateFolder = folder.Folder("state"),
    });

    /// <summary>
    /// Starts a server; with port 0 the TCP listener takes the port UDP got, which another process may hold for TCP,
    /// so a bind failure is retried on a new port. Fails when a zone did not load, unless <paramref name="requireCleanLoad"/> is false.
    /// </summary>
    public static async Task<DnsServer> StartAsync(ServerOptions options, bool requireCleanLoad = true)
    {
        for (var attempt = 1; ; attempt++)
        {
            var server = new DnsServer(options, NullLoggerFactory.Instance);
            try
            {
                server.Start();
            }
            catch (SocketException) when (attempt < 5 && options.DnsEndPoints.All(e => e.Port == 0))
            {
                await server.DisposeAsync();
                continue;
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }

            if (requireCleanLoad && server.Builder.LastErrors.Count > 0)
            {
                var errors = string.Join("\n", server.Builder.LastErrors);
                await server.DisposeAsync();
                throw new InvalidOperationException($"test zones did not load:\n{errors}");
            }

            return server;
        }
    }
}

/// <summary>
/// The servers the conformance tests talk to: the parent (example.test, other.test and the reverse zone) on
/// 127.0.0.1:0 and [::1]:0, and the child (sub.example.test) on port 53 of a random 127/8 address, which the
/// parent's glue names, so a resolver can follow the referral (resolvers send to glue on port 53 only).
/// Binding port 53 needs root or CAP_NET_BIND_SERVICE, which this environment has.
/// </summary>
internal sealed class ZoneServers : IAsyncDisposable
{
    private readonly TempFolder _temp;

    private ZoneServers(TempFolder temp, string parentZones, string childZones, IPAddress glue, DnsServer parent, DnsServer child)
    {
        _temp = temp;
        ParentZones = parentZones;
        ChildZones = childZones;
        Glue = glue;
        Parent = parent;
        Child = child;
    }

    public string ParentZones { get; }

    public string ChildZones { get; }

    /// <summary>The child server's address, also the glue of ns1.sub.example.test.</summary>
    public IPAddress Glue { get; }

    public DnsServer Parent { get; }

    public DnsServer Child { get; }

    public IPEndPoint V4 => Parent.UdpListeners[0].LocalEndPoint;

    public IPEndPoint V6 => Parent.UdpListeners[1].LocalEndPoint;

    public IPEndPoint ChildEndPoint => Child.UdpListeners[0].LocalEndPoint;

    public static async Task<ZoneServers> StartAsync(string name)
    {
        var temp = new TempFolder(name);
        DnsServer? child = null;
        try
        {
            var childZones = temp.Folder("child");
            var parentZones = temp.Folder("parent");
            IPAddress? glue = null;
            var tried = new List<string>();
            for (var attempt = 0; attempt < 20 && child is null; attempt++)
            {
                var candidate = new IPAddress([127, (byte)Random.Shared.Next(100, 250), (byte)Random.Shared.Next(1, 255), (byte)Random.Shared.Next(1, 255)]);
                if (!PortFinder.IsFree(candidate, 53))
                {
                    tried.Add($"{candidate}: busy");
                    continue;
                }

                File.WriteAllText(Path.Combine(childZones, "sub.example.test.zone"), TestZones.ChildZone(candidate));
                try
                {
                    child = await InProcessServer.StartAsync(InProcessServer.Options(childZones, new IPEndPoint(candidate, 53)));
                    glue = candidate;
                }
                catch (SocketException ex)
                {
                    tried.Add($"{candidate}: {ex.SocketErrorCode}");
                }
            }

            if (child is null || glue is null)
            {
                throw new InvalidOperationException($"cannot bind the child server to port 53 on any 127/8 address (needs root or CAP_NET_BIND_SERVICE): {string.Join("; ", tried)}");
            }

            TestZones.WriteParentZones(parentZones, glue);
            var parent = await InProcessServer.StartAsync(InProcessServer.Options(parentZones, new IPEndPoint(IPAddress.Loopback, 0), new IPEndPoint(IPAddress.IPv6Loopback, 0)));
            return new ZoneServers(temp, parentZones, childZones, glue, parent, child);
        }
        catch
        {
            if (child is not null)
            {
                await child.DisposeAsync();
            }

            temp.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Parent.DisposeAsync();
        await Child.DisposeAsync();
        _temp.Dispose();
    }
}

/// <summary>The parent and child servers shared by every test class in the "authoritative" collection.</summary>
public sealed class AuthServerFixture : IAsyncLifetime
{
    private ZoneServers? _servers;

    internal ZoneServers Servers => _servers ?? throw new InvalidOperationException("fixture not started");

    public async Task InitializeAsync() => _servers = await ZoneServers.StartAsync("auth");

    public async Task DisposeAsync()
    {
        if (_servers is not null)
        {
            await _servers.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class AuthServerCollection : ICollectionFixture<AuthServerFixture>
{
    public const string Name = "authoritative servers";
}
