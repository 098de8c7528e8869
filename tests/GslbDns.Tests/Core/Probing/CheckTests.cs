using System.Diagnostics;
using GslbDns.Probing;
using static GslbDns.Tests.Core.Probing.ProbeTestSupport;

namespace GslbDns.Tests.Core.Probing;

/// <summary>Each check type against real backends on loopback, through the <see cref="ProbeRunner"/> (timeout included).</summary>
public sealed class CheckTests : IClassFixture<DnsBackendFixture>, IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMilliseconds(400);

    private readonly DnsBackendFixture _dns;
    private readonly ProbeRunner _runner = ProbeRunner.CreateDefault();
    private readonly ProbeRunner _insecure = ProbeRunner.CreateDefault(allowInsecureTls: true);

    public CheckTests(DnsBackendFixture dns)
    {
        _dns = dns;
    }

    public void Dispose()
    {
        _runner.Dispose();
        _insecure.Dispose();
    }

    [Fact]
    public async Task Http_check_passes_on_200_and_sends_the_service_name_as_host()
    {
        await using var backend = HttpBackend.Start();
        var outcome = await _runner.RunAsync(Target(Check("http", backend.Port, timeout: Timeout)), default);
        Assert.True(outcome.Success, outcome.Error);
        Assert.Null(outcome.Error);
        Assert.True(outcome.Elapsed > TimeSpan.Zero);
        Assert.Equal($"svc.test:{backend.Port}", Assert.Single(backend.HostHeaders));
    }

    [Fact]
    public async Task Http_check_fails_on_500_with_the_status_in_the_error()
    {
        await using var backend = HttpBackend.Start();
        backend.Mode = BackendMode.Unhealthy;
        var outcome = await _runner.RunAsync(Target(Check("http", backend.Port, timeout: Timeout)), default);
        Assert.False(outcome.Success);
        Assert.Equal("HTTP status 500, expected 200", outcome.Error);
    }

    [Fact]
    public async Task Http_check_checks_the_body_when_asked()
    {
        await using var backend = HttpBackend.Start();
        backend.Body = "status: ok";
        Assert.True((await _runner.RunAsync(Target(Check("http", backend.Port, timeout: Timeout, expectBody: "ok")), default)).Success);
        var wrong = await _runner.RunAsync(Target(Check("http", backend.Port, timeout: Timeout, expectBody: "READY")), default);
        Assert.False(wrong.Success);
        Assert.Contains("READY", wrong.Error);
    }

    [Fact]
    public async Task Http_check_fails_fast_when_the_connection_is_refused()
    {
        await using var backend = HttpBackend.Start();
        backend.Refuse();
        var clock = Stopwatch.StartNew();
        var outcome = await _runner.RunAsync(Target(Check("http", backend.Port, timeout: TimeSpan.FromSeconds(5))), default);
        Assert.False(outcome.Success);
        Assert.Contains("refused", outcome.Error, StringComparison.OrdinalIgnoreCase);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed}");

        backend.Accept();
        Assert.True((await _runner.RunAsync(Target(Check("http", backend.Port, timeout: Timeout)), default)).Success);
    }

    [Fact]
    public async Task Silent_http_backend_times_out_within_the_check_timeout()
    {
        await using var backend = HttpBackend.Start();
        backend.Mode = BackendMode.Silent;
        var timeout = TimeSpan.FromMilliseconds(300);
        var clock = Stopwatch.StartNew();
        var outcome = await _runner.RunAsync(Target(Check("http", backend.Port, timeout: timeout)), default);
        clock.Stop();
        Assert.False(outcome.Success);
        Assert.Equal("timed out after 300 ms", outcome.Error);
        Assert.InRange(clock.Elapsed, timeout - TimeSpan.FromMilliseconds(20), timeout + TimeSpan.FromMilliseconds(700));
    }

    [Fact]
    public async Task Https_check_uses_the_service_name_for_sni_and_validates_the_certificate()
    {
        await using var backend = HttpBackend.Start(tlsName: "svc.test");
        var check = Check("https", backend.Port, timeout: TimeSpan.FromSeconds(2));

        // Self-signed: a validating prober must refuse it ...
        var validated = await _runner.RunAsync(Target(check), default);
        Assert.False(validated.Success);
        Assert.Contains("SSL", validated.Error, StringComparison.OrdinalIgnoreCase);

        // ... and one told to skip validation talks to it, with the service name as SNI and Host.
        var insecure = await _insecure.RunAsync(Target(check), default);
        Assert.True(insecure.Success, insecure.Error);
        Assert.All(backend.SniNames, sni => Assert.Equal("svc.test", sni));
        Assert.Equal(2, backend.SniNames.Count);
        Assert.Equal($"svc.test:{backend.Port}", Assert.Single(backend.HostHeaders));
    }

    [Fact]
    public async Task Silent_https_backend_times_out_in_the_handshake()
    {
        await using var backend = HttpBackend.Start(tlsName: "svc.test");
        backend.Mode = BackendMode.Silent;
        var outcome = await _insecure.RunAsync(Target(Check("https", backend.Port, timeout: TimeSpan.FromMilliseconds(250))), default);
        Assert.False(outcome.Success);
        Assert.Equal("timed out after 250 ms", outcome.Error);
        Assert.True(outcome.Elapsed < TimeSpan.FromSeconds(1), $"took {outcome.Elapsed}");
    }

    [Fact]
    public async Task Tcp_check_passes_while_the_port_accepts_and_fails_when_closed()
    {
        using var backend = TcpBackend.Start();
        var check = Check("tcp", backend.Port, timeout: Timeout);
        Assert.True((await _runner.RunAsync(Target(check), default)).Success);

        backend.Close();
        var closed = await _runner.RunAsync(Target(check), default);
        Assert.False(closed.Success);
        Assert.Contains("refused", closed.Error, StringComparison.OrdinalIgnoreCase);

        backend.Reopen();
        Assert.True((await _runner.RunAsync(Target(check), default)).Success);
    }

    [Fact]
    public async Task Dns_check_passes_on_noerror_with_an_answer()
    {
        var outcome = await _runner.RunAsync(Target(Check("dns", _dns.Port, timeout: TimeSpan.FromSeconds(2), queryName: DnsBackendFixture.AliveName)), default);
        Assert.True(outcome.Success, outcome.Error);
    }

    [Fact]
    public async Task Dns_check_fails_on_nxdomain_and_on_a_name_outside_the_servers_zones()
    {
        var missing = await _runner.RunAsync(Target(Check("dns", _dns.Port, timeout: TimeSpan.FromSeconds(2), queryName: DnsBackendFixture.MissingName)), default);
        Assert.False(missing.Success);
        Assert.Contains("NotExistentDomain", missing.Error);

        var refused = await _runner.RunAsync(Target(Check("dns", _dns.Port, timeout: TimeSpan.FromSeconds(2), queryName: "www.elsewhere.example.")), default);
        Assert.False(refused.Success);
        Assert.StartsWith("DNS ", refused.Error);
    }

    [Fact]
    public async Task Silent_dns_server_times_out_within_the_check_timeout()
    {
        using var silent = new SilentUdp();
        var timeout = TimeSpan.FromMilliseconds(300);
        var clock = Stopwatch.StartNew();
        var outcome = await _runner.RunAsync(Target(Check("dns", silent.Port, timeout: timeout, queryName: DnsBackendFixture.AliveName)), default);
        clock.Stop();
        Assert.False(outcome.Success);
        Assert.InRange(clock.Elapsed, timeout - TimeSpan.FromMilliseconds(20), timeout + TimeSpan.FromMilliseconds(700));
    }

    [Fact]
    public async Task Unknown_check_type_is_a_failed_probe_not_an_exception()
    {
        var outcome = await _runner.RunAsync(Target(Check("icmp", 1)), default);
        Assert.False(outcome.Success);
        Assert.Contains("icmp", outcome.Error);
    }
}
