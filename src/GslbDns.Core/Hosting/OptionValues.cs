using System.Globalization;
using System.Net;

namespace GslbDns.Hosting;

/// <summary>
/// Value readers the option tables share. Each throws <see cref="FormatException"/> with the reason, which
/// the parser reports as <c>--option: 'value' reason</c>, so every program speaks with one voice.
/// </summary>
public static class OptionValues
{
    /// <summary>A Consul agent address: an absolute http or https URL.</summary>
    public static Uri ConsulAddress(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            ? uri
            : throw new FormatException("is not an http(s) URL");

    /// <summary>A file that must exist now (token files, databases).</summary>
    public static string ExistingFile(string value) => File.Exists(value) ? value : throw new FormatException("does not exist");

    /// <summary>A Consul KV folder: ends with '/', or is empty for the root.</summary>
    public static string KeyPrefix(string value) => value.Length == 0 || value.EndsWith('/') ? value : value + "/";

    /// <summary>A reader for a whole number in <paramref name="min"/>..<paramref name="max"/>.</summary>
    public static Func<string, int> Int(int min, int max) => value =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? n
            : throw new FormatException($"is not a whole number from {min} to {max}");

    /// <summary>A reader for degrees in -<paramref name="limit"/>..<paramref name="limit"/>.</summary>
    public static Func<string, double> Degrees(double limit) => value =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var degrees) && Math.Abs(degrees) <= limit
            ? degrees
            : throw new FormatException($"is not a number of degrees in -{limit}..{limit}");

    /// <summary>ADDR:PORT (IPv6 as [::1]:53); port 0 only when written out, for tests that let the OS choose.</summary>
    private static bool TryEndPoint(string text, out IPEndPoint endPoint)
        => IPEndPoint.TryParse(text, out endPoint!) && text.Contains(':', StringComparison.Ordinal) && (endPoint.Port > 0 || text.EndsWith(":0", StringComparison.Ordinal));

    /// <summary>A reader for ADDR:PORT; <paramref name="example"/> shows the IPv6 form in the error.</summary>
    public static Func<string, IPEndPoint> EndPoint(string example) => value =>
        TryEndPoint(value, out var endPoint) ? endPoint : throw new FormatException($"is not ADDR:PORT (IPv6 as {example})");

    /// <summary>A reader for ADDR:PORT or <c>off</c> (null); port 0 is refused when <paramref name="allowPortZero"/> is false.</summary>
    public static Func<string, IPEndPoint?> EndPointOrOff(bool allowPortZero = true) => value =>
        value == "off" ? null
        : TryEndPoint(value, out var endPoint) && (allowPortZero || endPoint.Port != 0) ? endPoint
        : throw new FormatException("is not ADDR:PORT or off");
}
