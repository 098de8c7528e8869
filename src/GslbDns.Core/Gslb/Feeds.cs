namespace GslbDns.Gslb;

/// <summary>How an endpoint's external feed (the feed API) counts in its health verdict (<c>feed</c> in the GSLB config).</summary>
public enum FeedMode
{
    /// <summary>One more voter beside the live probers, in the same strict majority (default).</summary>
    Vote,

    /// <summary>A down feed makes the endpoint down whatever the probers say; an up feed does not overrule them.</summary>
    Veto,

    /// <summary>The feed's up/down is ignored (its load figure still counts for load shedding).</summary>
    Off,
}

/// <summary>Config spellings of <see cref="FeedMode"/>.</summary>
public static class FeedModes
{
    public static readonly string[] Names = ["vote", "veto", "off"];

    public static string Name(FeedMode mode) => mode switch
    {
        FeedMode.Vote => "vote",
        FeedMode.Veto => "veto",
        FeedMode.Off => "off",
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, null),
    };

    public static bool TryParse(string text, out FeedMode mode)
    {
        var index = Array.IndexOf(Names, text);
        mode = index < 0 ? default : (FeedMode)index;
        return index >= 0;
    }
}

/// <summary>An external feed's vote and load figure for one endpoint, valid until <see cref="Expires"/>.</summary>
public sealed record FeedSignal(bool? Up, double? Load, DateTimeOffset Expires)
{
    public bool IsLive(DateTimeOffset now) => Expires > now;
}

/// <summary>How many live probers check an endpoint and how many of them see it down.</summary>
public readonly record struct ProberTally(int Voters, int Down)
{
    /// <summary>
    /// The quorum rule, the one place it is written: healthy unless strictly more than half the voters see it
    /// down, so a minority is outvoted and a tie keeps the endpoint in service.
    /// </summary>
    public static bool IsHealthy(int voters, int down) => down * 2 <= voters;

    public bool Healthy => IsHealthy(Voters, Down);

    /// <summary>This tally with the feed counted as one more voter.</summary>
    public ProberTally With(bool feedUp) => new(Voters + 1, Down + (feedUp ? 0 : 1));
}

/// <summary>
/// A service's <c>loadShedding</c>, NS1 <c>shed_load</c> style: a data center whose load (the sum of its
/// candidates' load figures over the sum of their capacities) reaches <see cref="LowWatermark"/> starts handing
/// a share of its clients to the next-nearest data center, the share rising linearly to all of them at
/// <see cref="HighWatermark"/>.
/// </summary>
public sealed record LoadShedding(double LowWatermark, double HighWatermark)
{
    /// <summary>The share of clients to shed at <paramref name="utilisation"/>: 0 below the low watermark, 1 at or above the high one.</summary>
    public double ShareAt(double utilisation) =>
        utilisation <= LowWatermark ? 0 : utilisation >= HighWatermark ? 1 : (utilisation - LowWatermark) / (HighWatermark - LowWatermark);
}

/// <summary>A check's <c>load</c>: where the prober reads a load figure in a successful HTTP health response.</summary>
/// <param name="Header">A response header whose value is the figure.</param>
/// <param name="JsonPath">Property names leading to a number in the JSON body.</param>
public sealed record LoadSource(string? Header, IReadOnlyList<string>? JsonPath)
{
    public override string ToString() => Header is not null ? "header " + Header : "json " + string.Join('.', JsonPath ?? []);
}
