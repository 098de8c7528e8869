using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace GslbDns.Tls;

/// <summary>A certificate or key file that cannot be used; <see cref="File"/> and <see cref="Reason"/> say which and why (never the key).</summary>
public sealed class TlsFileException(string file, string reason) : Exception($"'{file}': {reason}")
{
    public string File { get; } = file;

    public string Reason { get; } = reason;
}

/// <summary>A certificate with its private key, and the certificates that followed it in its file (intermediates, sent with it).</summary>
public sealed record CertificateWithKey(X509Certificate2 Certificate, X509Certificate2Collection Intermediates);

/// <summary>
/// Reads PEM files the way every GslbDns process does: the API's server certificate, the Consul CA and the
/// Consul client certificate. Each problem names the file it is in, so an operator knows which one to fix.
/// </summary>
public static class PemCertificates
{
    /// <summary>Every certificate in a PEM file (a CA bundle, or a certificate followed by its intermediates); at least one.</summary>
    /// <exception cref="TlsFileException">Unreadable, not PEM, or no certificate in it.</exception>
    public static X509Certificate2Collection LoadCertificates(string file)
    {
        var text = ReadText(file);
        var certificates = new X509Certificate2Collection();
        try
        {
            certificates.ImportFromPem(text);
        }
        catch (CryptographicException ex)
        {
            throw new TlsFileException(file, $"not a PEM certificate: {ex.Message}");
        }

        return certificates.Count > 0 ? certificates : throw new TlsFileException(file, "holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
    }

    /// <summary>
    /// The first certificate of <paramref name="certificateFile"/> with the private key of <paramref name="keyFile"/>
    /// (PKCS#8, RSA or EC PEM, unencrypted), and the rest of the certificate file as intermediates. A certificate
    /// outside its validity period at <paramref name="now"/> is refused: serving it would only fail every handshake.
    /// </summary>
    /// <exception cref="TlsFileException">Names the certificate file or the key file.</exception>
    public static CertificateWithKey LoadWithKey(string certificateFile, string keyFile, DateTimeOffset now)
    {
        var certificates = LoadCertificates(certificateFile);
        var leaf = certificates[0];
        if (now < leaf.NotBefore)
        {
            throw new TlsFileException(certificateFile, $"not valid before {leaf.NotBefore.ToUniversalTime():u}");
        }

        if (now > leaf.NotAfter)
        {
            throw new TlsFileException(certificateFile, $"expired on {leaf.NotAfter.ToUniversalTime():u}");
        }

        var keyText = ReadText(keyFile);
        X509Certificate2 withKey;
        try
        {
            withKey = X509Certificate2.CreateFromPem(leaf.ExportCertificatePem(), keyText);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            // No key in the file, an encrypted key, or the key of another certificate (an ArgumentException).
            throw new TlsFileException(keyFile, $"not the unencrypted PEM private key of '{certificateFile}': {ex.Message}");
        }

        var intermediates = new X509Certificate2Collection();
        for (var i = 1; i < certificates.Count; i++)
        {
            intermediates.Add(certificates[i]);
        }

        leaf.Dispose();
        return new CertificateWithKey(withKey, intermediates);
    }

    private static string ReadText(string file)
    {
        try
        {
            return System.IO.File.ReadAllText(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new TlsFileException(file, $"cannot read: {ex.Message}");
        }
    }
}
