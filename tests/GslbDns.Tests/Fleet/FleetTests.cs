using System.Diagnostics;
using GslbDns.Tests.Core.Probing;
using GslbDns.Tests.Prober;
using GslbDns.Tests.TestSupport;
using Xunit.Abstractions;

namespace GslbDns.Tests.Fleet;

/// <summary>
/// Failover on real processes: the Consul cluster, three probers and the DNS server of <see cref="FleetFixture"/>.
/// Each scenario starts from <see cref="FleetFixture.EnsureHealthyAsync"/> and leaves its damage for the next
/// one's start to repair (a killed prober is restarted, backends healed), so their order does not matter. The
/// Consul leader kill leaves a 2-server cluster, which still has a quorum: every process was given all three
/// addresses, and the scenarios after it run on the two that are left.
/// </summary>
[Collection(FleetCollection.Name)]
public sealed class FleetTests(FleetFixture fleet, ITestOutputHelper output) : IAsyncLifetime
{
    /// <summary>
    /// Shipped check timing (FleetSpec leaves it unset): 1 s interval (jitter makes it up to 10% shorter), 3 failures to go down, with the
    /// suspect re-check every 250 ms, 2 successes to come back. Budget to leave the answers: a probe phase (up to
    /// 1 s) + 2 re-checks (0.5 s) + publish, watch and swap (tens of ms); to come back: phase + 1 interval.
    /// The deadlines are twice that and more, for a loaded 2-core machine.
    /// </summary>
    private static readonly TimeSpan DownDeadline = TimeSpan.FromSeconds(8);

    private static readonly TimeSpan UpDeadline = TimeSpan.FromSeconds(10);

    private static readonly string Svc = FleetSpec.ServiceName;

    public Task InitializeAsync() => fleet.EnsureHealthyAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task A_killed_backend_leaves_every_fresh_answer_and_comes_back_when_it_returns()
    {
        var victim = fleet.Backends.Service[1];
        victim.Refuse();
        var down = await UntilStableAsync(a => !a.Contains(victim.Address), DownDeadline, $"answers without {victim.Address} (refusing)");

        victim.Accept();
        var up = await UntilStableAsync(a => a.Contains(victim.Address), UpDeadline, $"answers with {victim.Address} again");
        output.WriteLine($"left the answers {down.TotalMilliseconds:0} ms after it was killed, back {up.TotalMilliseconds:0} ms after it returned");
        Assert.True(down < DownDeadline, $"left the answers after {down}");
    }

    [Fact]
    public async Task A_server_started_while_an_endpoint_is_down_leaves_it_out_of_its_very_first_answer()
    {
        var victim = fleet.Backends.Service[2];
        victim.Refuse();
        await UntilStableAsync(a => !a.Contains(victim.Address), DownDeadline, $"the running server's answers without {victim.Address}");

        // A second DNS server on the same Consul and prefix: the first reply it ever sends must already leave the victim out.
        var first = new List<FleetAnswer>();
        var (server, _, _) = await FleetProcesses.StartServerAsync(RepoLayout.DotnetHost, RepoLayout.ServerDll, fleet.Zones, fleet.Cluster.HttpAddresses, FleetFixture.Prefix, metrics: false, firstAnswers: first);
        using var _ = server;
        var answer = Assert.Single(first);
        Assert.Equal(0, answer.Rcode);
        Assert.False(answer.Contains(victim.Address), $"the first answer {answer} holds {victim.Address}, which every prober reports down");
        Assert.Equal(FleetSpec.ServiceAddresses.Length - 1, answer.Addresses.Count);
    }

