using System.Collections.Frozen;
using System.Net;
using GslbDns.State;
using GslbDns.Tests.Core.Consul;

namespace GslbDns.Tests.Api;

/// <summary>
/// A change that would leave a service with no healthy, undrained endpoint is refused (409) unless forced with a
/// reason, which is audited. Each test runs against both stores: SQLite (embedded mode) and Consul.
/// </summary>
[Collection(ApiConsulCollection.Name)]
public sealed class GuardrailTests(ConsulDevAgent consul)
{

    private static string PairPath(string dc) => ApiCalls.EndpointPath($"{ApiTestZones.Pair}/{dc}/{ApiTestZones.PairAddress(dc)}");

    [Theory]
    [InlineData("sqlite")]
    [InlineData("consul")]
    public async Task Draining_the_last_usable_endpoint_is_409_unless_forced_with_a_reason(string store)
    {
        await using var api = await InProcessApi.StartAsync(store, consul);
        using var first = await ApiCalls.SendAsync(api.Http, HttpMethod.Put, PairPath("dc-a") + "/drain", InProcessApi.OperatorToken, new { reason = "maintenance" });
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);

        using var last = await ApiCalls.SendAsync(api.Http, HttpMethod.Put, PairPath("dc-b") + "/drain", InProcessApi.OperatorToken, new { reason = "maintenance" });
        Assert.Equal(HttpStatusCode.Conflict, last.StatusCode);
        var problem = await ApiCalls.JsonAsync(last);
        Assert.Contains(ApiTestZones.Pair, problem.GetProperty("detail").GetString()!, StringComparison.Ordinal);
        Assert.Contains("no healthy, undrained IPv4 endpoint", problem.GetProperty("violations")[0].GetString()!, StringComparison.Ordinal);
        Assert.Null((await api.Store.ReadAsync()).Get(new StateKey(StateKind.Drain, $"{ApiTestZones.Pair}/dc-b/{ApiTestZones.PairAddress("dc-b")}")));

        // force needs a reason (drains always have one) and is recorded as forced.
        using var forced = await ApiCalls.SendAsync(api.Http, HttpMethod.Put, PairPath("dc-b") + "/drain", InProcessApi.OperatorToken, new { reason = "whole service down for the migration", force = true });
        Assert.Equal(HttpStatusCode.OK, forced.StatusCode);
        var auditId = (await ApiCalls.JsonAsync(forced)).GetProperty("auditId").GetString();
        using var audit = await ApiCalls.SendAsync(api.Http, HttpMethod.Get, $"/v1/audit?object={Uri.EscapeDataString($"{ApiTestZones.Pair}/dc-b/{ApiTestZones.PairAddress("dc-b")}")}", InProcessApi.ReadToken);
        var entry = Assert.Single((await ApiCalls.JsonAsync(audit)).GetProperty("entries").EnumerateArray());
        Assert.Equal(auditId, entry.GetProperty("id").GetString());
        Assert.True(entry.GetProperty("forced").GetBoolean());
        Assert.Equal("whole service down for the migration", entry.GetProperty("reason").GetString());
        Assert.Equal("alice", entry.GetProperty("actor").GetString());
        Assert.Equal("drain", entry.GetProperty("kind").GetString());

