using System.Net;
using GslbDns.Tests.TestSupport;
using Xunit.Abstractions;

namespace GslbDns.Tests.Server;

/// <summary>
/// ISC's EDNS compliance tester (genreport, from DNS-Compliance-Testing; scripts/install-deps.sh builds it into
/// .cache/tools/genreport) against the real server process: every test of its full (which includes EDNS), common and
/// type sets must be <c>ok</c>.
/// </summary>
/// <remarks>
/// genreport prints one line per server, <c>zone. @address (server.): test=tag,tag ...</c>. A passing test's first tag
/// is <c>ok</c>; the tags after it only say which options the reply carried (nsid, expire, cookie with a good server
/// cookie, subnet), any other tag (cookie-mismatch, badcookie, ...) is a finding. It queries the port given with -P
/// (53 by default), so the server listens on a free port like every other test's.
/// </remarks>
public sealed class ComplianceTesterTests(ITestOutputHelper output)
{
    private static readonly HashSet<string> OptionTags = ["nsid", "expire", "cookie", "subnet"];

    private static string Genreport
    {
        get
        {
            var path = Path.Combine(RepoLayout.Root, ".cache", "tools", "genreport", "genreport");
            return File.Exists(path) ? path : throw new FileNotFoundException($"genreport not found at {path}: run scripts/install-deps.sh, which builds it");
        }
    }

    /// <summary>Runs genreport with <paramref name="set"/> and returns each test's tags, keyed by test name.</summary>
    private async Task<Dictionary<string, string[]>> RunAsync(IPEndPoint server, params string[] set)
    {
        // Input: zone, server name and address (then only that address is tested; no lookups leave the machine).
        var input = $"example.test ns1.example.test {server.Address}\n";
        var result = await ChildProcess.RunAsync(Genreport, ["-P", server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. set], TimeSpan.FromSeconds(60), input);
        output.WriteLine($"genreport {string.Join(' ', set)}: {result.StandardOutput.Trim()}");
        Assert.True(result.ExitCode == 0, $"genreport exited with {result.ExitCode}\n{result}");
        var line = Assert.Single(result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith($"example.test. @{server.Address} (ns1.example.test.):", line, StringComparison.Ordinal);
        return line[(line.IndexOf("):", StringComparison.Ordinal) + 2)..]
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(entry => entry.Split('=', 2))
            .ToDictionary(pair => pair[0], pair => pair[1].Split(','));
    }

    private static void AllOk(Dictionary<string, string[]> results, params string[] expected)
    {
        foreach (var name in expected)
        {
            Assert.True(results.ContainsKey(name), $"genreport ran no test {name}; it ran {string.Join(' ', results.Keys)}");
        }

        var findings = results
            .Where(r => r.Value[0] != "ok" || r.Value.Skip(1).Any(tag => !OptionTags.Contains(tag)))
            .Select(r => $"{r.Key}={string.Join(',', r.Value)}")
            .ToList();
        Assert.True(findings.Count == 0, $"genreport findings: {string.Join(' ', findings)}");
    }

    [Fact]
    public async Task Every_test_of_the_full_common_and_type_sets_is_ok()
    {
        using var zones = new TempFolder("genreport");
        TestZones.WriteParentZones(zones.Path, IPAddress.Parse("127.0.0.53"));
        using var server = await ServerProcess.StartAsync(zones.Path, "example.test", ["--udp-threads", "1", "--no-watch", "--no-prober", "--api", "off"], address: IPAddress.Parse("127.0.0.61"), log: output.WriteLine);

        // Full (EDNS included) and common in one run; the type set (-t) runs alone, serially.
        var fullAndCommon = await RunAsync(server.Dns, "-f", "-c");
        AllOk(fullAndCommon, "dns", "edns", "edns1", "ednsopt", "optlist", "do", "ednstcp", "opcode", "opcodeflg", "tcp", "zflag", "docd", "ednscookie", "ednssubnet", "bind11", "dig11");
        Assert.True(fullAndCommon.Count >= 30, $"only {fullAndCommon.Count} tests ran");

        var types = await RunAsync(server.Dns, "-t");
        AllOk(types, "A", "NS", "SOA", "MX", "TXT", "AAAA", "SRV", "CAA", "TYPE1000");
        Assert.True(types.Count >= 60, $"only {types.Count} type tests ran");
    }
}
