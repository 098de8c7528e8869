using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace GslbDns.Tests.TestSupport;

/// <summary>A PEM certificate and key pair on disk, with the certificate's serial as .NET reports it.</summary>
internal sealed record PemPair(string CertificateFile, string KeyFile)
{
    public string Serial => X509CertificateLoader.LoadCertificateFromFile(CertificateFile).SerialNumber;

    /// <summary>Key first, then certificate, each written beside and renamed over (atomic, as deployment tools do).</summary>
    public void ReplaceFiles(string certificate, string key)
    {
        File.Copy(KeyFile, key + ".tmp", overwrite: true);
        File.Move(key + ".tmp", key, overwrite: true);
        File.Copy(CertificateFile, certificate + ".tmp", overwrite: true);
        File.Move(certificate + ".tmp", certificate, overwrite: true);
    }
}

/// <summary>
/// A private CA made by the test with the real <c>openssl</c> command line, and certificates it issues: servers for
/// 127.0.0.1 and localhost (serverAuth and clientAuth, as Consul's own server certificates need), clients (clientAuth).
/// ECDSA P-256, valid two days, a random serial each, so a rotation is seen by its serial.
/// </summary>
internal sealed class TestCertificates
{
    private static readonly TimeSpan OpensslTimeout = TimeSpan.FromSeconds(30);
    private readonly string _folder;
    private int _issued;

    private TestCertificates(string folder)
    {
        _folder = folder;
    }

    public string CaFile => Path.Combine(_folder, "ca.pem");

    private string CaKeyFile => Path.Combine(_folder, "ca.key");

    /// <summary>The server certificate issued first.</summary>
    public PemPair Server { get; private set; } = null!;

    /// <summary>A client certificate for mutual TLS.</summary>
    public PemPair Client { get; private set; } = null!;

    public X509Certificate2 Ca => X509CertificateLoader.LoadCertificateFromFile(CaFile);

    /// <summary>A new CA in <paramref name="folder"/> with one server and one client certificate.</summary>
    public static async Task<TestCertificates> CreateAsync(string folder, string caName = "GslbDns test CA")
    {
        Directory.CreateDirectory(folder);
        var certificates = new TestCertificates(folder);
        await OpensslAsync(
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", certificates.CaKeyFile, "-out", certificates.CaFile, "-days", "2", "-subj", $"/CN={caName}", "-set_serial", RandomSerial(),
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
        certificates.Server = await certificates.IssueServerAsync();
        certificates.Client = await certificates.IssueAsync("client", "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n");
        return certificates;
    }

    /// <summary>Another server certificate for 127.0.0.1 and localhost, with a new key and serial.</summary>
    public Task<PemPair> IssueServerAsync() =>
        IssueAsync("server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n");

    /// <summary>An HttpClient that trusts this CA only (the platform's own chain builder, not the code under test), TLS 1.2+.</summary>
    public HttpClient TrustingClient(Action<X509Certificate2>? seen = null, PemPair? clientCertificate = null)
    {
        var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        policy.CustomTrustStore.Add(Ca);
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                CertificateChainPolicy = policy,
                EnabledSslProtocols = System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13,
                RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                {
                    if (certificate is X509Certificate2 server)
                    {
                        seen?.Invoke(server);
                    }

                    return errors == SslPolicyErrors.None;
                },
            },
        };
        if (clientCertificate is not null)
        {
            handler.SslOptions.ClientCertificates = [X509Certificate2.CreateFromPemFile(clientCertificate.CertificateFile, clientCertificate.KeyFile)];
        }

        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
    }

    private async Task<PemPair> IssueAsync(string kind, string extensions)
    {
        var name = $"{kind}-{Interlocked.Increment(ref _issued)}";
        var key = Path.Combine(_folder, name + ".key");
        var request = Path.Combine(_folder, name + ".csr");
        var certificate = Path.Combine(_folder, name + ".pem");
        var extensionFile = Path.Combine(_folder, name + ".ext");
        await File.WriteAllTextAsync(extensionFile, extensions);
        await OpensslAsync("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", request, "-subj", $"/CN={(kind == "server" ? "localhost" : name)}");
        await OpensslAsync("x509", "-req", "-in", request, "-CA", CaFile, "-CAkey", CaKeyFile, "-set_serial", RandomSerial(), "-out", certificate, "-days", "2", "-extfile", extensionFile);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        return new PemPair(certificate, key);
    }

    private static string RandomSerial() => "0x" + Convert.ToHexString(RandomNumberGenerator.GetBytes(8)).TrimStart('0').PadLeft(1, '1');

    private static async Task OpensslAsync(params string[] arguments)
    {
        var result = await ChildProcess.RunAsync("openssl", arguments, OpensslTimeout);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"openssl {string.Join(' ', arguments)} failed: {result}");
        }
    }
}
