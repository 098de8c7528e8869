using GslbDns.Gslb.Policies;
using static GslbDns.Tests.Core.Gslb.Policies.PolicyTestSupport;

namespace GslbDns.Tests.Core.Gslb.Policies;

public sealed class FirstPolicyTests
{
    [Fact]
    public void Keeps_the_first_count_in_the_given_order()
    {
        var svc = Service(OnePerDataCenter(Ashburn, Dublin, Frankfurt, Singapore));

        Assert.Equal([3, 1], Run(new FirstPolicy(2), Context(svc), [3, 1, 0, 2]));
        Assert.Equal([2], Run(new FirstPolicy(1), Context(svc), [2, 3]));
    }

    [Fact]
    public void Fewer_candidates_than_count_keeps_all()
    {
        var svc = Service(OnePerDataCenter(Ashburn, Dublin));

        Assert.Equal([0, 1], Run(new FirstPolicy(5), Context(svc)));
    }

    [Fact]
    public void Count_below_one_is_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new FirstPolicy(0));
    }
}