        // Undraining cannot make things worse: no guardrail; the unforced first drain was audited unforced.
        using var undrain = await ApiCalls.SendAsync(api.Http, HttpMethod.Delete, PairPath("dc-a") + "/drain?reason=done", InProcessApi.OperatorToken);
        Assert.Equal(HttpStatusCode.OK, undrain.StatusCode);
        using var all = await ApiCalls.SendAsync(api.Http, HttpMethod.Get, $"/v1/audit?kind=drain", InProcessApi.ReadToken);
        var entries = (await ApiCalls.JsonAsync(all)).GetProperty("entries").EnumerateArray().ToList();
        Assert.Equal(3, entries.Count);
        Assert.Equal(["set", "set", "delete"], entries.Select(e => e.GetProperty("action").GetString()).ToList());
        Assert.False(entries[0].GetProperty("forced").GetBoolean());
        Assert.Equal("done", entries[2].GetProperty("reason").GetString());
        Assert.True(entries[2].TryGetProperty("before", out _));
        Assert.False(entries[2].TryGetProperty("after", out _));
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("consul")]
    public async Task Draining_a_data_center_that_holds_a_services_only_IPv6_endpoint_is_refused(string store)
    {
        await using var api = await InProcessApi.StartAsync(store, consul);
        // w's only IPv6 endpoint is in dc-a.
        using var refused = await ApiCalls.SendAsync(api.Http, HttpMethod.Put, "/v1/datacenters/dc-a/drain", InProcessApi.OperatorToken, new { reason = "power work" });
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Contains("IPv6", (await ApiCalls.JsonAsync(refused)).GetProperty("detail").GetString()!, StringComparison.Ordinal);

        // dc-c holds one of three IPv4 endpoints of w and nothing else: fine.
        using var allowed = await ApiCalls.SendAsync(api.Http, HttpMethod.Put, "/v1/datacenters/dc-c/drain", InProcessApi.OperatorToken, new { reason = "power work" });
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Contains("dc-c", (IReadOnlySet<string>)api.Snapshots.Current.State.Drained);
        using var dc = await ApiCalls.SendAsync(api.Http, HttpMethod.Get, "/v1/datacenters/dc-c", InProcessApi.ReadToken);
        var view = await ApiCalls.JsonAsync(dc);
        Assert.True(view.GetProperty("drained").GetBoolean());
        Assert.Equal(0, view.GetProperty("usableEndpoints").GetInt32());
        Assert.Equal("power work", view.GetProperty("drain").GetProperty("reason").GetString());
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("consul")]
    public async Task Forcing_the_last_healthy_endpoint_unhealthy_is_refused_and_probe_health_counts(string store)
    {
        await using var api = await InProcessApi.StartAsync(store, consul);
        // The probers see pair's dc-a endpoint down: dc-b is the last usable one.
        api.Snapshots.Update(s => s with
        {
            State = s.State with { Health = new Dictionary<string, bool> { [$"{ApiTestZones.Pair}/dc-a/{ApiTestZones.PairAddress("dc-a")}"] = false }.ToFrozenDictionary() },
        });

        using var refused = await ApiCalls.SendAsync(api.Http, HttpMethod.Put, PairPath("dc-b") + "/override", InProcessApi.OperatorToken, new { healthy = false, ttlSeconds = 300, reason = "flapping" });
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);

        // Forcing dc-a healthy is allowed, and then forcing dc-b unhealthy is too.
        using var healthy = await ApiCalls.SendAsync(api.Http, HttpMethod.Put, PairPath("dc-a") + "/override", InProcessApi.OperatorToken, new { healthy = true, ttlSeconds = 300, reason = "probe is wrong" });
        Assert.Equal(HttpStatusCode.OK, healthy.StatusCode);
        using var now = await ApiCalls.SendAsync(api.Http, HttpMethod.Put, PairPath("dc-b") + "/override", InProcessApi.OperatorToken, new { healthy = false, ttlSeconds = 300, reason = "flapping" });
        Assert.Equal(HttpStatusCode.OK, now.StatusCode);
        var expires = (await ApiCalls.JsonAsync(now)).GetProperty("expires").GetDateTimeOffset();
        Assert.InRange(expires - DateTimeOffset.UtcNow, TimeSpan.FromSeconds(250), TimeSpan.FromSeconds(301));

        // Dropping the forced-healthy verdict would leave nothing usable again: refused, then forced.
        using var drop = await ApiCalls.SendAsync(api.Http, HttpMethod.Delete, PairPath("dc-a") + "/override", InProcessApi.OperatorToken);
        Assert.Equal(HttpStatusCode.Conflict, drop.StatusCode);
        using var dropNoReason = await ApiCalls.SendAsync(api.Http, HttpMethod.Delete, PairPath("dc-a") + "/override?force=true", InProcessApi.OperatorToken);
        Assert.Equal(HttpStatusCode.BadRequest, dropNoReason.StatusCode);
        using var dropForced = await ApiCalls.SendAsync(api.Http, HttpMethod.Delete, PairPath("dc-a") + "/override", InProcessApi.OperatorToken, new { reason = "accept the outage", force = true });
        Assert.Equal(HttpStatusCode.OK, dropForced.StatusCode);
        Assert.False(api.Snapshots.Current.State.Overrides.ContainsKey($"{ApiTestZones.Pair}/dc-a/{ApiTestZones.PairAddress("dc-a")}"));
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("consul")]
    public async Task Concurrent_drains_of_the_last_two_endpoints_cannot_both_pass(string store)
    {
        await using var api = await InProcessApi.StartAsync(store, consul);
        // Twenty rounds of two racing drains: exactly one may win each time (the store checks what the guard read).
        for (var round = 0; round < 20; round++)
        {
            var a = ApiCalls.SendAsync(api.Http, HttpMethod.Put, PairPath("dc-a") + "/drain", InProcessApi.OperatorToken, new { reason = $"race {round}" });
            var b = ApiCalls.SendAsync(api.Http, HttpMethod.Put, PairPath("dc-b") + "/drain", InProcessApi.OperatorToken, new { reason = $"race {round}" });
            using var ra = await a;
            using var rb = await b;
            var statuses = new[] { ra.StatusCode, rb.StatusCode }.Order().ToArray();
            Assert.Equal([HttpStatusCode.OK, HttpStatusCode.Conflict], statuses);
            var state = await api.Store.ReadAsync();
            Assert.Single(state.OfKind(StateKind.Drain));

            // Undrain for the next round.
            var drained = state.OfKind(StateKind.Drain).Single().Key.Target;
            using var undrain = await ApiCalls.SendAsync(api.Http, HttpMethod.Delete, ApiCalls.EndpointPath(drained) + "/drain", InProcessApi.OperatorToken);
            Assert.Equal(HttpStatusCode.OK, undrain.StatusCode);
        }
    }
}
