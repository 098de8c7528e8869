using System.Collections.Frozen;
using GslbDns.Gslb;
using GslbDns.Gslb.Policies;
using static GslbDns.Tests.Core.Gslb.Policies.PolicyTestSupport;

namespace GslbDns.Tests.Core.Gslb.Policies;

/// <summary>
/// External feeds in the verdict (issue 15 item 4: vote, veto, off, expiry) and capacity-aware load shedding in the
/// ranking steps (item 5), on the decision engine itself.
/// </summary>
public sealed class FeedAndSheddingTests
{
    private static readonly Endpoint Probed = Endpoint(Dublin.Name, "192.0.2.1");

    private static GslbState With(GslbState state, bool? up, double? load = null, DateTimeOffset? expires = null, ProberTally? tally = null, bool? health = null) =>
        state with
        {
            Feeds = new Dictionary<string, FeedSignal> { [Probed.Id] = new(up, load, expires ?? Now.AddMinutes(1)) }.ToFrozenDictionary(),
            Tallies = tally is { } t ? new Dictionary<string, ProberTally> { [Probed.Id] = t }.ToFrozenDictionary() : state.Tallies,
            Health = health is { } h ? new Dictionary<string, bool> { [Probed.Id] = h }.ToFrozenDictionary() : state.Health,
        };

    [Theory]
    // Vote: one more voter in the strict majority.
    [InlineData(FeedMode.Vote, 3, 1, false, true)] // 3 probers (1 down) + feed down: 2 of 4 down, a tie keeps it
    [InlineData(FeedMode.Vote, 3, 2, true, true)] // 2 of 3 down would fail it; the feed's up makes it 2 of 4
    [InlineData(FeedMode.Vote, 1, 0, false, true)] // 1 up + feed down: tie
    [InlineData(FeedMode.Vote, 2, 1, false, false)] // 1 of 2 down + feed down: 2 of 3 down
    [InlineData(FeedMode.Vote, 0, 0, false, false)] // no prober: the feed alone decides
    [InlineData(FeedMode.Vote, 0, 0, true, true)]
    // Veto: a down feed takes it out whatever the probers say; up never brings it back.
    [InlineData(FeedMode.Veto, 3, 0, false, false)]
    [InlineData(FeedMode.Veto, 3, 2, true, false)]
    [InlineData(FeedMode.Veto, 3, 0, true, true)]
    // Off: ignored.
    [InlineData(FeedMode.Off, 3, 0, false, true)]
    [InlineData(FeedMode.Off, 3, 2, true, false)]
    public void A_live_feed_counts_as_its_mode_says(FeedMode mode, int voters, int down, bool feedUp, bool usable)
    {
        var endpoint = Probed with { FeedMode = mode };
        var tally = new ProberTally(voters, down);
        var state = With(StateOf(), feedUp, tally: voters > 0 ? tally : null, health: voters > 0 ? tally.Healthy : null);
        Assert.Equal(usable, state.IsUsable(endpoint, Now));
    }

    [Fact]
    public void An_expired_feed_stops_counting_at_its_expiry_on_the_query_clock()
    {
        var state = With(StateOf(), up: false, expires: Now.AddSeconds(10), tally: new ProberTally(1, 0), health: true);
        var veto = Probed with { FeedMode = FeedMode.Veto };
        Assert.False(state.IsUsable(veto, Now.AddSeconds(9.999)));
        Assert.True(state.IsUsable(veto, Now.AddSeconds(10)));

        // A load-only feed casts no vote, and its load expires the same way (then the probe's load, if any, counts).
        var loadOnly = With(StateOf(), up: null, load: 0.9, expires: Now.AddSeconds(10)) with
        {
            ProbedLoads = new Dictionary<string, double> { [Probed.Id] = 0.2 }.ToFrozenDictionary(),
        };
        Assert.True(loadOnly.IsUsable(veto, Now));
        Assert.True(loadOnly.TryGetLoad(Probed, Now, out var load, out var fromFeed));
        Assert.Equal((0.9, true), (load, fromFeed));
        Assert.True(loadOnly.TryGetLoad(Probed, Now.AddSeconds(11), out load, out fromFeed));
        Assert.Equal((0.2, false), (load, fromFeed));
    }

    [Theory]
    [InlineData(0.5, 0)]
    [InlineData(0.8, 0)]
    [InlineData(0.9, 0.5)]
    [InlineData(1.0, 1)]
    [InlineData(3.0, 1)]
    public void Shedding_starts_at_the_low_watermark_and_is_total_at_the_high_one(double utilisation, double share) =>
        Assert.Equal(share, new LoadShedding(0.8, 1.0).ShareAt(utilisation), 9);

