using System.Net.Security;
using GslbDns.Hosting;
using GslbDns.Tls;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GslbDns.Certificates;

/// <summary>
/// The HttpClient a process talks to Consul with: TLS 1.2+, trusting only the CA file when given, presenting the
/// client certificate when given. The client certificate is a <see cref="ReloadableCertificate"/>: each new TLS
/// connection presents the current one, so a renewed certificate is used without a restart (connections already
/// open keep theirs until the pool retires them), and a bad renewal keeps the last good one.
/// </summary>
public sealed class ConsulHttp : IDisposable
{
    private ConsulHttp(HttpClient client, ReloadableCertificate? clientCertificate)
    {
        Client = client;
        ClientCertificate = clientCertificate;
    }

    public HttpClient Client { get; }

    /// <summary>The client certificate presented to Consul's verify_incoming; null when none is configured.</summary>
    public ReloadableCertificate? ClientCertificate { get; }

    /// <summary>
    /// Files are read now, so a bad one stops start-up (exit 2) naming it. Infinite timeout: ConsulClient times each
    /// attempt itself and must not have its blocking queries cut.
    /// </summary>
    /// <exception cref="StartupException">A CA, certificate or key file that cannot be used.</exception>
    public static ConsulHttp Create(ConsulTlsFiles? tls, ILogger? logger = null, TimeSpan? pooledConnectionLifetime = null)
    {
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = pooledConnectionLifetime ?? Timeout.InfiniteTimeSpan,
            SslOptions = new SslClientAuthenticationOptions { EnabledSslProtocols = TlsOptions.Protocols },
        };
        ReloadableCertificate? certificate = null;
        try
        {
            if (tls?.CaFile is { } ca)
            {
                handler.SslOptions.RemoteCertificateValidationCallback = TrustAnchors.Only(TlsOptions.Read(() => PemCertificates.LoadCertificates(ca), (TlsOptions.ConsulCaFile, ca)));
            }

            if (tls is { ClientCertificateFile: { } certificateFile, ClientKeyFile: { } keyFile })
            {
                var loaded = ReloadableCertificate.Load(
                    "Consul client certificate", "presenting", (TlsOptions.ConsulClientCertificate, certificateFile), (TlsOptions.ConsulClientKey, keyFile), logger ?? NullLogger.Instance);
                certificate = loaded;

                // Asked at every handshake: the options themselves are copied when the handler starts, so a certificate
                // put in them could never change.
                handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => loaded.Current.Certificate;
            }
        }
        catch
        {
            handler.Dispose();
            certificate?.Dispose();
            throw;
        }

        return new ConsulHttp(new HttpClient(handler, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan }, certificate);
    }

    /// <summary>Re-reads the client certificate on SIGHUP and, with <paramref name="watchFiles"/>, when its files change.</summary>
    public void WatchForChanges(ProcessSignals? signals, bool watchFiles) => ClientCertificate?.WatchForChanges(signals, watchFiles);

    public void Dispose()
    {
        Client.Dispose();
        ClientCertificate?.Dispose();
    }
}
