using System.Globalization;
using System.Net;

namespace GslbDns.Hosting;

/// <summary>
/// Option values the server, the prober and the API command lines share, each checked the same way
/// and reported as <c>--option: 'value' reason</c> so every program speaks with one voice.
/// </summary>
public static class OptionValues
{
    /// <summary>A Consul agent address: an absolute http or https URL, added to <paramref name="into"/>.</summary>
    public static void ConsulAddress(string name, string value, List<Uri> into, List<string> errors)
    {
        if (Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
        {
            into.Add(uri);
        }
        else
        {
            errors.Add($"{name}: '{value}' is not an http(s) URL");
        }
    }

    /// <summary>A file that must exist now (token files, databases); returns the value either way.</summary>
    public static string ExistingFile(string name, string value, List<string> errors)
    {
        if (!File.Exists(value))
        {
            errors.Add($"{name}: '{value}' does not exist");
        }

        return value;
    }

    /// <summary>A Consul KV folder: ends with '/', or is empty for the root.</summary>
    public static string KeyPrefix(string value) => value.Length == 0 || value.EndsWith('/') ? value : value + "/";

    /// <summary>A whole number in <paramref name="min"/>..<paramref name="max"/>; on error returns min after reporting.</summary>
    public static int Int(string name, string value, int min, int max, List<string> errors)
    {
        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max)
        {
            return n;
        }

        errors.Add($"{name}: '{value}' is not a whole number from {min} to {max}");
        return min;
    }

    /// <summary>ADDR:PORT (IPv6 as [::1]:53); port 0 only when written out, for tests that let the OS choose.</summary>
    public static bool TryEndPoint(string text, out IPEndPoint endPoint)
        => IPEndPoint.TryParse(text, out endPoint!) && text.Contains(':', StringComparison.Ordinal) && (endPoint.Port > 0 || text.EndsWith(":0", StringComparison.Ordinal));
}
