using System.Globalization;
using GslbDns.Tests.TestSupport;
using Xunit.Abstractions;

namespace GslbDns.Tests.Server;

/// <summary>
/// Runs alone (after the parallel tests), because it keeps a core busy with dnsperf for its whole run: timing tests
/// sharing the machine with it would measure the soak, not themselves.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SoakCollection
{
    public const string Name = "soak (runs alone)";
}

/// <summary>
/// bench/soak/soak.sh, shortened for the suite: 12 s of dnsperf at 80% of the maximum it measures over 3 s, a zone
/// reload every 3 s and a health change every 2 s (the script's 10 and 5 s periods would give one reload in so short a
/// run), memory sampled every 0.5 s. The assertions are the script's own, unchanged: no query lost or answered other
/// than NOERROR, every reload and health change seen in the answers, RSS within 64 MiB of its start, the GC heap's
/// lowest samples not growing by more than 8 MiB. The ten-minute run is <c>bash bench/soak/soak.sh</c>.
/// </summary>
[Collection(SoakCollection.Name)]
public sealed class SoakTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_short_soak_under_reloads_and_health_changes_loses_no_query_and_grows_no_memory()
    {
        var script = Path.Combine(RepoLayout.Root, "bench", "soak", "soak.sh");
        var environment = new Dictionary<string, string>
        {
            ["DURATION"] = "12",
            ["MEASURE"] = "3",
            ["RELOAD_EVERY"] = "3",
            ["HEALTH_EVERY"] = "2",
            ["SAMPLE_EVERY"] = "0.5",
            ["OURS_DLL"] = RepoLayout.ServerDll,
            ["OURS_PORT"] = PortFinder.Take().ToString(CultureInfo.InvariantCulture),
            ["METRICS_PORT"] = PortFinder.Take().ToString(CultureInfo.InvariantCulture),
            ["BACKEND_PORT"] = PortFinder.Take().ToString(CultureInfo.InvariantCulture),
        };
        using var soak = ChildProcess.Start("bash", [script], RepoLayout.Root, environment);
        var finished = await soak.WaitForExitAsync(TimeSpan.FromSeconds(90));
        output.WriteLine(soak.Describe());
        Assert.True(finished, "the soak did not finish within 90 s");
        Assert.True(soak.ExitCode == 0, $"the soak failed (exit {soak.ExitCode}):\n{soak.StandardError}");

        // The verdict line and the churn it saw: 3 reloads and 5 health changes are due in 12 s; a slow check may push the last past the end.
        Assert.Contains("soak: ok", soak.StandardOutput, StringComparison.Ordinal);
        var churn = System.Text.RegularExpressions.Regex.Match(soak.StandardOutput, @"soak: (\d+) reloads and (\d+) health changes seen in the answers \(0 not seen\)");
        Assert.True(churn.Success, soak.StandardOutput);
        Assert.True(int.Parse(churn.Groups[1].Value, CultureInfo.InvariantCulture) >= 2, churn.Value);
        Assert.True(int.Parse(churn.Groups[2].Value, CultureInfo.InvariantCulture) >= 4, churn.Value);
    }
}
