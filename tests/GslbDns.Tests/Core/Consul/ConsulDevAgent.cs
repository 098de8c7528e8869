using GslbDns.Consul;
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
    private ConsulProcess? _process;

    public ConsulDevAgent()
        : this(null, null)
    {
    }

    internal ConsulDevAgent(string? extraHcl, string? token)
    {
        _extraHcl = extraHcl;
        _token = token;
    }

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
                "-http-port", ports[0].ToString(), "-serf-lan-port", ports[1].ToString(), "-serf-wan-port", ports[2].ToString(),
                "-server-port", ports[3].ToString(), "-grpc-port", ports[4].ToString(), "-dns-port", "-1",
                "-log-level", "warn",
                "-hcl", "session_ttl_min = \"1s\"",
            };
            if (_extraHcl is not null)
            {
                args.Add("-hcl");
                args.Add(_extraHcl);
            }

            _process = ConsulProcess.Start(args);
            HttpAddress = new Uri($"http://127.0.0.1:{ports[0]}/");
            try
            {
                await ConsulTestSupport.WaitUntilReadyAsync(HttpAddress, $"dev-{ports[0]}", _token, _process, ReadyDeadline);
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

    public Task DisposeAsync()
    {
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

/// <summary>One dev agent shared by the KV, blocking-query and failover test classes.</summary>
[CollectionDefinition(Name)]
public sealed class ConsulDevAgentCollection : ICollectionFixture<ConsulDevAgent>
{
    public const string Name = "Consul dev agent";
}
