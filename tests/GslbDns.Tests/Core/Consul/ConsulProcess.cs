using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace GslbDns.Tests.Core.Consul;

/// <summary>
/// One real <c>consul agent</c>. Three layers make sure it dies with the tests: fixtures kill it on
/// dispose; every live one is killed on ProcessExit (a normal exit that skipped a dispose); and, because
/// ProcessExit does not run when the test host is SIGTERMed or SIGKILLed (vstest does that on abort or
/// hang timeout; checked here: the agent was orphaned), a small sh watchdog beside each agent kills it
/// within a second of the test host's pid disappearing.
/// </summary>
internal sealed class ConsulProcess : IDisposable
{
    private const int MaxOutputLines = 200;

    // $1: test host pid; the rest: the consul command. The watchdog ends with the agent, so nothing
    // lingers when the agent exits on its own; `wait` makes sh's exit mirror the agent's.
    private const string Watchdog = """
        parent=$1; shift
        "$@" &
        child=$!
        ( while kill -0 "$parent" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 1; done
          kill -9 "$child" 2>/dev/null ) </dev/null >/dev/null 2>&1 &
        wait "$child"
        """;
    private static readonly ConcurrentDictionary<int, Process> Live = new();

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    static ConsulProcess()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var process in Live.Values)
            {
                TryKill(process);
            }
        };
    }

    private ConsulProcess(Process process)
    {
        _process = process;
    }

    public bool HasExited => _process.HasExited;

    /// <summary>The last lines consul printed, for failure messages.</summary>
    public string RecentOutput => string.Join('\n', _output);

    public static ConsulProcess Start(IEnumerable<string> arguments)
    {
        if (!OnPath("consul"))
        {
            throw new InvalidOperationException("`consul` is not on PATH; run scripts/install-deps.sh");
        }

        var info = new ProcessStartInfo("sh")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(Watchdog);
        info.ArgumentList.Add("consul-watchdog");
        info.ArgumentList.Add(Environment.ProcessId.ToString());
        info.ArgumentList.Add("consul");
        info.ArgumentList.Add("agent");
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("consul did not start");
        var wrapper = new ConsulProcess(process);
        Live[process.Id] = process;

        // Read both pipes continuously: a full pipe would block consul's logging and stall the agent.
        process.OutputDataReceived += (_, e) => wrapper.Append(e.Data);
        process.ErrorDataReceived += (_, e) => wrapper.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return wrapper;
    }

    /// <summary>
    /// SIGKILL of the agent and its watchdog, like a crashed host: no graceful leave, which is what
    /// failover tests need.
    /// </summary>
    public void Kill()
    {
        TryKill(_process);
        Live.TryRemove(_process.Id, out _);
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }

    private static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(dir => File.Exists(Path.Combine(dir, tool)));

    private static void TryKill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // Already gone.
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > MaxOutputLines)
        {
            _output.TryDequeue(out _);
        }
    }
}

/// <summary>
/// Ports for consul agents. Picked below Linux's ephemeral range (32768+) so consul's own outgoing
/// connections cannot take them between the check and the bind, checked free for TCP and UDP (serf uses
/// both), and never handed out twice in this process. Other processes can still race us; the fixtures
/// retry with new ports if an agent exits at start-up.
/// </summary>
internal static class FreePorts
{
    private static readonly HashSet<int> Handed = [];

    public static int[] Take(int count)
    {
        var ports = new int[count];
        lock (Handed)
        {
            for (var i = 0; i < count; i++)
            {
                int port;
                do
                {
                    port = Random.Shared.Next(20000, 32000);
                }
                while (Handed.Contains(port) || !IsFree(port));

                Handed.Add(port);
                ports[i] = port;
            }
        }

        return ports;
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            tcp.Bind(new IPEndPoint(IPAddress.Loopback, port));
            using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            udp.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
