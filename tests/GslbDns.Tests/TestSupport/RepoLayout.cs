using System.Runtime.CompilerServices;

namespace GslbDns.Tests.TestSupport;

/// <summary>Where things are: the repository root and the built server.</summary>
internal static class RepoLayout
{
    private static readonly Lazy<string> RootFolder = new(() => FindRoot(ThisSourceFile()));

    /// <summary>
    /// The folder holding GslbDns.sln, found by walking up from the test assembly, the working directory or,
    /// when the build went to an artifacts path outside the tree, this source file's compile-time path.
    /// </summary>
    public static string Root => RootFolder.Value;

    /// <summary>
    /// GslbDns.dll to run with <c>dotnet</c>. The test project references the server project, so the build puts
    /// the server's dll, runtimeconfig and deps next to the test assembly (also with <c>--artifacts-path</c>);
    /// otherwise the solution build's src/GslbDns/bin/&lt;Configuration&gt;/net10.0.
    /// </summary>
    public static string ServerDll
    {
        get
        {
            var candidates = new List<string> { Path.Combine(AppContext.BaseDirectory, "GslbDns.dll") };
            foreach (var configuration in new[] { "Debug", "Release" })
            {
                candidates.Add(Path.Combine(RootOrEmpty(), "src", "GslbDns", "bin", configuration, "net10.0", "GslbDns.dll"));
            }

            foreach (var candidate in candidates)
            {
                if (File.Exists(candidate) && File.Exists(Path.ChangeExtension(candidate, ".runtimeconfig.json")))
                {
                    return candidate;
                }
            }

            throw new FileNotFoundException($"GslbDns.dll (with its runtimeconfig.json) not found; looked at: {string.Join(", ", candidates)}. Build the solution first.");
        }
    }

    /// <summary>The dotnet host running these tests (the SDK sets DOTNET_HOST_PATH for child processes), else dotnet on PATH.</summary>
    public static string DotnetHost
    {
        get
        {
            var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
            if (!string.IsNullOrEmpty(host) && File.Exists(host))
            {
                return host;
            }

            var process = Environment.ProcessPath;
            if (process is not null && Path.GetFileNameWithoutExtension(process) == "dotnet")
            {
                return process;
            }

            return "dotnet";
        }
    }

    private static string RootOrEmpty()
    {
        try
        {
            return Root;
        }
        catch (DirectoryNotFoundException)
        {
            return "";
        }
    }

    private static string ThisSourceFile([CallerFilePath] string path = "") => path;

    private static string FindRoot(string sourceFile)
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory(), Path.GetDirectoryName(sourceFile) ?? "/" })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "GslbDns.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        throw new DirectoryNotFoundException($"GslbDns.sln not found above {AppContext.BaseDirectory} or {Directory.GetCurrentDirectory()}");
    }
}
