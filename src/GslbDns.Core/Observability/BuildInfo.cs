using System.Reflection;
using System.Runtime.InteropServices;
using Prometheus;

namespace GslbDns.Observability;

/// <summary>
/// <c>gslbdns_build_info{version,revision,dotnet}</c> (value 1), as CoreDNS's <c>coredns_build_info</c>: which build
/// each process of a fleet runs. The version and git revision come from the entry assembly's informational version
/// (<c>1.2.3+abcdef</c>, which the SDK stamps from git).
/// </summary>
public static class BuildInfo
{
    public const string MetricName = "gslbdns_build_info";

    public static (string Version, string Revision) Current()
    {
        var informational = (Assembly.GetEntryAssembly() ?? typeof(BuildInfo).Assembly)
            .GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
        var plus = informational.IndexOf('+', StringComparison.Ordinal);
        return plus < 0 ? (informational, "unknown") : (informational[..plus], informational[(plus + 1)..]);
    }

    /// <summary>Registers the series in <paramref name="factory"/>'s registry.</summary>
    public static void Register(MetricFactory factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        var (version, revision) = Current();
        factory.CreateGauge(MetricName, "Which build this process runs; always 1.", "version", "revision", "dotnet")
            .WithLabels(version, revision, RuntimeInformation.FrameworkDescription.Replace(".NET ", string.Empty, StringComparison.Ordinal))
            .Set(1);
    }
}
