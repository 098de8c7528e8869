using System.Net;

namespace GslbDns.Tests.Api;

/// <summary>Bearer tokens over real HTTP: who may read, who may write, what the refusals look like, and that no token is logged.</summary>
public sealed class AuthTests : IAsyncLifetime
{
    private const string WrongToken = "wrong-token-0123456789-abcdefghij";
    private InProcessApi _api = null!;

    public async Task InitializeAsync() => _api = await InProcessApi.StartAsync("sqlite");

    public async Task DisposeAsync() => await _api.DisposeAsync();

    public static TheoryData<string, bool, HttpStatusCode> Matrix => new()
    {
        { "none", false, HttpStatusCode.Unauthorized },
        { "none", true, HttpStatusCode.Unauthorized },
        { "wrong", false, HttpStatusCode.Unauthorized },
        { "wrong", true, HttpStatusCode.Unauthorized },
        { "read", false, HttpStatusCode.OK },
        { "read", true, HttpStatusCode.Forbidden },
        { "operator", false, HttpStatusCode.OK },
        { "operator", true, HttpStatusCode.OK },
    };

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task Each_token_kind_may_do_what_its_role_allows(string who, bool write, HttpStatusCode expected)
    {
        var token = who switch
        {
            "read" => InProcessApi.ReadToken,
            "operator" => InProcessApi.OperatorToken,
            "wrong" => WrongToken,
            _ => null,
        };

        using var response = write
            ? await ApiCalls.SendAsync(_api.Http, HttpMethod.Put, "/v1/datacenters/dc-c/weight", token, new { weight = 42, reason = "auth matrix" })
            : await ApiCalls.SendAsync(_api.Http, HttpMethod.Get, "/v1/datacenters", token);
        Assert.True(response.StatusCode == expected, $"{who} {(write ? "write" : "read")}: {await ApiCalls.DescribeAsync(response)}");

        if (expected is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            // RFC 9457 problem details, and a bearer challenge on 401.
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problem = await ApiCalls.JsonAsync(response);
            Assert.Equal((int)expected, problem.GetProperty("status").GetInt32());
            Assert.False(string.IsNullOrEmpty(problem.GetProperty("title").GetString()));
            Assert.False(string.IsNullOrEmpty(problem.GetProperty("detail").GetString()));
            if (expected == HttpStatusCode.Unauthorized)
            {
                Assert.Equal("Bearer", Assert.Single(response.Headers.WwwAuthenticate).Scheme);
            }
        }

        if (write && expected != HttpStatusCode.OK)
        {
            // Refused means nothing changed.
            var state = await _api.Store.ReadAsync();
            Assert.Null(state.Get(new GslbDns.State.StateKey(GslbDns.State.StateKind.Weight, "dc-c")));
        }

        AssertNoTokenLogged();
    }

    [Fact]
    public async Task A_malformed_Authorization_header_is_401_and_the_request_is_logged_without_it()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/services");
        request.Headers.TryAddWithoutValidation("Authorization", "Basic " + InProcessApi.OperatorToken);
        using var response = await _api.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);

        using var emptyRequest = new HttpRequestMessage(HttpMethod.Get, "/v1/services");
        emptyRequest.Headers.TryAddWithoutValidation("Authorization", "Bearer ");
        using var empty = await _api.Http.SendAsync(emptyRequest);
        Assert.Equal(HttpStatusCode.Unauthorized, empty.StatusCode);

        // The request log has method, path, status and the caller's name: enough to audit access, no secret.
        using var ok = await ApiCalls.SendAsync(_api.Http, HttpMethod.Get, "/v1/services", InProcessApi.ReadToken);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        await GslbDns.Tests.TestSupport.Deadline.UntilAsync("the request log line", TimeSpan.FromSeconds(5), () =>
            Task.FromResult((_api.Sink.All.Contains("HTTP GET /v1/services responded 200", StringComparison.Ordinal) && _api.Sink.All.Contains("grafana", StringComparison.Ordinal), _api.Sink.All)));
        Assert.Contains("HTTP GET /v1/services responded 401", _api.Sink.All, StringComparison.Ordinal);
        AssertNoTokenLogged();
    }

    [Fact]
    public async Task Metrics_OpenAPI_and_healthz_need_no_token_and_the_document_lists_every_route()
    {
        using var metrics = await _api.Http.GetAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.Contains("http_requests_received_total", await metrics.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var health = await _api.Http.GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);

        using var openApi = await _api.Http.GetAsync(new Uri("/openapi/v1.json", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, openApi.StatusCode);
        var document = await ApiCalls.JsonAsync(openApi);
        Assert.StartsWith("3.", document.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        Assert.Equal("bearer", document.GetProperty("components").GetProperty("securitySchemes").GetProperty("Bearer").GetProperty("scheme").GetString());
        var paths = document.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToHashSet();
        foreach (var path in new[]
        {
            "/v1/datacenters", "/v1/datacenters/{dc}", "/v1/datacenters/{dc}/weight", "/v1/datacenters/{dc}/drain", "/v1/datacenters/{dc}/override",
            "/v1/endpoints", "/v1/endpoints/{service}/{dc}/{address}/weight", "/v1/services", "/v1/explain", "/v1/audit", "/v1/state", "/v1/status",
        })
        {
            Assert.Contains(path, paths);
        }
    }

    private void AssertNoTokenLogged()
    {
        var logged = _api.Sink.All;
        Assert.DoesNotContain(InProcessApi.OperatorToken, logged, StringComparison.Ordinal);
        Assert.DoesNotContain(InProcessApi.ReadToken, logged, StringComparison.Ordinal);
        Assert.DoesNotContain(WrongToken, logged, StringComparison.Ordinal);
    }
}
