using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace GslbDns.Server.Ctl;

/// <summary>The exit statuses <c>gslbdns ctl</c> promises scripts.</summary>
internal static class CtlExit
{
    public const int Ok = 0;

    /// <summary>The API answered and said no: 400, 404, 409, 412, 413, 415; or a drill did not succeed.</summary>
    public const int Refused = 1;

    public const int Usage = 2;

    /// <summary>No answer (connection refused, timeout), the token refused (401, 403), or a server-side failure (5xx).</summary>
    public const int Unavailable = 3;

    public static int ForStatus(HttpStatusCode status) => (int)status switch
    {
        < 400 => Ok,
        401 or 403 => Unavailable,
        >= 500 => Unavailable,
        _ => Refused,
    };
}

/// <summary>What one API call answered: status, ETag version (if any), and the body as JSON (or text).</summary>
internal sealed record ApiAnswer(HttpStatusCode Status, ulong? Version, JsonNode? Json, string Text)
{
    public bool Ok => (int)Status < 400;
}

/// <summary>
/// The REST API over HTTP with the bearer token: one place that sends requests, reads ETags and sends If-Match,
/// for every <c>gslbdns ctl</c> command. Failures to connect surface as <see cref="HttpRequestException"/> or
/// <see cref="TaskCanceledException"/> (timeout), which the caller maps to exit status 3.
/// </summary>
internal sealed class ApiClient : IDisposable
{
    private readonly HttpClient _http;

    public ApiClient(Uri baseAddress, string token, TimeSpan timeout)
    {
        BaseAddress = baseAddress;
        _http = new HttpClient { BaseAddress = baseAddress, Timeout = timeout };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    public Uri BaseAddress { get; }

    public async Task<ApiAnswer> SendAsync(HttpMethod method, string path, JsonNode? body = null, ulong? ifMatch = null, string? accept = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }

        if (ifMatch is { } version)
        {
            request.Headers.TryAddWithoutValidation("If-Match", $"\"{version}\"");
        }

        if (accept is not null)
        {
            request.Headers.Accept.ParseAdd(accept);
        }

        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        JsonNode? json = null;
        if (response.Content.Headers.ContentType?.MediaType?.Contains("json", StringComparison.OrdinalIgnoreCase) == true && text.Length > 0)
        {
            try
            {
                json = JsonNode.Parse(text);
            }
            catch (System.Text.Json.JsonException)
            {
                // Shown as text.
            }
        }

        ulong? etag = response.Headers.ETag is { IsWeak: false } tag && ulong.TryParse(tag.Tag.Trim('"'), out var v) ? v : null;
        return new ApiAnswer(response.StatusCode, etag, json, text);
    }

    /// <summary>The path of a target: a data center name, or an endpoint id <c>service/dc/address</c> (each part escaped).</summary>
    public static string TargetPath(string target) =>
        target.Contains('/', StringComparison.Ordinal)
            ? "v1/endpoints/" + string.Join('/', target.Split('/').Select(Uri.EscapeDataString))
            : "v1/datacenters/" + Uri.EscapeDataString(target);

    public void Dispose() => _http.Dispose();
}
