using System.Globalization;
using System.Net;
using GslbDns.Hosting;

namespace GslbDns.Api.Drills;

/// <summary>How the API plans and runs drills (command line: <c>--drill-*</c>).</summary>
public sealed record DrillOptions
{
    /// <summary>A drill without <c>durationSeconds</c> runs this long, like an ARC practice run.</summary>
    public TimeSpan DefaultDuration { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>Shorter drills are refused (400). Tests lower it to a second.</summary>
    public TimeSpan MinDuration { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Default share of each affected service's effective weight that must stay outside the target.</summary>
    public double DefaultCapacityFloor { get; init; } = 0.5;

    /// <summary>Times no drill may overlap (UTC).</summary>
    public IReadOnlyList<BlockedWindow> BlockedWindows { get; init; } = [];

    /// <summary>The authoritative servers to verify; empty: the NS names of the affected zones and their addresses from our own zone data.</summary>
    public IReadOnlyList<IPEndPoint> Servers { get; init; } = [];

    /// <summary>Port used with addresses found through NS records.</summary>
    public int NameServerPort { get; init; } = 53;

    /// <summary>Client subnets the dry run and the runner ask as (ECS); empty: one per continent plus one near each target.</summary>
    public IReadOnlyList<string> ClientSubnets { get; init; } = [];

    /// <summary>A server must converge within this plus the service TTL, out and back.</summary>
    public TimeSpan ConvergenceSlack { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Between two rounds of queries to a server.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan QueryTimeout { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Between two requests to the outcome probe.</summary>
    public TimeSpan ProbeInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Recurring practice drills this API process starts (with the runner on).</summary>
    public IReadOnlyList<PracticeSchedule> Practice { get; init; } = [];

    /// <summary>Off: this process plans and records drills but another API process runs them.</summary>
    public bool RunnerEnabled { get; init; } = true;

    /// <summary>Who this runner is in a drill's claim.</summary>
    public string RunnerId { get; init; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid().ToString("N")[..6]}";

    public static readonly CommandOption<double> MinDurationOption = Option.Value("--drill-min-duration", "SEC", "shortest drill accepted", Seconds, 60.0, "60");

    public static readonly CommandOption<double> DefaultDurationOption = Option.Value("--drill-default-duration", "SEC", "drill length when a request gives none", Seconds, 1800.0, "1800");

    public static readonly CommandOption<double> FloorOption = Option.Value("--drill-floor", "SHARE", "default capacity floor, 0..1", Share, 0.5, "0.5");

    public static readonly CommandOption<BlockedWindow> BlockedOption = Option.Repeatable(
        "--drill-blocked-window", "W", "no drill overlaps W: DAY:HH:MM-DAY:HH:MM (UTC, e.g. MON:09:00-FRI:17:00)\nor a date YYYY-MM-DD; repeatable",
        v => BlockedWindow.TryParse(v, out var w, out var e) ? w : throw new FormatException(e));

    public static readonly CommandOption<PracticeSchedule> PracticeOption = Option.Repeatable(
        "--drill-practice", "P", "recurring practice drill: DC[,DC...]/EVERY_DAYS/DAY:HH:MM-DAY:HH:MM/SECONDS\n(starts inside the window, UTC); repeatable",
        v => PracticeSchedule.TryParse(v, out var p, out var e) ? p : throw new FormatException(e));

    public static readonly CommandOption<IPEndPoint> ServerOption = Option.Repeatable(
        "--drill-server", "ADDR:PORT", "authoritative server a drill verifies; repeatable\n(default: the zones' NS addresses, port 53)", OptionValues.EndPoint("[::1]:53"));

    public static readonly CommandOption<string> ClientOption = Option.Repeatable(
        "--drill-client", "SUBNET", "client subnet (ECS) for dry runs and verification; repeatable\n(default: one per continent and one near each target)",
        v => Answers.Explainer.TryParseClient(v, out _, out _) ? v : throw new FormatException("is not ADDR or ADDR/PREFIX"));

    public static readonly CommandOption<double> SlackOption = Option.Value("--drill-slack", "SEC", "convergence bound on top of the service TTL", Seconds, 10.0, "10");

    public static readonly CommandOption<bool> NoRunnerOption = Option.Flag("--no-drill-runner", "plan and record drills, but leave running them to another API process");

    /// <summary>The <c>--drill-*</c> options, for a program's option table.</summary>
    public static IEnumerable<CommandOption> CommandLine =>
        [MinDurationOption, DefaultDurationOption, FloorOption, BlockedOption, PracticeOption, ServerOption, ClientOption, SlackOption, NoRunnerOption];

    public static DrillOptions Bind(ParsedCommandLine cl) => new()
    {
        MinDuration = TimeSpan.FromSeconds(cl.Get(MinDurationOption)),
        DefaultDuration = TimeSpan.FromSeconds(cl.Get(DefaultDurationOption)),
        DefaultCapacityFloor = cl.Get(FloorOption),
        BlockedWindows = cl.All(BlockedOption),
        Practice = cl.All(PracticeOption),
        Servers = cl.All(ServerOption),
        ClientSubnets = cl.All(ClientOption),
        ConvergenceSlack = TimeSpan.FromSeconds(cl.Get(SlackOption)),
        RunnerEnabled = !cl.Get(NoRunnerOption),
    };

    private static double Seconds(string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds > 0 && seconds <= DrillLimits.MaxDuration.TotalSeconds
            ? seconds
            : throw new FormatException($"is not a number of seconds from 0 to {DrillLimits.MaxDuration.TotalSeconds:0}");

    private static double Share(string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var share) && share is >= 0 and <= 1
            ? share
            : throw new FormatException("is not a share from 0 to 1");
}

internal static class DrillLimits
{
    public static TimeSpan MaxDuration => State.DrillSetting.MaxDuration;
}

/// <summary>
/// A time no drill may overlap, in UTC: a weekly window <c>DAY:HH:MM-DAY:HH:MM</c> (ARC's blocked-window
/// form, e.g. <c>MON:09:00-MON:17:00</c>; it may wrap over the week's end) or a whole date <c>YYYY-MM-DD</c>.
/// </summary>
public sealed record BlockedWindow(string Text, int? StartMinuteOfWeek, int? EndMinuteOfWeek, DateOnly? Date)
{
    private const int MinutesPerWeek = 7 * 24 * 60;
    private static readonly string[] Days = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"];

    public static bool TryParse(string text, out BlockedWindow window, out string error)
    {
        window = null!;
        error = "";
        var trimmed = text.Trim().ToUpperInvariant();
        if (DateOnly.TryParseExact(trimmed, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            window = new BlockedWindow(trimmed, null, null, date);
            return true;
        }

        var parts = trimmed.Split('-');
        if (parts.Length == 2 && MinuteOfWeek(parts[0]) is { } start && MinuteOfWeek(parts[1]) is { } end && start != end)
        {
            window = new BlockedWindow(trimmed, start, end, null);
            return true;
        }

        error = $"'{text}' is not DAY:HH:MM-DAY:HH:MM (UTC, days MON..SUN, start and end differ) or YYYY-MM-DD";
        return false;
    }

    /// <summary>True when [<paramref name="from"/>, <paramref name="to"/>) shares any moment with this window.</summary>
    public bool Overlaps(DateTimeOffset from, DateTimeOffset to)
    {
        if (Date is { } date)
        {
            var dayStart = new DateTimeOffset(date.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
            return from < dayStart.AddDays(1) && to > dayStart;
        }

        var length = ((EndMinuteOfWeek!.Value - StartMinuteOfWeek!.Value) % MinutesPerWeek + MinutesPerWeek) % MinutesPerWeek;
        var utc = from.UtcDateTime;
        var monday = utc.Date.AddDays(-(((int)utc.DayOfWeek + 6) % 7));
        for (var week = monday.AddDays(-7); week < to.UtcDateTime.AddDays(7); week = week.AddDays(7))
        {
            var start = new DateTimeOffset(week, TimeSpan.Zero).AddMinutes(StartMinuteOfWeek.Value);
            if (from < start.AddMinutes(length) && to > start)
            {
                return true;
            }
        }

        return false;
    }

    private static int? MinuteOfWeek(string text)
    {
        var fields = text.Split(':');
        if (fields.Length != 3)
        {
            return null;
        }

        var day = Array.IndexOf(Days, fields[0]);
        if (day < 0 || !int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var hour) || hour > 24
            || !int.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out var minute) || minute > 59 || (hour == 24 && minute != 0))
        {
            return null;
        }

        return (day * 24 * 60) + (hour * 60) + minute;
    }
}

/// <summary>
/// A recurring practice drill (<c>--drill-practice</c>): evacuate <see cref="DataCenters"/> for
/// <see cref="Duration"/> every <see cref="EveryDays"/> days, starting only inside <see cref="Allowed"/> (UTC).
/// Text form: <c>DC[,DC...]/EVERY_DAYS/DAY:HH:MM-DAY:HH:MM/SECONDS</c>, e.g. <c>eu-west/7/TUE:10:00-TUE:16:00/1800</c>.
/// </summary>
public sealed record PracticeSchedule(string Text, IReadOnlyList<string> DataCenters, int EveryDays, BlockedWindow Allowed, TimeSpan Duration)
{
    /// <summary>Ids of this schedule's drills start with this (one id per period, so two API processes cannot both create it).</summary>
    public string IdPrefix => "practice-" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Text)))[..8].ToLowerInvariant() + "-";

    public static bool TryParse(string text, out PracticeSchedule schedule, out string error)
    {
        schedule = null!;
        var parts = text.Split('/');
        if (parts.Length != 4 || parts[0].Length == 0
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var every) || every < 1 || every > 366
            || !BlockedWindow.TryParse(parts[2], out var window, out _) || window.Date is not null
            || !double.TryParse(parts[3], NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || seconds <= 0 || seconds > DrillLimits.MaxDuration.TotalSeconds)
        {
            error = $"'{text}' is not DC[,DC...]/EVERY_DAYS(1..366)/DAY:HH:MM-DAY:HH:MM/SECONDS";
            return false;
        }

        error = "";
        schedule = new PracticeSchedule(text, parts[0].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), every, window, TimeSpan.FromSeconds(seconds));
        return true;
    }

    /// <summary>
    /// The id of the drill due at <paramref name="now"/>, or null: inside the allowed window, and the last
    /// drill of this schedule that ran (not refused) started at least <see cref="EveryDays"/> days ago. The id
    /// names the period (days since the epoch, in steps of <see cref="EveryDays"/>) so it is the same for every runner.
    /// </summary>
    public string? DueId(DateTimeOffset now, DateTimeOffset? lastRun)
    {
        if (!Allowed.Overlaps(now, now.AddTicks(1)) || (lastRun is { } last && now - last < TimeSpan.FromDays(EveryDays)))
        {
            return null;
        }

        var period = (long)Math.Floor((now - DateTimeOffset.UnixEpoch).TotalDays / EveryDays);
        return IdPrefix + period.ToString(CultureInfo.InvariantCulture);
    }
}
