using System.Net;
using System.Net.Sockets;
using GslbDns.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using DnsServer = GslbDns.Server.Hosting.DnsServer;
using ServerOptions = GslbDns.Server.Hosting.ServerOptions;

namespace GslbDns.Tests.Core.Probing;

/// <summary>A TCP port that accepts (and drops) connections, and can be closed and reopened on the same port.</summary>
internal sealed class TcpBackend : IDisposable
{
    private readonly Lock _lock = new();
    private TcpListener? _listener;

    private TcpBackend()
    {
    }

    public int Port { get; private set; }

    public static TcpBackend Start()
    {
        var backend = new TcpBackend();
        backend.Open(0);
        return backend;
    }

    public void Close()
    {
        lock (_lock)
        {
            _listener?.Stop();
            _listener = null;
        }
    }

    public void Reopen()
    {
        lock (_lock)
        {
            if (_listener is null)
            {
                Open(Port);
            }
        }
    }

    public void Dispose() => Close();

    private void Open(int port)
    {
        var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Start();
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        _listener = listener;
        _ = DrainAsync(listener);
    }

    private static async Task DrainAsync(TcpListener listener)
    {
        while (true)
        {
            try
            {
                using var client = await listener.AcceptTcpClientAsync();
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
        }
    }
}

/// <summary>A UDP port that receives and never answers: a DNS server that hangs.</summary>
internal sealed class SilentUdp : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);

    public SilentUdp()
    {
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        Port = ((IPEndPoint)_socket.LocalEndPoint!).Port;
    }

    public int Port { get; }

    public void Dispose() => _socket.Dispose();
}

/// <summary>Our own DNS server, in-process on a loopback port, serving zone probe.test with <c>alive.probe.test A 192.0.2.1</c>.</summary>
public sealed class DnsBackendFixture : IAsyncLifetime
{
    public const string AliveName = "alive.probe.test.";
    public const string MissingName = "missing.probe.test.";

    private readonly TempFolder _folder = new("prober-dns");
    private DnsServer? _server;

    public int Port => _server!.UdpListeners[0].LocalEndPoint.Port;

    public Task InitializeAsync()
    {
        var zones = _folder.Folder("zones");
        File.WriteAllText(Path.Combine(zones, "probe.test.zone"), """
            $TTL 300
            @ IN SOA ns1 hostmaster 1 3600 600 86400 60
              IN NS ns1
            ns1 IN A 127.0.0.1
            alive IN A 192.0.2.1
            """);
        _server = new DnsServer(
            new ServerOptions
            {
                ZonesFolder = zones,
                DnsEndPoints = [new IPEndPoint(IPAddress.Loopback, 0)],
                UdpThreads = 1,
                MetricsEndPoint = null,
                WatchZones = false,
            },
            NullLoggerFactory.Instance);
        _server.Start();
        Assert.Empty(_server.Builder.LastErrors);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _folder.Dispose();
    }
}
