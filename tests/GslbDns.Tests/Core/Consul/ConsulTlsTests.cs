using System.Net;
using System.Security.Authentication;
using GslbDns.Consul;
using GslbDns.Hosting;
using GslbDns.Tests.TestSupport;
using static GslbDns.Tests.Core.Consul.ConsulTestSupport;

namespace GslbDns.Tests.Core.Consul;

/// <summary>One HTTPS-only, client-certificate, default-deny ACL agent shared by the Consul TLS tests and the TLS fleet.</summary>
[CollectionDefinition(Name)]
public sealed class ConsulTlsAclCollection : ICollectionFixture<ConsulTlsAclAgent>
{
    public const string Name = "Consul agent with TLS and ACLs";
}

/// <summary>
/// The HttpClient every process talks to Consul with (<see cref="TlsOptions.CreateConsulHttpClient"/>) against a real
/// agent with <c>verify_incoming</c>, HTTPS only, and default-deny ACLs.
/// </summary>
[Collection(ConsulTlsAclCollection.Name)]
public sealed class ConsulTlsTests(ConsulTlsAclAgent agent)
{
    [Fact]
    public async Task With_the_ca_the_client_certificate_and_the_token_kv_and_sessions_work()
    {
        using var http = TlsOptions.CreateConsulHttpClient(Files(agent.Certificates.CaFile, agent.Certificates.Client));
        var client = ClientOver(http, ConsulTlsAclAgent.MasterToken);
        var key = UniquePrefix("tls") + "k";
        await client.KvPutAsync(key, Utf8("over https"));
        Assert.Equal("over https", Text(await client.KvGetAsync(key)));
        var session = await client.SessionCreateAsync("tls-session", TimeSpan.FromSeconds(10));
        await client.SessionDestroyAsync(session);
    }

    [Fact]
    public async Task Without_the_token_the_agent_denies_over_tls()
    {
        using var http = TlsOptions.CreateConsulHttpClient(Files(agent.Certificates.CaFile, agent.Certificates.Client));
        var denied = await Assert.ThrowsAsync<ConsulException>(() => ClientOver(http, null).KvPutAsync(UniquePrefix("tls") + "k", Utf8("v")));
        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
    }

    [Fact]
    public async Task A_server_certificate_from_another_ca_is_refused_before_any_request_is_sent()
    {
        using var folder = new TempFolder("other-ca");
        var other = await TestCertificates.CreateAsync(folder.Folder("pki"), "Some other CA");

        // The agent's certificate is valid for 127.0.0.1 and trusted by the system store nowhere: only the CA file decides.
        using var http = TlsOptions.CreateConsulHttpClient(Files(other.CaFile, agent.Certificates.Client));
        var refused = await Assert.ThrowsAsync<ConsulException>(() => ClientOver(http, ConsulTlsAclAgent.MasterToken).KvGetAsync("k"));
        Assert.True(refused.IsUnreachable, refused.ToString());
        Assert.IsType<AuthenticationException>(refused.InnerException?.InnerException);
        Assert.Contains("remote certificate", refused.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Without_a_client_certificate_verify_incoming_refuses_the_connection()
    {
        using var http = TlsOptions.CreateConsulHttpClient(new ConsulTlsFiles(agent.Certificates.CaFile, null, null));
        var refused = await Assert.ThrowsAsync<ConsulException>(() => ClientOver(http, ConsulTlsAclAgent.MasterToken).KvGetAsync("k"));
        Assert.True(refused.IsUnreachable, refused.ToString());
    }

    [Fact]
    public async Task A_ca_file_that_is_not_a_certificate_and_a_key_of_another_certificate_are_start_up_errors_naming_the_file()
    {
        using var folder = new TempFolder("bad-ca");
        var garbage = folder.File("ca.pem");
        await File.WriteAllTextAsync(garbage, "not a certificate\n");
        var notCa = Assert.Throws<StartupException>(() => TlsOptions.CreateConsulHttpClient(new ConsulTlsFiles(garbage, null, null)));
        Assert.Equal(2, notCa.ExitCode);
        Assert.StartsWith($"--consul-ca-file: '{garbage}': ", notCa.Message, StringComparison.Ordinal);

        var wrongKey = new ConsulTlsFiles(agent.Certificates.CaFile, agent.Certificates.Client.CertificateFile, agent.Certificates.Server.KeyFile);
        var mismatch = Assert.Throws<StartupException>(() => TlsOptions.CreateConsulHttpClient(wrongKey));
        Assert.StartsWith($"--consul-client-key: '{agent.Certificates.Server.KeyFile}': ", mismatch.Message, StringComparison.Ordinal);
    }

    private static ConsulTlsFiles Files(string ca, PemPair client) => new(ca, client.CertificateFile, client.KeyFile);

    private ConsulClient ClientOver(HttpClient http, string? token) =>
        new(http, new ConsulClientOptions { Addresses = [agent.HttpsAddress], Token = token, RequestTimeout = TimeSpan.FromSeconds(5) });
}
