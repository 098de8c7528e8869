using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using GslbDns.Answers;
using GslbDns.Observability;
using GslbDns.Tests.Api;
using GslbDns.Tests.Core.Probing;
using GslbDns.Tests.Server;
using GslbDns.Tests.TestSupport;
using DnsName = GslbDns.Dns.DnsName;

namespace GslbDns.Tests.Core.Gslb.Answers;

/// <summary>
/// Hostname endpoints (issue 15 item 1) through real DNS queries: the real server in-process, its background resolver asking a
/// second authoritative server of ours on loopback (a port the kernel picked) for the hostname's records, its embedded prober
/// probing the resolved address. Flattened answers follow the records within their TTL; a CNAME-mode service answers the
/// first-ranked hostname; when the upstream dies and then stops answering, the last good addresses keep serving for
/// <c>keepLastGood</c> and are then dropped (the service answers its fallback). The API's endpoint view, explain and the
/// <c>gslbdns_hostname_resolution_*</c> series show it.
/// </summary>
public sealed class HostEndpointDnsTests
{
    private const string Zone = "host.test";
    private const string Fallback = "192.0.2.99";

    private static string UpstreamZone(params string[] lbAddresses) =>
        "$TTL 1\n@ IN SOA ns1 hostmaster 1 3600 600 86400 1\n  IN NS ns1\nns1 IN A 127.0.0.1\n"
        + string.Concat(lbAddresses.Select(a => a.Contains(':', StringComparison.Ordinal) ? $"lb IN AAAA {a}\n" : $"lb IN A {a}\n"))
        + "other IN A 127.0.0.59\n";

