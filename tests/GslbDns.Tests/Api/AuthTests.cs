using System.Net;

namespace GslbDns.Tests.Api;

/// <summary>Bearer tokens over real HTTP: who may read, who may write, what the refusals look like, and that no token is logged.</summary>
public sealed class AuthTests : IAsyncLifetime
{
    private const string WrongToken = "wrong-token-0123456789-abcdefghij";
    private InProcessApi _api = null!;

    // The walk below presents a wrong token on every route; the per-address limit on that is AuthRateLimitTests' subject, not this one's.
    public async Task InitializeAsync() => _api = await InProcessApi.StartAsync("sqlite", authFailureLimit: new GslbDns.Hosting.AuthFailureLimit { Burst = 100_000 });

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

    /// <summary>Values for every path and required query parameter a documented route may have; a new one fails the walk until it is added here.</summary>
    private static readonly Dictionary<string, string> ParameterValues = new(StringComparer.Ordinal)
    {
        ["dc"] = "dc-c",
        ["kind"] = "weight",
        ["service"] = ApiTestZones.Weighted,
        ["address"] = ApiTestZones.WeightedAddress("dc-c"),
        ["name"] = ApiTestZones.Weighted,
        ["client"] = "192.0.2.0/24",
        ["id"] = "drill-20260101T000000Z-00000000",
    };

    /// <summary>A valid body for each kind of change a write route makes (its last path segment), and for clearing one.</summary>
    private static object WriteBody(HttpMethod method, string template) => (method.Method, template[(template.LastIndexOf('/') + 1)..]) switch
    {
        ("PUT", "weight") => new { weight = 42, reason = "auth walk" },
        ("PUT", "drain") => new { reason = "auth walk" },
        ("PUT", "override") => new { healthy = true, ttlSeconds = 60, reason = "auth walk" },
        ("PUT", "feed") => new { up = true, load = 0.5, expiresIn = "60s", reason = "auth walk" },
        ("DELETE", _) => new { reason = "auth walk" },
        ("POST", "drills") => new { dataCenters = new[] { "dc-c" }, reason = "auth walk", dryRun = true },
        ("POST", "abort") => new { reason = "auth walk" },
        _ => throw new InvalidOperationException($"{method} {template}: the auth walk has no request body for this route; add one"),
    };

    [Fact]
    public async Task Every_route_in_the_OpenAPI_document_refuses_no_token_lets_read_read_and_only_operator_write()
    {
        using var openApi = await _api.Http.GetAsync(new Uri("/openapi/v1.json", UriKind.Relative));
        var document = await ApiCalls.JsonAsync(openApi);
        var operations = new List<(HttpMethod Method, string Template, string Url)>();
        foreach (var path in document.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                var method = new HttpMethod(operation.Name.ToUpperInvariant());
                var url = path.Name;
                var query = new List<string>();
                if (operation.Value.TryGetProperty("parameters", out var parameters))
                {
                    foreach (var parameter in parameters.EnumerateArray())
                    {
                        var name = parameter.GetProperty("name").GetString()!;
                        var where = parameter.GetProperty("in").GetString();
                        var required = parameter.TryGetProperty("required", out var r) && r.GetBoolean();
                        if (where == "path" || (where == "query" && required))
                        {
                            Assert.True(ParameterValues.TryGetValue(name, out var value), $"{method} {path.Name}: no test value for {where} parameter '{name}'");
                            url = where == "path" ? url.Replace("{" + name + "}", Uri.EscapeDataString(value), StringComparison.Ordinal) : url;
                            if (where == "query")
                            {
                                query.Add($"{name}={Uri.EscapeDataString(value)}");
                            }
                        }
                    }
                }

                // Explain's name and client are checked by the handler, not declared required: give them anyway.
                if (path.Name == "/v1/explain")
                {
                    query = [$"name={Uri.EscapeDataString(ParameterValues["name"])}", $"client={Uri.EscapeDataString(ParameterValues["client"])}"];
                }

                Assert.DoesNotContain("{", url, StringComparison.Ordinal);
                operations.Add((method, path.Name, query.Count == 0 ? url : url + "?" + string.Join('&', query)));
            }
        }