    [Fact]
    public async Task A_killed_probers_report_expires_with_its_session_and_the_other_two_decide()
    {
        fleet.KillProber(1);
        var clock = Stopwatch.StartNew();

        // Consul ends a session 1x to 2x its TTL after the last renewal (renewed every TTL/2); then the report is gone.
        var limit = TimeSpan.FromSeconds(2 * FleetFixture.SessionTtlSeconds) + TimeSpan.FromSeconds(3);
        await Deadline.UntilAsync("prober-us's report deleted with its session", limit, async () =>
            (await fleet.Consul.KvGetAsync(FleetFixture.ReportKey(1)) is null, "still there"), TimeSpan.FromMilliseconds(50));
        var expiredAfter = clock.Elapsed;
        await Deadline.UntilAsync("gslbdns_live_probers 2", TimeSpan.FromSeconds(5), async () =>
        {
            var live = await fleet.MetricAsync("gslbdns_live_probers");
            return (live == 2, $"live probers {live}");
        });

        // The two left decide alone: both see 127.0.0.2 refuse, 2 of 2 is a majority.
        var victim = fleet.Backends.Service[0];
        victim.Refuse();
        await UntilStableAsync(a => !a.Contains(victim.Address), DownDeadline, $"answers without {victim.Address}, decided by two probers");

        // And a tie is no majority: prober-ap alone still sees part's primary down, prober-eu sees it up.
        var part = await fleet.AskAsync(FleetSpec.PartitionName);
        Assert.True(part?.Contains(FleetSpec.PartitionPrimary) == true, $"part answered {part}");

        victim.Accept();
        await UntilStableAsync(a => a.Contains(victim.Address), UpDeadline, $"answers with {victim.Address} again");
        output.WriteLine($"prober-us's report expired {expiredAfter.TotalMilliseconds:0} ms after SIGKILL (TTL {FleetFixture.SessionTtlSeconds} s)");
        Assert.True(expiredAfter <= limit, $"report expired after {expiredAfter}");

        // Back to three: a new process under the same id takes the key over once the old session is gone.
        fleet.StartProber(1);
        await Deadline.UntilAsync("gslbdns_live_probers 3 after the restart", FleetFixture.Patience, async () =>
        {
            fleet.AssertRunning();
            var live = await fleet.MetricAsync("gslbdns_live_probers");
            return (live == 3, $"live probers {live}");
        }, TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task Consul_leader_killed_answers_never_fail_and_updates_resume_after_the_election()
    {
        using var stop = new CancellationTokenSource();
        var failures = new List<string>();
        var queries = 0;
        var clock = Stopwatch.StartNew();
        var asking = Task.Run(async () =>
        {
            using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
            while (!stop.IsCancellationRequested)
            {
                var answer = await fleet.AskAsync(Svc);
                queries++;
                if (answer is not { Rcode: 0 } || answer.Addresses.Count == 0)
                {
                    failures.Add($"{clock.Elapsed.TotalSeconds:0.00} s: {answer?.ToString() ?? "no reply within 1 s"}");
                }

                await tick.WaitForNextTickAsync(CancellationToken.None);
            }
        });

        var oldLeader = await fleet.Cluster.KillLeaderAsync();
        var killedAt = clock.Elapsed;
        var newLeader = await fleet.Cluster.WaitForNewLeaderAsync(oldLeader, TimeSpan.FromSeconds(30));
        var electedAt = clock.Elapsed;

        // After the election a backend change must still reach the answers: probers write, the server's watch resumes.
        var victim = fleet.Backends.Service[2];
        victim.Refuse();
        await UntilStableAsync(a => !a.Contains(victim.Address), TimeSpan.FromSeconds(25), $"answers without {victim.Address} after the election");
        var reflectedAt = clock.Elapsed;
        victim.Accept();
        await UntilStableAsync(a => a.Contains(victim.Address), TimeSpan.FromSeconds(25), $"answers with {victim.Address} again");

        await stop.CancelAsync();
        await asking;
        var seconds = clock.Elapsed.TotalSeconds;
        output.WriteLine($"leader s{oldLeader} killed at {killedAt.TotalSeconds:0.0} s, s{newLeader} elected at {electedAt.TotalSeconds:0.0} s, a backend change in the answers at {reflectedAt.TotalSeconds:0.0} s; {queries} queries, {failures.Count} failed");
        Assert.True(failures.Count == 0, $"{failures.Count} of {queries} queries failed: {string.Join("; ", failures)}\n{fleet.Describe()}");
        Assert.True(queries >= seconds * 10 * 0.7, $"only {queries} queries in {seconds:0.0} s");
        Assert.NotEqual(oldLeader, newLeader);
        Assert.True(reflectedAt > electedAt && electedAt > killedAt, $"killed {killedAt}, elected {electedAt}, reflected {reflectedAt}");
    }

    /// <summary>
    /// Two claims over one ten-second window of answers, each about a different service, so that neither waits its own
    /// ten seconds: svc's flapping backend flips svc's answer no more often than the thresholds allow, and part, whose
    /// primary one prober (prober-ap) is cut off from, never fails over (1 of 3 live probers is no majority), svc's
    /// churn notwithstanding. part's check port is its own, so the flapping backend is not part of its picture.
    /// </summary>
    [Fact]
    public async Task A_flapping_backend_flips_the_answer_no_more_often_than_the_thresholds_allow_and_one_prober_cut_off_from_a_data_center_is_outvoted()
    {
        // The partition is real: prober-ap has seen part's primary refuse it (since start-up), the others see it up.
        var reports = await fleet.ReportsAsync();
        var partitioned = reports[FleetSpec.Probers[2].Id].Endpoints[FleetSpec.PartitionPrimaryId];
        Assert.False(partitioned.Up);
        Assert.Contains("refused", partitioned.Error, StringComparison.OrdinalIgnoreCase);
        Assert.True(reports[FleetSpec.Probers[0].Id].Endpoints[FleetSpec.PartitionPrimaryId].Up);
        Assert.True(reports[FleetSpec.Probers[1].Id].Endpoints[FleetSpec.PartitionPrimaryId].Up);

        var victim = fleet.Backends.Service[0];
        var window = TimeSpan.FromSeconds(10);
        using var stop = new CancellationTokenSource();
        var toggles = 0;
        var flapping = Task.Run(async () =>
        {
            var healthy = true;
            while (!stop.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(300, 501)), CancellationToken.None);
                healthy = !healthy;
                if (healthy)
                {
                    victim.Accept();
                }
                else
                {
                    victim.Refuse();
                }

                toggles++;
            }
        });

        var changes = 0;
        var answers = 0;
        var partAnswers = 0;
        var worstStreak = 0;
        bool? included = null;
        var clock = Stopwatch.StartNew();
        try
        {
            using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
            while (clock.Elapsed < window)
            {
                // Ten seconds of part's answers: the primary never leaves.
                var part = await fleet.AskAsync(FleetSpec.PartitionName);
                Assert.True(part is { Rcode: 0 } && part.Addresses.SequenceEqual([FleetSpec.PartitionPrimary.ToString()]), $"after {clock.Elapsed}: part answered {part}\n{fleet.Describe()}");
                partAnswers++;

                var answer = await fleet.AskAsync(Svc);
                Assert.True(answer is { Rcode: 0 } && answer.Addresses.Count >= 2, $"svc answered {answer}");
                answers++;
                var now = answer.Contains(victim.Address);
                if (included is { } before && before != now)
                {
                    changes++;
                }

                included = now;
                if (answers % 10 == 0)
                {
                    // What the probers make of it: failure streaks that the threshold then absorbs.
                    foreach (var report in (await fleet.ReportsAsync()).Values)
                    {
                        worstStreak = Math.Max(worstStreak, report.Endpoints.GetValueOrDefault(FleetSpec.ServiceEndpointId(0))?.ConsecutiveFailures ?? 0);
                    }
                }

                await tick.WaitForNextTickAsync();
            }
        }
        finally
        {
            await stop.CancelAsync();
            await flapping;
        }

        var bound = FlipBound.AnswerChanges(window + TimeSpan.FromSeconds(1), probers: 3);
        output.WriteLine($"{changes} answer changes in {window.TotalSeconds} s ({toggles} toggles, {answers} answers, longest failure streak seen {worstStreak}); bound {bound}");
        Assert.True(changes <= bound, $"{changes} answer changes in {window.TotalSeconds} s ({toggles} toggles, {answers} answers); the thresholds allow at most {bound}");
        Assert.True(toggles >= 20, $"only {toggles} toggles");
        Assert.True(worstStreak >= 1, "no prober ever saw the flapping backend fail: the scenario tested nothing");

        output.WriteLine($"{partAnswers} answers for part in {window.TotalSeconds} s, all with the primary");
        Assert.InRange(partAnswers, 100, 250);

        // The server's own count: once the flapping backend is steady again (in svc, lat and w, each checked on its own),
        // nothing is down, part's primary included, and all three probers vote.
        victim.Accept();
        await Deadline.UntilAsync("gslbdns_endpoints_down 0 once the backend stopped flapping", UpDeadline, async () =>
        {
            fleet.AssertRunning();
            var down = await fleet.MetricAsync("gslbdns_endpoints_down");
            return (down == 0, $"endpoints down {down}");
        }, TimeSpan.FromMilliseconds(50));
        Assert.Equal(3, await fleet.MetricAsync("gslbdns_live_probers"));
        var partNow = await fleet.AskAsync(FleetSpec.PartitionName);
        Assert.True(partNow?.Addresses.SequenceEqual([FleetSpec.PartitionPrimary.ToString()]) == true, $"part answered {partNow}");
    }

