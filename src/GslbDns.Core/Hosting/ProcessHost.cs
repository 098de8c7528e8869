using Microsoft.Extensions.Logging;
using Serilog;
using Serilog.Extensions.Logging;

namespace GslbDns.Hosting;

/// <summary>What a program's body gets from <see cref="ProcessHost"/>: logging and signals, set up the same way in every process.</summary>
public sealed class ProcessContext(ILoggerFactory loggerFactory, ProcessSignals signals, SystemdNotifier? systemd = null)
{
    public ILoggerFactory LoggerFactory { get; } = loggerFactory;

    public ProcessSignals Signals { get; } = signals;

    /// <summary>Tells systemd (<c>Type=notify</c>) the process is serving; call once its listeners answer. Nothing outside systemd.</summary>
    public void NotifyReady(string status) => systemd?.Ready(status);

    /// <summary>
    /// Pings the systemd watchdog while <paramref name="alive"/> returns null (the process does its job) until the
    /// process stops; <paramref name="alive"/> returns the reason when it does not. Nothing without <c>WatchdogSec=</c>.
    /// </summary>
    public Task RunWatchdogAsync(Func<CancellationToken, Task<string?>> alive, CancellationToken stop) =>
        systemd?.RunWatchdogAsync(alive, stop) ?? Task.CompletedTask;
}

/// <summary>
/// The one start-up of every GslbDns process: parse the command line against the program's tables
/// (<c>--help</c> prints the generated usage and exits 0; errors are printed each with the program's
/// name, then the usage, exit 2), set up Serilog as <see cref="LogOptions"/> says (logs to standard error, so standard output carries only
/// what the program prints on purpose) and signals, run the program, and turn a
/// <see cref="StartupException"/> into its message and exit code.
/// </summary>
public static class ProcessHost
{
    /// <param name="bind">Turns the parsed command line into the program's options; adds an error for each cross-option problem.</param>
    /// <param name="run">The program; its return value is the exit code.</param>
    public static async Task<int> RunAsync<TOptions>(ProgramDefinition program, string[] args, Func<ParsedCommandLine, TOptions> bind, Func<TOptions, ProcessContext, Task<int>> run)
    {
        ArgumentNullException.ThrowIfNull(program);
        var parsed = program.Parse(args);
        var options = bind(parsed);
        var logFormat = LogOptions.ResolveFormat(parsed);
        if (parsed.HelpRequested && parsed.Errors.Count == 0)
        {
            await Console.Out.WriteAsync(program.Usage(parsed.Command));
            return 0;
        }

        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors)
            {
                await Console.Error.WriteLineAsync($"{program.Name}: {error}");
            }

            await Console.Error.WriteAsync(program.Usage(parsed.Command));
            return 2;
        }

        Log.Logger = LogOptions.CreateLogger(parsed, logFormat);
        try
        {
            using var loggerFactory = new SerilogLoggerFactory(Log.Logger, dispose: false);
            using var signals = new ProcessSignals();
            using var systemd = SystemdNotifier.FromEnvironment(loggerFactory.CreateLogger("GslbDns.Hosting.Systemd"));
            _ = signals.Stopping.ContinueWith(_ => systemd?.Stopping(), TaskScheduler.Default);
            return await run(options, new ProcessContext(loggerFactory, signals, systemd));
        }
        catch (StartupException ex)
        {
            await Console.Error.WriteLineAsync($"{program.Name}: {ex.Message}");
            return ex.ExitCode;
        }
        finally
        {
            await Log.CloseAndFlushAsync();
        }
    }
}
