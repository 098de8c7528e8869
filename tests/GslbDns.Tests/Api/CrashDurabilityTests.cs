using System.Collections.Concurrent;
using System.Net;
using System.Text.RegularExpressions;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Api;

/// <summary>
/// The real <c>gslbdns-api --embedded</c> process, killed with SIGKILL in the middle of a stream of writes:
/// every write it acknowledged must be there after a restart (SQLite WAL with synchronous=FULL).
/// </summary>
public sealed partial class CrashDurabilityTests
{
    private const int SigKill = 9;

    [Fact]
    public async Task Kill_9_during_a_stream_of_writes_loses_no_acknowledged_write()
    {
        using var folder = new TempFolder("api-crash");
        var zones = folder.Folder("zones");
        ApiTestZones.Write(zones);
        var state = Path.Combine(folder.Path, "state");

        // First start: no tokens file, so the API generates an operator token, saves it 0600 and prints it once.
        using var first = StartApi(state, zones);
        var firstUrl = await ApiProcess.WaitForUrlAsync(first);
        var token = TokenLine().Match(first.StandardOutput) is { Success: true } m ? m.Groups[1].Value : throw new InvalidOperationException("no token printed:\n" + first.Describe());
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(state, "api-tokens")));
        }

        // Four writers, each on its own entry, each a sequence of increasing weights; a write counts as
        // acknowledged only when its 200 arrived. The process is killed while they are all mid-stream.
        var targets = new[] { ApiTestZones.WeightedId("dc-a"), ApiTestZones.WeightedId("dc-b"), ApiTestZones.WeightedId("dc-c"), $"{ApiTestZones.Pair}/dc-a/{ApiTestZones.PairAddress("dc-a")}" };
        var lastAcked = new int[targets.Length];
        var lastSent = new int[targets.Length];
        var ackedAudit = new ConcurrentBag<string>();
        var acks = 0;
        using var stop = new CancellationTokenSource();

        async Task WriterAsync(int writer)
        {
            using var http = new HttpClient { BaseAddress = new Uri(firstUrl), Timeout = TimeSpan.FromSeconds(10) };
            var path = ApiCalls.EndpointPath(targets[writer]) + "/weight";
            for (var weight = 1; weight <= 1000 && !stop.IsCancellationRequested; weight++)
            {
                Volatile.Write(ref lastSent[writer], weight);
                HttpResponseMessage response;
                try
                {
                    response = await ApiCalls.SendAsync(http, HttpMethod.Put, path, token, new { weight, reason = $"stream {writer}" });
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
                {
                    return; // the process is gone
                }

                using (response)
                {
                    Assert.True(response.StatusCode == HttpStatusCode.OK, await ApiCalls.DescribeAsync(response));
                    ackedAudit.Add((await ApiCalls.JsonAsync(response)).GetProperty("auditId").GetString()!);
                    Volatile.Write(ref lastAcked[writer], weight);
                    Interlocked.Increment(ref acks);
                }
            }
        }

        var writers = Enumerable.Range(0, targets.Length).Select(WriterAsync).ToArray();
        await Deadline.UntilAsync("80 acknowledged writes", TimeSpan.FromSeconds(30), () => Task.FromResult((Volatile.Read(ref acks) >= 80, $"{acks} acks")));
        first.Signal(SigKill);
        await Deadline.Within(first.WaitForExitAsync(TimeSpan.FromSeconds(10)), TimeSpan.FromSeconds(15), "the killed API to exit");
        await stop.CancelAsync();
        await Deadline.Within(Task.WhenAll(writers), TimeSpan.FromSeconds(20), "the writers to notice the API is gone");
        Assert.True(ackedAudit.Count >= 80);

        // Restart on the same state folder: the token is not regenerated nor printed again.
        using var second = StartApi(state, zones);
        var secondUrl = await ApiProcess.WaitForUrlAsync(second);
        Assert.DoesNotContain(token, second.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("shown only this once", second.StandardOutput, StringComparison.Ordinal);

        using var http = new HttpClient { BaseAddress = new Uri(secondUrl), Timeout = TimeSpan.FromSeconds(10) };
        for (var writer = 0; writer < targets.Length; writer++)
        {
            using var response = await ApiCalls.SendAsync(http, HttpMethod.Get, ApiCalls.EndpointPath(targets[writer]) + "/weight", token);
            var entry = await ApiCalls.JsonAsync(response);
            var weight = entry.TryGetProperty("weight", out var w) ? w.GetInt32() : 0;

            // Every acknowledged write survived; at most the one in flight at the kill may also have landed.
            Assert.InRange(weight, lastAcked[writer], Math.Max(lastAcked[writer], lastSent[writer]));
        }

        using var auditResponse = await ApiCalls.SendAsync(http, HttpMethod.Get, "/v1/audit?limit=10000", token);
        var audited = (await ApiCalls.JsonAsync(auditResponse)).GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("id").GetString()).ToHashSet();
        var missing = ackedAudit.Where(id => !audited.Contains(id)).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} of {ackedAudit.Count} acknowledged writes lost their audit entry");

        // The token was printed once on standard output and never logged.
        Assert.Single(Regex.Matches(first.StandardOutput, Regex.Escape(token)));
        Assert.DoesNotContain(token, first.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain(token, second.StandardError, StringComparison.Ordinal);
    }

    private static ChildProcess StartApi(string state, string zones) =>
        ApiProcess.Start(["--embedded", "--state", state, "--zones", zones, "--geo-data", Path.Combine(zones, "no-geo-data")]);

    [GeneratedRegex(@"shown only this once: (\S+)")]
    private static partial Regex TokenLine();
}
