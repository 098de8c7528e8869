using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace GslbDns.Tests.Consul;

/// <summary>
/// One real <c>consul</c> process. Every live one is also tracked statically and killed on ProcessExit,
/// so a test run that ends without disposing its fixtures (a crash, a Ctrl-C of dotnet test) does not
/// leave agents holding ports. A SIGKILL of the test host itself still orphans them: nothing in-process
/// can help there.
/// </summary>
internal sealed class ConsulProcess : IDisposable
{
    private const int MaxOutputLines = 200;
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

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The last lines consul printed, for failure messages.</summary>
    public string RecentOutput => string.Join('\n', _output);

    public static ConsulProcess Start(IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo("consul")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("agent");
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(info) ?? throw new InvalidOperationException("consul did not start");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("`consul` is not on PATH; run scripts/install-deps.sh", ex);
        }

        var wrapper = new ConsulProcess(process);
        Live[process.Id] = process;

        // Read both pipes continuously: a full pipe would block consul's logging and stall the agent.
        process.OutputDataReceived += (_, e) => wrapper.Append(e.Data);
        process.ErrorDataReceived += (_, e) => wrapper.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return wrapper;
    }

    /// <summary>SIGKILL, like a crashed host: no graceful leave, which is what failover tests need.</summary>
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