    /// <summary>
    /// Asks every 50 ms until <paramref name="predicate"/> has held for 1 s of answers (every fresh answer, not just
    /// one), failing on any SERVFAIL, empty answer or silence along the way. Returns when that run of answers began.
    /// </summary>
    private async Task<TimeSpan> UntilStableAsync(Func<FleetAnswer, bool> predicate, TimeSpan deadline, string what)
    {
        var clock = Stopwatch.StartNew();
        var held = Stopwatch.StartNew();
        var holding = false;
        var since = TimeSpan.Zero;
        FleetAnswer? last = null;
        while (true)
        {
            fleet.AssertRunning();
            var answer = await fleet.AskAsync(Svc);
            Assert.True(answer is { Rcode: 0 } && answer.Addresses.Count > 0, $"{what}: svc answered {answer?.ToString() ?? "nothing"} after {clock.Elapsed}\n{fleet.Describe()}");
            last = answer;
            if (predicate(answer!))
            {
                if (!holding)
                {
                    held.Restart();
                    since = clock.Elapsed;
                    holding = true;
                }
                else if (held.Elapsed >= TimeSpan.FromSeconds(1))
                {
                    return since;
                }
            }
            else
            {
                holding = false;
            }

            if (clock.Elapsed > deadline + TimeSpan.FromSeconds(1))
            {
                throw new TimeoutException($"{what}: not stable within {deadline}; last answer {last}\n{fleet.Describe()}");
            }

            await Task.Delay(50);
        }
    }
}

