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

        if (string.IsNullOrEmpty(check.ExpectBody))
        {
            return ProbeResult.Ok;
        }

        var body = await ReadPrefixAsync(response.Content, cancellationToken);
        return body.Contains(check.ExpectBody, StringComparison.Ordinal)
            ? ProbeResult.Ok
            : ProbeResult.Fail($"body does not contain '{check.ExpectBody}'", ProbeReasons.HttpBody);
    }

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
