using GslbDns.Gslb.Policies;
using static GslbDns.Tests.Core.Gslb.Policies.PolicyTestSupport;

namespace GslbDns.Tests.Core.Gslb.Policies;

public sealed class MultivaluePolicyTests
{
    private static readonly GslbDns.Gslb.ServiceConfig Svc = Service(
        [.. Enumerable.Range(1, 10).Select(i => Endpoint("ashburn", $"192.0.2.{i}"))]);

    [Fact]
    public void Returns_count_distinct_candidates()
    {
        var policy = new MultivaluePolicy(3, new Random(7));
        for (var run = 0; run < 200; run++)
        {
            var kept = Run(policy, Context(Svc));
            Assert.Equal(3, kept.Length);
            Assert.Equal(3, kept.Distinct().Count());
            Assert.All(kept, i => Assert.InRange(i, 0, 9));
        }
    }

    [Fact]
    public void Default_count_is_eight_and_fewer_candidates_give_a_permutation()
    {
        var policy = new MultivaluePolicy(MultivaluePolicy.DefaultCount);
        Assert.Equal(8, policy.Count);
        Assert.Equal(8, Run(policy, Context(Svc)).Distinct().Count());

        var kept = Run(policy, Context(Svc), [4, 6, 9]);
        Assert.Equal([4, 6, 9], kept.Order());
    }

    [Fact]
    public void Every_candidate_is_equally_likely_to_come_first()
    {
        const int Trials = 10_000;
        var policy = new MultivaluePolicy(4, new Random(12345));
        var first = new int[10];
        for (var run = 0; run < Trials; run++)
        {
            first[Run(policy, Context(Svc))[0]]++;
        }

        for (var i = 0; i < 10; i++)
        {
            AssertBinomial(first[i], Trials, 0.1, $"endpoint {i} first");
        }
    }

    [Fact]
    public void Every_candidate_is_equally_likely_to_be_included()
    {
        const int Trials = 10_000;
        var policy = new MultivaluePolicy(3, new Random(99));
        var included = new int[10];
        for (var run = 0; run < Trials; run++)
        {
            foreach (var i in Run(policy, Context(Svc)))
            {
                included[i]++;
            }
        }

        for (var i = 0; i < 10; i++)
        {
            AssertBinomial(included[i], Trials, 0.3, $"endpoint {i} included");
        }
    }
}
