using System.Net;
using System.Security.Authentication;
using GslbDns.Certificates;
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
/// The HttpClient every process talks to Consul with (<see cref="ConsulHttp"/>) against a real
/// agent with <c>verify_incoming</c>, HTTPS only, and default-deny ACLs.
/// </summary>
[Collection(ConsulTlsAclCollection.Name)]
public sealed class ConsulTlsTests(ConsulTlsAclAgent agent)
{
    [Fact]
    public async Task With_the_ca_the_client_certificate_and_the_token_kv_and_sessions_work()
    {
        using var http = ConsulHttp.Create(Files(agent.Certificates.CaFile, agent.Certificates.Client));
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
        using var http = ConsulHttp.Create(Files(agent.Certificates.CaFile, agent.Certificates.Client));
        var denied = await Assert.ThrowsAsync<ConsulException>(() => ClientOver(http, null).KvPutAsync(UniquePrefix("tls") + "k", Utf8("v")));
        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
    }

    [Fact]
    public async Task A_server_certificate_from_another_ca_is_refused_before_any_request_is_sent()
    {
        using var folder = new TempFolder("other-ca");
        var other = await TestCertificates.CreateAsync(folder.Folder("pki"), "Some other CA");

        // The agent's certificate is valid for 127.0.0.1 and trusted by the system store nowhere: only the CA file decides.
        using var http = ConsulHttp.Create(Files(other.CaFile, agent.Certificates.Client));
        var refused = await Assert.ThrowsAsync<ConsulException>(() => ClientOver(http, ConsulTlsAclAgent.MasterToken).KvGetAsync("k"));
        Assert.True(refused.IsUnreachable, refused.ToString());
        Assert.IsType<AuthenticationException>(refused.InnerException?.InnerException);
        Assert.Contains("remote certificate", refused.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Without_a_client_certificate_verify_incoming_refuses_the_connection()
    {
        using var http = ConsulHttp.Create(new ConsulTlsFiles(agent.Certificates.CaFile, null, null));
        var refused = await Assert.ThrowsAsync<ConsulException>(() => ClientOver(http, ConsulTlsAclAgent.MasterToken).KvGetAsync("k"));
        Assert.True(refused.IsUnreachable, refused.ToString());
    }

    [Fact]
    public async Task A_ca_file_that_is_not_a_certificate_and_a_key_of_another_certificate_are_start_up_errors_naming_the_file()
    {
        using var folder = new TempFolder("bad-ca");
        var garbage = folder.File("ca.pem");
        await File.WriteAllTextAsync(garbage, "not a certificate\n");
        var notCa = Assert.Throws<StartupException>(() => ConsulHttp.Create(new ConsulTlsFiles(garbage, null, null)));
        Assert.Equal(2, notCa.ExitCode);
        Assert.StartsWith($"--consul-ca-file: '{garbage}': ", notCa.Message, StringComparison.Ordinal);

        var wrongKey = new ConsulTlsFiles(agent.Certificates.CaFile, agent.Certificates.Client.CertificateFile, agent.Certificates.Server.KeyFile);
        var mismatch = Assert.Throws<StartupException>(() => ConsulHttp.Create(wrongKey));
        Assert.StartsWith($"--consul-client-key: '{agent.Certificates.Server.KeyFile}': ", mismatch.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_client_certificate_renewed_in_place_is_presented_on_the_next_connection_and_a_bad_one_keeps_the_last_good()
    {
        using var folder = new TempFolder("consul-client-reload");
        var other = await TestCertificates.CreateAsync(folder.Folder("pki"), "Not the Consul CA");
        var served = folder.Folder("served");
        var certificate = Path.Combine(served, "client.pem");
        var key = Path.Combine(served, "client.key");
        other.Client.ReplaceFiles(certificate, key); // valid, but from a CA the agent's verify_incoming does not trust
        var log = new ListLogger<ConsulTlsTests>();

        // No pooling: every request is a new handshake, so each one shows the certificate presented now.
        using var http = ConsulHttp.Create(new ConsulTlsFiles(agent.Certificates.CaFile, certificate, key), log, pooledConnectionLifetime: TimeSpan.Zero);
        http.WatchForChanges(signals: null, watchFiles: true);
        var client = ClientOver(http, ConsulTlsAclAgent.MasterToken);
        var kv = UniquePrefix("tls-reload") + "k";
        var refused = await Assert.ThrowsAsync<ConsulException>(() => client.KvPutAsync(kv, Utf8("v")));
        Assert.True(refused.IsUnreachable, refused.ToString());

        // The renewal lands (renamed into place): the file watcher re-reads it and the next connection is accepted.
        agent.Certificates.Client.ReplaceFiles(certificate, key);
        await Deadline.UntilAsync("the renewed client certificate accepted", TimeSpan.FromSeconds(20), async () =>
        {
            try
            {
                await client.KvPutAsync(kv, Utf8("renewed"));
                return (true, string.Empty);
            }
            catch (ConsulException ex)
            {
                return (false, ex.Message + "\n" + string.Join('\n', log.Lines));
            }
        });

        // A broken renewal: logged with the file and the reason, the last good certificate is still presented.
        await File.WriteAllTextAsync(certificate, "-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n");
        await Deadline.UntilAsync("the failed reload logged", TimeSpan.FromSeconds(20), () => Task.FromResult((
            log.Lines.Any(l => l.Contains($"Consul client certificate not reloaded (file change): {certificate}: ", StringComparison.Ordinal)), string.Join('\n', log.Lines))));
        Assert.Contains(log.Lines, l => l.Contains($"still presenting serial {agent.Certificates.Client.Serial}", StringComparison.Ordinal));
        await client.KvPutAsync(kv, Utf8("still"));
        Assert.Equal("still", Text(await client.KvGetAsync(kv)));
    }

    private static ConsulTlsFiles Files(string ca, PemPair client) => new(ca, client.CertificateFile, client.KeyFile);

    private ConsulClient ClientOver(ConsulHttp http, string? token) =>
        new(http.Client, new ConsulClientOptions { Addresses = [agent.HttpsAddress], Token = token, RequestTimeout = TimeSpan.FromSeconds(5) });
}