    [Theory]
    [InlineData(0.7, 0.0)]
    [InlineData(0.85, 0.25)]
    [InlineData(0.9, 0.5)]
    [InlineData(0.95, 0.75)]
    [InlineData(1.2, 1.0)]
    public void Geo_proximity_sheds_that_share_of_client_subnets_to_the_next_nearest_data_center(double load, double share)
    {
        // Two endpoints in Dublin of capacity 2 each (load figures summed over capacities), one in Frankfurt.
        Endpoint[] endpoints =
        [
            Endpoint(Dublin.Name, "192.0.2.1") with { Capacity = 2 },
            Endpoint(Dublin.Name, "192.0.2.2") with { Capacity = 2 },
            Endpoint(Frankfurt.Name, "192.0.2.3"),
        ];
        var service = Service(endpoints, [new GeoProximityPolicy(1)]) with { Shedding = new LoadShedding(0.8, 1.0) };
        var config = ConfigOf(World);
        var state = StateOf() with
        {
            ProbedLoads = new Dictionary<string, double> { [endpoints[0].Id] = 2 * load, [endpoints[1].Id] = 2 * load, [endpoints[2].Id] = 0.1 }.ToFrozenDictionary(),
        };
        // The location is known for a /16; shedding by /24 narrows the scope the answer depends on to the /24.
        var locator = new StubLocator(London, scope: 16);
        const int Subnets = 2000;
        var shed = 0;
        for (var i = 0; i < Subnets; i++)
        {
            var client = $"10.{i / 256}.{i % 256}.7";
            var context = Context(service, config, state, locator, client);
            var kept = Run(service.Policies[0], context);
            var dataCenters = DataCentersOf(service, kept).Distinct().ToArray();
            Assert.Single(dataCenters);
            shed += dataCenters[0] == Frankfurt.Name ? 1 : 0;
            Assert.Equal(share > 0 ? 24 : 16, context.ScopePrefix);

            // The same /24 always gets the same answer (another host in it, another server, another run).
            var again = Context(service, config, state, locator, $"10.{i / 256}.{i % 256}.200");
            Assert.Equal(kept, Run(service.Policies[0], again));
        }

        if (share is 0 or 1)
        {
            Assert.Equal((int)(share * Subnets), shed);
        }
        else
        {
            AssertBinomial(shed, Subnets, share, "subnets shed to frankfurt");
        }
    }

    [Fact]
    public void Every_data_center_overloaded_keeps_the_nearest_and_explain_says_what_was_shed()
    {
        Endpoint[] endpoints = [Endpoint(Dublin.Name, "192.0.2.1"), Endpoint(Frankfurt.Name, "192.0.2.3")];
        var service = Service(endpoints, [new GeoProximityPolicy(1)]) with { Shedding = new LoadShedding(0.5, 0.6) };
        var state = StateOf() with
        {
            Feeds = new Dictionary<string, FeedSignal>
            {
                [endpoints[0].Id] = new(null, 0.9, Now.AddMinutes(1)),
                [endpoints[1].Id] = new(null, 0.95, Now.AddMinutes(1)),
            }.ToFrozenDictionary(),
        };
        var context = Context(service, ConfigOf(World), state, new StubLocator(London));
        context.Trace = new SelectionTrace();
        Assert.Equal([0], Run(service.Policies[0], context));
        var note = context.TakeNote();
        Assert.NotNull(note);
        Assert.Contains("load shedding: dublin at 90% of capacity", note, StringComparison.Ordinal);
        Assert.Contains("sheds 100% of clients", note, StringComparison.Ordinal);
        Assert.Contains("shed to the next-ranked data center", note, StringComparison.Ordinal);
    }

    [Fact]
    public void Explain_notes_each_feed_and_how_it_counted()
    {
        var service = Service([Probed with { FeedMode = FeedMode.Veto }]);
        var state = With(StateOf(), up: false, tally: new ProberTally(3, 0), health: true);
        var context = Context(service, state: state);
        context.Trace = new SelectionTrace();
        var buffer = new int[1];
        var count = ServiceSelector.Select(service, GslbDns.Dns.RecordType.A, context, buffer, out _);
        Assert.Equal(1, count); // fail open: its only endpoint is out
        var healthy = context.Trace.Steps.Single(s => s.Policy == "healthy");
        Assert.Contains($"{Probed.Id} feed down (veto; probers 3 up/0 down, probed healthy) -> unhealthy", healthy.Note, StringComparison.Ordinal);
    }
}
