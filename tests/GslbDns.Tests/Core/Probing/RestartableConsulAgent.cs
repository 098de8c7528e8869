using GslbDns.Tests.Core.Consul;

namespace GslbDns.Tests.Core.Probing;

/// <summary>
/// A <c>consul agent -dev</c> that can be killed and started again on the same ports: a dev agent keeps its
/// state in memory, so a restart is a Consul that has lost every session and key, as after a disaster.
/// Built from the Consul test fixtures' pieces (<see cref="ConsulProcess"/>, <see cref="FreePorts"/>).
/// </summary>
internal sealed class RestartableConsulAgent : IDisposable
{
    private const int StartAttempts = 3;
    private static readonly TimeSpan ReadyDeadline = TimeSpan.FromSeconds(30);

    private readonly int[] _ports = FreePorts.Take(5);
    private ConsulProcess? _process;

    public Uri HttpAddress => new($"http://127.0.0.1:{_ports[0]}/");

    private string Node => $"restartable-{_ports[0]}";

    public async Task StartAsync()
    {
        for (var attempt = 1; ; attempt++)
        {
            _process = ConsulProcess.Start(
            [
                "-dev", "-bind", "127.0.0.1", "-client", "127.0.0.1", "-node", Node,
                "-http-port", _ports[0].ToString(), "-serf-lan-port", _ports[1].ToString(), "-serf-wan-port", _ports[2].ToString(),
                "-server-port", _ports[3].ToString(), "-grpc-port", _ports[4].ToString(), "-dns-port", "-1",
                "-log-level", "warn", "-hcl", "session_ttl_min = \"1s\"",
            ]);
            try
            {
                await ConsulTestSupport.WaitUntilReadyAsync(HttpAddress, Node, null, _process, ReadyDeadline);
                return;
            }
            catch (ConsulStartException) when (attempt < StartAttempts)
            {
                // A port of the previous run not yet released: same ports again, they are what the test is about.
                _process.Dispose();
            }
        }
    }

    /// <summary>SIGKILL: no graceful leave, every session and key gone with the process.</summary>
    public void Kill() => _process?.Dispose();

    public void Dispose() => _process?.Dispose();
}
