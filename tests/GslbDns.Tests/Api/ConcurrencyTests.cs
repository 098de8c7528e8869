using System.Net;
using System.Text.Json;
using GslbDns.Tests.Core.Consul;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Api;

/// <summary>One Consul dev agent for the API test classes that need one (each test uses its own key prefix).</summary>
[CollectionDefinition(Name)]
public sealed class ApiConsulCollection : ICollectionFixture<ConsulDevAgent>
{
    public const string Name = "API with a Consul dev agent";
}

/// <summary>Many clients racing on one entry with If-Match retry loops, and If-Match: *, over real HTTP, against both stores.</summary>
[Collection(ApiConsulCollection.Name)]
public sealed class ConcurrencyTests
{
    private const int Clients = 20;
    private const int Increments = 10;

    private readonly ConsulDevAgent _consul;

    public ConcurrencyTests(ConsulDevAgent consul)
    {
        _consul = consul;
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("consul")]
    public async Task Twenty_clients_times_ten_increments_with_If_Match_lose_no_update(string store)
    {
        await using var api = await InProcessApi.StartAsync(store, _consul);
        var id = ApiTestZones.WeightedId("dc-b");
        var path = ApiCalls.EndpointPath(id) + "/weight";
        var preconditionFailures = 0;

        async Task ClientAsync(int client)
        {
            // A connection of its own per client: twenty real HTTP clients, not one multiplexed one.
            using var http = new HttpClient { BaseAddress = api.Host.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
            for (var step = 0; step < Increments; step++)
            {
                for (var attempt = 0; ; attempt++)
                {
                    Assert.True(attempt < 500, $"client {client} step {step}: no success after {attempt} attempts");
                    using var get = await ApiCalls.SendAsync(http, HttpMethod.Get, path, InProcessApi.OperatorToken);
                    Assert.True(get.StatusCode == HttpStatusCode.OK, await ApiCalls.DescribeAsync(get));
                    var entry = await ApiCalls.JsonAsync(get);
                    var current = entry.TryGetProperty("weight", out var w) ? w.GetInt32() : entry.GetProperty("configuredWeight").GetInt32();
                    using var put = await ApiCalls.SendAsync(
                        http,
                        HttpMethod.Put,
                        path,
                        InProcessApi.OperatorToken,
                        new { weight = current + 1, reason = $"client {client} step {step}" },
                        get.Headers.ETag!.Tag);
                    if (put.StatusCode == HttpStatusCode.OK)
                    {
                        Assert.Equal(current + 1, (await ApiCalls.JsonAsync(put)).GetProperty("weight").GetInt32());
                        break;
                    }

                    Assert.True(put.StatusCode == HttpStatusCode.PreconditionFailed, await ApiCalls.DescribeAsync(put));
                    Interlocked.Increment(ref preconditionFailures);
                }
            }
        }

        await Deadline.Within(Task.WhenAll(Enumerable.Range(0, Clients).Select(ClientAsync)), TimeSpan.FromSeconds(60), "20 clients x 10 increments");

        using var final = await ApiCalls.SendAsync(api.Http, HttpMethod.Get, path, InProcessApi.ReadToken);
        Assert.Equal(100 + (Clients * Increments), (await ApiCalls.JsonAsync(final)).GetProperty("weight").GetInt32());
        Assert.True(preconditionFailures > 0, "the clients never collided, so the test proved nothing");

        // This process's snapshot has it too (the API answers 200 only once its watcher applied the write).
        Assert.Equal(100 + (Clients * Increments), api.Snapshots.Current.State.WeightOverrides[id]);

        // One audit entry per successful increment, each from exactly the value the previous one left.
        using var auditResponse = await ApiCalls.SendAsync(api.Http, HttpMethod.Get, $"/v1/audit?object={Uri.EscapeDataString(id)}&kind=weight&limit=10000", InProcessApi.ReadToken);
        var audit = (await ApiCalls.JsonAsync(auditResponse)).GetProperty("entries").EnumerateArray().ToList();
        Assert.Equal(Clients * Increments, audit.Count);
        Assert.Equal(Clients * Increments, audit.Select(e => e.GetProperty("id").GetString()).Distinct().Count());
        var befores = audit.Select(e => e.TryGetProperty("before", out var b) ? b.GetProperty("weight").GetInt32() : 100).Order().ToList();
        var afters = audit.Select(e => e.GetProperty("after").GetProperty("weight").GetInt32()).Order().ToList();
        Assert.Equal(Enumerable.Range(100, Clients * Increments), befores);
        Assert.Equal(Enumerable.Range(101, Clients * Increments), afters);
        Assert.All(audit, e => Assert.Equal("alice", e.GetProperty("actor").GetString()));
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("consul")]
    public async Task If_Match_star_writes_only_an_entry_that_exists(string store)
    {
        await using var api = await InProcessApi.StartAsync(store, _consul);
        var path = "/v1/datacenters/dc-b/weight";

        // Not set yet: "*" matches nothing, 412, and nothing is written or audited.
        using (var absent = await ApiCalls.SendAsync(api.Http, HttpMethod.Put, path, InProcessApi.OperatorToken, new { weight = 7, reason = "star on nothing" }, "*"))
        {
            Assert.True(absent.StatusCode == HttpStatusCode.PreconditionFailed, await ApiCalls.DescribeAsync(absent));
        }

        Assert.Equal(0, (await api.Store.ReadAsync()).Count);
        using (var clear = await ApiCalls.SendAsync(api.Http, HttpMethod.Delete, path, InProcessApi.OperatorToken, new { reason = "star on nothing" }, "*"))
        {
            Assert.True(clear.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.NotFound, await ApiCalls.DescribeAsync(clear));
        }

        // Set without a condition, then "*" matches whatever version is there.
        using (var set = await ApiCalls.SendAsync(api.Http, HttpMethod.Put, path, InProcessApi.OperatorToken, new { weight = 7, reason = "set" }))
        {
            Assert.True(set.StatusCode == HttpStatusCode.OK, await ApiCalls.DescribeAsync(set));
        }

        using (var star = await ApiCalls.SendAsync(api.Http, HttpMethod.Put, path, InProcessApi.OperatorToken, new { weight = 8, reason = "star on something" }, "*"))
        {
            Assert.True(star.StatusCode == HttpStatusCode.OK, await ApiCalls.DescribeAsync(star));
            Assert.Equal(8, (await ApiCalls.JsonAsync(star)).GetProperty("weight").GetInt32());
        }

        using (var clear = await ApiCalls.SendAsync(api.Http, HttpMethod.Delete, path, InProcessApi.OperatorToken, new { reason = "star clear" }, "*"))
        {
            Assert.True(clear.StatusCode == HttpStatusCode.OK, await ApiCalls.DescribeAsync(clear));
        }

        Assert.Equal(0, (await api.Store.ReadAsync()).Count);
        using var auditResponse = await ApiCalls.SendAsync(api.Http, HttpMethod.Get, "/v1/audit?kind=weight", InProcessApi.ReadToken);
        var actions = (await ApiCalls.JsonAsync(auditResponse)).GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("action").GetString()).ToList();
        Assert.Equal(["set", "set", "delete"], actions);
    }
}
