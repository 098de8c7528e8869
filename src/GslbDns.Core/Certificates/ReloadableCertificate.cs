using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using GslbDns.Hosting;
using GslbDns.Snapshots;
using GslbDns.Tls;
using Microsoft.Extensions.Logging;

namespace GslbDns.Certificates;

/// <summary>
/// A certificate and its key read from PEM files, swapped atomically when they are read again (on SIGHUP and, when
/// asked, when either file changes): whatever reads <see cref="Current"/> for a new TLS handshake gets the new one,
/// connections already open keep theirs. A reload that fails (unreadable file, wrong key, expired) keeps the last good
/// certificate and logs the file and the reason. The API's server certificate and the Consul client certificate of
/// every process are each one of these.
/// </summary>
public sealed partial class ReloadableCertificate : IDisposable
{
    private readonly string _what;
    private readonly string _use;
    private readonly string _certificateFile;
    private readonly string _keyFile;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Lock _reloadGate = new();
    private LoadedCertificate _current;
    private ReloadTrigger? _trigger;

    private ReloadableCertificate(string what, string use, string certificateFile, string keyFile, LoadedCertificate current, ILogger logger, TimeProvider time)
    {
        _what = what;
        _use = use;
        _certificateFile = certificateFile;
        _keyFile = keyFile;
        _current = current;
        _logger = logger;
        _time = time;
    }

    /// <summary>The certificate (with its intermediates and the context a handshake uses) to use now.</summary>
    public LoadedCertificate Current => Volatile.Read(ref _current);

    /// <summary>
    /// Loads the pair before anything uses it; a bad file stops start-up (exit 2) naming the option and the file.
    /// </summary>
    /// <param name="what">What it is, for the log: "API TLS certificate".</param>
    /// <param name="use">What the process does with it, for the log: "serving", "presenting".</param>
    /// <exception cref="StartupException">The certificate or key file cannot be used.</exception>
    public static ReloadableCertificate Load(string what, string use, (CommandOption Option, string File) certificate, (CommandOption Option, string File) key, ILogger logger, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(logger);
        time ??= TimeProvider.System;
        var loaded = TlsOptions.Read(() => LoadedCertificate.From(certificate.File, key.File, time), certificate, key);
        LogLoaded(logger, what, "start-up", certificate.File, loaded.Certificate.SerialNumber, loaded.Certificate.NotAfter.ToUniversalTime());
        return new ReloadableCertificate(what, use, certificate.File, key.File, loaded, logger, time);
    }

    /// <summary>Reloads on SIGHUP and, with <paramref name="watchFiles"/>, when the certificate or key file changes (renames included).</summary>
    public void WatchForChanges(ProcessSignals? signals, bool watchFiles)
    {
        var names = new[] { Path.GetFileName(_certificateFile), Path.GetFileName(_keyFile) };
        var folders = new[] { _certificateFile, _keyFile }.Select(f => Path.GetDirectoryName(Path.GetFullPath(f))).Distinct(StringComparer.Ordinal);
        _trigger?.Dispose();
        _trigger = new ReloadTrigger(folders, watchFiles, reason => Reload(reason), signals, name => names.Contains(Path.GetFileName(name), StringComparer.Ordinal));
    }

    /// <summary>Reads both files again; true when the new certificate is now in use, false when the old one stays (logged).</summary>
    public bool Reload(string reason)
    {
        lock (_reloadGate)
        {
            var old = Volatile.Read(ref _current);
            LoadedCertificate next;
            try
            {
                next = LoadedCertificate.From(_certificateFile, _keyFile, _time);
            }
            catch (TlsFileException ex)
            {
                LogReloadFailed(_logger, _what, reason, ex.File, ex.Reason, _use, old.Certificate.SerialNumber);
                return false;
            }

            // Handshakes in progress may still hold the old context; it is left to the GC rather than disposed under them.
            Volatile.Write(ref _current, next);
            LogLoaded(_logger, _what, reason, _certificateFile, next.Certificate.SerialNumber, next.Certificate.NotAfter.ToUniversalTime());
            return true;
        }
    }

    public void Dispose() => _trigger?.Dispose();

    [LoggerMessage(EventId = 7301, Level = LogLevel.Information, Message = "{What} loaded ({Reason}) from {File}: serial {Serial}, valid until {NotAfter:u}")]
    private static partial void LogLoaded(ILogger logger, string what, string reason, string file, string serial, DateTime notAfter);

    [LoggerMessage(EventId = 7302, Level = LogLevel.Error, Message = "{What} not reloaded ({Reason}): {File}: {Error}; still {Use} serial {Serial}")]
    private static partial void LogReloadFailed(ILogger logger, string what, string reason, string file, string error, string use, string serial);
}

/// <summary>One loaded certificate, its intermediates and the context handshakes use (built once per load, not per connection).</summary>
public sealed record LoadedCertificate(X509Certificate2 Certificate, X509Certificate2Collection Intermediates, SslStreamCertificateContext Context)
{
    /// <exception cref="TlsFileException">Names the certificate file or the key file.</exception>
    public static LoadedCertificate From(string certificateFile, string keyFile, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        var loaded = PemCertificates.LoadWithKey(certificateFile, keyFile, time.GetUtcNow());

        // offline: the chain is what the file holds; nothing is fetched from the network.
        return new LoadedCertificate(loaded.Certificate, loaded.Intermediates, SslStreamCertificateContext.Create(loaded.Certificate, loaded.Intermediates, offline: true));
    }
}
