namespace GslbDns.Probing;

/// <summary>What the pacing rule needs to know about one endpoint at one moment.</summary>
/// <param name="Up">The tracker's verdict (true before the first probe: fail open).</param>
/// <param name="ConsecutiveFailures">The failure streak, counted in completion order.</param>
/// <param name="InFlight">Probes of this endpoint started and not yet finished.</param>
/// <param name="NewestInFlight">The most recently started probe has not finished yet.</param>
/// <param name="LastStart">When the most recent probe was due (the base of the re-check spacing).</param>
/// <param name="RoutineDue">When the next probe is due at the normal interval.</param>
public readonly record struct PaceState(
    bool Up,
    int ConsecutiveFailures,
    int InFlight,
    bool NewestInFlight,
    DateTimeOffset LastStart,
    DateTimeOffset RoutineDue);

/// <summary>
/// When an endpoint's next probe starts. The normal pace is one probe per interval. An endpoint that is still up
/// but suspect (its latest probe failed, or the newest probe in flight has taken longer than a re-check step) gets a new
/// probe every re-check step, without waiting for the previous one's timeout, so a silent endpoint's failures
/// arrive a step apart instead of a timeout apart. Probes in flight are bounded; a confirmed-down endpoint is probed
/// once per interval, one probe at a time; recovery is confirmed at the normal pace.
/// </summary>
/// <remarks>
/// The pace never decides a verdict: every finished probe is recorded by <see cref="EndpointTracker"/> in completion
/// order, and only <c>failureThreshold</c> consecutive failures take an endpoint down. Extra probes make a real outage
/// show sooner; one lost probe is still one failure, cancelled by the next success.
/// </remarks>
public static class ProbePacing
{
    /// <summary>The next start time (possibly already past: start now), or null: wait for a probe in flight to finish.</summary>
    /// <param name="recheck">
    /// The re-check step: interval x <see cref="ProbeSchedulerOptions.SuspectRecheck"/>. Also how long the newest probe may
    /// run before the endpoint counts as suspect: not a multiple of its smoothed RTT, which one slow sample (a cold
    /// connection) inflates past the timeout; a far endpoint costs at most one extra probe per interval.
    /// </param>
    /// <param name="maxInFlight">Probes of one endpoint allowed in flight at once.</param>
    public static DateTimeOffset? NextStart(in PaceState state, TimeSpan recheck, int maxInFlight)
    {
        if (state.InFlight >= maxInFlight)
        {
            return null;
        }

        if (!state.Up)
        {
            return state.InFlight > 0 ? null : state.RoutineDue;
        }

        if (state.ConsecutiveFailures > 0)
        {
            return Earlier(state.LastStart + recheck, state.RoutineDue);
        }

        if (state.NewestInFlight)
        {
            return Earlier(state.LastStart + recheck, state.RoutineDue);
        }

        return state.RoutineDue;
    }

    private static DateTimeOffset Earlier(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}
