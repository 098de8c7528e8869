using GslbDns.Gslb;

namespace GslbDns.State;

/// <summary>
/// What an external monitoring system said about one endpoint through the feed API (NS1's data feeds):
/// an up/down vote, a load figure, or both, until <see cref="Expires"/>. A lease like a forced verdict:
/// every DNS server stops counting it at the expiry on its own clock.
/// </summary>
/// <param name="Up">The vote; null when the feed carries only a load figure.</param>
/// <param name="Load">The load figure, in the unit of the endpoint's <c>capacity</c>; null when the feed carries only a vote.</param>
public sealed record FeedSetting(bool? Up, double? Load, DateTimeOffset Expires, string? Reason, string By, DateTimeOffset At) : StateSetting(Reason, By, At)
{
    public override StateKind Kind => StateKind.Feed;

    /// <summary>The part the decision engine reads.</summary>
    public FeedSignal Signal => new(Up, Load, Expires);
}
