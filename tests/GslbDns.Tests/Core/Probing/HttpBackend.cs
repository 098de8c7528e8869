using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace GslbDns.Tests.Core.Probing;

/// <summary>What a <see cref="HttpBackend"/> does with a request.</summary>
internal enum BackendMode
{
    /// <summary>200 with <see cref="HttpBackend.Body"/>.</summary>
    Healthy,

    /// <summary>500.</summary>
    Unhealthy,

    /// <summary>Accepts the connection and never answers (no TLS handshake either): a hung server.</summary>
    Silent,
}

/// <summary>
/// A real HTTP/1.1 (optionally TLS) server on a loopback port, on a raw <see cref="TcpListener"/> so a test
/// can switch it between healthy, unhealthy, silent and refusing (listener closed, same port) at any time.
/// It records the Host header and TLS SNI it was sent.
/// </summary>
internal sealed class HttpBackend : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly X509Certificate2? _certificate;
    private readonly ConcurrentDictionary<TcpClient, byte> _open = new();
    private readonly Lock _listenerLock = new();
    private TcpListener? _listener;
    private IPAddress _address = IPAddress.Loopback;
    private int _requests;
    private volatile BackendMode _mode = BackendMode.Healthy;
    private int _loseNext;
    private volatile string _body = "status: ok";

    private HttpBackend(X509Certificate2? certificate)
    {
        _certificate = certificate;
    }

    public int Port { get; private set; }

    public BackendMode Mode
    {
        get => _mode;
        set => _mode = value;
    }

    public string Body
    {
        get => _body;
        set => _body = value;
    }

    /// <summary>Added before each answer, to give probes a known minimum RTT.</summary>
    public TimeSpan Latency { get; set; }

    /// <summary>Header lines added to every response, each ending in CRLF (e.g. <c>"X-Load: 0.9\r\n"</c>).</summary>
    public string ExtraHeaders { get; set; } = "";

    public int Requests => Volatile.Read(ref _requests);

    public ConcurrentQueue<string> HostHeaders { get; } = new();

    public ConcurrentQueue<string> SniNames { get; } = new();

    /// <summary>A backend on a free loopback port; with <paramref name="tlsName"/>, HTTPS with a self-signed certificate for that name.</summary>
    public static HttpBackend Start(string? tlsName = null)
    {
        var backend = new HttpBackend(tlsName is null ? null : SelfSigned(tlsName));
        backend.Listen(0);
        return backend;
    }

    /// <summary>
    /// A backend on a given loopback address and port (0: any free port), for configs where several endpoints
    /// (127.0.0.2, 127.0.0.3, ...) share their service's check port, each with its own backend.
    /// </summary>
    public static HttpBackend Start(IPAddress address, int port, string? tlsName = null)
    {
        if (!IPAddress.IsLoopback(address))
        {
            throw new ArgumentException($"test backends listen on loopback only, not {address}", nameof(address));
        }

        var backend = new HttpBackend(tlsName is null ? null : SelfSigned(tlsName)) { _address = address };
        backend.Listen(port);
        return backend;
    }

    public IPAddress Address => _address;

    /// <summary>Closes the listener and every open connection: new connections are refused.</summary>
    public void Refuse()
    {
        lock (_listenerLock)
        {
            _listener?.Stop();
            _listener = null;
        }

        foreach (var client in _open.Keys)
        {
            client.Dispose();
        }
    }

    /// <summary>Listens again on the same port.</summary>
    public void Accept()
    {
        lock (_listenerLock)
        {
            if (_listener is null)
            {
                Listen(Port);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        Refuse();
        _certificate?.Dispose();
    }

    private static X509Certificate2 SelfSigned(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + name, key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(name);
        request.CertificateExtensions.Add(san.Build());
        using var ephemeral = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));

        // A PKCS#12 round trip gives a certificate whose private key SslStream can use on every platform.
        return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null);
    }

    private void Listen(int port)
    {
        var listener = new TcpListener(_address, port);
        listener.Start();
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        _listener = listener;
        _ = AcceptLoopAsync(listener);
    }

    private async Task AcceptLoopAsync(TcpListener listener)
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
            {
                return;
            }

            _open[client] = 0;
            _ = ServeAsync(client);
        }
    }

    /// <summary>
    /// The next <paramref name="connections"/> connections are accepted and never answered (a lost probe), whatever the
    /// mode; the ones after them are served as usual.
    /// </summary>
    public void LoseNext(int connections) => Interlocked.Exchange(ref _loseNext, connections);

    /// <summary>Connections still to be lost (see <see cref="LoseNext"/>).</summary>
    public int ToLose => Volatile.Read(ref _loseNext);

    private bool TakeLost()
    {
        int left;
        while ((left = Volatile.Read(ref _loseNext)) > 0)
        {
            if (Interlocked.CompareExchange(ref _loseNext, left - 1, left) == left)
            {
                return true;
            }
        }

        return false;
    }

    private async Task ServeAsync(TcpClient client)
    {
        try
        {
            if (TakeLost() || Mode == BackendMode.Silent)
            {
                await Task.Delay(Timeout.Infinite, _stop.Token);
                return;
            }

            Stream stream = client.GetStream();
            if (_certificate is not null)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                await ssl.AuthenticateAsServerAsync(
                    new SslServerAuthenticationOptions
                    {
                        ServerCertificateSelectionCallback = (_, hostName) =>
                        {
                            SniNames.Enqueue(hostName ?? "");
                            return _certificate;
                        },
                    },
                    _stop.Token);
                stream = ssl;
            }

            await using (stream)
            {
                var head = await ReadHeadAsync(stream);
                if (head.Length == 0)
                {
                    // The client hung up without a request (a TLS client that rejected our certificate does).
                    return;
                }

                var host = head.Split("\r\n").FirstOrDefault(l => l.StartsWith("Host:", StringComparison.OrdinalIgnoreCase));
                HostHeaders.Enqueue(host is null ? "" : host[5..].Trim());
                Interlocked.Increment(ref _requests);
                if (Latency > TimeSpan.Zero)
                {
                    await Task.Delay(Latency, _stop.Token);
                }

                if (Mode == BackendMode.Silent)
                {
                    await Task.Delay(Timeout.Infinite, _stop.Token);
                }

                var (status, body) = Mode == BackendMode.Healthy ? ("200 OK", Body) : ("500 Internal Server Error", "broken");
                var bytes = Encoding.UTF8.GetBytes(body);
                var response = Encoding.ASCII.GetBytes($"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {bytes.Length}\r\n{ExtraHeaders}Connection: close\r\n\r\n");
                await stream.WriteAsync(response, _stop.Token);
                await stream.WriteAsync(bytes, _stop.Token);
                await stream.FlushAsync(_stop.Token);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException or System.Security.Authentication.AuthenticationException)
        {
            // The prober hung up (timeout), the test refused, or TLS failed: all part of the tests.
        }
        finally
        {
            _open.TryRemove(client, out _);
            client.Dispose();
        }
    }

    private async Task<string> ReadHeadAsync(Stream stream)
    {
        var buffer = new byte[8192];
        var filled = 0;
        while (filled < buffer.Length)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(filled), _stop.Token);
            if (read == 0)
            {
                break;
            }

            filled += read;
            if (buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8) >= 0)
            {
                break;
            }
        }

        return Encoding.ASCII.GetString(buffer, 0, filled);
    }
}
