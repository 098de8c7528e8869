using System.Globalization;
using System.Text.RegularExpressions;
using GslbDns.Fuzz;
using GslbDns.Fuzz.Targets;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Fuzz;

/// <summary>
/// The fuzz harness works: every seed passes its target outside AFL, the loader targets really put questions to what
/// they loaded, and bench/fuzz/fuzz.sh instruments the assemblies and runs afl-fuzz on every target for a few seconds
/// with executions counted and no crash or hang. The long runs are bench/fuzz/fuzz.sh with DURATION (README "Fuzzing").
/// </summary>
public sealed partial class FuzzHarnessTests
{
    private static string Corpus(string target) => Path.Combine(RepoLayout.Root, "tests", "GslbDns.Fuzz", "corpus", target);

    public static TheoryData<string> Targets => [.. FuzzTargets.Names];

    [Theory]
    [MemberData(nameof(Targets))]
    public void Every_seed_passes_its_target(string name)
    {
        var seeds = Directory.GetFiles(Corpus(name));
        Assert.NotEmpty(seeds);
        var target = FuzzTargets.Create(name);
        try
        {
            foreach (var seed in seeds)
            {
                var exception = Record.Exception(() => target.Run(File.ReadAllBytes(seed)));
                Assert.True(exception is null, $"{seed}: {exception}");
            }
        }
        finally
        {
            (target as IDisposable)?.Dispose();
        }
    }

    /// <summary>Inputs a fuzz run found that broke a target (tests/GslbDns.Fuzz/found/TARGET/NAME), each now a regression test.</summary>
    public static TheoryData<string, string> Found
    {
        get
        {
            var found = new TheoryData<string, string>();
            foreach (var folder in Directory.GetDirectories(Path.Combine(RepoLayout.Root, "tests", "GslbDns.Fuzz", "found")))
            {
                foreach (var file in Directory.GetFiles(folder))
                {
                    found.Add(Path.GetFileName(folder), Path.GetFileName(file));
                }
            }

            return found;
        }
    }

    [Theory]
    [MemberData(nameof(Found))]
    public void Every_input_a_fuzz_run_found_passes_its_target(string name, string input)
    {
        var target = FuzzTargets.Create(name);
        try
        {
            target.Run(File.ReadAllBytes(Path.Combine(RepoLayout.Root, "tests", "GslbDns.Fuzz", "found", name, input)));
        }
        finally
        {
            (target as IDisposable)?.Dispose();
        }
    }

    [Theory]
    [InlineData("zone", "example.zone")]
    [InlineData("config", "example.json")]
    [InlineData("geo", "examples.txt")]
    public void A_loader_target_asks_questions_of_what_loaded(string name, string seed)
    {
        var target = (ILoaderTarget)FuzzTargets.Create(name);
        try
        {
            target.Run(File.ReadAllBytes(Path.Combine(Corpus(name), seed)));
            Assert.True(target.Questions >= 4, $"{name}: {target.Questions} questions asked of {seed}");
        }
        finally
        {
            ((IDisposable)target).Dispose();
        }
    }

    [Fact]
    public void The_rate_limit_target_checks_its_invariants_on_limited_and_slipped_replies()
    {
        // Invariants that only ever met sent replies would prove little: the flood seed runs the limiter into its limit.
        var target = (RateLimitTarget)FuzzTargets.Create("rrl");
        target.Run(File.ReadAllBytes(Path.Combine(Corpus("rrl"), "flood-v4")));
        Assert.True(target.Limited > 20 && target.Slipped > 10, $"limited {target.Limited}, slipped {target.Slipped}");
    }

    /// <summary>
    /// Four targets at a time (JOBS): a one-second run of a target is mostly .NET starting and AFL calibrating, so one
    /// after another the seven took 20-30 s, side by side about half that, each with its own findings folder.
    /// </summary>
    [Fact]
    public async Task Afl_runs_every_target_for_a_few_seconds_without_a_crash()
    {
        using var output = new TempFolder("fuzz-smoke");
        using var run = ChildProcess.Start(
            "bash",
            [Path.Combine(RepoLayout.Root, "bench", "fuzz", "fuzz.sh")],
            RepoLayout.Root,
            new Dictionary<string, string> { ["DURATION"] = "1", ["AFL_FAST_CAL"] = "1", ["NO_BUILD"] = "1", ["SEED_LIMIT"] = "2", ["OUT"] = output.Path, ["TIMEOUT"] = "10000", ["JOBS"] = "4" });
        Assert.True(await run.WaitForExitAsync(TimeSpan.FromSeconds(180)), "fuzz.sh did not finish in 180 s\n" + run.Describe());
        Assert.True(run.ExitCode == 0, run.Describe());
        foreach (var name in FuzzTargets.Names)
        {
            var line = Regex.Match(run.StandardOutput, $@"^{name}: .*execs_done (\d+).*crashes (\d+), hangs (\d+)$", RegexOptions.Multiline);
            Assert.True(line.Success, $"no summary for {name}\n{run.Describe()}");
            Assert.True(long.Parse(line.Groups[1].Value, CultureInfo.InvariantCulture) > 0, line.Value);
            Assert.Equal("0", line.Groups[2].Value);
            Assert.Equal("0", line.Groups[3].Value);
        }
    }
}
