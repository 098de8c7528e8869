using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using GslbDns.Tests.Fleet;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Api;

/// <summary>
/// The API over HTTPS on the real processes (gslbdns-api, and the DNS server's embedded API), with a CA and
/// certificates made by the test with openssl; rotation seen by the serial of the certificate a new handshake gets.
/// </summary>
public sealed class ApiTlsTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Api_process_serves_https_to_clients_trusting_the_ca_refuses_tls_1_1_and_reloads_a_changed_file()
    {
        using var folder = new TempFolder("api-tls");
        var pki = await TestCertificates.CreateAsync(folder.Folder("pki"));
        var (certificate, key) = Served(folder, pki.Server);
        var zones = folder.Folder("zones");
        ApiTestZones.Write(zones);
        var tokens = ApiProcess.WriteTokensFile(folder.File("tokens"));
        using var api = ApiProcess.Start(["--embedded", "--state", folder.Folder("state"), "--zones", zones, "--tokens-file", tokens, "--geo-data", Path.Combine(zones, "none"), "--api-tls-cert", certificate, "--api-tls-key", key]);
        var url = new Uri(await ApiProcess.WaitForUrlAsync(api));
        Assert.Equal("https", url.Scheme);

        using (var trusting = pki.TrustingClient())
        using (var status = await ApiCalls.SendAsync(trusting, HttpMethod.Get, new Uri(url, "/v1/status").ToString(), InProcessApi.ReadToken))
        {
            Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        }

        // A client that trusts only the system store does not get past the handshake.
        using (var untrusting = new HttpClient { Timeout = TimeSpan.FromSeconds(10) })
        {
            var refused = await Assert.ThrowsAsync<HttpRequestException>(() => untrusting.GetAsync(new Uri(url, "/healthz")));
            Assert.IsType<AuthenticationException>(refused.InnerException);
        }

        // openssl offers exactly one version: 1.2 is served, 1.1 is not (SECLEVEL=0 so that openssl itself would offer it).
        Assert.True(await HandshakeAsync(url, pki.CaFile, "-tls1_2"), "TLS 1.2 handshake failed");
        Assert.False(await HandshakeAsync(url, pki.CaFile, "-tls1_1"), "TLS 1.1 was accepted");

        // The file watcher picks up a new certificate (renamed into place, as deployment tools do).
        var next = await pki.IssueServerAsync();
        Replace(next, certificate, key);
        await Deadline.UntilAsync("the new certificate served", Patience, async () => (await ServedSerialAsync(pki, url) == next.Serial, api.StandardError));
    }

    [Fact]
    public async Task Embedded_api_swaps_its_certificate_on_sighup_without_dropping_connections_and_keeps_the_last_good_one()
    {
        using var folder = new TempFolder("api-tls-hup");
        var pki = await TestCertificates.CreateAsync(folder.Folder("pki"));
        var (certificate, key) = Served(folder, pki.Server);
        var zones = folder.Folder("zones");
        ApiTestZones.Write(zones);
        var tokens = ApiProcess.WriteTokensFile(folder.File("tokens"));
        var port = PortFinder.Take();

        // --no-watch (set by StartServerAsync): only SIGHUP reloads, so what changes the certificate here is the signal.
        var (server, _, _) = await FleetProcesses.StartServerAsync(
            RepoLayout.DotnetHost, RepoLayout.ServerDll, zones, [], null, metrics: false,
            extraArguments: ["--no-prober", "--api", $"127.0.0.1:{port}", "--state", folder.Folder("state"), "--api-tokens-file", tokens, "--api-tls-cert", certificate, "--api-tls-key", key],
            readyZone: ApiTestZones.Zone);
        using var _ = server;
        var url = new Uri($"https://127.0.0.1:{port}/");
        await Deadline.UntilAsync("the embedded API answering over https", Patience, async () => (await ServedSerialAsync(pki, url) == pki.Server.Serial, server.StandardError));

        // One client whose pooled connection is open before the rotation and must keep working after it.
        var handshakes = new List<string>();
        using var kept = pki.TrustingClient(c => handshakes.Add(c.SerialNumber));
        using (var first = await ApiCalls.SendAsync(kept, HttpMethod.Get, new Uri(url, "/v1/status").ToString(), InProcessApi.OperatorToken))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        var next = await pki.IssueServerAsync();
        Replace(next, certificate, key);
        server.Signal(ChildProcess.SigHup);
        await Deadline.UntilAsync("the new certificate served after SIGHUP", Patience, async () => (await ServedSerialAsync(pki, url) == next.Serial, server.StandardError));

        using (var again = await ApiCalls.SendAsync(kept, HttpMethod.Get, new Uri(url, "/v1/status").ToString(), InProcessApi.OperatorToken))
        {
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        }

        Assert.Equal(new[] { pki.Server.Serial }, handshakes); // the same connection: no second handshake, nothing was dropped

        // A broken certificate on the next SIGHUP: logged with file and reason, the last good one still served.
        File.WriteAllText(certificate, "-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n");
        server.Signal(ChildProcess.SigHup);
        await Deadline.UntilAsync("the failed reload logged", Patience, () => Task.FromResult((server.StandardError.Contains($"API TLS certificate not reloaded (SIGHUP): {certificate}: ", StringComparison.Ordinal), server.StandardError)));
        Assert.Contains($"still serving serial {next.Serial}", server.StandardError, StringComparison.Ordinal);
        Assert.Equal(next.Serial, await ServedSerialAsync(pki, url));
        Assert.False(server.HasExited);
    }

    [Fact]
    public async Task A_bad_certificate_or_key_at_start_up_exits_2_naming_the_file()
    {
        using var folder = new TempFolder("api-tls-bad");
        var pki = await TestCertificates.CreateAsync(folder.Folder("pki"));
        var garbage = folder.File("garbage.pem");
        await File.WriteAllTextAsync(garbage, "no certificate here\n");
        string[] embedded = ["--embedded", "--state", folder.Folder("state"), "--zones", folder.Folder("zones"), "--listen", "127.0.0.1:0"];

        var notPem = await RunApiAsync([.. embedded, "--api-tls-cert", garbage, "--api-tls-key", pki.Server.KeyFile]);
        Assert.Equal(2, notPem.ExitCode);
        Assert.Contains($"--api-tls-cert: '{garbage}': holds no PEM certificate", notPem.StandardError, StringComparison.Ordinal);

        var otherKey = await RunApiAsync([.. embedded, "--api-tls-cert", pki.Server.CertificateFile, "--api-tls-key", pki.Client.KeyFile]);
        Assert.Equal(2, otherKey.ExitCode);
        Assert.Contains($"--api-tls-key: '{pki.Client.KeyFile}': not the unencrypted PEM private key of '{pki.Server.CertificateFile}'", otherKey.StandardError, StringComparison.Ordinal);

        var missing = await RunApiAsync([.. embedded, "--api-tls-cert", folder.File("absent.pem"), "--api-tls-key", pki.Server.KeyFile]);
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains($"--api-tls-cert: '{folder.File("absent.pem")}' does not exist", missing.StandardError, StringComparison.Ordinal);

        var alone = await RunApiAsync([.. embedded, "--api-tls-cert", pki.Server.CertificateFile]);
        Assert.Equal(2, alone.ExitCode);
        Assert.Contains("--api-tls-cert: needs --api-tls-key FILE", alone.StandardError, StringComparison.Ordinal);
    }

    /// <summary>Copies the pair to the files the process is given, so the test can replace them later.</summary>
    private static (string Certificate, string Key) Served(TempFolder folder, PemPair pair)
    {
        var served = folder.Folder("served");
        var certificate = Path.Combine(served, "api.pem");
        var key = Path.Combine(served, "api.key");
        Replace(pair, certificate, key);
        return (certificate, key);
    }

    private static void Replace(PemPair pair, string certificate, string key) => pair.ReplaceFiles(certificate, key);

    /// <summary>The serial of the certificate a new connection gets; null when the handshake or request fails.</summary>
    private static async Task<string?> ServedSerialAsync(TestCertificates pki, Uri url)
    {
        string? serial = null;
        using var client = pki.TrustingClient(c => serial = c.SerialNumber);
        try
        {
            using var response = await client.GetAsync(new Uri(url, "/healthz"));
            return response.IsSuccessStatusCode ? serial : null;
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    private static async Task<bool> HandshakeAsync(Uri url, string caFile, string version)
    {
        var result = await ChildProcess.RunAsync("sh", ["-c", $"echo | openssl s_client -connect 127.0.0.1:{url.Port} {version} -cipher DEFAULT@SECLEVEL=0 -CAfile '{caFile}' -verify_return_error"], TimeSpan.FromSeconds(15));
        return result.ExitCode == 0 && result.StandardOutput.Contains("Verify return code: 0 (ok)", StringComparison.Ordinal);
    }

    private static Task<ProcessResult> RunApiAsync(string[] arguments) =>
        ChildProcess.RunAsync(RepoLayout.DotnetHost, [ApiLayout.ApiDll, .. arguments], TimeSpan.FromSeconds(30));
}
