using System.Net;
using System.Text;

namespace GslbDns.Tests.Api;

/// <summary>Bad input gets 400 naming the field, unknown objects 404, stale ETags 412, oversize bodies 413; nothing is written.</summary>
public sealed class ValidationTests : IAsyncLifetime
{
    private InProcessApi _api = null!;

    public async Task InitializeAsync() => _api = await InProcessApi.StartAsync("sqlite");

    public async Task DisposeAsync() => await _api.DisposeAsync();

    private static string EndpointPath(string dc) => ApiCalls.EndpointPath(ApiTestZones.WeightedId(dc));

    public static TheoryData<string, string, string, string> BadRequests => new()
    {
        // path, JSON body, the field the 400 must name, a word of the message
        { "/v1/datacenters/dc-a/weight", """{"weight": 1001}""", "weight", "range" },
        { "/v1/datacenters/dc-a/weight", """{"weight": -1}""", "weight", "range" },
        { "/v1/datacenters/dc-a/weight", """{"reason": "no weight"}""", "weight", "required" },
        { "/v1/datacenters/dc-a/weight", """{"weight": "ten"}""", "weight", "type" },
        { "/v1/datacenters/dc-a/weight", """{"weight": 10, "wieght": 10}""", "wieght", "unknown" },
        { "/v1/datacenters/dc-a/weight", """{"weight": 10""", "body", "JSON" },
        { "/v1/datacenters/dc-a/drain", """{}""", "reason", "required" },
        { "/v1/datacenters/dc-a/drain", """{"reason": "line\nbreak"}""", "reason", "control" },
        { "/v1/datacenters/dc-a/override", """{"reason": "x", "ttlSeconds": 60}""", "healthy", "required" },
        { "/v1/datacenters/dc-a/override", """{"healthy": false, "reason": "x"}""", "expires", "required" },
        { "/v1/datacenters/dc-a/override", """{"healthy": false, "reason": "x", "expires": "2001-01-01T00:00:00Z"}""", "expires", "future" },
        { "/v1/datacenters/dc-a/override", """{"healthy": false, "reason": "x", "ttlSeconds": 99999999}""", "ttlSeconds", "range" },
        { "/v1/datacenters/dc-a/override", """{"healthy": true, "ttlSeconds": 60}""", "reason", "required" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Invalid_input_is_400_naming_the_field_and_changes_nothing(string path, string body, string field, string word)
    {
        using var response = await ApiCalls.SendAsync(_api.Http, HttpMethod.Put, path, InProcessApi.OperatorToken, body);
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, await ApiCalls.DescribeAsync(response));
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await ApiCalls.JsonAsync(response);
        var errors = problem.GetProperty("errors");
        Assert.True(errors.TryGetProperty(field, out var messages), $"the 400 does not name '{field}': {problem}");
        Assert.Contains(word, messages[0].GetString()!, StringComparison.OrdinalIgnoreCase);
        Assert.StartsWith(field + ":", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, (await _api.Store.ReadAsync()).Count);
    }

    [Fact]
    public async Task Unknown_data_centers_endpoints_services_and_kinds_are_404()
    {
        foreach (var (method, path) in new[]
        {
            (HttpMethod.Put, "/v1/datacenters/dc-x/weight"),
            (HttpMethod.Get, "/v1/datacenters/dc-x"),
            (HttpMethod.Put, $"/v1/endpoints/{ApiTestZones.Weighted}/dc-a/192.0.2.99/weight"),
            (HttpMethod.Put, $"/v1/endpoints/nope.api.test/dc-a/192.0.2.1/weight"),
            (HttpMethod.Get, "/v1/services/nope.api.test"),
            (HttpMethod.Get, "/v1/datacenters/dc-a/colour"),
            (HttpMethod.Delete, "/v1/datacenters/dc-a/colour"),
        })
        {
            using var response = await ApiCalls.SendAsync(_api.Http, method, path, InProcessApi.OperatorToken, method == HttpMethod.Put ? new { weight = 10 } : null);
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{method} {path}: {await ApiCalls.DescribeAsync(response)}");
            Assert.Equal(404, (await ApiCalls.JsonAsync(response)).GetProperty("status").GetInt32());
        }

        // The unknown data center is named; the weight is not even looked at.
        using var named = await ApiCalls.SendAsync(_api.Http, HttpMethod.Put, "/v1/datacenters/dc-x/weight", InProcessApi.OperatorToken, new { weight = 5000 });
        Assert.Contains("dc-x", (await ApiCalls.JsonAsync(named)).GetProperty("detail").GetString()!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_body_over_64_KiB_is_413()
    {
        var body = "{\"reason\": \"" + new string('a', 70 * 1024) + "\"}";
        using var response = await ApiCalls.SendAsync(_api.Http, HttpMethod.Put, "/v1/datacenters/dc-a/drain", InProcessApi.OperatorToken, body);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(0, (await _api.Store.ReadAsync()).Count);
    }

    [Fact]
    public async Task If_Match_with_a_stale_ETag_is_412_with_the_current_one_and_a_malformed_one_is_400()
    {
        var path = EndpointPath("dc-c") + "/weight";
        using var get = await ApiCalls.SendAsync(_api.Http, HttpMethod.Get, path, InProcessApi.ReadToken);
        Assert.Equal("\"0\"", get.Headers.ETag!.Tag);

        using var first = await ApiCalls.SendAsync(_api.Http, HttpMethod.Put, path, InProcessApi.OperatorToken, new { weight = 7 }, "\"0\"");
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var version = ApiCalls.ETagVersion(first);
        Assert.True(version > 0);

        // "0" now means "only if not set": it is set, so 412, and the 412 tells the current ETag.
        using var stale = await ApiCalls.SendAsync(_api.Http, HttpMethod.Put, path, InProcessApi.OperatorToken, new { weight = 8 }, "\"0\"");
        Assert.Equal(HttpStatusCode.PreconditionFailed, stale.StatusCode);
        Assert.Equal(version, ApiCalls.ETagVersion(stale));
        Assert.Equal("application/problem+json", stale.Content.Headers.ContentType?.MediaType);

        using var malformed = await ApiCalls.SendAsync(_api.Http, HttpMethod.Put, path, InProcessApi.OperatorToken, new { weight = 8 }, "W/\"3\"");
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.True((await ApiCalls.JsonAsync(malformed)).GetProperty("errors").TryGetProperty("If-Match", out _));

        using var current = await ApiCalls.SendAsync(_api.Http, HttpMethod.Put, path, InProcessApi.OperatorToken, new { weight = 9 }, $"\"{version}\"");
        Assert.Equal(HttpStatusCode.OK, current.StatusCode);

        // Clear it with the right ETag: back to the configured weight, ETag "0".
        using var delete = await ApiCalls.SendAsync(_api.Http, HttpMethod.Delete, path, InProcessApi.OperatorToken, null, current.Headers.ETag!.Tag);
        Assert.Equal(HttpStatusCode.OK, delete.StatusCode);
        Assert.Equal("\"0\"", delete.Headers.ETag!.Tag);
        var cleared = await ApiCalls.JsonAsync(delete);
        Assert.False(cleared.GetProperty("set").GetBoolean());
        Assert.Equal(100, cleared.GetProperty("configuredWeight").GetInt32());
    }

    [Fact]
    public async Task Explain_and_audit_parameters_are_validated()
    {
        foreach (var (query, field) in new[]
        {
            ("/v1/explain?client=192.0.2.0/24", "name"),
            ("/v1/explain?name=w.api.test", "client"),
            ("/v1/explain?name=w.api.test&client=192.0.2.0/33", "client"),
            ("/v1/explain?name=w.api.test&client=1.2.3.4&type=BOGUS", "type"),
            ("/v1/audit?from=yesterday", "from"),
            ("/v1/audit?kind=colour", "kind"),
            ("/v1/audit?limit=0", "limit"),
            ("/v1/audit?limit=abc", "limit"),
        })
        {
            using var response = await ApiCalls.SendAsync(_api.Http, HttpMethod.Get, query, InProcessApi.ReadToken);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{query}: {await ApiCalls.DescribeAsync(response)}");
            Assert.True((await ApiCalls.JsonAsync(response)).GetProperty("errors").TryGetProperty(field, out _), query);
        }
    }

    [Fact]
    public async Task Explain_runs_the_engine_and_reflects_a_weight_change_at_once()
    {
        // Only dc-b keeps a positive weight: the weighted step can only pick it.
        foreach (var dc in new[] { "dc-a", "dc-c" })
        {
            using var put = await ApiCalls.SendAsync(_api.Http, HttpMethod.Put, EndpointPath(dc) + "/weight", InProcessApi.OperatorToken, new { weight = 0, reason = "explain" });
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        using var response = await ApiCalls.SendAsync(_api.Http, HttpMethod.Get, "/v1/explain?name=w.api.test&type=A&client=198.51.100.0/24", InProcessApi.ReadToken);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await ApiCalls.DescribeAsync(response));
        var explanation = await ApiCalls.JsonAsync(response);
        Assert.Equal("NOERROR", explanation.GetProperty("rcode").GetString());
        var record = Assert.Single(explanation.GetProperty("records").EnumerateArray());
        Assert.Equal(ApiTestZones.WeightedAddress("dc-b"), record.GetProperty("data").GetString());
        var steps = explanation.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("policy").GetString()).ToList();
        Assert.Equal(["family", "healthy", "weighted"], steps);

        // The live views show the override, the configured and the effective weight.
        using var endpoint = await ApiCalls.SendAsync(_api.Http, HttpMethod.Get, EndpointPath("dc-a"), InProcessApi.ReadToken);
        var view = await ApiCalls.JsonAsync(endpoint);
        Assert.Equal(100, view.GetProperty("configuredWeight").GetInt32());
        Assert.Equal(0, view.GetProperty("effectiveWeight").GetInt32());
        Assert.Equal(0, view.GetProperty("weightOverride").GetProperty("weight").GetInt32());
        Assert.Equal("alice", view.GetProperty("weightOverride").GetProperty("by").GetString());
        Assert.Equal("unknown", view.GetProperty("health").GetProperty("verdict").GetString());

        using var services = await ApiCalls.SendAsync(_api.Http, HttpMethod.Get, "/v1/services", InProcessApi.ReadToken);
        var weighted = (await ApiCalls.JsonAsync(services)).GetProperty("items").EnumerateArray().Single(s => s.GetProperty("name").GetString() == ApiTestZones.Weighted);
        Assert.Equal(["healthy", "weighted"], weighted.GetProperty("policies").EnumerateArray().Select(p => p.GetProperty("type").GetString()).ToList());
        Assert.Equal(4, weighted.GetProperty("endpoints").GetArrayLength());
    }

    [Fact]
    public async Task Wrong_content_type_is_415()
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, "/v1/datacenters/dc-a/weight")
        {
            Content = new StringContent("weight=5", Encoding.UTF8, "application/x-www-form-urlencoded"),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", InProcessApi.OperatorToken);
        using var response = await _api.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(415, (await ApiCalls.JsonAsync(response)).GetProperty("status").GetInt32());
        Assert.Equal(0, (await _api.Store.ReadAsync()).Count);
    }
}
