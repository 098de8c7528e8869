using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace GslbDns.Tls;

/// <summary>Server certificate validation against a private CA instead of the system's trust store.</summary>
public static class TrustAnchors
{
    /// <summary>
    /// Accepts a server certificate only if it chains to one of <paramref name="anchors"/> (the only trust anchors:
    /// the system store plays no part) and names the host that was asked for. The platform's own verdict is used
    /// for the name only; the chain is built again with <see cref="X509ChainTrustMode.CustomRootTrust"/>.
    /// Revocation is not checked: a private CA for Consul publishes no CRL, and fetching one would leave the machine.
    /// </summary>
    public static RemoteCertificateValidationCallback Only(X509Certificate2Collection anchors)
    {
        ArgumentNullException.ThrowIfNull(anchors);
        if (anchors.Count == 0)
        {
            throw new ArgumentException("at least one trust anchor is needed", nameof(anchors));
        }

        return (_, certificate, platformChain, errors) =>
        {
            if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNotAvailable | SslPolicyErrors.RemoteCertificateNameMismatch)) != 0)
            {
                return false;
            }

            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(anchors);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            chain.ChainPolicy.DisableCertificateDownloads = true;

            // Intermediates the server sent are candidates for the path, never anchors.
            if (platformChain is not null)
            {
                foreach (var element in platformChain.ChainElements)
                {
                    chain.ChainPolicy.ExtraStore.Add(element.Certificate);
                }
            }

            var leaf = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
            return chain.Build(leaf);
        };
    }
}