    [Fact]
    public async Task Flattened_and_cname_answers_follow_the_upstream_records_and_outlive_its_failure_for_the_bound()
    {
        using var folder = new TempFolder("host-endpoints");

        // The hostname's authority: our own server on 127.0.0.1, a kernel-chosen port.
        var upstreamZones = folder.Folder("upstream");
        File.WriteAllText(Path.Combine(upstreamZones, "elb.test.zone"), UpstreamZone("127.0.0.51", "127.0.0.52", "2001:db8::51"));
        var upstream = await InProcessServer.StartAsync(InProcessServer.Options(upstreamZones));
        var upstreamEndPoint = upstream.UdpListeners[0].LocalEndPoint;
        Socket? silent = null;
        var upstreamUp = true;
        try
        {
            // Health backends on the hostname's first address before and after the change, on one port.
            await using var first = HttpBackend.Start(IPAddress.Parse("127.0.0.51"), 0);
            await using var moved = HttpBackend.Start(IPAddress.Parse("127.0.0.53"), first.Port);
            var zones = folder.Folder("zones");
            File.WriteAllText(Path.Combine(zones, $"{Zone}.zone"), "$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 600 86400 60\n  IN NS ns1\nns1 IN A 127.0.0.1\n");
            File.WriteAllText(Path.Combine(zones, $"{Zone}.gslb.json"), $$"""
                {
                  "dataCenters": { "dc-a": { "latitude": 50.1, "longitude": 8.7 }, "dc-b": { "latitude": 39.0, "longitude": -77.5 } },
                  "resolvers": { "servers": [ "{{upstreamEndPoint}}" ], "timeout": "200ms", "minRefresh": "200ms", "maxRefresh": "1s", "keepLastGood": "1s" },
                  "services": {
                    "app": {
                      "ttl": 30,
                      "policy": [ { "type": "healthy" }, { "type": "multivalue" } ],
                      "whenAllUnhealthy": "fallback", "fallback": [ "{{Fallback}}" ],
                      "check": { "type": "http", "port": {{first.Port}}, "path": "/health", "interval": "200ms", "timeout": "150ms", "failureThreshold": 1, "successThreshold": 1 },
                      "endpoints": [ { "dataCenter": "dc-a", "host": "lb.elb.test." } ]
                    },
                    "alias": {
                      "hostAnswer": "cname",
                      "policy": [ { "type": "healthy" }, { "type": "failover" } ],
                      "endpoints": [ { "dataCenter": "dc-a", "host": "lb.elb.test.", "priority": 1 }, { "dataCenter": "dc-b", "host": "other.elb.test.", "priority": 2 } ]
                    }
                  }
                }
                """);
            await using var server = await InProcessServer.StartEmbeddedAsync(folder, zones);
            var dns = server.UdpListeners[0].LocalEndPoint;
            using var http = new HttpClient { BaseAddress = server.ApiBaseAddress, Timeout = TimeSpan.FromSeconds(5) };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", InProcessApi.ReadToken);

            async Task<(int Rcode, List<(ushort Type, string Data, uint Ttl)> Records)> AskAsync(string name, ushort type)
            {
                var id = DnsWire.NewId();
                var reply = await RawDnsClient.UdpAsync(dns, DnsWire.Query(name, type, id), id, TimeSpan.FromSeconds(1));
                Assert.NotNull(reply);
                var parsed = RawReply.Parse(reply);
                return (parsed.Rcode, [.. parsed.Answers.Select(a => (a.Type, a.Type == DnsWire.TypeCNAME ? a.RDataName() : a.Address.ToString(), a.Ttl)).OrderBy(r => r.Item2, StringComparer.Ordinal)]);
            }

            async Task AnswersAsync(string what, string name, ushort type, params string[] expected) =>
                await Deadline.UntilAsync(what, TimeSpan.FromSeconds(6), async () =>
                {
                    var (rcode, records) = await AskAsync(name, type);
                    return (rcode == 0 && records.Select(r => r.Data).SequenceEqual(expected), $"rcode {rcode} [{string.Join(", ", records.Select(r => r.Data))}]");
                }, TimeSpan.FromMilliseconds(50));

            // Flattened: the hostname's addresses under the service's name, A and AAAA, with no more than the record's TTL.
            await AnswersAsync("flattened A", $"app.{Zone}", DnsWire.TypeA, "127.0.0.51", "127.0.0.52");
            await AnswersAsync("flattened AAAA", $"app.{Zone}", DnsWire.TypeAAAA, "2001:db8::51");
            Assert.All((await AskAsync($"app.{Zone}", DnsWire.TypeA)).Records, r => Assert.True(r.Ttl <= 1, $"ttl {r.Ttl}"));

            // CNAME mode: one CNAME, to the first-ranked hostname, for the resolver to follow.
            var alias = await AskAsync($"alias.{Zone}", DnsWire.TypeA);
            Assert.Equal([(DnsWire.TypeCNAME, "lb.elb.test.")], alias.Records.Select(r => (r.Type, r.Data)));

            // The prober probes the resolved (first) address.
            await Deadline.UntilAsync("the first resolved address probed", TimeSpan.FromSeconds(5), () => Task.FromResult((first.Requests > 0, $"{first.Requests} probes")));

            // The API's endpoint view shows what the hostname resolved to.
            using (var view = JsonDocument.Parse(await http.GetStringAsync(new Uri($"v1/services/app.{Zone}", UriKind.Relative))))
            {
                var endpoint = view.RootElement.GetProperty("endpoints")[0];
                Assert.Equal("lb.elb.test", endpoint.GetProperty("address").GetString());
                var host = endpoint.GetProperty("host");
                Assert.Equal("flatten", host.GetProperty("answer").GetString());
                Assert.Equal(["127.0.0.51", "127.0.0.52", "2001:db8::51"], host.GetProperty("addresses").EnumerateArray().Select(a => a.GetString()));
                Assert.True(host.GetProperty("usable").GetBoolean());
                Assert.Equal("127.0.0.51", endpoint.GetProperty("checkTarget").GetProperty("address").GetString());
            }

            // The records change: answers follow within the TTL and the refresh, and the probes move to the new address.
            File.WriteAllText(Path.Combine(upstreamZones, "elb.test.zone"), UpstreamZone("127.0.0.53"));
            Assert.Empty(upstream.Builder.Reload());
            await AnswersAsync("the changed record answered", $"app.{Zone}", DnsWire.TypeA, "127.0.0.53");
            await AnswersAsync("no AAAA left: NODATA", $"app.{Zone}", DnsWire.TypeAAAA);
            await Deadline.UntilAsync("the new address probed", TimeSpan.FromSeconds(5), () => Task.FromResult((moved.Requests > 0, $"{moved.Requests} probes")));

            var explain = new Explainer(server.Engine).Explain(DnsName.Parse($"app.{Zone}."), GslbDns.Dns.RecordType.A, IPAddress.Loopback, 32);
            Assert.Contains("lb.elb.test. -> 127.0.0.53 (ttl 1, usable until", explain.Steps.Single(s => s.Policy == "healthy").Note, StringComparison.Ordinal);

            // The upstream goes away and then times out (a socket that reads and never answers holds its port): the last good
            // address keeps serving while the failure shows in the API, then it is dropped and the fallback answers.
            upstreamUp = false;
            await upstream.DisposeAsync();
            silent = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            silent.Bind(upstreamEndPoint);
            string? lastError = null;
            await Deadline.UntilAsync("a failure recorded while the last good address serves", TimeSpan.FromSeconds(5), async () =>
            {
                using var view = JsonDocument.Parse(await http.GetStringAsync(new Uri($"v1/services/app.{Zone}", UriKind.Relative)));
                var host = view.RootElement.GetProperty("endpoints")[0].GetProperty("host");
                lastError = host.GetProperty("lastError").GetString();
                var (_, records) = await AskAsync($"app.{Zone}", DnsWire.TypeA);
                var stillServing = host.GetProperty("usable").GetBoolean() && records.Select(r => r.Data).SequenceEqual(["127.0.0.53"]);
                return (lastError is not null && stillServing, $"lastError {lastError}, usable {host.GetProperty("usable")}, answer [{string.Join(", ", records.Select(r => r.Data))}]");
            }, TimeSpan.FromMilliseconds(20));

            await AnswersAsync("the last good address dropped after the bound: fallback", $"app.{Zone}", DnsWire.TypeA, Fallback);

            // The series say so.
            var registry = Prometheus.Metrics.NewCustomRegistry();
            var exporter = new HostResolutionExporter(Prometheus.Metrics.WithCustomRegistry(registry));
            exporter.Collect(server.Snapshots.Current.Hosts, DateTimeOffset.UtcNow);
            using var stream = new MemoryStream();
            await registry.CollectAndExportAsTextAsync(stream);
            var text = Encoding.UTF8.GetString(stream.ToArray());
            Assert.Contains("gslbdns_hostname_resolution_usable{host=\"lb.elb.test.\"} 0", text, StringComparison.Ordinal);
            Assert.Contains("gslbdns_hostname_resolution_addresses{host=\"lb.elb.test.\"} 1", text, StringComparison.Ordinal);
            Assert.Matches("gslbdns_hostname_resolutions_total\\{host=\"lb.elb.test.\",result=\"failure\"\\} [1-9]", text);
            Assert.Matches("gslbdns_hostname_resolutions_total\\{host=\"lb.elb.test.\",result=\"success\"\\} [1-9]", text);
        }
        finally
        {
            silent?.Dispose();
            if (upstreamUp)
            {
                await upstream.DisposeAsync();
            }
        }
    }
}
