using System.Text.Json;
using GslbDns.Dns;

namespace GslbDns.Gslb.Config;

/// <summary>Reads a service's <c>check</c> object into a <see cref="HealthCheck"/> with every default filled in.</summary>
internal static class HealthCheckReader
{
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MinInterval = TimeSpan.FromMilliseconds(100);
    public static readonly TimeSpan MaxInterval = TimeSpan.FromHours(1);
    public static readonly TimeSpan MinTimeout = TimeSpan.FromMilliseconds(10);

    /// <summary>The default timeout is 80% of the interval, so a probe ends before the next is due, but at most this.</summary>
    public static readonly TimeSpan MaxDefaultTimeout = TimeSpan.FromSeconds(5);

    public const int DefaultFailureThreshold = 3;
    public const int DefaultSuccessThreshold = 2;

    private static readonly string[] Types = ["http", "https", "tcp", "dns", "prometheus"];

    private static readonly string[] Known =
        ["type", "port", "path", "expectStatus", "expectBody", "queryName", "interval", "timeout", "failureThreshold", "successThreshold", "address", "host", "url", "query", "load"];

    /// <summary>What an endpoint's own <c>check</c> may set: only where the probe goes, never how it is judged (that is the service's).</summary>
    private static readonly string[] EndpointKnown = ["address", "port", "host"];

    /// <summary>Null when the check is invalid (errors reported) or absent.</summary>
    public static HealthCheck? Read(ConfigSource source, JsonElement element, string path)
    {
        var obj = ConfigObject.Open(source, element, path, Known);
        if (obj is null)
        {
            return null;
        }

        var type = obj.Text("type", required: true);
        if (type is not null && Array.IndexOf(Types, type) < 0)
        {
            obj.Error("type", $"unknown check type '{type}': use http, https, tcp, dns or prometheus{NameHints.DidYouMean(type, Types)}");
            type = null;
        }

        var isHttp = type is "http" or "https";

        // Options of another check type are refused rather than ignored: "path" on a tcp check means the author expected something else.
        RefuseUnless(obj, isHttp || type is null, type, "path", "expectStatus", "expectBody");
        RefuseUnless(obj, type is "dns" or null, type, "queryName");

        // Host header and SNI exist only in HTTP(S); a host on a tcp or dns check would be silently meaningless.
        RefuseUnless(obj, isHttp || type is null, type, "host");
        var address = ReadAddress(obj);
        var host = ReadHost(obj);

        // A prometheus check asks its server, not the endpoint: a port would be ignored.
        RefuseUnless(obj, type is not "prometheus", type, "port");
        RefuseUnless(obj, type is "prometheus" or null, type, "url", "query");
        Uri? url = null;
        string? query = null;
        if (type == "prometheus")
        {
            url = ReadUrl(obj);
            query = obj.Text("query", required: true);
            if (query is not null && (query.Trim().Length == 0 || query.Any(char.IsControl)))
            {
                obj.Error("query", "query must be a non-empty PromQL expression on one line");
            }
        }

        int? defaultPort = type switch
        {
            "http" => 80,
            "https" => 443,
            "dns" => 53,
            _ => null,
        };
        var port = type == "prometheus" ? 0 : (int?)obj.Integer("port", 1, 65535, required: type == "tcp") ?? defaultPort ?? 0;

        string? probePath = null;
        var expectStatus = 0;
        string? expectBody = null;
        if (isHttp)
        {
            probePath = obj.Text("path") ?? "/";
            if (!probePath.StartsWith('/') || probePath.Any(char.IsControl) || probePath.Contains(' ', StringComparison.Ordinal))
            {
                obj.Error("path", $"path '{probePath}' must start with '/' and contain no spaces or control characters");
            }

            expectStatus = (int)(obj.Integer("expectStatus", 100, 599) ?? 200);
            expectBody = obj.Text("expectBody");
        }

        string? queryName = null;
        if (type == "dns")
        {
            var text = obj.Text("queryName", required: true);
            if (text is not null)
            {
                // Relative to the root: a probe has no zone to append, and the prober sends exactly this name.
                if (DnsName.TryParse(text, DnsName.Root, out var name, out var error))
                {
                    queryName = name.ToString();
                }
                else
                {
                    obj.Error("queryName", error);
                }
            }
        }

        var interval = obj.Duration("interval", MinInterval, MaxInterval) ?? DefaultInterval;
        var timeout = obj.Duration("timeout", MinTimeout, MaxInterval) ?? DefaultTimeout(interval);
        if (timeout >= interval)
        {
            obj.Error("timeout", $"timeout {DurationText.Format(timeout)} must be shorter than the interval {DurationText.Format(interval)}");
        }

        var load = FeedConfigReader.ReadCheckLoad(obj, type);
        var failures = (int)(obj.Integer("failureThreshold", 1, 100) ?? DefaultFailureThreshold);
        var successes = (int)(obj.Integer("successThreshold", 1, 100) ?? DefaultSuccessThreshold);
        return type is null
            ? null
            : new HealthCheck(type, port, probePath, expectStatus, expectBody, queryName, interval, timeout, failures, successes) { Address = address, Host = host, Url = url, Query = query, LoadFrom = load };
    }

