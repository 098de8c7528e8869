using System.Net;
using GslbDns.Consul;
using GslbDns.Tests.Core.Consul;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Api;

/// <summary>
/// Guarded decisions hold across API processes, not only within one: two real gslbdns-api processes on one Consul
/// take overlapping drill requests at the same instant, and exactly one drill is created. Each process serialised
/// its own requests before, so without the fleet-wide lock each could pass the overlap check on a read taken before
/// the other's write.
/// </summary>
[Collection(ApiConsulCollection.Name)]
public sealed class FleetGuardLockTests(ConsulDevAgent consul)
{
    /// <summary>
    /// Only each process's first request of a round can race the other's (later ones read the created drill), and
    /// the window is one Consul read and one transaction: without the fleet lock the first or second round hit it (checked by taking the lock out).
    /// </summary>
    private const int Rounds = 10;

    [Fact]
    public async Task Two_api_processes_taking_overlapping_drills_at_once_create_exactly_one()
    {
        using var folder = new TempFolder("guard-lock");
        var zones = folder.Folder("zones");
        ApiTestZones.Write(zones);
        var tokens = ApiProcess.WriteTokensFile(folder.File("tokens"));
        var prefix = ConsulTestSupport.UniquePrefix("guard-lock");
        string[] Arguments() => ["--zones", zones, "--consul", consul.HttpAddress.ToString(), "--consul-prefix", prefix, "--tokens-file", tokens, "--geo-data", Path.Combine(zones, "none")];
        using var first = ApiProcess.Start(Arguments());
        using var second = ApiProcess.Start(Arguments());
        var urls = await Task.WhenAll(ApiProcess.WaitForUrlAsync(first), ApiProcess.WaitForUrlAsync(second));
        using var httpFirst = new HttpClient { BaseAddress = new Uri(urls[0]), Timeout = TimeSpan.FromSeconds(30) };
        using var httpSecond = new HttpClient { BaseAddress = new Uri(urls[1]), Timeout = TimeSpan.FromSeconds(30) };

        // Rounds of the same race: a drill two hours ahead (scheduled, so it never runs here) on dc-b, five
        // requests to each process released together. Every round's drills overlap only each other.
        for (var round = 0; round < Rounds; round++)
        {
            var start = DateTimeOffset.UtcNow.AddHours(2 + round);
            var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var requests = Enumerable.Range(0, 10).Select(async i =>
            {
                await go.Task;
                var http = i % 2 == 0 ? httpFirst : httpSecond;
                using var response = await ApiCalls.SendAsync(http, HttpMethod.Post, "/v1/drills", InProcessApi.OperatorToken, new { dataCenters = new[] { "dc-b" }, start, durationSeconds = 600, reason = $"race {round}.{i}" });
                return (response.StatusCode, Body: await response.Content.ReadAsStringAsync());
            }).ToList();
            go.SetResult();
            var results = await Task.WhenAll(requests);

            var described = string.Join("\n", results.Select(r => $"{(int)r.StatusCode}: {r.Body}"));
            Assert.True(results.Count(r => r.StatusCode == HttpStatusCode.Created) == 1, $"round {round}: not exactly one created\n{described}");
            Assert.All(results.Where(r => r.StatusCode != HttpStatusCode.Created), r =>
            {
                Assert.Equal(HttpStatusCode.Conflict, r.StatusCode);
                Assert.Contains("overlaps", r.Body, StringComparison.Ordinal);
            });
        }

        // The lock key is free again once the requests are done (released, not left to its session's TTL).
        var key = await consul.CreateClient().KvGetAsync(prefix + "locks/guard");
        Assert.True(key is null || key.Session is null, $"the guard lock is still held by session {key?.Session}");
    }

    [Fact]
    public async Task A_consul_lock_waits_for_its_holder_and_is_freed_when_the_holder_session_ends()
    {
        var client = consul.CreateClient();
        var key = ConsulTestSupport.UniquePrefix("lock") + "locks/test";
        var held = await ConsulLock.AcquireAsync(client, key, "first", TimeSpan.FromSeconds(5), CancellationToken.None);

        // A second taker waits while the first holds it, and gets it once the first releases.
        var waiting = ConsulLock.AcquireAsync(client, key, "second", TimeSpan.FromSeconds(20), CancellationToken.None);
        await Assert.ThrowsAsync<TimeoutException>(() => ConsulLock.AcquireAsync(client, key, "impatient", TimeSpan.FromMilliseconds(500), CancellationToken.None));
        Assert.False(waiting.IsCompleted);
        await held.DisposeAsync();
        await using (var second = await waiting)
        {
            Assert.Equal("second", System.Text.Encoding.UTF8.GetString((await client.KvGetAsync(key))!.Value));
        }

        // A holder that dies without releasing: its session is destroyed (as its TTL would end it) and the key is free.
        var orphan = await ConsulLock.AcquireAsync(client, key, "dies", TimeSpan.FromSeconds(5), CancellationToken.None);
        var session = (await client.KvGetAsync(key))!.Session!;
        await client.SessionDestroyAsync(session);
        await using var next = await ConsulLock.AcquireAsync(client, key, "after", TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.NotEqual(session, (await client.KvGetAsync(key))!.Session);
        GC.KeepAlive(orphan);
    }
}
