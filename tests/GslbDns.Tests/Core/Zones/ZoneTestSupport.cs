using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using GslbDns.Dns;
using GslbDns.Zones;

namespace GslbDns.Tests.Core.Zones;

/// <summary>Fixture paths, zone text helpers and the external checkers (kzonecheck, ldns-read-zone).</summary>
internal static class ZoneTestSupport
{
    private static readonly Lazy<string> Root = new(FindRepositoryRoot);

    public static DnsName Example { get; } = DnsName.Parse("example.com.");

    /// <summary>SOA, apex NS and the NS host: the minimum a zone needs, on lines 1-4.</summary>
    public const string Head = "$TTL 1h\n@ SOA ns1 hostmaster ( 1 1h 15m 1w 5m )\n@ NS ns1\nns1 A 192.0.2.1\n";

    /// <summary>Fixture directory read from the source tree, so the csproj needs no copy items.</summary>
    public static string Fixtures => Path.Combine(Root.Value, "tests", "GslbDns.Tests", "Core", "Zones", "Fixtures");

    public static string Fixture(params string[] parts) => Path.Combine([Fixtures, .. parts]);

    public static IEnumerable<string> FixtureNames(string folder) =>
        Directory.GetFiles(Fixture(folder), "*.zone").Select(Path.GetFileName).Order(StringComparer.Ordinal)!;

    /// <summary>Reads <see cref="Head"/> plus <paramref name="body"/> (body lines start at line 5).</summary>
    public static ParsedZone Read(string body, string file = "t.zone") => ZoneFileReader.ReadText(Head + body, file, Example);

    public static ZoneLoadException Fails(string text, string file = "t.zone") =>
        Assert.Throws<ZoneLoadException>(() => ZoneFileReader.ReadText(text, file, Example));

    public static IEnumerable<ZoneRecord> At(this ParsedZone zone, string owner, ushort type)
    {
        var name = DnsName.Parse(owner, zone.Origin);
        return zone.Records.Where(r => r.Owner == name && r.Type == type);
    }

    public static ZoneRecord Single(this ParsedZone zone, string owner, ushort type) => Assert.Single(zone.At(owner, type));

    public static string Hex(byte[] bytes) => Convert.ToHexString(bytes).ToLowerInvariant();

    /// <summary>A record as owner/type/TTL/RDATA octets, the identity the cross-checks compare.</summary>
    public static string Key(ZoneRecord r) =>
        string.Create(CultureInfo.InvariantCulture, $"{r.Owner} {RecordType.ToText(r.Type)} {r.Ttl} {Hex(r.RData)}");

    public static SortedSet<string> RRset(ParsedZone zone) => new(zone.Records.Select(Key), StringComparer.Ordinal);

    public static string TempDirectory()
    {
        var dir = Path.Combine(Path.GetTempPath(), "gslbdns-zones-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Runs a tool with a timeout; a missing tool fails the test with how to install it.</summary>
    public static (int ExitCode, string Output) Run(string tool, params string[] args)
    {
        var info = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        Process process;
        try
        {
            process = Process.Start(info) ?? throw new InvalidOperationException($"{tool} did not start");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"{tool} is not installed (run scripts/install-deps.sh; kzonecheck is in Debian's knot-dnssecutils): {ex.Message}", ex);
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(30)))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"{tool} {string.Join(' ', args)} did not finish in 30 s");
            }

            process.WaitForExit();
            return (process.ExitCode, stdout.Result + stderr.Result);
        }
    }

    public static (int ExitCode, string Output) KzoneCheck(string file, DnsName origin) =>
        Run("kzonecheck", "-o", origin.ToString(), file);

    /// <summary>Writes zone text to a file named after <paramref name="origin"/> and asks kzonecheck about it.</summary>
    public static (int ExitCode, string Output) KzoneCheckText(string text, DnsName origin)
    {
        var dir = TempDirectory();
        try
        {
            var file = Path.Combine(dir, origin + "zone");
            File.WriteAllText(file, text);
            return KzoneCheck(file, origin);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// ldns-read-zone's canonical output of a file (names lower-cased, every RR in RFC 3597 generic form so that
    /// its RDATA octets, not its presentation choices, are compared). ldns has no origin option, so a $ORIGIN line goes first.
    /// </summary>
    public static string LdnsCanonical(string file, DnsName origin)
    {
        var dir = TempDirectory();
        try
        {
            var copy = Path.Combine(dir, Path.GetFileName(file));
            File.WriteAllText(copy, $"$ORIGIN {origin}\n" + File.ReadAllText(file));
            var (exit, output) = Run("ldns-read-zone", "-c", "-U", "NULL", copy);
            Assert.True(exit == 0, $"ldns-read-zone rejected {file}: {output}");

            // stderr carries only the RR count line; keep the records.
            return string.Join('\n', output.Split('\n').Where(l => l.Length > 0 && !l.StartsWith(';') && l.Contains('\t')));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// Walks up from the test binaries, then from this source file (builds with --artifacts-path put the binaries
    /// outside the tree), to the directory holding GslbDns.sln.
    /// </summary>
    private static string FindRepositoryRoot()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(SourceFile()) ?? "." })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "GslbDns.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        throw new InvalidOperationException("No directory above the tests or their source holds GslbDns.sln.");
    }

    private static string SourceFile([CallerFilePath] string path = "") => path;
}
