using GslbDns.Consul;
using GslbDns.Tests.TestSupport;
using Microsoft.Extensions.Logging;

namespace GslbDns.Tests.Core.Consul;

/// <summary>
/// A real <c>consul agent -dev</c> on loopback with its own free ports (DNS off), ready once it has a
/// leader and serves KV. <c>session_ttl_min</c> is lowered to 1 s so TTL tests take seconds, not the
/// 20 s a 10 s minimum TTL would cost. Used as a class or collection fixture.
/// </summary>
public sealed class ConsulDevAgent : IAsyncLifetime
{
    private const int StartAttempts = 3;
    private static readonly TimeSpan ReadyDeadline = TimeSpan.FromSeconds(30);

    private readonly string? _extraHcl;
    private readonly string? _token;
    private readonly TestCertificates? _tls;
    private ConsulProcess? _process;

    public ConsulDevAgent()
        : this(null, null)
    {
    }

    /// <param name="tls">Serve HTTPS only (no plain HTTP port) with this CA's server certificate and require client certificates from it (verify_incoming).</param>
    internal ConsulDevAgent(string? extraHcl, string? token, TestCertificates? tls = null)
    {
        _extraHcl = extraHcl;
        _token = token;
        _tls = tls;
    }

    /// <summary>The API address: http, or https with <c>tls</c>.</summary>
    public Uri HttpAddress { get; private set; } = null!;

    public ConsulClient CreateClient(string? token = null, TimeSpan? requestTimeout = null, ILogger<ConsulClient>? logger = null) =>
        ConsulTestSupport.Client([HttpAddress], token, requestTimeout, logger);

    public async Task InitializeAsync()
    {
        for (var attempt = 1; ; attempt++)
        {
            var ports = FreePorts.Take(5);
            var args = new List<string>
            {
                "-dev", "-bind", "127.0.0.1", "-client", "127.0.0.1",
                "-node", $"dev-{ports[0]}",
                "-serf-lan-port", ports[1].ToString(), "-serf-wan-port", ports[2].ToString(),
                "-server-port", ports[3].ToString(), "-grpc-port", ports[4].ToString(), "-dns-port", "-1",
                "-log-level", "warn",
                "-hcl", "session_ttl_min = \"1s\"",
            };
            if (_tls is null)
            {
                args.AddRange(["-http-port", ports[0].ToString()]);
            }
            else
            {
                // Consul 1.8 syntax: HTTPS only, and every client (the API included) must show a certificate of the CA.
                args.AddRange(["-hcl", $$"""
                    ports { https = {{ports[0]}}, http = -1 }
                    verify_incoming = true
                    verify_outgoing = true
                    ca_file = "{{_tls.CaFile}}"
                    cert_file = "{{_tls.Server.CertificateFile}}"
                    key_file = "{{_tls.Server.KeyFile}}"
                    """]);
            }

            if (_extraHcl is not null)
            {
                args.Add("-hcl");
                args.Add(_extraHcl);
            }

            _process = ConsulProcess.Start(args);
            HttpAddress = new Uri($"{(_tls is null ? "http" : "https")}://127.0.0.1:{ports[0]}/");
            try
            {
                await ConsulTestSupport.WaitUntilReadyAsync(HttpAddress, $"dev-{ports[0]}", _token, _process, ReadyDeadline, _tls is null ? null : TlsClient);
                return;
            }
            catch (ConsulStartException) when (attempt < StartAttempts)
            {
                // Most likely a port taken by another process since we checked it: new ports.
                _process.Dispose();
            }
            catch
            {
                _process.Dispose();
                throw;
            }
        }
    }

    /// <summary>With TLS: a client that trusts the test CA and shows its client certificate (made once, on first use).</summary>
    internal HttpClient TlsClient => _tlsClient ??= _tls!.TrustingClient(clientCertificate: _tls.Client);

    private HttpClient? _tlsClient;

    public Task DisposeAsync()
    {
        _tlsClient?.Dispose();
        _process?.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>A dev agent with ACLs on and default deny; only <see cref="MasterToken"/> may do anything.</summary>
public sealed class ConsulAclAgent : IAsyncLifetime
{
    public const string MasterToken = "4c1a6f0e-acl-master-token-do-not-log";

    private readonly ConsulDevAgent _agent = new(
        $"acl {{ enabled = true, default_policy = \"deny\", down_policy = \"deny\", tokens {{ master = \"{MasterToken}\" }} }}",
        MasterToken);

    public Uri HttpAddress => _agent.HttpAddress;

    public Task InitializeAsync() => _agent.InitializeAsync();

    public Task DisposeAsync() => _agent.DisposeAsync();
}

/// <summary>
/// A dev agent the way production runs Consul: HTTPS only with a CA made by the test, client certificates required,
/// ACLs on with default deny and the master token bootstrapped in the config. <see cref="TokenFile"/> holds the token
/// for our processes' <c>--consul-token-file</c>.
/// </summary>
public sealed class ConsulTlsAclAgent : IAsyncLifetime
{
    public const string MasterToken = "7d2e91b4-tls-acl-master-token-do-not-log";

    private readonly TempFolder _folder = new("consul-tls");
    private ConsulDevAgent? _agent;

    public Uri HttpsAddress => _agent!.HttpAddress;

    internal TestCertificates Certificates { get; private set; } = null!;

    /// <summary>Mode 0600, holds <see cref="MasterToken"/>.</summary>
    public string TokenFile => _folder.File("consul-token");

    /// <summary>A client trusting the test CA, with the client certificate (send the token yourself).</summary>
    internal HttpClient Http => _agent!.TlsClient;

    public async Task InitializeAsync()
    {
        Certificates = await TestCertificates.CreateAsync(_folder.Folder("pki"));
        await File.WriteAllTextAsync(TokenFile, MasterToken + "\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(TokenFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        _agent = new ConsulDevAgent(
            $"acl {{ enabled = true, default_policy = \"deny\", down_policy = \"deny\", tokens {{ master = \"{MasterToken}\" }} }}",
            MasterToken,
            Certificates);
        await _agent.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        if (_agent is not null)
        {
            await _agent.DisposeAsync();
        }

        _folder.Dispose();
    }
}

/// <summary>One dev agent shared by the KV, blocking-query and failover test classes.</summary>
[CollectionDefinition(Name)]
public sealed class ConsulDevAgentCollection : ICollectionFixture<ConsulDevAgent>
{
    public const string Name = "Consul dev agent";
}
