using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace GslbDns.Probing;

/// <summary>
/// HTTP and HTTPS checks: GET <c>path</c> from the endpoint's address, with the service name as Host header
/// and TLS SNI so the endpoint answers (and shows the certificate) as it would for a real client. Passes
/// when the status equals <c>expectStatus</c> and, if set, the body contains <c>expectBody</c>.
/// </summary>
/// <remarks>
/// Every probe opens a new connection: a pooled keep-alive connection could keep succeeding against a
/// server that no longer accepts new clients. Redirects are not followed (a 301 is a status like any other).
/// </remarks>
public sealed class HttpCheck : IEndpointCheck, IDisposable
{
    /// <summary>A health page larger than this is cut: the expected text must appear in its first 64 KiB.</summary>
    public const int MaxBodyBytes = 64 * 1024;

    private readonly HttpMessageInvoker _client;

    /// <param name="allowInsecureTls">Accept any certificate (tests, self-signed lab endpoints). Off in production.</param>
    public HttpCheck(bool allowInsecureTls = false)
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
            PooledConnectionLifetime = TimeSpan.Zero,

            // The runner's timeout bounds the whole probe; no second, different limit here.
            ConnectTimeout = Timeout.InfiniteTimeSpan,
        };
        if (allowInsecureTls)
        {
            // Explicit operator opt-in (--allow-insecure-tls), for tests and lab endpoints with self-signed certificates.
#pragma warning disable CA5359
            handler.SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = static (_, _, _, _) => true };
#pragma warning restore CA5359
        }

        _client = new HttpMessageInvoker(handler, disposeHandler: true);
    }

    public async ValueTask<ProbeResult> CheckAsync(ProbeTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        var check = target.Check;
        var https = string.Equals(check.Type, "https", StringComparison.OrdinalIgnoreCase);
        var address = target.Address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{target.Address}]" : target.Address.ToString();
        var port = check.Port.ToString(CultureInfo.InvariantCulture);
        var uri = new Uri($"{(https ? "https" : "http")}://{address}:{port}{check.Path ?? "/"}");
        using var request = new HttpRequestMessage(HttpMethod.Get, uri) { Version = HttpVersion.Version11, VersionPolicy = HttpVersionPolicy.RequestVersionExact };

        // SocketsHttpHandler takes SNI and the name to validate the certificate against from the Host header.
        var defaultPort = https ? 443 : 80;
        request.Headers.Host = check.Port == defaultPort ? target.HostName : target.HostName + ":" + port;
        request.Headers.ConnectionClose = true;
        request.Headers.UserAgent.ParseAdd("gslbdns-prober");

        using var response = await _client.SendAsync(request, cancellationToken);
        var status = (int)response.StatusCode;
        if (status != check.ExpectStatus)
        {
            return ProbeResult.Fail($"HTTP status {status}, expected {check.ExpectStatus}", ProbeReasons.HttpStatus);
        }

        var loadFrom = check.LoadFrom;
        if (string.IsNullOrEmpty(check.ExpectBody) && loadFrom?.JsonPath is null)
        {
            return loadFrom?.Header is { } header ? ProbeResult.Ok with { Load = HeaderLoad(response, header) } : ProbeResult.Ok;
        }

        var body = await ReadPrefixAsync(response.Content, cancellationToken);
        if (!string.IsNullOrEmpty(check.ExpectBody) && !body.Contains(check.ExpectBody, StringComparison.Ordinal))
        {
            return ProbeResult.Fail($"body does not contain '{check.ExpectBody}'", ProbeReasons.HttpBody);
        }

        return loadFrom is null ? ProbeResult.Ok
            : ProbeResult.Ok with { Load = loadFrom.JsonPath is { } path ? JsonLoad(body, path) : HeaderLoad(response, loadFrom.Header!) };
    }

    /// <summary>
    /// The figure in <paramref name="header"/>; null when absent or not a finite non-negative number. A missing
    /// figure does not fail the check: load is for shedding, health is the status (and body) alone.
    /// </summary>
    internal static double? HeaderLoad(HttpResponseMessage response, string header) =>
        response.Headers.TryGetValues(header, out var values) || response.Content.Headers.TryGetValues(header, out values)
            ? Figure(values.FirstOrDefault())
            : null;

    /// <summary>The number at <paramref name="path"/> in a JSON body (a number or a numeric string); null when absent or not JSON.</summary>
    internal static double? JsonLoad(string body, IReadOnlyList<string> path)
    {
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(body, new System.Text.Json.JsonDocumentOptions { MaxDepth = 16 });
            var element = document.RootElement;
            foreach (var name in path)
            {
                if (element.ValueKind != System.Text.Json.JsonValueKind.Object || !element.TryGetProperty(name, out element))
                {
                    return null;
                }
            }

            return element.ValueKind switch
            {
                System.Text.Json.JsonValueKind.Number when element.TryGetDouble(out var value) => Figure(value),
                System.Text.Json.JsonValueKind.String => Figure(element.GetString()),
                _ => null,
            };
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private static double? Figure(string? text) =>
        double.TryParse(text?.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? Figure(value) : null;

    private static double? Figure(double value) => double.IsFinite(value) && value >= 0 && value <= 1e9 ? value : null;

    public void Dispose() => _client.Dispose();

    private static async Task<string> ReadPrefixAsync(HttpContent content, CancellationToken ct)
    {
        await using var stream = await content.ReadAsStreamAsync(ct);
        var buffer = new byte[MaxBodyBytes];
        var filled = 0;
        while (filled < buffer.Length)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(filled), ct);
            if (read == 0)
            {
                break;
            }

            filled += read;
        }

        return Encoding.UTF8.GetString(buffer, 0, filled);
    }
}
