using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using GslbDns.Certificates;
using GslbDns.Hosting;
using GslbDns.Tls;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;

namespace GslbDns.Api.Tls;

/// <summary>
/// The API's server certificate (<see cref="ReloadableCertificate"/>): every TLS handshake reads the current one, so a
/// new certificate takes effect on the next connection without closing the listener or the open connections.
/// A reload that fails (unreadable file, wrong key, expired) keeps the last good certificate and logs why.
/// </summary>
public sealed class ApiCertificate : IDisposable
{
    private readonly ReloadableCertificate _certificate;

    private ApiCertificate(ApiTlsFiles files, ReloadableCertificate certificate)
    {
        Files = files;
        _certificate = certificate;
    }

    /// <summary>The certificate handshakes get now.</summary>
    public X509Certificate2 Certificate => _certificate.Current.Certificate;

    public ApiTlsFiles Files { get; }

    /// <summary>Loads the certificate before anything listens; a bad file stops start-up (exit 2) naming it.</summary>
    /// <exception cref="StartupException">The certificate or key file cannot be used.</exception>
    public static ApiCertificate Load(ApiTlsFiles files, ILogger logger, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(files);
        var certificate = ReloadableCertificate.Load(
            "API TLS certificate", "serving", (TlsOptions.ApiCertificate, files.CertificateFile), (TlsOptions.ApiKey, files.KeyFile), logger, time);
        return new ApiCertificate(files, certificate);
    }

    /// <summary>Reloads on SIGHUP and, with <paramref name="watchFiles"/>, when the certificate or key file changes (renames included).</summary>
    public void WatchForChanges(ProcessSignals? signals, bool watchFiles) => _certificate.WatchForChanges(signals, watchFiles);

    /// <summary>Reads both files again; true when the new certificate is now served, false when the old one stays (logged).</summary>
    public bool Reload(string reason) => _certificate.Reload(reason);

    /// <summary>Kestrel's per-connection TLS settings: the current certificate (with its intermediates), TLS 1.2 or newer.</summary>
    internal ValueTask<SslServerAuthenticationOptions> OnConnectionAsync(TlsHandshakeCallbackContext context) =>
        ValueTask.FromResult(new SslServerAuthenticationOptions
        {
            ServerCertificateContext = _certificate.Current.Context,
            EnabledSslProtocols = TlsOptions.Protocols,
            ClientCertificateRequired = false,
            ApplicationProtocols = [SslApplicationProtocol.Http11],
        });

    public void Dispose() => _certificate.Dispose();
}
