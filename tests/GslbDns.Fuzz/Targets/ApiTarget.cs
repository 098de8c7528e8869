using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using GslbDns.Api;
using GslbDns.Api.Auth;
using GslbDns.Query;
using GslbDns.State;

namespace GslbDns.Fuzz.Targets;

/// <summary>
/// The API's request parsing: the real API host on a loopback port (Kestrel, the SQLite store in a temp folder, the
/// example zones' snapshot), sent one write request per input over real HTTP with an operator token. The first input
/// octet picks the route and how the request is dressed (If-Match from the first line, Content-Type); the rest is the
/// body. The answer must be a success or a problem-details error, a 400 naming the field, never a 500 or another status.
/// </summary>
public sealed class ApiTarget : IFuzzTarget, IDisposable
{
    private const string Token = "fuzz-operator-token-0123456789";
    private const string Endpoint = "/v1/endpoints/geo.example.com/eu-west/198.51.100.20";

    private static readonly (string Method, string Path)[] Routes =
    [
        ("PUT", "/v1/datacenters/eu-west/weight"),
        ("PUT", "/v1/datacenters/eu-west/drain"),
        ("PUT", "/v1/datacenters/eu-west/override"),
        ("DELETE", "/v1/datacenters/eu-west/weight"),
        ("DELETE", "/v1/datacenters/us-east/drain"),
        ("DELETE", "/v1/datacenters/ap-southeast/override"),
        ("PUT", Endpoint + "/weight"),
        ("PUT", Endpoint + "/drain"),
        ("PUT", Endpoint + "/override"),
        ("DELETE", Endpoint + "/weight"),
        ("DELETE", Endpoint + "/drain?force=true&reason=fuzz"),
        ("DELETE", Endpoint + "/override"),
        ("POST", "/v1/drills"),
        ("POST", "/v1/drills/1/abort"),
        ("POST", "/v1/drills"),
        ("PUT", "/v1/datacenters/sa-east/weight"),
    ];

    /// <summary>
    /// Besides success: not found (drill 1 may not exist), conflict (guardrails), precondition failed (If-Match), body too
    /// large, and a body that is not JSON by its Content-Type (src/Api/README.md: 415).
    /// </summary>
    private static readonly HashSet<HttpStatusCode> ProblemStatuses =
        [HttpStatusCode.BadRequest, HttpStatusCode.NotFound, HttpStatusCode.Conflict, HttpStatusCode.PreconditionFailed, HttpStatusCode.RequestEntityTooLarge, HttpStatusCode.UnsupportedMediaType];

    private readonly FolderWorld _world = new(["example.com.zone", "example.com.gslb.json"], withGeoIp: false);
    private readonly SqliteOperatorStateStore _store;
    private readonly ApiHost _host;
    private readonly HttpClient _http;

    public ApiTarget()
    {
        var errors = _world.Rebuild();
        if (errors.Count > 0)
        {
            throw new InvalidOperationException("the API target's zones do not load: " + string.Join("; ", errors));
        }

        _store = SqliteOperatorStateStore.Open(Path.Combine(_world.Root, "state.db"));
        _host = ApiHost.StartAsync(
            new ApiHostOptions { Listen = [new IPEndPoint(IPAddress.Loopback, 0)], Tokens = ApiTokens.FromTokens((ApiRole.Operator, Token, "fuzz")), Logger = Serilog.Core.Logger.None },
            _store,
            _world.Snapshots,
            new QueryEngine(_world.Snapshots, FuzzWorld.EngineOptions),
            null).GetAwaiter().GetResult();
        _http = new HttpClient { BaseAddress = _host.BaseAddress, Timeout = TimeSpan.FromSeconds(20) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
    }

    public void Run(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }

        var dress = input[0];
        var (method, path) = Routes[dress % Routes.Length];
        var rest = input[1..];
        string? ifMatch = null;
        if ((dress & 0x10) != 0)
        {
            var newline = rest.IndexOf((byte)'\n');
            var line = newline < 0 ? rest : rest[..newline];
            ifMatch = System.Text.Encoding.Latin1.GetString(line);
            rest = newline < 0 ? [] : rest[(newline + 1)..];
            if (ifMatch.Any(c => c is (< ' ' and not '\t') or > '~'))
            {
                // Not a field value HTTP allows (RFC 9110 5.5): Kestrel refuses the request before the API sees it.
                return;
            }
        }

        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (ifMatch is not null && !request.Headers.TryAddWithoutValidation("If-Match", ifMatch))
        {
            return;
        }

        if (!rest.IsEmpty || (dress & 0x40) == 0)
        {
            request.Content = new ByteArrayContent(rest.ToArray());
            if ((dress & 0x20) == 0)
            {
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            }
            else if ((dress & 0x80) != 0)
            {
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
            }
        }

        HttpResponseMessage response;
        try
        {
            response = _http.SendAsync(request).GetAwaiter().GetResult();
        }
        catch (HttpRequestException)
        {
            // The client refused to send it (a header value HttpClient cannot write): not the server's input.
            return;
        }

        using (response)
        {
            var body = response.Content.ReadAsStringAsync().GetAwaiter().GetResult();
            var status = response.StatusCode;
            // Kestrel's own limit on all headers together (found by this target: a 23 KB If-Match): 431 without a body
            // past it, never well under it (the other headers of these requests take a few hundred bytes).
            var ifMatchLength = ifMatch?.Length ?? 0;
            var tooLarge = status == HttpStatusCode.RequestHeaderFieldsTooLarge;
            Check.That(tooLarge || ifMatchLength <= ApiHost.MaxRequestHeadersBytes, $"{method} {path}: status {(int)status} {status} to an If-Match of {ifMatchLength} characters, past the header limit");
            Check.That(!tooLarge || ifMatchLength > ApiHost.MaxRequestHeadersBytes - 1024, $"{method} {path}: 431 to an If-Match of only {ifMatchLength} characters");
            if (tooLarge || (int)status is >= 200 and < 300)
            {
                return;
            }

            Check.That(ProblemStatuses.Contains(status), $"{method} {path}: status {(int)status} {status}: {body}");
            Check.That(response.Content.Headers.ContentType?.MediaType == "application/problem+json", $"{method} {path}: {(int)status} without problem details ({response.Content.Headers.ContentType}): {body}");
            using var problem = JsonDocument.Parse(body);
            if (status == HttpStatusCode.BadRequest)
            {
                Check.That(problem.RootElement.TryGetProperty("errors", out var errors) && errors.EnumerateObject().Any(), $"{method} {path}: a 400 that names no field: {body}");
            }
        }
    }

    public void Dispose()
    {
        _http.Dispose();
        _host.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _world.Dispose();
    }
}
