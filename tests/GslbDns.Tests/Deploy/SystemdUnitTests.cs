using System.Globalization;
using System.Net.Http;
using System.Text.RegularExpressions;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Deploy;

/// <summary>
/// deploy/systemd: the units as shipped pass <c>systemd-analyze verify</c> with no message, systemd's own
/// security review finds the hardening the README promises, and the command line each unit starts is
/// accepted by (and runs) this build's program.
/// </summary>
public sealed partial class SystemdUnitTests
{
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Shipped_units_pass_systemd_analyze_verify_without_a_message()
    {
        using var root = await UnitInstallRoot.CreateAsync();

        var result = await VerifyAsync(root, UnitInstallRoot.UnitNames);

        Assert.True(result.ExitCode == 0 && result.StandardOutput.Trim().Length == 0 && result.StandardError.Trim().Length == 0, result.ToString());
    }

    [Fact]
    public async Task Verify_reports_a_misspelt_directive_and_a_missing_program()
    {
        using var root = await UnitInstallRoot.CreateAsync();
        var shipped = await File.ReadAllTextAsync(root.UnitFile("gslbdns"));
        await File.WriteAllTextAsync(root.UnitFile("typo"), shipped.Replace("ProtectSystem=strict", "ProtectSytem=strict", StringComparison.Ordinal));
        await File.WriteAllTextAsync(root.UnitFile("missing"), shipped.Replace("/opt/gslbdns/bin/gslbdns serve", "/opt/gslbdns/bin/gslbdns-missing serve", StringComparison.Ordinal));

        // One verify of both units: each message names the unit (or its file) it is about, so each failure is still
        // pinned on its own unit, and neither unit's fault may be reported against the other.
        var both = await VerifyAsync(root, ["typo", "missing"]);
        var lines = both.StandardError.Split('\n');

        Assert.Contains(lines, l => About(l, "typo") && l.Contains("Unknown key 'ProtectSytem'", StringComparison.Ordinal));
        Assert.Contains(lines, l => About(l, "missing") && l.Contains("/opt/gslbdns/bin/gslbdns-missing is not executable", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("ProtectSytem", StringComparison.Ordinal) && !About(l, "typo"));
        Assert.DoesNotContain(lines, l => l.Contains("gslbdns-missing", StringComparison.Ordinal) && !About(l, "missing"));

        // verify names a unit as "UNIT.service: ..." or, for a line of its file, ".../UNIT.service:LINE: ...".
        static bool About(string line, string unit) =>
            line.StartsWith($"{unit}.service: ", StringComparison.Ordinal) || line.Contains($"/{unit}.service:", StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("gslbdns", true)]
    [InlineData("gslbdns-prober", false)]
    [InlineData("gslbdns-api", false)]
    public async Task Security_review_finds_own_user_read_only_system_and_capabilities_only_for_the_dns_server(string unit, bool bindsPort53)
    {
        using var root = await UnitInstallRoot.CreateAsync();

        var review = await ChildProcess.RunAsync("systemd-analyze", ["security", "--offline=yes", $"--root={root.Path}", "--no-pager", $"{unit}.service"], ToolTimeout);
        var checks = ParseSecurityReview(review.StandardOutput + review.StandardError);

        foreach (var hardening in new[] { "User=/DynamicUser=", "NoNewPrivileges=", "ProtectSystem=", "ProtectHome=", "PrivateTmp=", "ProtectKernelModules=", "RestrictNamespaces=~user" })
        {
            Assert.True(checks.TryGetValue(hardening, out var passed) && passed, $"{unit}: {hardening} not satisfied\n{review}");
        }

        // Port 53 needs CAP_NET_BIND_SERVICE; the DNS server gets exactly that one, the others none at all.
        Assert.Equal(!bindsPort53, checks["AmbientCapabilities="]);
        Assert.Equal(!bindsPort53, checks["CapabilityBoundingSet=~CAP_NET_(BIND_SERVICE|BROADCAST|RAW)"]);
        Assert.True(checks["CapabilityBoundingSet=~CAP_SYS_ADMIN"] && checks["CapabilityBoundingSet=~CAP_NET_ADMIN"] && checks["CapabilityBoundingSet=~CAP_SET(UID|GID|PCAP)"], review.ToString());
        var parsed = root.Unit(unit);
        Assert.Equal(bindsPort53 ? "CAP_NET_BIND_SERVICE" : "", parsed.Last("Service", "CapabilityBoundingSet"));

        var exposure = ExposureLine().Match(review.StandardOutput + review.StandardError);
        Assert.True(exposure.Success, review.ToString());
        Assert.True(double.Parse(exposure.Groups[1].Value, CultureInfo.InvariantCulture) <= 2.5, $"{unit}: exposure {exposure.Groups[1].Value} above 2.5\n{review}");
    }

    [Theory]
    [InlineData("gslbdns")]
    [InlineData("gslbdns-prober")]
    [InlineData("gslbdns-api")]
    public async Task Unit_restarts_on_failure_reloads_on_sighup_and_takes_the_consul_token_from_a_credential_file(string unit)
    {
        using var root = await UnitInstallRoot.CreateAsync();
        var parsed = root.Unit(unit);

        Assert.Equal("on-failure", parsed.Last("Service", "Restart"));
        Assert.NotNull(parsed.Last("Service", "RestartSec"));
        Assert.Equal("/bin/kill -HUP $MAINPID", parsed.Last("Service", "ExecReload"));
        Assert.Contains("consul-token:/etc/gslbdns/credentials/consul-token", parsed.All("Service", "LoadCredential"));

        // The token reaches the program as a file in the credentials directory, never as an argument.
        var argv = root.CommandLine(unit);
        var tokenFile = argv[argv.ToList().IndexOf("--consul-token-file") + 1];
        Assert.Equal(root.Map($"{UnitInstallRoot.CredentialsDirectory(unit)}/consul-token"), tokenFile);
        var token = (await File.ReadAllTextAsync(tokenFile)).Trim();
        Assert.DoesNotContain(argv, a => a.Contains(token, StringComparison.Ordinal));

        // Every variable ExecStart uses has a value: from Environment= or the shipped example env file.
        var environment = parsed.Environment(root.Map);
        Assert.All(parsed.ExecStartVariables(), v => Assert.True(environment.ContainsKey(v), $"{unit}: ExecStart uses ${v}, which nothing sets"));
    }

    /// <summary>
    /// The DNS server and the API validate every option (and that the named files exist) before they look at
    /// <c>--help</c>: exit 0 means the whole command line of the unit, with the shipped example env file, is valid.
    /// </summary>
    [Theory]
    [InlineData("gslbdns")]
    [InlineData("gslbdns-api")]
    public async Task Unit_command_line_with_the_example_environment_is_accepted_by_the_program(string unit)
    {
        using var root = await UnitInstallRoot.CreateAsync();
        var argv = root.CommandLine(unit);

        var accepted = await ChildProcess.RunAsync(argv[0], [.. argv.Skip(1), "--help"], ToolTimeout);
        var rejected = await ChildProcess.RunAsync(argv[0], [.. argv.Skip(1), "--no-such-option", "--help"], ToolTimeout);

        Assert.True(accepted.ExitCode == 0, $"{string.Join(' ', argv)}\n{accepted}");
        Assert.DoesNotContain($"{unit}: ", accepted.StandardError, StringComparison.Ordinal);
        Assert.True(rejected.ExitCode == 2 && rejected.StandardError.Contains("--no-such-option", StringComparison.Ordinal), rejected.ToString());
    }

    /// <summary>
    /// The unit's command line as systemd runs it (<c>Type=notify</c>, <c>WatchdogSec=</c>): READY=1 only once the
    /// server answers (one dig right after it, no polling), watchdog pings while its own query is answered, and
    /// STOPPING=1 then exit 0 on SIGTERM within TimeoutStopSec.
    /// </summary>
    [Fact]
    public async Task Dns_server_unit_command_line_says_ready_when_it_answers_pings_the_watchdog_and_stops_on_sigterm()
    {
        using var root = await UnitInstallRoot.CreateAsync();
        var dnsPort = PortFinder.Take();
        root.WriteEnvironmentFile("gslbdns.env",
        [
            $"GSLBDNS_DNS_ARGS=\"--dns 127.0.0.1:{dnsPort}\"",
            $"GSLBDNS_BACKEND_ARGS=\"--consul http://127.0.0.1:{PortFinder.Take()}\"",
            $"GSLBDNS_METRICS=127.0.0.1:{PortFinder.Take()}",
            "GSLBDNS_NSID=deploy-test",
        ]);
        var argv = root.CommandLine("gslbdns");
        var unit = root.Unit("gslbdns");
        Assert.Equal("notify", unit.Last("Service", "Type"));
        Assert.Equal("main", unit.Last("Service", "NotifyAccess"));
        Assert.NotNull(unit.Last("Service", "WatchdogSec"));

        using var systemd = new NotifySocket();
        // A short watchdog so the test sees several pings: the server pings every half period.
        var environment = new Dictionary<string, string> { ["NOTIFY_SOCKET"] = systemd.Name, ["WATCHDOG_USEC"] = "400000" };
        using var server = ChildProcess.Start(argv[0], argv.Skip(1), environment: environment);
        var ready = await systemd.WaitForAsync("READY=1", TimeSpan.FromSeconds(60));
        var dig = await ChildProcess.RunAsync("dig", ["+short", "+time=2", "+tries=1", "-p", dnsPort.ToString(CultureInfo.InvariantCulture), "@127.0.0.1", "example.com", "SOA"], ToolTimeout);
        Assert.True(dig.ExitCode == 0, dig.ToString());
        Assert.StartsWith("ns1.example.com.", dig.StandardOutput, StringComparison.Ordinal);
        Assert.Contains($"MAINPID={server.Pid}", ready, StringComparison.Ordinal);
        Assert.Contains("STATUS=answering on 127.0.0.1:" + dnsPort.ToString(CultureInfo.InvariantCulture), ready, StringComparison.Ordinal);
        for (var i = 0; i < 3; i++)
        {
            await systemd.WaitForAsync("WATCHDOG=1", TimeSpan.FromSeconds(10));
        }

        server.Signal(ChildProcess.SigTerm);
        await systemd.WaitForAsync("STOPPING=1", TimeSpan.FromSeconds(10));
        var stopSeconds = int.Parse(unit.Last("Service", "TimeoutStopSec")!.TrimEnd('s'), CultureInfo.InvariantCulture);
        Assert.True(await server.WaitForExitAsync(TimeSpan.FromSeconds(stopSeconds)), $"not stopped within TimeoutStopSec\n{server.Describe()}");
        Assert.True(server.ExitCode == 0, server.Describe());
    }

    [Fact]
    public async Task Prober_unit_command_line_starts_the_prober_and_it_stops_on_sigterm()
    {
        using var root = await UnitInstallRoot.CreateAsync();
        var metricsPort = PortFinder.Take();
        root.WriteEnvironmentFile("prober.env",
        [
            "PROBER_ID=deploy-test-1",
            "PROBER_REGION=eu",
            "PROBER_LAT=53.35",
            "PROBER_LON=-6.26",
            $"GSLBDNS_CONSUL_ARGS=\"--consul http://127.0.0.1:{PortFinder.Take()}\"",
            $"GSLBDNS_METRICS=127.0.0.1:{metricsPort}",
        ]);
        var argv = root.CommandLine("gslbdns-prober");
        Assert.Equal("notify", root.Unit("gslbdns-prober").Last("Service", "Type"));

        // systemd's abstract-namespace notify socket ("@..."); the prober says READY=1 once it probes.
        using var systemd = new NotifySocket(abstractName: true);
        using var prober = ChildProcess.Start(argv[0], argv.Skip(1), environment: new Dictionary<string, string> { ["NOTIFY_SOCKET"] = systemd.Name });
        Assert.Contains("STATUS=probing as deploy-test-1 in eu", await systemd.WaitForAsync("READY=1", TimeSpan.FromSeconds(60)), StringComparison.Ordinal);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await Deadline.UntilAsync("prober /metrics", TimeSpan.FromSeconds(30), async () =>
        {
            if (prober.HasExited)
            {
                throw new PollAbortedException($"prober exited\n{prober.Describe()}");
            }

            var body = await http.GetStringAsync(new Uri($"http://127.0.0.1:{metricsPort}/metrics"));
            return (body.Contains("gslbdns_prober_", StringComparison.Ordinal), body.Length > 200 ? body[..200] : body);
        });

        prober.Signal(ChildProcess.SigTerm);
        Assert.True(await prober.WaitForExitAsync(TimeSpan.FromSeconds(15)), prober.Describe());
        Assert.True(prober.ExitCode == 0, prober.Describe());
    }

    /// <summary>
    /// What <c>AmbientCapabilities=CAP_NET_BIND_SERVICE</c> buys: as an unprivileged user the server cannot bind
    /// port 53, with that one ambient capability (and a bounding set of only it, as the unit says) it can.
    /// Runs in a private network namespace, so port 53 there is free and nothing leaves its loopback.
    /// </summary>
    [Fact]
    public async Task Dns_server_binds_port_53_as_an_unprivileged_user_only_with_the_units_capability()
    {
        using var root = await UnitInstallRoot.CreateAsync();
        UnitInstallRoot.MakeWorldReadable(root.Path);
        root.WriteEnvironmentFile("gslbdns.env",
        [
            "GSLBDNS_DNS_ARGS=\"--dns 127.0.0.1:53\"",
            "GSLBDNS_BACKEND_ARGS=\"--consul http://127.0.0.1:8500\"",
            "GSLBDNS_METRICS=127.0.0.1:9153",
            "GSLBDNS_NSID=deploy-test",
        ]);
        var argv = root.CommandLine("gslbdns");
        var capabilities = root.Unit("gslbdns").Last("Service", "AmbientCapabilities")!
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(c => c.ToLowerInvariant().Replace("cap_", "", StringComparison.Ordinal))
            .ToList();
        var nobody = new[] { "--reuid=65534", "--regid=65534", "--clear-groups" };
        var withCapability = nobody.Concat([
            $"--inh-caps={string.Join(',', capabilities.Select(c => "+" + c))}",
            $"--ambient-caps={string.Join(',', capabilities.Select(c => "+" + c))}",
            $"--bounding-set=-all,{string.Join(',', capabilities.Select(c => "+" + c))}",
        ]).ToArray();

        // Both at once: each runs in a network namespace of its own, so each has a port 53 of its own.
        var refusing = ChildProcess.RunAsync("unshare", ["--net", "sh", "-c", "ip link set lo up && exec setpriv \"$@\"", "sh", .. nobody, "--", .. argv], ToolTimeout);
        using var server = ChildProcess.Start("unshare", ["--net", "sh", "-c", "ip link set lo up && exec setpriv \"$@\"", "sh", .. withCapability, "--", .. argv]);
        var refused = await refusing;
        Assert.True(refused.ExitCode == 1 && refused.StandardError.Contains("Permission denied", StringComparison.Ordinal), refused.ToString());

        var soa = await Deadline.PollAsync("SOA on port 53 inside the namespace", TimeSpan.FromSeconds(30), async () =>
        {
            if (server.HasExited)
            {
                throw new PollAbortedException($"server exited\n{server.Describe()}");
            }

            var dig = await ChildProcess.RunAsync("nsenter", [$"--target={server.Pid}", "--net", "dig", "+short", "+time=1", "+tries=1", "-p", "53", "@127.0.0.1", "example.com", "SOA"], ToolTimeout);
            return (dig.ExitCode == 0 && dig.StandardOutput.Contains("example.com.", StringComparison.Ordinal), dig.StandardOutput, dig.ToString());
        });
        var status = await File.ReadAllLinesAsync($"/proc/{server.Pid}/status");
        server.Signal(ChildProcess.SigTerm);
        Assert.True(await server.WaitForExitAsync(TimeSpan.FromSeconds(20)), server.Describe());

        Assert.StartsWith("ns1.example.com.", soa, StringComparison.Ordinal);
        Assert.Contains("Uid:\t65534\t65534\t65534\t65534", status);
        // Bit 10 is CAP_NET_BIND_SERVICE: the only capability the process holds.
        Assert.Contains("CapEff:\t0000000000000400", status);
        Assert.Contains("CapBnd:\t0000000000000400", status);
    }

    private static Task<ProcessResult> VerifyAsync(UnitInstallRoot root, IEnumerable<string> units)
        => ChildProcess.RunAsync("systemd-analyze", ["verify", "--man=no", "--generators=no", $"--root={root.Path}", .. units.Select(u => $"{u}.service")], ToolTimeout);

    /// <summary>systemd-analyze security's table: check name to passed (✓) or not (✗).</summary>
    private static Dictionary<string, bool> ParseSecurityReview(string output)
    {
        var checks = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var line in output.Split('\n'))
        {
            var match = ReviewLine().Match(line);
            if (match.Success)
            {
                checks[match.Groups[2].Value] = match.Groups[1].Value == "✓";
            }
        }

        Assert.True(checks.Count > 20, $"no security table in:\n{output}");
        return checks;
    }

    [GeneratedRegex(@"^([✓✗])\s+(\S+)")]
    private static partial Regex ReviewLine();

    [GeneratedRegex(@"Overall exposure level for \S+: (\d+\.\d+)")]
    private static partial Regex ExposureLine();
}
