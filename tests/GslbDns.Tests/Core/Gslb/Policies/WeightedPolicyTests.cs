using System.Text;
using GslbDns.Gslb;
using GslbDns.Gslb.Policies;
using static GslbDns.Tests.Core.Gslb.Policies.PolicyTestSupport;

namespace GslbDns.Tests.Core.Gslb.Policies;

public sealed class WeightedPolicyTests
{
    private const int Trials = 10_000;

    private static ServiceConfig Weighted(params int[] weights) =>
        Service([.. weights.Select((w, i) => Endpoint($"dc{i}", $"192.0.2.{i + 1}", weight: w))]);

    private static int[] Tally(WeightedPolicy policy, ServiceConfig svc, GslbState? state = null)
    {
        var counts = new int[svc.Endpoints.Count];
        var context = Context(svc, state: state);
        for (var run = 0; run < Trials; run++)
        {
            counts[Run(policy, context)[0]]++;
        }

        return counts;
    }

    [Fact]
    public void Picks_in_proportion_to_weight()
    {
        var svc = Weighted(1, 2, 3, 4);

        var counts = Tally(new WeightedPolicy(1, false, new Random(20250601)), svc);

        for (var i = 0; i < 4; i++)
        {
            AssertBinomial(counts[i], Trials, (i + 1) / 10.0, $"weight {i + 1}");
        }
    }

    [Fact]
    public void Unseeded_policy_also_follows_the_weights()
    {
        var counts = Tally(new WeightedPolicy(1, false), Weighted(1, 9));

        AssertBinomial(counts[0], Trials, 0.1, "weight 1 of 10");
    }

    [Fact]
    public void Weight_zero_is_never_chosen()
    {
        var svc = Weighted(0, 5, 0, 5);
        var policy = new WeightedPolicy(4, false, new Random(1));
        for (var run = 0; run < 2_000; run++)
        {
            var kept = Run(policy, Context(svc));
            Assert.Equal([1, 3], kept.Order());
        }
    }

    [Fact]
    public void All_zero_weights_give_equal_chances()
    {
        var counts = Tally(new WeightedPolicy(1, false, new Random(3)), Weighted(0, 0, 0, 0, 0));

        Assert.All(counts, c => AssertBinomial(c, Trials, 0.2, "each of five zero weights"));
    }

    [Fact]
    public void Operator_weight_overrides_apply()
    {
        var svc = Weighted(1, 1, 1);

        // dc0 zeroed by data center, endpoint 2 raised to 8 by id.
        var state = StateOf(weights: [new("dc0", 0), new(svc.Endpoints[2].Id, 8)]);
        var counts = Tally(new WeightedPolicy(1, false, new Random(5)), svc, state);

        Assert.Equal(0, counts[0]);
        AssertBinomial(counts[2], Trials, 8 / 9.0, "override weight 8 of 9");
    }

    [Fact]
    public void Several_picks_are_without_replacement_and_the_first_follows_the_weights()
    {
        var svc = Weighted(1, 2, 3, 4);
        var policy = new WeightedPolicy(3, false, new Random(11));
        var first = new int[4];
        var left = new int[4];
        for (var run = 0; run < Trials; run++)
        {
            var kept = Run(policy, Context(svc));
            Assert.Equal(3, kept.Distinct().Count());
            first[kept[0]]++;
            left[6 - kept.Sum()]++;
        }

        for (var i = 0; i < 4; i++)
        {
            AssertBinomial(first[i], Trials, (i + 1) / 10.0, $"first pick weight {i + 1}");
        }

        // P(endpoint 0 is the one left out) for successive sampling without replacement with weights 1..4:
        // the sum over orders of the three others drawn first. Computed exactly below.
        AssertBinomial(left[0], Trials, ProbabilityLeftOut(0, [1, 2, 3, 4]), "weight 1 left out");
        AssertBinomial(left[3], Trials, ProbabilityLeftOut(3, [1, 2, 3, 4]), "weight 4 left out");
    }

    [Fact]
    public void Count_beyond_the_positive_weights_stops_short()
    {
        var kept = Run(new WeightedPolicy(8, false, new Random(2)), Context(Weighted(3, 0, 1)));

        Assert.Equal([0, 2], kept.Order());
    }

    [Fact]
    public void Sticky_gives_a_subnet_the_same_answer()
    {
        var svc = Weighted(1, 1, 1, 1, 1, 1, 1, 1);
        var policy = new WeightedPolicy(1, true);
        var answer = Run(policy, Context(svc, client: "203.0.113.5"));

        Assert.All(
            new[] { "203.0.113.5", "203.0.113.1", "203.0.113.254" },
            client => Assert.Equal(answer, Run(policy, Context(svc, client: client))));
        Assert.Equal(answer, Run(new WeightedPolicy(1, true), Context(svc, client: "203.0.113.77")));
    }

    [Fact]
    public void Sticky_records_the_subnet_it_depends_on()
    {
        var svc = Weighted(1, 1);
        var v4 = Context(svc, client: "203.0.113.5");
        var v6 = Context(svc, client: "2001:db8:1:2:3::1");

        Run(new WeightedPolicy(1, true), v4);
        Run(new WeightedPolicy(1, true), v6);

        Assert.Equal(24, v4.ScopePrefix);
        Assert.Equal(56, v6.ScopePrefix);

        // One candidate: the subnet made no difference, so the answer must not claim it did.
        var single = Context(svc, client: "203.0.113.5");
        Assert.Equal([1], Run(new WeightedPolicy(1, true), single, [1]));
        Assert.Equal(0, single.ScopePrefix);
    }

