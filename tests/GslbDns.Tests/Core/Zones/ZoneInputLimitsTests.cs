using GslbDns.Tests.TestSupport;
using GslbDns.Zones;

namespace GslbDns.Tests.Core.Zones;

/// <summary>
/// What a zone file may make the server read, through <c>gslbdns check</c> (the server's loading path): an
/// <c>$INCLUDE</c> of a device, a FIFO or a directory, a file past <see cref="ZoneFileReader.MaxFileBytes"/> and a
/// name with a NUL in it (found by the zone fuzz target) are each an error with file, line and reason, never a hang,
/// a read without end or an exception; the good zone beside them loads.
/// </summary>
public sealed class ZoneInputLimitsTests : IDisposable
{
    private const string Head = "$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n  NS ns1\nns1 A 192.0.2.1\n";
    private readonly TempFolder _folder = new("zone-limits");

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Check_reports_each_file_it_must_not_read_with_file_line_and_reason_and_loads_the_rest()
    {
        var zones = _folder.Folder("zones");
        var fifo = Path.Combine(zones, "pipe.inc");
        var mkfifo = await ChildProcess.RunAsync("mkfifo", [fifo], TimeSpan.FromSeconds(10));
        Assert.True(mkfifo.ExitCode == 0, mkfifo.ToString());
        Directory.CreateDirectory(Path.Combine(zones, "folder.inc"));
        using (var huge = File.Create(Path.Combine(zones, "huge.inc")))
        {
            huge.SetLength(ZoneFileReader.MaxFileBytes + 1); // sparse: costs no disk
        }

        using (var main = File.Create(Path.Combine(zones, "huge.test.zone")))
        {
            main.SetLength(ZoneFileReader.MaxFileBytes + 1);
        }

        var expected = new Dictionary<string, string>
        {
            ["device.test.zone"] = "5: cannot read '/dev/zero': not a regular file (a character device)",
            ["fifo.test.zone"] = $"5: cannot read '{fifo}': not a regular file (a FIFO)",
            ["folder.test.zone"] = $"5: cannot read '{Path.Combine(zones, "folder.inc")}': not a regular file (a directory)",
            ["big.test.zone"] = $"5: cannot read '{Path.Combine(zones, "huge.inc")}': {ZoneFileReader.MaxFileBytes + 1} bytes, more than the {ZoneFileReader.MaxFileBytes} bytes allowed",
            ["huge.test.zone"] = $"0: cannot read '{Path.Combine(zones, "huge.test.zone")}': {ZoneFileReader.MaxFileBytes + 1} bytes, more than the {ZoneFileReader.MaxFileBytes} bytes allowed",
            ["nul.test.zone"] = "5: $INCLUDE: 'hosts@\\000nc' is not a file name (it holds a NUL character)",
            ["nosoa.test.zone"] = "2: no SOA record at the zone origin 'nosoa.test.' (a zone starts with its SOA; the first record is here)",
        };
        await File.WriteAllTextAsync(Path.Combine(zones, "device.test.zone"), Head + "$INCLUDE /dev/zero\n");
        await File.WriteAllTextAsync(Path.Combine(zones, "fifo.test.zone"), Head + "$INCLUDE pipe.inc\n");
        await File.WriteAllTextAsync(Path.Combine(zones, "folder.test.zone"), Head + "$INCLUDE folder.inc\n");
        await File.WriteAllTextAsync(Path.Combine(zones, "big.test.zone"), Head + "$INCLUDE huge.inc\n");
        await File.WriteAllTextAsync(Path.Combine(zones, "nosoa.test.zone"), "$TTL 300\nwww A 192.0.2.1\n");
        await File.WriteAllTextAsync(Path.Combine(zones, "good.test.zone"), Head + "www A 192.0.2.7\n");

        // The fuzzer's input, as found: line 5 is "$INCLUDE hosts@<NUL>nc".
        var found = await File.ReadAllBytesAsync(Path.Combine(RepoLayout.Root, "tests", "GslbDns.Fuzz", "found", "zone", "include-nul-in-name"));
        await File.WriteAllBytesAsync(Path.Combine(zones, "nul.test.zone"), found);

        var result = await ChildProcess.RunAsync(RepoLayout.DotnetHost, [RepoLayout.ServerDll, "check", "--zones", zones, "--geo-data", _folder.Folder("no-geo"), "--log-format", "text"], TimeSpan.FromSeconds(60));
        Assert.True(result.ExitCode == 1, result.ToString());
        foreach (var (file, error) in expected)
        {
            Assert.True(result.StandardError.Contains($"{Path.Combine(zones, file)}:{error}", StringComparison.Ordinal), $"{file}: no '{error}'\n{result}");
        }

        Assert.Contains("Loaded zone good.test.", result.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", result.StandardError, StringComparison.Ordinal);
    }
}
