using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;

namespace GslbDns.Tests.Core.Geo;

/// <summary>Finds the repository, the real GeoLite2 database, and asks mmdblookup for reference answers.</summary>
internal static partial class GeoTestEnvironment
{
    private static readonly Lazy<string> Root = new(FindRepositoryRoot);

    public static string RepositoryRoot => Root.Value;

    public static string GeoDataFolder => Path.Combine(RepositoryRoot, "geo-data");

    /// <summary>GSLBDNS_GEOIP_DB, else .cache/geoip/GeoLite2-City.mmdb in the repository.</summary>
    public static string DatabasePath
    {
        get
        {
            string? fromEnvironment = Environment.GetEnvironmentVariable("GSLBDNS_GEOIP_DB");
            string path = string.IsNullOrEmpty(fromEnvironment)
                ? Path.Combine(RepositoryRoot, ".cache", "geoip", "GeoLite2-City.mmdb")
                : fromEnvironment;
            if (!File.Exists(path))
            {
                throw new InvalidOperationException($"GeoLite2-City database not found at {path}: run scripts/install-deps.sh or set GSLBDNS_GEOIP_DB.");
            }

            return path;
        }
    }

    /// <summary>
    /// One value from <c>mmdblookup --file DB --ip ADDR path...</c> (string or number as printed),
    /// or null when the address or the path is not in the database.
    /// </summary>
    public static string? Lookup(string address, params string[] path)
    {
        var start = new ProcessStartInfo("mmdblookup")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("--file");
        start.ArgumentList.Add(DatabasePath);
        start.ArgumentList.Add("--ip");
        start.ArgumentList.Add(address);
        foreach (string part in path)
        {
            start.ArgumentList.Add(part);
        }

        using Process process = Process.Start(start)
            ?? throw new InvalidOperationException("mmdblookup did not start (Debian package mmdb-bin)");
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        string errors = stderr.GetAwaiter().GetResult();

        Match match = ValueLine().Match(stdout);
        if (match.Success)
        {
            return match.Groups["s"].Success ? match.Groups["s"].Value : match.Groups["n"].Value;
        }

        // 6: no entry for the address; 5: the entry lacks the path. Anything else is a broken test setup.
        Assert.True(process.ExitCode is 5 or 6, $"mmdblookup {address} {string.Join(' ', path)} exited {process.ExitCode}: {errors}");
        return null;
    }

    public static double? LookupDouble(string address, params string[] path) =>
        Lookup(address, path) is { } text ? double.Parse(text, CultureInfo.InvariantCulture) : null;

    [GeneratedRegex("""^\s*(?:"(?<s>[^"]*)"|(?<n>\S+))\s+<\w+>""", RegexOptions.Multiline)]
    private static partial Regex ValueLine();

    // With --artifacts-path the binaries live outside the repository, so the build directory alone
    // cannot find it; the compile-time path of this file can.
    private static string FindRepositoryRoot()
    {
        foreach (string start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory(), SourceDirectory() })
        {
            for (DirectoryInfo? dir = new(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "GslbDns.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        throw new InvalidOperationException("No directory above the tests holds GslbDns.sln.");
    }

    private static string SourceDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(path) ?? ".";
}