    /// <summary>
    /// An endpoint's <c>check</c> (<c>address</c>, <c>port</c>, <c>host</c>); null when invalid (errors reported). <paramref name="serviceCheck"/>
    /// is the service's check as read (null when it is missing or invalid), <paramref name="serviceHasCheck"/> whether the service wrote one.
    /// </summary>
    public static EndpointCheck? ReadEndpoint(ConfigSource source, JsonElement element, string path, HealthCheck? serviceCheck, bool serviceHasCheck)
    {
        var obj = ConfigObject.Open(source, element, path, EndpointKnown);
        if (obj is null)
        {
            return null;
        }

        var errors = source.Errors.Count;
        if (!serviceHasCheck)
        {
            // Without a service check nothing is probed: a target here would be ignored, so it is refused.
            source.Error(path, "an endpoint's 'check' only says where the service's check probes it; the service has no 'check'");
            return null;
        }

        if (serviceCheck is { Type: not ("http" or "https") } && obj.Has("host"))
        {
            obj.Error("host", $"'host' does not apply to {serviceCheck.Type} checks");
        }

        if (serviceCheck is { Type: "prometheus" } && obj.Has("port"))
        {
            obj.Error("port", "'port' does not apply to prometheus checks");
        }

        var address = ReadAddress(obj);
        var port = (int?)obj.Integer("port", 1, 65535);
        var host = ReadHost(obj);
        if (source.Errors.Count != errors)
        {
            return null;
        }

        if (address is null && port is null && host is null)
        {
            source.Error(path, "an endpoint's 'check' needs at least one of 'address', 'port', 'host'; leave it out otherwise");
            return null;
        }

        return new EndpointCheck(address, port, host);
    }

    /// <summary>The Prometheus server: an absolute http(s) URL, without query or fragment (the check appends <c>/api/v1/query</c>).</summary>
    private static Uri? ReadUrl(ConfigObject obj)
    {
        if (obj.Text("url", required: true) is not { } text)
        {
            return null;
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https") || url.Query.Length > 0 || url.Fragment.Length > 0 || url.UserInfo.Length > 0)
        {
            obj.Error("url", $"url '{text}' must be an absolute http or https URL of a Prometheus server, without user, query or fragment, e.g. http://127.0.0.1:9090");
            return null;
        }

        return url;
    }

    private static System.Net.IPAddress? ReadAddress(ConfigObject obj)
    {
        if (obj.Text("address") is not { } text)
        {
            return null;
        }

        if (!AddressText.TryParse(text, out var address, out var error))
        {
            obj.Error("address", error);
            return null;
        }

        return address;
    }

    /// <summary>A host name as sent in Host and SNI: a domain name, absolute or not, stored without the trailing dot.</summary>
    internal static string? ReadHost(ConfigObject obj)
    {
        if (obj.Text("host") is not { } text)
        {
            return null;
        }

        if (text.Length == 0 || text == "." || text.Contains('*', StringComparison.Ordinal))
        {
            obj.Error("host", $"host '{text}' is not a host name, e.g. health.example.com");
            return null;
        }

        if (!DnsName.TryParse(text, DnsName.Root, out var name, out var error))
        {
            obj.Error("host", $"host '{text}': {error}");
            return null;
        }

        var host = name.ToString().TrimEnd('.');
        if (host.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_')))
        {
            obj.Error("host", $"host '{text}' may hold only letters, digits, '-', '_' and '.' (it goes into the Host header and TLS SNI)");
            return null;
        }

        return host;
    }

    public static TimeSpan DefaultTimeout(TimeSpan interval)
    {
        var scaled = TimeSpan.FromMilliseconds(Math.Floor(interval.TotalMilliseconds * 0.8));
        return scaled < MaxDefaultTimeout ? scaled : MaxDefaultTimeout;
    }

    private static void RefuseUnless(ConfigObject obj, bool applies, string? type, params string[] names)
    {
        if (applies)
        {
            return;
        }

        foreach (var name in names)
        {
            if (obj.Has(name))
            {
                obj.Error(name, $"'{name}' does not apply to {type} checks");
            }
        }
    }
}
