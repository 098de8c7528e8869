using System.Net.Security;
using System.Security.Authentication;
using GslbDns.Tls;

namespace GslbDns.Hosting;

/// <summary>The API's certificate and key (PEM files).</summary>
public sealed record ApiTlsFiles(string CertificateFile, string KeyFile);

/// <summary>How to reach Consul over https: the CA to trust (else the system store) and a client certificate for mutual TLS.</summary>
public sealed record ConsulTlsFiles(string? CaFile, string? ClientCertificateFile, string? ClientKeyFile);

/// <summary>
/// The TLS options the server, the prober and the API share, declared once beside <see cref="CommonOptions"/>,
/// with the rules between them (a certificate needs its key, a CA needs an https address).
/// </summary>
public static class TlsOptions
{
    /// <summary>TLS 1.2 and 1.3 only, for everything GslbDns serves or connects to.</summary>
    public const SslProtocols Protocols = SslProtocols.Tls12 | SslProtocols.Tls13;

    public static readonly CommandOption<string?> ApiCertificate = Option.Value<string?>(
        "--api-tls-cert", "FILE", "serve the API over HTTPS with this PEM certificate (then its intermediates)\nreloaded on SIGHUP and when the file changes; needs --api-tls-key", OptionValues.ExistingFile);

    public static readonly CommandOption<string?> ApiKey = Option.Value<string?>(
        "--api-tls-key", "FILE", "the API certificate's PEM private key (unencrypted; keep it mode 0600)", OptionValues.ExistingFile);

    public static readonly CommandOption<string?> ConsulCaFile = Option.Value<string?>(
        "--consul-ca-file", "FILE", "trust only the CA(s) in this PEM file for https Consul addresses (else the system store)", OptionValues.ExistingFile);

    public static readonly CommandOption<string?> ConsulClientCertificate = Option.Value<string?>(
        "--consul-client-cert", "FILE", "client certificate (PEM) for Consul's verify_incoming; needs --consul-client-key\nreloaded on SIGHUP and when the file changes", OptionValues.ExistingFile);

    public static readonly CommandOption<string?> ConsulClientKey = Option.Value<string?>(
        "--consul-client-key", "FILE", "the Consul client certificate's PEM private key", OptionValues.ExistingFile);

    /// <summary>The API's TLS options, in help order.</summary>
    public static IEnumerable<CommandOption> Api => [ApiCertificate, ApiKey];

    /// <summary>The Consul TLS options, in help order.</summary>
    public static IEnumerable<CommandOption> Consul => [ConsulCaFile, ConsulClientCertificate, ConsulClientKey];

    /// <summary>The API's files, or null for plain HTTP; adds an error when only one of the pair is given.</summary>
    public static ApiTlsFiles? BindApi(ParsedCommandLine cl)
    {
        ArgumentNullException.ThrowIfNull(cl);
        var (certificate, key) = Pair(cl, ApiCertificate, ApiKey);
        return certificate is null || key is null ? null : new ApiTlsFiles(certificate, key);
    }

    /// <summary>The Consul TLS files, or null when none is given; adds an error for a half pair or TLS files without an https address.</summary>
    public static ConsulTlsFiles? BindConsul(ParsedCommandLine cl, IReadOnlyList<Uri> addresses)
    {
        ArgumentNullException.ThrowIfNull(cl);
        ArgumentNullException.ThrowIfNull(addresses);
        var ca = cl.Get(ConsulCaFile);
        var (certificate, key) = Pair(cl, ConsulClientCertificate, ConsulClientKey);
        if (ca is null && certificate is null)
        {
            return null;
        }

        // Sending a client key or trusting a CA for plain HTTP would be a silent no-op: the operator meant https.
        var option = ca is not null ? ConsulCaFile.Name : ConsulClientCertificate.Name;
        if (addresses.Count == 0)
        {
            cl.AddError($"{option}: needs an https --consul address");
        }
        else if (addresses.FirstOrDefault(a => a.Scheme != Uri.UriSchemeHttps) is { } plain)
        {
            cl.AddError($"{option}: needs https Consul addresses, not {plain}");
        }

        return new ConsulTlsFiles(ca, certificate, key);
    }

    /// <summary>
    /// Loads TLS files at start-up; a problem is a <see cref="StartupException"/> (exit 2) naming the option of the
    /// file at fault (of <paramref name="files"/>) and the file.
    /// </summary>
    public static T Read<T>(Func<T> load, params (CommandOption Option, string File)[] files)
    {
        ArgumentNullException.ThrowIfNull(load);
        ArgumentNullException.ThrowIfNull(files);
        try
        {
            return load();
        }
        catch (TlsFileException ex)
        {
            var option = files.FirstOrDefault(f => f.File == ex.File).Option ?? files[0].Option;
            throw new StartupException($"{option.Name}: {ex.Message}");
        }
    }

    private static (string? Certificate, string? Key) Pair(ParsedCommandLine cl, CommandOption<string?> certificateOption, CommandOption<string?> keyOption)
    {
        var certificate = cl.Get(certificateOption);
        var key = cl.Get(keyOption);
        if (certificate is not null && key is null)
        {
            cl.AddError($"{certificateOption.Name}: needs {keyOption.Name} FILE");
        }
        else if (key is not null && certificate is null)
        {
            cl.AddError($"{keyOption.Name}: needs {certificateOption.Name} FILE");
        }

        return (certificate, key);
    }
}