        // Reads first, then the writes that set an entry, then the ones that clear it (so a clear finds what a set made).
        operations = [.. operations.OrderBy(o => o.Method == HttpMethod.Get ? 0 : o.Method == HttpMethod.Delete ? 2 : 1).ThenBy(o => o.Template, StringComparer.Ordinal)];
        Assert.True(operations.Count(o => o.Method == HttpMethod.Get) >= 10 && operations.Count(o => o.Method == HttpMethod.Put) >= 6 && operations.Count(o => o.Method == HttpMethod.Delete) >= 2, $"the document lists too few operations: {string.Join(", ", operations.Select(o => $"{o.Method} {o.Template}"))}");
        Assert.All(operations, o => Assert.StartsWith("/v1/", o.Template, StringComparison.Ordinal));

        var failures = new List<string>();
        Assert.Equal(0, (await _api.Store.ReadAsync()).Count);
        foreach (var (method, template, url) in operations)
        {
            var write = method != HttpMethod.Get;
            var body = write ? WriteBody(method, template) : null;
            foreach (var (who, token) in new[] { ("no token", (string?)null), ("wrong token", WrongToken), ("read", InProcessApi.ReadToken) })
            {
                using var response = await ApiCalls.SendAsync(_api.Http, method, url, token, body);
                var expected = token != InProcessApi.ReadToken ? HttpStatusCode.Unauthorized : write ? HttpStatusCode.Forbidden : (HttpStatusCode?)null;
                var status = response.StatusCode;
                if (expected is { } refused ? status != refused : status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden || (int)status >= 500)
                {
                    failures.Add($"{method} {url} with {who}: {await ApiCalls.DescribeAsync(response)}");
                }
            }
        }

        // Nothing the refused writes sent got through; the operator's then did.
        Assert.Equal(0, (await _api.Store.ReadAsync()).Count);

        foreach (var (method, template, url) in operations)
        {
            var write = method != HttpMethod.Get;
            using var response = await ApiCalls.SendAsync(_api.Http, method, url, InProcessApi.OperatorToken, write ? WriteBody(method, template) : null);
            // Aborting a drill that does not exist is a 404 for the operator too.
            var ok = write ? response.StatusCode == HttpStatusCode.OK || (template.EndsWith("/abort", StringComparison.Ordinal) && response.StatusCode == HttpStatusCode.NotFound)
                : response.StatusCode is HttpStatusCode.OK or HttpStatusCode.NotFound;
            if (!ok)
            {
                failures.Add($"{method} {url} with operator: {await ApiCalls.DescribeAsync(response)}");
            }
        }

        Assert.True((await _api.Store.ReadAsync()).Count > 0, "no operator write landed");

        // No route answers a method the document does not list for it.
        foreach (var url in operations.Select(o => o.Url).Distinct(StringComparer.Ordinal))
        {
            foreach (var method in new[] { HttpMethod.Post, HttpMethod.Patch }.Where(m => !operations.Any(o => o.Url == url && o.Method == m)))
            {
                using var response = await ApiCalls.SendAsync(_api.Http, method, url, InProcessApi.OperatorToken, new { reason = "auth walk" });
                if (response.StatusCode != HttpStatusCode.MethodNotAllowed)
                {
                    failures.Add($"{method} {url} (not in the document) with operator: {await ApiCalls.DescribeAsync(response)}");
                }
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {(operations.Count * 4) + (operations.Select(o => o.Url).Distinct().Count() * 2)} requests wrong:\n{string.Join("\n", failures)}");
        AssertNoTokenLogged();
    }

    private void AssertNoTokenLogged()
    {
        var logged = _api.Sink.All;
        Assert.DoesNotContain(InProcessApi.OperatorToken, logged, StringComparison.Ordinal);
        Assert.DoesNotContain(InProcessApi.ReadToken, logged, StringComparison.Ordinal);
        Assert.DoesNotContain(WrongToken, logged, StringComparison.Ordinal);
    }
}
