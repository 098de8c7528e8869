using GslbDns.Consul;
using GslbDns.Reports;
using GslbDns.Tests.Core.Consul;
using GslbDns.Tests.Core.Probing;
using GslbDns.Tests.Prober;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Fleet;

/// <summary>
/// Consul mode as production runs it: a real agent serving HTTPS only with a CA made by the test, client certificates
/// required (verify_incoming), default-deny ACLs with the master token bootstrapped in its config. Three real
/// gslbdns-prober processes and a DNS server process reach it with <c>--consul-ca-file</c>, a client certificate and
/// <c>--consul-token-file</c>; an endpoint going down goes through the quorum into the server's answer.
/// </summary>
[Collection(ConsulTlsAclCollection.Name)]
public sealed class ConsulTlsFleetTests(ConsulTlsAclAgent agent)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(40);

    [Fact]
    public async Task Probers_and_server_over_https_with_acls_take_a_failed_endpoint_out_of_the_answer()
    {
        using var folder = new TempFolder("fleet-tls");
        await using var backends = FleetBackends.Start();
        var zones = folder.Folder("zones");
        backends.Spec().WriteTo(zones);
        var prefix = ConsulTestSupport.UniquePrefix("fleet-tls");
        var proberDll = await ProberLayout.ProberDllAsync();
        var tls = TlsArguments(agent.Certificates.CaFile);
        var probers = FleetSpec.Probers.Select(p => FleetProcesses.StartProber(RepoLayout.DotnetHost, proberDll, p, zones, [agent.HttpsAddress], prefix, 2, tls)).ToList();
        try
        {
            var (server, dns, _) = await FleetProcesses.StartServerAsync(RepoLayout.DotnetHost, RepoLayout.ServerDll, zones, [agent.HttpsAddress], prefix, metrics: false, extraArguments: tls);
            using var _ = server;
            var consul = new ConsulClient(agent.Http, new ConsulClientOptions { Addresses = [agent.HttpsAddress], Token = ConsulTlsAclAgent.MasterToken });
            var all = FleetSpec.ServiceAddresses.Select(a => a.ToString()).Order(StringComparer.Ordinal).ToArray();

            // Every prober's report is in Consul (it could only get there over mutual TLS with the token), and the server reads them.
            await Deadline.UntilAsync("three reports in Consul and every svc endpoint answered", Patience, async () =>
            {
                AssertRunning(probers, server);
                var reports = await consul.KvKeysAsync(HealthKeys.Probers(prefix));
                var answer = await FleetProcesses.AskAsync(dns, FleetSpec.ServiceName, TimeSpan.FromSeconds(1));
                return (reports.Count == 3 && answer is not null && answer.Addresses.SequenceEqual(all), $"{reports.Count} reports, answer {answer}");
            });

            backends.Service[0].Mode = BackendMode.Unhealthy;
            await Deadline.UntilAsync("127.0.0.2 out of svc's answer", Patience, async () =>
            {
                AssertRunning(probers, server);
                var answer = await FleetProcesses.AskAsync(dns, FleetSpec.ServiceName, TimeSpan.FromSeconds(1));
                return (answer is not null && answer.Addresses.SequenceEqual(all.Skip(1)), $"answer {answer}");
            });

            Assert.DoesNotContain(ConsulTlsAclAgent.MasterToken, server.StandardError + server.StandardOutput, StringComparison.Ordinal);
        }
        finally
        {
            foreach (var prober in probers)
            {
                prober.Dispose();
            }
        }
    }

    [Fact]
    public async Task With_the_wrong_ca_file_prober_and_server_refuse_the_agent_and_say_why()
    {
        using var folder = new TempFolder("fleet-tls-wrong-ca");
        var other = await TestCertificates.CreateAsync(folder.Folder("pki"), "Not the Consul CA");
        var zones = folder.Folder("zones");
        new FleetSpec(PortFinder.Take(), PortFinder.Take()).WriteTo(zones);
        var prefix = ConsulTestSupport.UniquePrefix("fleet-tls-wrong-ca");
        var tls = TlsArguments(other.CaFile);
        using var prober = FleetProcesses.StartProber(RepoLayout.DotnetHost, await ProberLayout.ProberDllAsync(), FleetSpec.Probers[0], zones, [agent.HttpsAddress], prefix, 2, tls);
        var (server, _, _) = await FleetProcesses.StartServerAsync(RepoLayout.DotnetHost, RepoLayout.ServerDll, zones, [agent.HttpsAddress], prefix, metrics: false, extraArguments: tls);
        using var _ = server;

        // Both name the agent and the reason: the certificate was rejected by our validation, i.e. the CA file.
        await Deadline.UntilAsync("the prober and the server logging the rejected certificate", Patience, () =>
        {
            AssertRunning([prober], server);
            var proberSays = Rejected(prober.StandardError);
            var serverSays = Rejected(server.StandardError);
            return Task.FromResult((proberSays && serverSays, $"prober {proberSays}, server {serverSays}\n{prober.StandardError}\n{server.StandardError}"));
        });

        var consul = new ConsulClient(agent.Http, new ConsulClientOptions { Addresses = [agent.HttpsAddress], Token = ConsulTlsAclAgent.MasterToken });
        Assert.Null(await consul.KvGetAsync(HealthKeys.ProberReport(prefix, FleetSpec.Probers[0].Id)));

        static bool Rejected(string log) => log.Contains("remote certificate was rejected", StringComparison.OrdinalIgnoreCase) && log.Contains("127.0.0.1", StringComparison.Ordinal);
    }

    private string[] TlsArguments(string caFile) =>
    [
        "--consul-ca-file", caFile,
        "--consul-client-cert", agent.Certificates.Client.CertificateFile, "--consul-client-key", agent.Certificates.Client.KeyFile,
        "--consul-token-file", agent.TokenFile,
    ];

    private static void AssertRunning(IEnumerable<ChildProcess> probers, ChildProcess server)
    {
        foreach (var process in probers.Append(server))
        {
            if (process.HasExited)
            {
                throw new PollAbortedException("a process exited:\n" + process.Describe());
            }
        }
    }
}
