using System.Diagnostics;
using GslbDns.Consul;

namespace GslbDns.Tests.Core.Consul;

/// <summary>
/// Three real Consul servers on 127.0.0.1 with distinct ports and data directories, joined with
/// <c>-retry-join</c> and <c>-bootstrap-expect 3</c>. Raft runs with <c>raft_multiplier = 1</c> so a new
/// leader is elected in about 3 s after the old one dies, instead of about 17 s with the default timing.
/// </summary>
public sealed class ConsulCluster : IAsyncLifetime
{
    public const int Size = 3;
    private const int StartAttempts = 3;
    private static readonly TimeSpan ReadyDeadline = TimeSpan.FromSeconds(45);

    private readonly ConsulProcess?[] _servers = new ConsulProcess?[Size];
    private readonly string? _extraHcl;
    private readonly string _root = Path.Combine(Path.GetTempPath(), "gslb-consul-cluster-" + Guid.NewGuid().ToString("N"));
    private int[] _serverPorts = [];
    private int[] _ports = [];
    private string _config = "";
    private int _generation;

    public ConsulCluster()
        : this(null)
    {
    }

    /// <param name="extraHcl">More server config, e.g. <c>session_ttl_min = "1s"</c> for tests that wait for session TTLs.</param>
    internal ConsulCluster(string? extraHcl)
    {
        _extraHcl = extraHcl;
    }

    /// <summary>HTTP addresses of the servers, index-aligned with the server numbers used below.</summary>
    public IReadOnlyList<Uri> HttpAddresses { get; private set; } = [];

    public bool IsAlive(int server) => _servers[server] is { HasExited: false };

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        _config = Path.Combine(_root, "performance.hcl");
        await File.WriteAllTextAsync(_config, "performance { raft_multiplier = 1 }\n" + (_extraHcl is null ? "" : _extraHcl + "\n"));
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                // Per server: http, serf LAN, serf WAN, server RPC (raft). gRPC and DNS are off.
                _ports = FreePorts.Take(Size * 4);
                await StartAllAsync();
                return;
            }
            catch (ConsulStartException) when (attempt < StartAttempts)
            {
                KillAll();
            }
            catch
            {
                KillAll();
                throw;
            }
        }
    }

    public Task DisposeAsync()
    {
        KillAll();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open by a dying agent; the temp dir is cleaned later.
        }

        return Task.CompletedTask;
    }

    /// <summary>SIGKILLs every server: Consul is gone for everyone who uses it.</summary>
    public void KillAll()
    {
        for (var i = 0; i < Size; i++)
        {
            _servers[i]?.Dispose();
            _servers[i] = null;
        }
    }

    /// <summary>
    /// Starts every server again on the same ports (the addresses its clients were given) with fresh, empty data
    /// directories: a cluster rebuilt from nothing, with no sessions, no KV and its indexes back at the start.
    /// </summary>
    public async Task RestartEmptyAsync()
    {
        KillAll();
        await StartAllAsync();
    }

    /// <summary>The leader's server number, as the first live server reports it.</summary>
    public async Task<int> LeaderAsync(CancellationToken cancellationToken = default)
    {
        var live = Enumerable.Range(0, Size).First(IsAlive);
        var leader = await ConsulTestSupport.Client([HttpAddresses[live]]).StatusLeaderAsync(cancellationToken)
            ?? throw new InvalidOperationException("no leader");
        return ServerOf(leader);
    }

    /// <summary>SIGKILLs the current leader and returns its server number.</summary>
    public async Task<int> KillLeaderAsync()
    {
        var leader = await LeaderAsync();
        _servers[leader]!.Kill();
        return leader;
    }

    /// <summary>Waits until every live server names the same leader, other than <paramref name="oldLeader"/>.</summary>
    public async Task<int> WaitForNewLeaderAsync(int oldLeader, TimeSpan deadline)
    {
        var newLeader = -1;
        await ConsulTestSupport.EventuallyAsync(
            async () =>
            {
                var seen = new HashSet<string?>();
                foreach (var server in Enumerable.Range(0, Size).Where(IsAlive))
                {
                    try
                    {
                        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                        seen.Add(await ConsulTestSupport.Client([HttpAddresses[server]], requestTimeout: TimeSpan.FromSeconds(1)).StatusLeaderAsync(cts.Token));
                    }
                    catch (ConsulException)
                    {
                        return false;
                    }
                }

                if (seen.Count != 1 || seen.Single() is not { } leader || ServerOf(leader) == oldLeader)
                {
                    return false;
                }

                newLeader = ServerOf(leader);
                return true;
            },
            deadline,
            "a new leader agreed on by all live servers");
        return newLeader;
    }

    private async Task StartAllAsync()
    {
        var ports = _ports;
        var generation = ++_generation;
        _serverPorts = [.. Enumerable.Range(0, Size).Select(i => ports[(i * 4) + 3])];
        var joins = Enumerable.Range(0, Size).SelectMany(i => new[] { "-retry-join", $"127.0.0.1:{ports[(i * 4) + 1]}" }).ToArray();
        var addresses = new Uri[Size];
        for (var i = 0; i < Size; i++)
        {
            var dataDir = Path.Combine(_root, $"g{generation}-s{i}");
            Directory.CreateDirectory(dataDir);
            var args = new List<string>
            {
                "-server", "-bootstrap-expect", Size.ToString(), "-bind", "127.0.0.1", "-client", "127.0.0.1",
                "-data-dir", dataDir, "-node", $"s{i}-{ports[0]}",
                "-http-port", ports[i * 4].ToString(), "-serf-lan-port", ports[(i * 4) + 1].ToString(),
                "-serf-wan-port", ports[(i * 4) + 2].ToString(), "-server-port", ports[(i * 4) + 3].ToString(),
                "-grpc-port", "-1", "-dns-port", "-1",
                "-retry-interval", "1s", "-config-file", _config, "-log-level", "warn",
            };
            args.AddRange(joins);
            _servers[i] = ConsulProcess.Start(args);
            addresses[i] = new Uri($"http://127.0.0.1:{ports[i * 4]}/");
        }

        HttpAddresses = addresses;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < Size; i++)
        {
            var left = ReadyDeadline - clock.Elapsed;
            await ConsulTestSupport.WaitUntilReadyAsync(addresses[i], $"s{i}-{ports[0]}", null, _servers[i]!, left > TimeSpan.Zero ? left : TimeSpan.Zero);
        }

        var peers = await ConsulTestSupport.Client(addresses).StatusPeersAsync();
        if (peers.Count != Size)
        {
            throw new InvalidOperationException($"expected {Size} raft peers, got {string.Join(", ", peers)}");
        }
    }

    private int ServerOf(string raftAddress)
    {
        var port = int.Parse(raftAddress[(raftAddress.LastIndexOf(':') + 1)..]);
        var index = Array.IndexOf(_serverPorts, port);
        return index >= 0 ? index : throw new InvalidOperationException($"unknown raft address {raftAddress}");
    }
}
