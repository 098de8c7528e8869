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
    private const string TextTemplate = "{Timestamp:HH:mm:ss.fff} {Level:u3} {SourceContext}: {Message:lj}{NewLine}{Exception}";

    public static readonly CommandOption<LogFormat> Format = Option.Value(
        "--log-format", "auto|json|text", "log events as compact JSON (CLEF) or text; auto: text on a terminal, JSON otherwise",
        static v => v switch
        {
            "auto" => LogFormat.Auto,
            "json" => LogFormat.Json,
            "text" => LogFormat.Text,
            _ => throw new FormatException("is not auto, json or text"),
        },
        LogFormat.Auto,
        "auto");

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

    /// <summary>The process logger for a parsed command line.</summary>
    public static Serilog.Core.Logger CreateLogger(ParsedCommandLine parsed)
    {
        ArgumentNullException.ThrowIfNull(parsed);
        var configuration = new LoggerConfiguration().MinimumLevel.Is(parsed.Get(Level)).Enrich.FromLogContext();
        return WritesJson(parsed.Get(Format), logStreamIsTerminal: !Console.IsErrorRedirected)
            ? configuration.WriteTo.Console(new CompactJsonFormatter(), standardErrorFromLevel: LogEventLevel.Verbose).CreateLogger()
            : configuration.WriteTo.Console(outputTemplate: TextTemplate, standardErrorFromLevel: LogEventLevel.Verbose).CreateLogger();
    }
}
