using GslbDns.Tests.Core.Probing;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Prober;

/// <summary>
/// Where the built prober (src/Prober) is. The test project does not reference it, so it is looked for beside
/// this build's output: the same artifacts root when built with <c>--artifacts-path</c> (bin/Prober/&lt;pivot&gt;),
/// else src/Prober/bin/&lt;Configuration&gt;/net10.0. When it is missing or older than its sources or the
/// GslbDns.Core this test run uses, it is built once, into that same place.
/// </summary>
internal static class ProberLayout
{
    private static readonly SemaphoreSlim BuildLock = new(1, 1);
    private static string? _built;

    public static async Task<string> ProberDllAsync()
    {
        await BuildLock.WaitAsync();
        try
        {
            if (_built is not null)
            {
                return _built;
            }

            var (dll, artifactsRoot) = Expected();
            if (!IsFresh(dll))
            {
                await BuildAsync(artifactsRoot);
            }

            if (!IsFresh(dll))
            {
                throw new FileNotFoundException($"Prober.dll not found or stale at {dll} after building src/Prober");
            }

            return _built = dll;
        }
        finally
        {
            BuildLock.Release();
        }
    }

    /// <summary>The dll this test run should use, and the artifacts root its build used (null: the in-tree bin folders).</summary>
    private static (string Dll, string? ArtifactsRoot) Expected()
    {
        // With --artifacts-path the tests run from ROOT/bin/GslbDns.Tests/PIVOT/.
        var testDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        if (testDir.Parent is { Name: "GslbDns.Tests" } project && project.Parent is { Name: "bin" } bin && bin.Parent is { } root)
        {
            return (Path.Combine(bin.FullName, "Prober", testDir.Name, "Prober.dll"), root.FullName);
        }

        // In-tree: tests/GslbDns.Tests/bin/CONFIGURATION/net10.0/.
        var configuration = testDir.Parent?.Name ?? "Debug";
        return (Path.Combine(RepoLayout.Root, "src", "Prober", "bin", configuration, "net10.0", "Prober.dll"), null);
    }

    private static bool IsFresh(string dll)
    {
        if (!File.Exists(dll) || !File.Exists(Path.ChangeExtension(dll, ".runtimeconfig.json")))
        {
            return false;
        }

        var built = File.GetLastWriteTimeUtc(dll);
        var sources = Directory.GetFiles(Path.Combine(RepoLayout.Root, "src", "Prober"), "*.cs*", SearchOption.TopDirectoryOnly);

        // An incremental build does not rewrite Prober.dll when GslbDns.Core's public surface is unchanged;
        // it only copies the new GslbDns.Core.dll beside it. That copy is what the prober runs.
        var core = Path.Combine(AppContext.BaseDirectory, "GslbDns.Core.dll");
        var coreBeside = Path.Combine(Path.GetDirectoryName(dll)!, "GslbDns.Core.dll");
        return sources.All(f => File.GetLastWriteTimeUtc(f) <= built)
            && (!File.Exists(core) || (File.Exists(coreBeside) && File.GetLastWriteTimeUtc(core) <= File.GetLastWriteTimeUtc(coreBeside)));
    }

    private static async Task BuildAsync(string? artifactsRoot)
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Name.StartsWith("release", StringComparison.OrdinalIgnoreCase)
            ? "Release"
            : "Debug";
        var args = new List<string> { "build", Path.Combine(RepoLayout.Root, "src", "Prober", "Prober.csproj"), "-c", configuration, "--nologo", "-v", "q", "-nodeReuse:false" };
        if (artifactsRoot is not null)
        {
            args.Add("--artifacts-path");
            args.Add(artifactsRoot);
        }

        // Restoring is the slow part here; skip it when the project was restored before, and restore only if that fails.
        var assets = artifactsRoot is null
            ? Path.Combine(RepoLayout.Root, "src", "Prober", "obj", "project.assets.json")
            : Path.Combine(artifactsRoot, "obj", "Prober", "project.assets.json");
        if (File.Exists(assets))
        {
            var quick = await ChildProcess.RunAsync(RepoLayout.DotnetHost, [.. args, "--no-restore"], TimeSpan.FromMinutes(3));
            if (quick.ExitCode == 0)
            {
                return;
            }
        }

        var result = await ChildProcess.RunAsync(RepoLayout.DotnetHost, args, TimeSpan.FromMinutes(3));
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"building src/Prober failed:\n{result}");
        }
    }
}
