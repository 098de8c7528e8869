using System.Globalization;
using System.Net;
using System.Text.Json;

namespace GslbDns.Probing;

/// <summary>
/// A <c>prometheus</c> check: asks a Prometheus server's HTTP API (<c>GET {url}/api/v1/query?query=...</c>, an instant query)
/// for the check's expression, with <c>$address</c> replaced by the endpoint's check address and <c>$endpoint</c> by its id.
/// Healthy when the result is non-empty and every sample is non-zero (a scalar: non-zero); an empty result, a zero or NaN
/// sample, an API error or a range vector fail. So outside monitoring (k8gb's most asked-for feature) decides health.
/// </summary>
/// <remarks>The runner's timeout bounds the request; nothing is retried here (the streak is the retry).</remarks>
public sealed class PrometheusCheck : IEndpointCheck, IDisposable
{
    /// <summary>A query answer larger than this is refused: a health expression yields a handful of samples.</summary>
    public const int MaxResponseBytes = 1024 * 1024;

    private readonly HttpClient _client = new(new SocketsHttpHandler { UseProxy = false, UseCookies = false, AllowAutoRedirect = false })
    {
        Timeout = Timeout.InfiniteTimeSpan,
        MaxResponseContentBufferSize = MaxResponseBytes,
    };

    /// <summary>The expression sent for <paramref name="target"/>.</summary>
    public static string Expression(ProbeTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        var query = target.Check.Query ?? throw new InvalidOperationException($"prometheus check of {target.EndpointId} has no query");
        return query.Replace("$endpoint", target.EndpointId, StringComparison.Ordinal).Replace("$address", target.Address.ToString(), StringComparison.Ordinal);
    }

    public async ValueTask<ProbeResult> CheckAsync(ProbeTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        var url = target.Check.Url ?? throw new InvalidOperationException($"prometheus check of {target.EndpointId} has no url");
        var expression = Expression(target);
        var uri = new Uri(url.AbsoluteUri.TrimEnd('/') + "/api/v1/query?query=" + Uri.EscapeDataString(expression));
        using var response = await _client.GetAsync(uri, cancellationToken);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        JsonElement root;
        try
        {
            root = JsonDocument.Parse(body).RootElement;
        }
        catch (JsonException)
        {
            return ProbeResult.Fail($"Prometheus HTTP {(int)response.StatusCode}: not a JSON answer");
        }

        if (response.StatusCode != HttpStatusCode.OK || !root.TryGetProperty("status", out var status) || status.GetString() != "success")
        {
            var error = root.TryGetProperty("error", out var e) ? e.GetString() : null;
            return ProbeResult.Fail($"Prometheus HTTP {(int)response.StatusCode}: {error ?? "no success status"} ({expression})");
        }

        var data = root.GetProperty("data");
        var resultType = data.GetProperty("resultType").GetString();
        var result = data.GetProperty("result");
        switch (resultType)
        {
            case "scalar":
                return Judge(result, "scalar", expression);
            case "vector":
                if (result.GetArrayLength() == 0)
                {
                    return ProbeResult.Fail($"empty result for {expression}");
                }

                foreach (var sample in result.EnumerateArray())
                {
                    var verdict = Judge(sample.GetProperty("value"), sample.GetProperty("metric").GetRawText(), expression);
                    if (!verdict.Success)
                    {
                        return verdict;
                    }
                }

                return ProbeResult.Ok;
            default:
                return ProbeResult.Fail($"{resultType} result for {expression}: write an instant vector or scalar expression");
        }
    }

    public void Dispose() => _client.Dispose();

    /// <summary>A <c>[time, "value"]</c> pair: healthy when the value is a number other than zero.</summary>
    private static ProbeResult Judge(JsonElement pair, string what, string expression)
    {
        var text = pair[1].GetString();
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || double.IsNaN(value))
        {
            return ProbeResult.Fail($"{what} is {text} for {expression}");
        }

        return value != 0 ? ProbeResult.Ok : ProbeResult.Fail($"{what} is 0 for {expression}");
    }
}
