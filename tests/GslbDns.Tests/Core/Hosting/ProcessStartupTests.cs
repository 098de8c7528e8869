using GslbDns.Tests.Api;
using GslbDns.Tests.Core.Probing;
using GslbDns.Tests.Prober;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Core.Hosting;

/// <summary>
/// The real server, prober and API processes given a Consul token file they cannot use: each must stop at
/// start-up with exit code 2 and a message naming the file, not run without the token or die of an
/// unhandled exception.
/// </summary>
public sealed class ProcessStartupTests : IDisposable
{
    private readonly TempFolder _folder = new("startup-errors");

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var program in new[] { "server", "prober", "api" })
        {
            data.Add(program, "empty");
            data.Add(program, "unreadable");
        }

        return data;
    }

    public void Dispose() => _folder.Dispose();

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Token_file_that_is_empty_or_unreadable_stops_start_up_with_exit_2_naming_the_file(string program, string problem)
    {
        var tokenFile = _folder.File($"consul-token-{program}-{problem}");
        if (problem == "empty")
        {
            File.WriteAllText(tokenFile, "  \n");
        }
        else
        {
            // The tests run as root, which reads any mode-000 file; /proc/self/mem exists, opens, and fails
            // every read at offset 0 with EIO, for root too.
            File.CreateSymbolicLink(tokenFile, "/proc/self/mem");
        }

        // Consul on a port nothing listens on: the token must be refused before anything connects.
        var consul = "http://127.0.0.1:1";
        string[] args = program switch
        {
            "server" => [RepoLayout.ServerDll, "serve", "--zones", _folder.Folder("zones"), "--dns", "127.0.0.1:0", "--metrics", "off", "--api", "off", "--consul", consul, "--consul-token-file", tokenFile],
            "prober" => [await ProberLayout.ProberDllAsync(), "--id", "p1", "--region", "eu", "--lat", "1", "--lon", "2", "--zones", _folder.Folder("zones"), "--metrics", "off", "--consul", consul, "--consul-token-file", tokenFile],
            _ => [ApiLayout.ApiDll, "--zones", _folder.Folder("zones"), "--consul", consul, "--consul-token-file", tokenFile, "--tokens-file", WriteApiTokens(), "--listen", "127.0.0.1:0"],
        };

        var result = await ChildProcess.RunAsync(RepoLayout.DotnetHost, args, TimeSpan.FromSeconds(30));

        Assert.True(result.ExitCode == 2, result.ToString());
        var expected = problem == "empty" ? $"--consul-token-file: '{tokenFile}' is empty" : $"--consul-token-file: cannot read '{tokenFile}'";
        Assert.Contains(expected, result.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", result.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("listening on", result.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("is answering on", result.StandardOutput, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("server")]
    [InlineData("prober")]
    [InlineData("api")]
    public async Task Token_file_that_does_not_exist_is_a_command_line_error_naming_it(string program)
    {
        var missing = _folder.File("no-such-token");
        string dll = program switch
        {
            "server" => RepoLayout.ServerDll,
            "prober" => await ProberLayout.ProberDllAsync(),
            _ => ApiLayout.ApiDll,
        };
        string[] rest = program == "prober" ? ["--id", "p1", "--region", "eu", "--lat", "1", "--lon", "2"] : ["--consul", "http://127.0.0.1:1"];

        var result = await ChildProcess.RunAsync(RepoLayout.DotnetHost, [dll, .. rest, "--consul-token-file", missing], TimeSpan.FromSeconds(30));

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains($"--consul-token-file: '{missing}' does not exist", result.StandardError, StringComparison.Ordinal);
        Assert.Contains("Usage: gslbdns", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Prober_help_is_generated_from_its_table_and_keeps_every_documented_option()
    {
        var result = await ChildProcess.RunAsync(RepoLayout.DotnetHost, [await ProberLayout.ProberDllAsync(), "--help"], TimeSpan.FromSeconds(30));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.StartsWith("Usage: gslbdns-prober", result.StandardOutput, StringComparison.Ordinal);

        // The prober is not referenced by the tests, so its table is read back from its help: every option
        // listed there must parse (an unknown one would be exit 2 with "unknown option").
        var listed = result.StandardOutput.Split('\n')
            .Select(static l => l.TrimStart())
            .Where(static l => l.StartsWith("--", StringComparison.Ordinal))
            .SelectMany(static l => l.Split("  ")[0].Split(", ").Select(static name => name.Split(' ')[0]))
            .Distinct()
            .ToList();
        string[] documented = ["--id", "--region", "--lat", "--lon", "--zones", "--consul", "--consul-token-file", "--prefix", "--consul-prefix", "--session-ttl", "--max-concurrency", "--metrics", "--allow-insecure-tls", "--no-watch", "--consul-ca-file", "--consul-client-cert", "--consul-client-key", "--log-format", "--log-level"];
        Assert.Equal(documented.Order(), listed.Order());
    }

    private string WriteApiTokens()
    {
        var path = _folder.File("api-tokens");
        File.WriteAllText(path, "operator test-operator-token-0123456789abcdef\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        return path;
    }
}
