using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace GslbDns.Hosting;

/// <summary>How log events are written: Serilog's compact JSON (one object a line, for collectors) or readable text.</summary>
public enum LogFormat
{
    /// <summary>Text when standard error (where logs go) is a terminal, JSON otherwise.</summary>
    Auto,
    Json,
    Text,
}

/// <summary>
/// <c>--log-format</c> and <c>--log-level</c>, which every program's table carries (added by <see cref="OptionTable"/>),
/// and the one Serilog set-up that reads them. Logs go to standard error so standard output keeps only what
/// a program prints on purpose.
/// </summary>
public static class LogOptions
{
    /// <summary>The default of <c>--log-format</c> when the command line has none (a systemd unit or a test harness sets it).</summary>
    public const string FormatEnvironmentVariable = "GSLBDNS_LOG_FORMAT";

    private const string TextTemplate = "{Timestamp:HH:mm:ss.fff} {Level:u3} {SourceContext}: {Message:lj}{NewLine}{Exception}";

    public static readonly CommandOption<LogFormat> Format = Option.Value(
        "--log-format", "auto|json|text", "log events as compact JSON (CLEF) or text; auto: text on a terminal, JSON otherwise",
        ReadFormat,
        LogFormat.Auto,
        $"auto, or ${FormatEnvironmentVariable}");

    public static readonly CommandOption<LogEventLevel> Level = Option.Value(
        "--log-level", "LEVEL", "least severe event logged: verbose, debug, information, warning, error, fatal",
        static v => v switch
        {
            "verbose" or "trace" => LogEventLevel.Verbose,
            "debug" => LogEventLevel.Debug,
            "information" or "info" => LogEventLevel.Information,
            "warning" or "warn" => LogEventLevel.Warning,
            "error" => LogEventLevel.Error,
            "fatal" => LogEventLevel.Fatal,
            _ => throw new FormatException("is not verbose, debug, information, warning, error or fatal"),
        },
        LogEventLevel.Information,
        "information");

    /// <summary>Both, in help order; appended to every table.</summary>
    public static IReadOnlyList<CommandOption> All { get; } = [Format, Level];

    /// <summary>JSON unless text was asked for, or the choice was left to us and a person is watching standard error.</summary>
    public static bool WritesJson(LogFormat format, bool logStreamIsTerminal) =>
        format == LogFormat.Json || (format == LogFormat.Auto && !logStreamIsTerminal);

    /// <summary>
    /// The format asked for: the option, else <see cref="FormatEnvironmentVariable"/>, else auto. A bad
    /// environment value is an error on <paramref name="parsed"/>, like a bad option.
    /// </summary>
    public static LogFormat ResolveFormat(ParsedCommandLine parsed)
    {
        ArgumentNullException.ThrowIfNull(parsed);
        if (parsed.IsSet(Format) || Environment.GetEnvironmentVariable(FormatEnvironmentVariable) is not { Length: > 0 } fromEnvironment)
        {
            return parsed.Get(Format);
        }

        try
        {
            return ReadFormat(fromEnvironment);
        }
        catch (FormatException ex)
        {
            parsed.AddError($"{FormatEnvironmentVariable}: '{fromEnvironment}' {ex.Message}");
            return LogFormat.Auto;
        }
    }

    /// <summary>The process logger for a parsed command line and its <see cref="ResolveFormat"/>.</summary>
    public static Serilog.Core.Logger CreateLogger(ParsedCommandLine parsed, LogFormat format)
    {
        ArgumentNullException.ThrowIfNull(parsed);
        var configuration = new LoggerConfiguration().MinimumLevel.Is(parsed.Get(Level)).Enrich.FromLogContext();
        return WritesJson(format, logStreamIsTerminal: !Console.IsErrorRedirected)
            ? configuration.WriteTo.Console(new CompactJsonFormatter(), standardErrorFromLevel: LogEventLevel.Verbose).CreateLogger()
            : configuration.WriteTo.Console(outputTemplate: TextTemplate, standardErrorFromLevel: LogEventLevel.Verbose).CreateLogger();
    }

    private static LogFormat ReadFormat(string text) => text switch
    {
        "auto" => LogFormat.Auto,
        "json" => LogFormat.Json,
        "text" => LogFormat.Text,
        _ => throw new FormatException("is not auto, json or text"),
    };
}
