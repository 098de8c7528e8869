using System.Diagnostics;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Fleet;

/// <summary>
/// Adaptive TTL on the real process (embedded mode, shipped check timing): while a service's health changed within
/// <c>ttl.changeWindow</c> its answers carry <c>ttl.min</c>, so resolvers follow the change; then the service TTL again.
/// </summary>
public sealed class AdaptiveTtlTests
{
    private const uint ServiceTtl = 30;
    private const uint Floor = 1;
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task Answers_carry_the_ttl_floor_for_the_change_window_after_a_flip_then_the_service_ttl()
    {
        using var folder = new TempFolder("fleet-adaptive-ttl");
        await using var backends = FleetBackends.Start();
        var zones = folder.Folder("zones");
        (backends.Spec() with { Ttl = (int)ServiceTtl, ChangeWindow = "3s" }).WriteTo(zones);
        var first = new List<FleetAnswer>();
        var (server, dns, _) = await FleetProcesses.StartServerAsync(RepoLayout.DotnetHost, RepoLayout.ServerDll, zones, [], null, metrics: false, firstAnswers: first);
        using var _ = server;

        async Task<FleetAnswer> AskAsync()
        {
            var answer = await FleetProcesses.AskAsync(dns, FleetSpec.ServiceName, TimeSpan.FromSeconds(1));
            Assert.True(answer is { Rcode: 0 } && answer.Addresses.Count > 0, $"svc answered {answer?.ToString() ?? "nothing"}\n{server.Describe()}");
            return answer!;
        }

        // Start-up is not a change: the first verdicts come before the first answer, which has the service TTL.
        Assert.Equal(ServiceTtl, Assert.Single(first).Ttl);
        var victim = backends.Service[0];
        victim.Refuse();

        // The flip: the victim leaves the answers, and they carry the floor.
        var flipped = await Deadline.PollAsync($"answers without {victim.Address}", TimeSpan.FromSeconds(8), async () =>
        {
            var answer = await AskAsync();
            return (!answer.Contains(victim.Address), answer, $"answer {answer} ttl {answer.Ttl}");
        }, TimeSpan.FromMilliseconds(20));
        var sinceFlip = Stopwatch.StartNew();
        Assert.Equal(Floor, flipped.Ttl);

        // Every answer keeps the floor until the window has passed, then the service TTL comes back.
        var back = await Deadline.PollAsync("the service TTL again", TimeSpan.FromSeconds(15), async () =>
        {
            var answer = await AskAsync();
            Assert.False(answer.Contains(victim.Address), $"{victim.Address} back in {answer}");
            Assert.True(answer.Ttl is Floor or ServiceTtl, $"ttl {answer.Ttl}");
            return (answer.Ttl == ServiceTtl, sinceFlip.Elapsed, $"ttl {answer.Ttl} after {sinceFlip.Elapsed.TotalMilliseconds:0} ms");
        }, TimeSpan.FromMilliseconds(50));
        Assert.InRange(back, Window - TimeSpan.FromMilliseconds(500), Window + TimeSpan.FromSeconds(3));

        // Coming back is a change too.
        victim.Accept();
        var returned = await Deadline.PollAsync($"answers with {victim.Address} again", TimeSpan.FromSeconds(10), async () =>
        {
            var answer = await AskAsync();
            return (answer.Contains(victim.Address), answer, $"answer {answer}");
        }, TimeSpan.FromMilliseconds(20));
        Assert.Equal(Floor, returned.Ttl);
    }
}
