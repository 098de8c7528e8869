using GslbDns.Probing;
using static GslbDns.Tests.Core.Probing.ProbeTestSupport;

namespace GslbDns.Tests.Core.Probing;

public sealed class EndpointTrackerTests
{
    [Fact]
    public void New_endpoint_is_up_and_has_no_observation_before_its_first_probe()
    {
        var tracker = new EndpointTracker(3, 2);
        Assert.True(tracker.Up);
        Assert.Null(tracker.Observation);
    }

    [Fact]
    public void Goes_down_after_exactly_three_failures_and_up_after_exactly_two_successes()
    {
        var tracker = new EndpointTracker(failureThreshold: 3, successThreshold: 2);

        var (first, flip1) = tracker.Record(Failure("refused"));
        Assert.True(first.Up);
        Assert.False(flip1);
        Assert.Equal(1, first.ConsecutiveFailures);
        Assert.Equal("refused", first.Error);

        Assert.False(tracker.Record(Failure()).VerdictChanged);
        var (third, flip3) = tracker.Record(Failure("timed out"));
        Assert.True(flip3);
        Assert.False(third.Up);
        Assert.Equal(3, third.ConsecutiveFailures);
        Assert.Equal(0, third.ConsecutiveSuccesses);
        Assert.Equal("timed out", third.Error);

        // Further failures keep it down without flipping again.
        Assert.False(tracker.Record(Failure()).VerdictChanged);

        var (success1, flipS1) = tracker.Record(Success());
        Assert.False(success1.Up);
        Assert.False(flipS1);
        Assert.Equal(1, success1.ConsecutiveSuccesses);
        Assert.Equal(0, success1.ConsecutiveFailures);
        Assert.Null(success1.Error);

        var (success2, flipS2) = tracker.Record(Success());
        Assert.True(flipS2);
        Assert.True(success2.Up);
        Assert.Equal(2, success2.ConsecutiveSuccesses);
    }

    [Fact]
    public void A_success_resets_the_failure_streak()
    {
        var tracker = new EndpointTracker(3, 2);
        tracker.Record(Failure());
        tracker.Record(Failure());
        tracker.Record(Success());
        tracker.Record(Failure());
        var (observation, flipped) = tracker.Record(Failure());
        Assert.True(observation.Up);
        Assert.False(flipped);
        Assert.Equal(2, observation.ConsecutiveFailures);
    }

    [Fact]
    public void Suspect_only_while_up_with_a_failure_streak()
    {
        var tracker = new EndpointTracker(3, 2);
        Assert.False(EndpointTracker.IsSuspect(tracker.Record(Success()).Observation));
        Assert.True(EndpointTracker.IsSuspect(tracker.Record(Failure()).Observation));
        Assert.True(EndpointTracker.IsSuspect(tracker.Record(Failure()).Observation));

        // Confirmed down, then recovering (one success of two), then up: none of these is suspect.
        Assert.False(EndpointTracker.IsSuspect(tracker.Record(Failure()).Observation));
        Assert.False(EndpointTracker.IsSuspect(tracker.Record(Success()).Observation));
        Assert.False(EndpointTracker.IsSuspect(tracker.Record(Success()).Observation));
        Assert.True(tracker.Up);
    }

    [Fact]
    public void Alternating_flaps_never_flip_the_verdict()
    {
        var tracker = new EndpointTracker(3, 2);
        var flips = 0;
        for (var i = 0; i < 200; i++)
        {
            flips += tracker.Record(i % 2 == 0 ? Failure() : Success()).VerdictChanged ? 1 : 0;
        }

        Assert.Equal(0, flips);
        Assert.True(tracker.Up);
    }

    [Fact]
    public void Random_flapping_flips_at_most_once_per_failure_plus_success_threshold_probes()
    {
        // Every down-up round trip needs at least 3 failures and 2 successes, so N probes allow at most 2N/5 flips.
        var random = new Random(12345);
        var tracker = new EndpointTracker(3, 2);
        const int probes = 2000;
        var flips = 0;
        for (var i = 0; i < probes; i++)
        {
            flips += tracker.Record(random.NextDouble() < 0.5 ? Failure() : Success()).VerdictChanged ? 1 : 0;
        }

        Assert.InRange(flips, 1, 2 * probes / 5);

        // A coin-flipping endpoint rarely strings 3 failures together: far fewer flips than probes.
        Assert.True(flips < probes / 5, $"{flips} flips in {probes} probes");
    }

    [Fact]
    public void Rtt_is_an_ewma_with_alpha_0_3_of_successful_probes_only()
    {
        var tracker = new EndpointTracker(3, 2);
        Assert.Equal(100, tracker.Record(Success(100)).Observation.RttMs);
        Assert.Equal(0.3 * 200 + 0.7 * 100, tracker.Record(Success(200)).Observation.RttMs!.Value, 6);

        // A failure (its elapsed time is a timeout, not an RTT) leaves the average alone.
        Assert.Equal(130, tracker.Record(Failure()).Observation.RttMs!.Value, 6);
        Assert.Equal(0.3 * 30 + 0.7 * 130, tracker.Record(Success(30)).Observation.RttMs!.Value, 6);
    }

    [Fact]
    public void New_thresholds_apply_from_the_next_probe_and_keep_the_streaks()
    {
        var tracker = new EndpointTracker(5, 2);
        tracker.Record(Failure());
        tracker.Record(Failure());
        tracker.SetThresholds(3, 2);
        Assert.True(tracker.Up);
        var (observation, flipped) = tracker.Record(Failure());
        Assert.True(flipped);
        Assert.False(observation.Up);
        Assert.Equal(3, observation.ConsecutiveFailures);
    }
}
