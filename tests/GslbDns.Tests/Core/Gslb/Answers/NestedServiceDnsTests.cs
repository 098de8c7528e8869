using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using GslbDns.Answers;
using GslbDns.Server.Hosting;
using GslbDns.Tests.Api;
using GslbDns.Tests.Core.Probing;
using GslbDns.Tests.Fleet;
using GslbDns.Tests.Server;
using GslbDns.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using DnsName = GslbDns.Dns.DnsName;

namespace GslbDns.Tests.Core.Gslb.Answers;

/// <summary>
/// Calculated health and nested services (issue 15 item 3) through real DNS queries to the real server, in-process with its
/// embedded prober probing real HTTP backends on loopback and its embedded REST API: a region name answers its first healthy
/// per-data-center child, fails over when the child's endpoints go down (by probe and by the API's override route), and
/// <c>all</c>, <c>any</c> and <c>atLeast</c> decide as configured. Explain and the API's service view show the whole path.
/// </summary>
public sealed class NestedServiceDnsTests
{
    private const string Zone = "nest.test";

    [Fact]
    public async Task Nested_and_calculated_answers_follow_the_children_s_health()
    {
        using var folder = new TempFolder("nested-dns");
        await using var a1 = HttpBackend.Start(IPAddress.Parse("127.0.0.41"), 0);
        await using var a2 = HttpBackend.Start(IPAddress.Parse("127.0.0.42"), 0);
        await using var b1 = HttpBackend.Start(IPAddress.Parse("127.0.0.43"), 0);
        var zones = folder.Folder("zones");
        File.WriteAllText(Path.Combine(zones, $"{Zone}.zone"), """
            $TTL 300
            @ IN SOA ns1 hostmaster 1 3600 600 86400 60
              IN NS ns1
            ns1 IN A 127.0.0.1
            """);
        string Endpoint(HttpBackend backend, string dc, int priority = 0) =>
            $$"""{ "dataCenter": "{{dc}}", "address": "{{backend.Address}}", "priority": {{priority}}, "check": { "port": {{backend.Port}} } }""";
        const string Check = "\"check\": { \"type\": \"http\", \"path\": \"/health\", \"interval\": \"200ms\", \"timeout\": \"150ms\", \"failureThreshold\": 1, \"successThreshold\": 1 }";
        File.WriteAllText(Path.Combine(zones, $"{Zone}.gslb.json"), $$"""
            {
              "dataCenters": {
                "dc-a": { "latitude": 50.1, "longitude": 8.7 },
                "dc-b": { "latitude": 39.0, "longitude": -77.5 }
              },
              "services": {
                "eu":     { "policy": [ { "type": "healthy" }, { "type": "multivalue" } ], "health": { "service": { "atLeast": 2 } }, {{Check}},
                            "endpoints": [ {{Endpoint(a1, "dc-a")}}, {{Endpoint(a2, "dc-a")}} ] },
                "eu-any": { "policy": [ { "type": "healthy" }, { "type": "multivalue" } ], "health": { "service": "any" }, {{Check}},
                            "endpoints": [ {{Endpoint(a1, "dc-a")}}, {{Endpoint(a2, "dc-a")}} ] },
                "us":     { "policy": [ { "type": "healthy" }, { "type": "multivalue" } ], {{Check}},
                            "endpoints": [ {{Endpoint(b1, "dc-b")}} ] },
                "app":     { "policy": [ { "type": "healthy" }, { "type": "failover" } ],
                             "endpoints": [ { "dataCenter": "dc-a", "service": "eu", "priority": 1 }, { "dataCenter": "dc-b", "service": "us", "priority": 2 } ] },
                "app-any": { "policy": [ { "type": "healthy" }, { "type": "failover" } ],
                             "endpoints": [ { "dataCenter": "dc-a", "service": "eu-any", "priority": 1 }, { "dataCenter": "dc-b", "service": "us", "priority": 2 } ] },
                "all":     { "policy": [ { "type": "healthy" }, { "type": "failover" }, { "type": "multivalue" } ], "health": { "dataCenter": "all" }, {{Check}},
                             "endpoints": [ {{Endpoint(a1, "dc-a", 1)}}, {{Endpoint(a2, "dc-a", 1)}}, {{Endpoint(b1, "dc-b", 2)}} ] }
              }
            }
            """);
        await using var server = await InProcessServer.StartEmbeddedAsync(folder, zones);
        var dns = server.UdpListeners[0].LocalEndPoint;
        using var http = new HttpClient { BaseAddress = server.ApiBaseAddress, Timeout = TimeSpan.FromSeconds(5) };

        async Task AnswersAsync(string what, params (string Name, string[] Addresses)[] expected)
        {
            await Deadline.UntilAsync(what, TimeSpan.FromSeconds(10), async () =>
            {
                var seen = new List<string>();
                var done = true;
                foreach (var (name, addresses) in expected)
                {
                    var answer = await FleetProcesses.AskAsync(dns, $"{name}.{Zone}", TimeSpan.FromSeconds(1));
                    done &= answer is { Rcode: 0 } && answer.Addresses.SequenceEqual(addresses);
                    seen.Add($"{name}: {answer?.ToString() ?? "no reply"}");
                }

                return (done, string.Join(", ", seen));
            }, TimeSpan.FromMilliseconds(50));
        }

        string[] dcA = ["127.0.0.41", "127.0.0.42"];
        string[] dcB = ["127.0.0.43"];
        await AnswersAsync("everything up: the first child answers", ("app", dcA), ("app-any", dcA), ("all", dcA));

        // One of dc-a's two endpoints down: eu needs 2 (atLeast) and goes unhealthy, so app fails over to us; eu-any still
        // has one (any); "all" takes the whole data center out although one endpoint is healthy.
        a2.Refuse();
        await AnswersAsync("a2 down", ("app", dcB), ("app-any", ["127.0.0.41"]), ("all", dcB), ("eu", ["127.0.0.41"]));

        // Explain shows the whole path: the parent's steps, the nested step naming the child, then the child's steps.
        var explain = new Explainer(server.Engine).Explain(DnsName.Parse($"app-any.{Zone}."), GslbDns.Dns.RecordType.A, IPAddress.Parse("192.0.2.1"), 32);
        var steps = explain.Steps.Select(s => s.Policy).ToList();
        Assert.Equal(["family", "healthy", "failover", "nested", "family", "healthy", "multivalue"], steps);
        Assert.Contains("eu-any.nest.test. healthy (1 of 2 usable, needs any)", explain.Steps[1].Note, StringComparison.Ordinal);
        Assert.Contains("answered by child service eu-any.nest.test.", explain.Steps[3].Note, StringComparison.Ordinal);
        Assert.Equal(["eu-any.nest.test/dc-a/127.0.0.41"], explain.Steps[5].Kept);
        var app = new Explainer(server.Engine).Explain(DnsName.Parse($"app.{Zone}."), GslbDns.Dns.RecordType.A, IPAddress.Parse("192.0.2.1"), 32);
        Assert.Contains("eu.nest.test. unhealthy (1 of 2 usable, needs atLeast 2)", app.Steps[1].Note, StringComparison.Ordinal);
        Assert.Equal(["app.nest.test/dc-b/us.nest.test"], app.Steps[1].Kept);

        // The API's service view: the rules, their outcomes, and each endpoint's child.
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", InProcessApi.ReadToken);
        using (var view = JsonDocument.Parse(await http.GetStringAsync(new Uri("v1/services/app.nest.test", UriKind.Relative))))
        {
            var endpoints = view.RootElement.GetProperty("endpoints").EnumerateArray().ToList();
            Assert.Equal("eu.nest.test", endpoints[0].GetProperty("childService").GetProperty("service").GetString());
            Assert.False(endpoints[0].GetProperty("usable").GetBoolean());
            Assert.Equal("atLeast 2", endpoints[0].GetProperty("childService").GetProperty("health").GetProperty("rule").GetString());
            Assert.Equal(1, endpoints[0].GetProperty("childService").GetProperty("health").GetProperty("usable").GetInt32());
            Assert.True(endpoints[1].GetProperty("usable").GetBoolean());
        }

        using (var view = JsonDocument.Parse(await http.GetStringAsync(new Uri("v1/services/all.nest.test", UriKind.Relative))))
        {
            Assert.Equal("all", view.RootElement.GetProperty("health").GetProperty("dataCenter").GetString());
            var first = view.RootElement.GetProperty("endpoints")[0];
            Assert.False(first.GetProperty("usable").GetBoolean());
            Assert.False(first.GetProperty("dataCenterHealth").GetProperty("holds").GetBoolean());
        }

        // Both of dc-a down: app-any's child goes unhealthy too and it fails over.
        a1.Refuse();
        await AnswersAsync("dc-a down", ("app", dcB), ("app-any", dcB), ("all", dcB));
        a1.Accept();
        a2.Accept();
        await AnswersAsync("dc-a back", ("app", dcA), ("app-any", dcA), ("all", dcA));

        // The API's override route on the parent's child endpoint (its id ends in the child's name) fails the parent over.
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", InProcessApi.OperatorToken);
        using (var put = await http.PutAsJsonAsync(new Uri("v1/endpoints/app.nest.test/dc-a/eu.nest.test/override", UriKind.Relative), new { healthy = false, ttlSeconds = 300, reason = "nested test" }))
        {
            Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        }

        await AnswersAsync("app's eu endpoint forced down", ("app", dcB), ("app-any", dcA));

        // And on a data center: dc-a forced down takes every child in it out, and the all-rule service with it (forced past the
        // guardrail, which refuses to leave eu and eu-any without an endpoint).
        using (var put = await http.PutAsJsonAsync(new Uri("v1/datacenters/dc-a/override", UriKind.Relative), new { healthy = false, ttlSeconds = 300, reason = "nested test", force = true }))
        {
            Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        }

        await AnswersAsync("dc-a forced down", ("app", dcB), ("app-any", dcB), ("all", dcB));
    }
}