/// <summary>
/// How often hysteresis lets one endpoint's verdict flip, derived from the shipped check timing: interval I = 1 s
/// shortened by up to 10% jitter, failure threshold F = 3 (its last F - 1 probes come after the suspect re-check, I/4), success
/// threshold S = 2 (at the normal interval). After a flip to up the next probe is a whole interval away and F
/// failures are needed: at least I_min x (1 + (F - 1) / 4) = 1.35 s to the next flip; after a flip to down, S
/// successes at the normal interval: at least S x I_min = 1.8 s. Whatever the backend does, a prober's verdict can
/// flip no more often than that; a server answer changes only when some prober's verdict does.
/// </summary>
internal static class FlipBound
{
    public const double IntervalMin = 1.0 * 0.9;
    public const int FailureThreshold = 3;
    public const int SuccessThreshold = 2;
    public const double SuspectRecheck = 0.25;

    /// <summary>Most flips one prober can make within <paramref name="window"/>.</summary>
    public static int ProberFlips(TimeSpan window)
    {
        var toDown = IntervalMin * (1 + ((FailureThreshold - 1) * SuspectRecheck));
        var toUp = SuccessThreshold * IntervalMin;
        var gaps = new[] { Math.Min(toDown, toUp), Math.Max(toDown, toUp) };
        var flips = 1;
        var elapsed = 0.0;
        for (var i = 0; elapsed + gaps[i % 2] <= window.TotalSeconds; i++)
        {
            elapsed += gaps[i % 2];
            flips++;
        }

        return flips;
    }

    /// <summary>Most changes of the server's answer (in or out) within <paramref name="window"/>: each needs a prober flip.</summary>
    public static int AnswerChanges(TimeSpan window, int probers) => probers * ProberFlips(window);
}
