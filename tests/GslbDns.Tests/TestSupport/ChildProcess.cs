using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace GslbDns.Tests.TestSupport;

/// <summary>What a finished child process left behind.</summary>
internal sealed record ProcessResult(int ExitCode, string StandardOutput, string StandardError, TimeSpan Elapsed)
{
    public override string ToString() => $"exit {ExitCode} after {Elapsed.TotalMilliseconds:0} ms\n--- stdout ---\n{StandardOutput}\n--- stderr ---\n{StandardError}";
}

/// <summary>
/// A child process (dig, kdig, unbound, the server itself) with its output collected. Every one has a
/// deadline and is killed, with its children, when it runs over or when its owner is disposed. Live ones
/// are also killed on ProcessExit, so a test run that ends without disposing its fixtures leaves nothing behind.
/// </summary>
internal sealed partial class ChildProcess : IDisposable
{
    private const int MaxOutputChars = 1 << 20;
    private static readonly ConcurrentDictionary<int, Process> Live = new();

    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly TaskCompletionSource _stdoutClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stderrClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    static ChildProcess()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var process in Live.Values)
            {
                TryKill(process);
            }
        };
    }

    private ChildProcess(Process process)
    {
        _process = process;
    }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public string CommandLine { get; private init; } = "";

    public string StandardOutput
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    public string StandardError
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Output so far, for failure messages.</summary>
    public string Describe() => $"{CommandLine}\n--- stdout ---\n{StandardOutput}\n--- stderr ---\n{StandardError}";

    /// <param name="standardInput">Written to the process's standard input, which is then closed (closed at once when null).</param>
    public static ChildProcess Start(string fileName, IEnumerable<string> arguments, string? workingDirectory = null, IReadOnlyDictionary<string, string>? environment = null, string? standardInput = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Path.GetTempPath(),
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        // Our processes log text to a test's pipe unless the test asks otherwise: assertions read the rendered messages.
        info.Environment["GSLBDNS_LOG_FORMAT"] = "text";
        if (environment is not null)
        {
            foreach (var (key, value) in environment)
            {
                info.Environment[key] = value;
            }
        }

        var process = new Process { StartInfo = info };
        var child = new ChildProcess(process) { CommandLine = $"{fileName} {string.Join(' ', info.ArgumentList)}" };
        process.OutputDataReceived += (_, e) => child.Collect(child._stdout, child._stdoutClosed, e.Data);
        process.ErrorDataReceived += (_, e) => child.Collect(child._stderr, child._stderrClosed, e.Data);
        process.Start();
        Live[process.Id] = process;
        if (standardInput is not null)
        {
            process.StandardInput.Write(standardInput);
        }

        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Runs a command to completion; kills it and throws when it runs past <paramref name="timeout"/>.</summary>
    public static async Task<ProcessResult> RunAsync(string fileName, IEnumerable<string> arguments, TimeSpan timeout, string? standardInput = null)
    {
        using var child = Start(fileName, arguments, standardInput: standardInput);
        if (!await child.WaitForExitAsync(timeout))
        {
            throw new TimeoutException($"{child.CommandLine} did not finish within {timeout.TotalSeconds:0.#} s and was killed\n{child.Describe()}");
        }

        return child.Result();
    }

    /// <summary>Waits for the process to exit and its output to be read; false (process left running) on timeout.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            await Task.WhenAll(_stdoutClosed.Task, _stderrClosed.Task).WaitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public ProcessResult Result() => new(_process.ExitCode, StandardOutput, StandardError, _clock.Elapsed);

    public int ExitCode => _process.ExitCode;

    /// <summary>Sends a POSIX signal (SIGTERM, SIGHUP) to the process.</summary>
    public void Signal(int signal)
    {
        if (Kill(_process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    public const int SigHup = 1;
    public const int SigTerm = 15;

    public void Dispose()
    {
        TryKill(_process);
        Live.TryRemove(_process.Id, out _);
        _process.Dispose();
    }

    private void Collect(StringBuilder sink, TaskCompletionSource closed, string? line)
    {
        if (line is null)
        {
            closed.TrySetResult();
            return;
        }

        lock (sink)
        {
            if (sink.Length < MaxOutputChars)
            {
                sink.AppendLine(line);
            }
        }
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
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
            // Already gone.
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
