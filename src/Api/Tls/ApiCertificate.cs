using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using GslbDns.Hosting;
using GslbDns.Snapshots;
using GslbDns.Tls;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;

namespace GslbDns.Api.Tls;

/// <summary>
/// The API's server certificate, swapped atomically on reload: every TLS handshake reads the current one, so a
/// new certificate takes effect on the next connection without closing the listener or the open connections.
/// A reload that fails (unreadable file, wrong key, expired) keeps the last good certificate and logs why.
/// </summary>
public sealed partial class ApiCertificate : IDisposable
{
    private readonly ApiTlsFiles _files;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Lock _reloadGate = new();
    private Loaded _current;
    private ReloadTrigger? _trigger;

    private ApiCertificate(ApiTlsFiles files, Loaded current, ILogger logger, TimeProvider time)
    {
        _files = files;
        _current = current;
        _logger = logger;
        _time = time;
    }

    /// <summary>The certificate handshakes get now.</summary>
    public X509Certificate2 Certificate => Volatile.Read(ref _current).Certificate;

    public ApiTlsFiles Files => _files;

    /// <summary>Loads the certificate before anything listens; a bad file stops start-up (exit 2) naming it.</summary>
    /// <exception cref="StartupException">The certificate or key file cannot be used.</exception>
    public static ApiCertificate Load(ApiTlsFiles files, ILogger logger, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(logger);
        time ??= TimeProvider.System;
        var loaded = TlsOptions.Read(() => Loaded.From(files, time), (TlsOptions.ApiCertificate, files.CertificateFile), (TlsOptions.ApiKey, files.KeyFile));
        LogReloaded(logger, "start-up", files.CertificateFile, loaded.Certificate.SerialNumber, loaded.Certificate.NotAfter.ToUniversalTime());
        return new ApiCertificate(files, loaded, logger, time);
    }

    /// <summary>Reloads on SIGHUP and, with <paramref name="watchFiles"/>, when the certificate or key file changes (renames included).</summary>
    public void WatchForChanges(ProcessSignals? signals, bool watchFiles)
    {
        var names = new[] { Path.GetFileName(_files.CertificateFile), Path.GetFileName(_files.KeyFile) };
        var folders = new[] { _files.CertificateFile, _files.KeyFile }.Select(f => Path.GetDirectoryName(Path.GetFullPath(f))).Distinct(StringComparer.Ordinal);
        _trigger?.Dispose();
        _trigger = new ReloadTrigger(folders, watchFiles, reason => Reload(reason), signals, name => names.Contains(Path.GetFileName(name), StringComparer.Ordinal));
    }

    /// <summary>Reads both files again; true when the new certificate is now served, false when the old one stays (logged).</summary>
    public bool Reload(string reason)
    {
        lock (_reloadGate)
        {
            var old = Volatile.Read(ref _current);
            Loaded next;
            try
            {
                next = Loaded.From(_files, _time);
            }
            catch (TlsFileException ex)
            {
                LogReloadFailed(_logger, reason, ex.File, ex.Reason, old.Certificate.SerialNumber);
                return false;
            }

            Volatile.Write(ref _current, next);
            LogReloaded(_logger, reason, _files.CertificateFile, next.Certificate.SerialNumber, next.Certificate.NotAfter.ToUniversalTime());

            // Handshakes in progress may still hold the old context; it is left to the GC rather than disposed under them.
            return true;
        }
    }

    /// <summary>Kestrel's per-connection TLS settings: the current certificate (with its intermediates), TLS 1.2 or newer.</summary>
    internal ValueTask<SslServerAuthenticationOptions> OnConnectionAsync(TlsHandshakeCallbackContext context) =>
        ValueTask.FromResult(new SslServerAuthenticationOptions
        {
            ServerCertificateContext = Volatile.Read(ref _current).Context,
            EnabledSslProtocols = TlsOptions.Protocols,
            ClientCertificateRequired = false,
            ApplicationProtocols = [SslApplicationProtocol.Http11],
        });

    public void Dispose() => _trigger?.Dispose();

    [LoggerMessage(EventId = 7301, Level = LogLevel.Information, Message = "API TLS certificate loaded ({Reason}) from {File}: serial {Serial}, valid until {NotAfter:u}")]
    private static partial void LogReloaded(ILogger logger, string reason, string file, string serial, DateTime notAfter);

    [LoggerMessage(EventId = 7302, Level = LogLevel.Error, Message = "API TLS certificate not reloaded ({Reason}): {File}: {Error}; still serving serial {Serial}")]
    private static partial void LogReloadFailed(ILogger logger, string reason, string file, string error, string serial);

    /// <summary>One loaded certificate and the context handshakes use (built once per load, not per connection).</summary>
    private sealed record Loaded(X509Certificate2 Certificate, SslStreamCertificateContext Context)
    {
        public static Loaded From(ApiTlsFiles files, TimeProvider time)
        {
            var loaded = PemCertificates.LoadWithKey(files.CertificateFile, files.KeyFile, time.GetUtcNow());

            // offline: the chain is what the file holds; nothing is fetched from the network.
            return new Loaded(loaded.Certificate, SslStreamCertificateContext.Create(loaded.Certificate, loaded.Intermediates, offline: true));
        }
    }
}
