using System.Net;
using GslbDns.Dns;
using GslbDns.Geo;
using GslbDns.Gslb;
using GslbDns.Health;
using GslbDns.Reports;

namespace GslbDns.Tests.Core.Health;

public sealed class QuorumHealthTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    internal static GslbConfig Config()
    {
        var endpoints = new[]
        {
            new Endpoint("svc/eu/192.0.2.1", "eu", IPAddress.Parse("192.0.2.1"), 100, 0),
            new Endpoint("svc/us/192.0.2.2", "us", IPAddress.Parse("192.0.2.2"), 100, 0),
        };
        var name = DnsName.Parse("svc.example.");
        var service = new ServiceConfig(name, 30, endpoints, null, [], AllUnhealthyBehavior.FailOpen, []);
        return GslbConfig.Empty with { Services = new Dictionary<DnsName, ServiceConfig> { [name] = service } };
    }

    internal static ProberReport Report(string prober, string region, DateTimeOffset at, params (string Endpoint, bool Up, double? Rtt)[] views)
        => new(
            new ProberInfo(prober, region, 0, 0, at.AddMinutes(-5)),
            views.ToDictionary(v => v.Endpoint, v => new EndpointObservation(v.Up, v.Up ? 0 : 3, v.Up ? 5 : 0, v.Rtt, at, v.Up ? null : "refused")),
            at);

    [Fact]
    public void A_minority_seeing_an_endpoint_down_does_not_fail_it()
    {
        var view = QuorumHealth.Compute(
            [
                Report("p1", "eu", Now, ("svc/eu/192.0.2.1", false, null)),
                Report("p2", "us", Now, ("svc/eu/192.0.2.1", true, 80)),
                Report("p3", "ap", Now, ("svc/eu/192.0.2.1", true, 200)),
            ],
            Config(), Now, TimeSpan.FromSeconds(5));
        Assert.True(view.Health["svc/eu/192.0.2.1"]);
        Assert.Equal(1, view.Verdicts["svc/eu/192.0.2.1"].Down);
        Assert.Equal(3, view.Verdicts["svc/eu/192.0.2.1"].Voters);
    }

    [Fact]
    public void A_majority_fails_it_and_a_tie_keeps_it()
    {
        var majority = QuorumHealth.Compute(
            [
                Report("p1", "eu", Now, ("svc/eu/192.0.2.1", false, null)),
                Report("p2", "us", Now, ("svc/eu/192.0.2.1", false, null)),
                Report("p3", "ap", Now, ("svc/eu/192.0.2.1", true, 200)),
            ],
            Config(), Now, TimeSpan.FromSeconds(5));
        Assert.False(majority.Health["svc/eu/192.0.2.1"]);

        var tie = QuorumHealth.Compute(
            [
                Report("p1", "eu", Now, ("svc/eu/192.0.2.1", false, null)),
                Report("p2", "us", Now, ("svc/eu/192.0.2.1", true, 50)),
            ],
            Config(), Now, TimeSpan.FromSeconds(5));
        Assert.True(tie.Health["svc/eu/192.0.2.1"]);
    }

    [Fact]
    public void Stale_reports_do_not_vote_and_a_single_prober_is_a_quorum_of_one()
    {
        var view = QuorumHealth.Compute(
            [
                Report("p1", "eu", Now, ("svc/eu/192.0.2.1", false, null)),
                Report("stuck", "us", Now.AddSeconds(-30), ("svc/eu/192.0.2.1", true, 50)),
            ],
            Config(), Now, TimeSpan.FromSeconds(5));
        Assert.Equal(["p1"], view.LiveProbers);
        Assert.False(view.Health["svc/eu/192.0.2.1"]);
    }

    [Fact]
    public void Unreported_endpoints_get_no_verdict_so_they_fail_open()
    {
        var view = QuorumHealth.Compute([Report("p1", "eu", Now, ("svc/eu/192.0.2.1", true, 5))], Config(), Now, TimeSpan.FromSeconds(5));
        Assert.False(view.Health.ContainsKey("svc/us/192.0.2.2"));
        var state = GslbState.Empty with { Health = view.Health };
        Assert.True(state.IsUsable(Config().Services.Values.Single().Endpoints[1], Now));
    }

    [Fact]
    public void Rtt_matrix_averages_the_probers_of_a_region_per_data_center()
    {
        var view = QuorumHealth.Compute(
            [
                Report("p1", "eu", Now, ("svc/eu/192.0.2.1", true, 10), ("svc/us/192.0.2.2", true, 90)),
                Report("p2", "eu", Now, ("svc/eu/192.0.2.1", true, 20), ("svc/us/192.0.2.2", false, null)),
                Report("p3", "us", Now, ("svc/eu/192.0.2.1", true, 85), ("svc/us/192.0.2.2", true, 4)),
            ],
            Config(), Now, TimeSpan.FromSeconds(5));
        Assert.True(view.Rtt.TryGet("eu", "eu", out var euEu));
        Assert.Equal(15, euEu, 3);
        Assert.True(view.Rtt.TryGet("eu", "us", out var euUs));
        Assert.Equal(90, euUs, 3);
        Assert.True(view.Rtt.TryGet("us", "us", out var usUs));
        Assert.Equal(4, usUs, 3);
    }
}
