using System.Globalization;
using System.Net;
using GslbDns.Tests.Fleet;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Server;

/// <summary>
/// The dnstap query log of the real server process: queried with dig and a raw client, stopped with SIGTERM (which
/// ends the Frame Stream), and read back with BIND's <c>dnstap-read</c>, or captured from a UNIX socket by
/// libfstrm's <c>fstrm_capture</c>, so both the framing and the protobuf are checked by other people's code.
/// </summary>
public sealed class DnstapTests
{
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Dnstap_file_holds_each_UDP_and_TCP_query_and_response_with_addresses_ports_and_messages()
    {
        using var folder = new TempFolder("dnstap-file");
        TestZones.WriteParentZones(folder.Path, IPAddress.Parse("127.0.0.53"));
        var file = folder.File("queries.dnstap");
        var (server, dns, _) = await FleetProcesses.StartServerAsync(
            RepoLayout.DotnetHost, RepoLayout.ServerDll, folder.Path, [], null, metrics: false, extraArguments: ["--no-prober", "--dnstap", file], readyZone: "example.test");
        using (server)
        {
            var www = await DigRunner.DigAsync(dns, "www.example.test", "A");
            Assert.Equal("NOERROR", www.Status);
            var mail = await DigRunner.DigAsync(dns, "+tcp", "mail.example.test", "AAAA");
            Assert.Equal("NOERROR", mail.Status);
            var missing = await DigRunner.DigAsync(dns, "nothing-here.example.test", "A");
            Assert.Equal("NXDOMAIN", missing.Status);
            await StopAsync(server);
        }

        var entries = await DnstapRead.ReadAsync(file);
        var port = dns.Port.ToString(CultureInfo.InvariantCulture);

        var (wwwQuery, wwwResponse) = Pair(entries, "www.example.test.");
        foreach (var entry in new[] { wwwQuery, wwwResponse })
        {
            Assert.Equal("UDP", entry.Field("socket_protocol"));
            Assert.Equal("INET", entry.Field("socket_family"));
            Assert.Equal("127.0.0.1", entry.Field("query_address"));
            Assert.Equal("127.0.0.1", entry.Field("response_address"));
            Assert.Equal(port, entry.Field("response_port"));
        }

        Assert.True(int.Parse(wwwQuery.Field("query_port"), CultureInfo.InvariantCulture) > 0, wwwQuery.Field("query_port"));
        Assert.Equal(wwwQuery.Field("query_port"), wwwResponse.Field("query_port"));
        Assert.Contains("query_time", wwwQuery.Fields.Keys);
        Assert.Contains("response_time", wwwResponse.Fields.Keys);
        foreach (var address in TestZones.WwwV4)
        {
            Assert.Contains(address, wwwResponse.ResponseText, StringComparison.Ordinal);
        }

        var (mailQuery, mailResponse) = Pair(entries, "mail.example.test.");
        Assert.Equal("TCP", mailQuery.Field("socket_protocol"));
        Assert.Equal("TCP", mailResponse.Field("socket_protocol"));
        Assert.Contains("2001:db8::25", mailResponse.ResponseText, StringComparison.Ordinal);

        var (_, missingResponse) = Pair(entries, "nothing-here.example.test.");
        Assert.Contains("NXDOMAIN", missingResponse.ResponseText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dnstap_sample_N_logs_exactly_one_query_in_N()
    {
        const int Every = 4;
        const int Queries = 40;
        using var folder = new TempFolder("dnstap-sample");
        TestZones.WriteParentZones(folder.Path, IPAddress.Parse("127.0.0.53"));
        var file = folder.File("sampled.dnstap");
        var (server, dns, _) = await FleetProcesses.StartServerAsync(
            RepoLayout.DotnetHost, RepoLayout.ServerDll, folder.Path, [], null, metrics: false,
            extraArguments: ["--no-prober", "--dnstap", file, "--dnstap-sample", Every.ToString(CultureInfo.InvariantCulture)], readyZone: "example.test");
        using (server)
        {
            // One after another, so they are consecutive in the server's count whatever the readiness probe sent before.
            for (var i = 0; i < Queries; i++)
            {
                var reply = await RawDnsClient.UdpQueryAsync(dns, $"s{i}.example.test", DnsWire.TypeA);
                Assert.Equal(3, reply.Rcode);
            }

            await StopAsync(server);
        }

        var entries = await DnstapRead.ReadAsync(file);
        var sampled = entries.Where(e => e.QuestionName.StartsWith('s') && e.QuestionName.EndsWith(".example.test.", StringComparison.Ordinal)).ToList();
        var queries = sampled.Where(e => e.Type == "AUTH_QUERY").Select(e => e.QuestionName).ToList();
        var responses = sampled.Where(e => e.Type == "AUTH_RESPONSE").Select(e => e.QuestionName).ToList();
        Assert.Equal(Queries / Every, queries.Count);
        Assert.Equal(queries, responses);
        Assert.Equal(queries.Count, queries.Distinct().Count());
    }

    [Fact]
    public async Task Dnstap_to_a_unix_socket_reconnects_and_completes_the_bidirectional_handshake_with_fstrm_capture()
    {
        using var folder = new TempFolder("dnstap-sock");
        TestZones.WriteParentZones(folder.Path, IPAddress.Parse("127.0.0.53"));
        var socket = folder.File("tap.sock");
        var captured = folder.File("captured.dnstap");

        // The server starts first: no reader yet, so it retries until one appears (a reader restarting must not need a server restart).
        var (server, dns, _) = await FleetProcesses.StartServerAsync(
            RepoLayout.DotnetHost, RepoLayout.ServerDll, folder.Path, [], null, metrics: false, extraArguments: ["--no-prober", "--dnstap", "unix:" + socket], readyZone: "example.test");
        using (server)
        {
            using var capture = ChildProcess.Start("fstrm_capture", ["-t", "protobuf:dnstap.Dnstap", "-u", socket, "-w", captured]);
            await Deadline.UntilAsync("the server's dnstap connected to fstrm_capture", TimeSpan.FromSeconds(20), () =>
            {
                if (capture.HasExited || server.HasExited)
                {
                    throw new PollAbortedException($"exited:\n{capture.Describe()}\n{server.Describe()}");
                }

                return Task.FromResult((server.StandardError.Contains("dnstap connected to unix:" + socket, StringComparison.Ordinal), server.StandardError));
            }, TimeSpan.FromMilliseconds(100));

            var reply = await RawDnsClient.UdpQueryAsync(dns, "www.example.test", DnsWire.TypeA);
            Assert.Equal(0, reply.Rcode);

            // SIGTERM: the server writes STOP and waits for the reader's FINISH; then the reader closes its file on SIGTERM.
            await StopAsync(server);
            capture.Signal(ChildProcess.SigTerm);
            Assert.True(await capture.WaitForExitAsync(StopTimeout), capture.Describe());
            Assert.DoesNotContain("failed", server.StandardError, StringComparison.OrdinalIgnoreCase);
        }

        var entries = await DnstapRead.ReadAsync(captured);
        var (query, response) = Pair(entries, "www.example.test.");
        Assert.Equal("UDP", query.Field("socket_protocol"));
        Assert.Equal(dns.Port.ToString(CultureInfo.InvariantCulture), response.Field("response_port"));
        Assert.Contains(TestZones.WwwV4[0], response.ResponseText, StringComparison.Ordinal);
    }

    private static (DnstapEntry Query, DnstapEntry Response) Pair(IReadOnlyList<DnstapEntry> entries, string name)
    {
        var query = entries.SingleOrDefault(e => e.Type == "AUTH_QUERY" && e.QuestionName == name);
        var response = entries.SingleOrDefault(e => e.Type == "AUTH_RESPONSE" && e.QuestionName == name);
        Assert.True(query is not null && response is not null, $"no AUTH_QUERY and AUTH_RESPONSE pair for {name} among {entries.Count} entries: {string.Join(", ", entries.Select(e => $"{e.Type} {e.QuestionName}"))}");
        return (query, response);
    }

    private static async Task StopAsync(ChildProcess server)
    {
        server.Signal(ChildProcess.SigTerm);
        Assert.True(await server.WaitForExitAsync(StopTimeout), $"no exit within {StopTimeout.TotalSeconds} s of SIGTERM\n{server.Describe()}");
        Assert.True(server.ExitCode == 0, server.Describe());
    }
}
