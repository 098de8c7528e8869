using System.Net;
using System.Text.RegularExpressions;
using GslbDns.Server.Hosting;
using GslbDns.Tests.Api;
using GslbDns.Tests.Core.Geo;
using GslbDns.Tests.Server;
using GslbDns.Tests.TestSupport;
using Microsoft.Extensions.Logging;

namespace GslbDns.Tests.Core.Snapshots;

/// <summary>
/// A geo policy without a GeoIP database places every client outside geo-data at the default location. The server
/// and the API say so at start, naming the path they looked for, and the server's /metrics shows
/// <c>gslbdns_geoip_loaded</c>; with the database (or without geo policies) there is no warning.
/// </summary>
public sealed partial class GeoIpMissingTests
{
    private const string Warning = "no GeoIP database was found at ";

    private static void WriteGeoZone(string folder, bool geoPolicy)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "geo.test.zone"), """
            $TTL 300
            @ IN SOA ns1 hostmaster 1 3600 600 86400 60
              IN NS ns1
            ns1 IN A 127.0.0.1
            """);
        var policy = geoPolicy ? """{"type": "geo-proximity", "count": 1}""" : """{"type": "failover"}""";
        File.WriteAllText(Path.Combine(folder, "geo.test.gslb.json"), $$"""
            {
              "dataCenters": {
                "dc-us": {"latitude": 39.04, "longitude": -77.49},
                "dc-eu": {"latitude": 53.35, "longitude": -6.26}
              },
              "services": {
                "near": {
                  "policy": [{"type": "healthy"}, {{policy}}],
                  "endpoints": [{"dataCenter": "dc-us", "address": "192.0.2.1"}, {"dataCenter": "dc-eu", "address": "192.0.2.2"}]
                }
              }
            }
            """);
    }

    [Fact]
    public async Task Server_process_without_a_GeoIP_database_warns_with_the_path_it_looked_for_and_exports_geoip_loaded_0()
    {
        // The working directory has no .cache/geoip, so the default path is looked for there and not found.
        using var folder = new TempFolder("geoip-missing");
        var zones = folder.Folder("zones");
        WriteGeoZone(zones, geoPolicy: true);
        var metricsPort = PortFinder.Take();
        using var server = ChildProcess.Start(
            RepoLayout.DotnetHost,
            [RepoLayout.ServerDll, "serve", "--zones", zones, "--dns", "127.0.0.1:0", "--udp-threads", "1", "--no-watch", "--metrics", $"127.0.0.1:{metricsPort}", "--api", "off", "--state", folder.Folder("state")],
            workingDirectory: folder.Path);
        var expectedPath = Path.Combine(folder.Path, ".cache", "geoip", "GeoLite2-City.mmdb");
        await Deadline.UntilAsync("the server answering and warning", TimeSpan.FromSeconds(30), () =>
        {
            if (server.HasExited)
            {
                throw new PollAbortedException("the server exited:\n" + server.Describe());
            }

            return Task.FromResult((server.StandardOutput.Contains("answering on", StringComparison.Ordinal) && server.StandardError.Contains(Warning, StringComparison.Ordinal), server.Describe()));
        }, TimeSpan.FromMilliseconds(50));

        var warning = server.StandardError.Split('\n').Single(l => l.Contains(Warning, StringComparison.Ordinal));
        Assert.Contains(Warning + expectedPath, warning, StringComparison.Ordinal);
        Assert.Contains("WRN", warning, StringComparison.Ordinal);
        Assert.Contains("near.geo.test.", warning, StringComparison.Ordinal);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{metricsPort}/metrics"));
        Assert.Equal("0", GeoIpLoaded().Match(metrics).Groups[1].Value);
    }

    [Fact]
    public async Task Api_process_without_a_GeoIP_database_warns_with_the_path_it_looked_for()
    {
        using var folder = new TempFolder("geoip-missing-api");
        var zones = folder.Folder("zones");
        WriteGeoZone(zones, geoPolicy: true);
        using var api = ChildProcess.Start(
            RepoLayout.DotnetHost,
            [ApiLayout.ApiDll, "--embedded", "--state", folder.Folder("state"), "--zones", zones, "--listen", "127.0.0.1:0"],
            workingDirectory: folder.Path);
        await Deadline.UntilAsync("the API listening and warning", TimeSpan.FromSeconds(30), () =>
        {
            if (api.HasExited)
            {
                throw new PollAbortedException("the API exited:\n" + api.Describe());
            }

            return Task.FromResult((api.StandardOutput.Contains("listening on", StringComparison.Ordinal) && api.StandardError.Contains(Warning, StringComparison.Ordinal), api.Describe()));
        }, TimeSpan.FromMilliseconds(50));

        Assert.Contains(Warning + Path.Combine(folder.Path, ".cache", "geoip", "GeoLite2-City.mmdb"), api.StandardError, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true, true, "1")]
    [InlineData(false, false, "0")]
    public async Task No_warning_with_the_database_or_without_geo_policies(bool withDatabase, bool geoPolicy, string loaded)
    {
        using var folder = new TempFolder("geoip-present");
        WriteGeoZone(folder.Path, geoPolicy);
        var logs = new CapturingLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs));
        var metricsPort = PortFinder.Take();
        var options = InProcessServer.Options(folder.Path) with
        {
            GeoIpDatabase = withDatabase ? GeoTestEnvironment.DatabasePath : null,
            MetricsEndPoint = new IPEndPoint(IPAddress.Loopback, metricsPort),
        };
        await using var server = new DnsServer(options, factory);
        server.Start();
        Assert.Empty(server.Builder.LastErrors);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{metricsPort}/metrics"));
        Assert.Equal(loaded, GeoIpLoaded().Match(metrics).Groups[1].Value);
        Assert.Contains(logs.Messages, m => m.Contains("Serving 1 zones", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Messages, m => m.Contains(Warning, StringComparison.Ordinal));
    }

    [GeneratedRegex(@"^gslbdns_geoip_loaded (\d+)$", RegexOptions.Multiline)]
    private static partial Regex GeoIpLoaded();

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _messages = new();

        public IReadOnlyCollection<string> Messages => _messages;

        public ILogger CreateLogger(string categoryName) => new Capturing(_messages);

        public void Dispose()
        {
        }

        private sealed class Capturing(System.Collections.Concurrent.ConcurrentQueue<string> messages) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                messages.Enqueue(formatter(state, exception));
        }
    }
}
