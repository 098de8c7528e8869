using System.Globalization;

namespace GslbDns.Hosting;

/// <summary>How many wrong tokens a client address may present to the API.</summary>
public sealed record AuthFailureLimit
{
    /// <summary>Wrong tokens an address may present in a burst before it is refused with 429.</summary>
    public int Burst { get; init; } = 10;

    /// <summary>One more wrong token is allowed per this interval (10 a minute by default).</summary>
    public TimeSpan RefillInterval { get; init; } = TimeSpan.FromSeconds(6);

    /// <summary>Client addresses tracked at once; beyond this the newcomers share one bucket, so memory stays bounded.</summary>
    public int MaxTrackedClients { get; init; } = 4096;
}

/// <summary>
/// The API's limit on failed authentications, declared once for both processes that serve the API (gslbdns-api and
/// the DNS server's embedded API).
/// </summary>
public static class ApiAuthOptions
{
    private static readonly AuthFailureLimit Defaults = new();

    public static readonly CommandOption<int> FailureBurst = Option.Value(
        "--api-auth-failure-burst", "N", "wrong API tokens a client address (IPv4, IPv6 /64) may present before it gets 429", OptionValues.Int(1, 10_000), Defaults.Burst, Defaults.Burst.ToString(CultureInfo.InvariantCulture));

    public static readonly CommandOption<int> FailureInterval = Option.Value(
        "--api-auth-failure-interval", "SEC", "then one more wrong token per this many seconds", OptionValues.Int(1, 86_400), (int)Defaults.RefillInterval.TotalSeconds, Defaults.RefillInterval.TotalSeconds.ToString(CultureInfo.InvariantCulture));

    /// <summary>The options, in help order.</summary>
    public static IEnumerable<CommandOption> Api => [FailureBurst, FailureInterval];

    /// <summary>True when the command line sets either option (a process that serves no API reports them as errors).</summary>
    public static bool AnySet(ParsedCommandLine cl)
    {
        ArgumentNullException.ThrowIfNull(cl);
        return cl.IsSet(FailureBurst) || cl.IsSet(FailureInterval);
    }

    public static AuthFailureLimit Bind(ParsedCommandLine cl)
    {
        ArgumentNullException.ThrowIfNull(cl);
        return new AuthFailureLimit { Burst = cl.Get(FailureBurst), RefillInterval = TimeSpan.FromSeconds(cl.Get(FailureInterval)) };
    }
}