    [Fact]
    public void Sticky_IPv6_uses_the_slash56()
    {
        var svc = Weighted(1, 1, 1, 1, 1, 1, 1, 1);
        var policy = new WeightedPolicy(1, true);
        var answer = Run(policy, Context(svc, client: "2001:db8:aa:bb00::1"));

        // Same /56 (2001:db8:aa:bb00::/56), different /64s.
        Assert.Equal(answer, Run(policy, Context(svc, client: "2001:db8:aa:bbff:1234::9")));

        // Different /56s spread over the endpoints.
        var seen = new HashSet<int>();
        for (var i = 0; i < 256; i++)
        {
            seen.Add(Run(policy, Context(svc, client: $"2001:db8:{i:x}::1"))[0]);
        }

        Assert.Equal(8, seen.Count);
    }

    [Fact]
    public void Sticky_subnets_spread_in_proportion_to_weight()
    {
        var svc = Weighted(1, 2, 3, 4);
        var policy = new WeightedPolicy(1, true);
        var counts = new int[4];
        for (var subnet = 0; subnet < Trials; subnet++)
        {
            counts[Run(policy, Context(svc, client: $"10.{subnet / 256}.{subnet % 256}.1"))[0]]++;
        }

        for (var i = 0; i < 4; i++)
        {
            AssertBinomial(counts[i], Trials, (i + 1) / 10.0, $"sticky weight {i + 1}");
        }
    }

    [Fact]
    public void Sticky_answer_depends_on_the_service_name()
    {
        var svc = Weighted(1, 1, 1, 1, 1, 1, 1, 1);
        var other = svc with { Name = GslbDns.Dns.DnsName.Parse("api.example.com.") };
        var policy = new WeightedPolicy(1, true);

        var differ = 0;
        for (var subnet = 0; subnet < 200; subnet++)
        {
            var client = $"10.1.{subnet}.1";
            differ += Run(policy, Context(svc, client: client))[0] != Run(policy, Context(other, client: client))[0] ? 1 : 0;
        }

        AssertBinomial(differ, 200, 7 / 8.0, "answers that differ between services");
    }

    [Fact]
    public void Sticky_answer_moves_only_when_the_endpoint_set_changes()
    {
        var svc = Weighted(1, 1, 1, 1, 1);
        var policy = new WeightedPolicy(1, true);
        const int Subnets = 2_000;
        var before = new int[Subnets];
        for (var s = 0; s < Subnets; s++)
        {
            before[s] = Run(policy, Context(svc, client: $"10.{s / 256}.{s % 256}.9"), [0, 1, 2, 3])[0];
        }

        // Unchanged set (in another order, even): no client moves.
        for (var s = 0; s < Subnets; s++)
        {
            Assert.Equal(before[s], Run(policy, Context(svc, client: $"10.{s / 256}.{s % 256}.9"), [3, 1, 0, 2])[0]);
        }

        // Endpoint 2 leaves: exactly its clients move; a fifth joins: clients move only to it.
        var moved = 0;
        for (var s = 0; s < Subnets; s++)
        {
            var without2 = Run(policy, Context(svc, client: $"10.{s / 256}.{s % 256}.9"), [0, 1, 3])[0];
            Assert.Equal(before[s] == 2, without2 != before[s]);

            var with4 = Run(policy, Context(svc, client: $"10.{s / 256}.{s % 256}.9"), [0, 1, 2, 3, 4])[0];
            Assert.True(with4 == before[s] || with4 == 4);
            moved += with4 == 4 ? 1 : 0;
        }

        AssertBinomial(moved, Subnets, 0.2, "clients that move to the new fifth endpoint");
    }

    [Fact]
    public void Stable_hash_is_fixed_across_processes()
    {
        // Golden values: if these change, every sticky client of every deployment moves on upgrade.
        // FNV-1a 64 of "a" is the published test vector; the last one was computed independently (Python).
        Assert.Equal(0xAF63DC4C8601EC8CUL, StableHash.Add(StableHash.Seed, Encoding.ASCII.GetBytes("a")));
        Assert.Equal(StableHash.Add(StableHash.Seed, Encoding.Unicode.GetBytes("www/ashburn/192.0.2.1")), StableHash.Add(StableHash.Seed, "www/ashburn/192.0.2.1"));
        Assert.Equal(0x0UL, StableHash.Finish(0));
        Assert.Equal(GoldenFinish, StableHash.Finish(StableHash.Add(StableHash.Seed, "www/ashburn/192.0.2.1")));
    }

    private const ulong GoldenFinish = 0xB4A2DF53D11BB1EFUL;

    /// <summary>Exact probability that <paramref name="target"/> is the one not drawn when drawing all but one, successively, by weight.</summary>
    private static double ProbabilityLeftOut(int target, int[] weights)
    {
        double Recurse(int mask, double total)
        {
            if (mask == (1 << weights.Length) - 1 - (1 << target))
            {
                return 1;
            }

            double p = 0;
            for (var i = 0; i < weights.Length; i++)
            {
                if (i != target && (mask & (1 << i)) == 0)
                {
                    p += weights[i] / total * Recurse(mask | (1 << i), total - weights[i]);
                }
            }

            return p;
        }

        return Recurse(0, weights.Sum());
    }
}
