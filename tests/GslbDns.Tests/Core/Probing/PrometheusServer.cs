using System.Globalization;
using System.Net;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Core.Probing;

/// <summary>
/// A real Prometheus (Debian <c>prometheus</c>) on loopback, scraping one test exporter every 250 ms: a generated config
/// naming the exporter's port, <c>--web.listen-address=127.0.0.1:&lt;free port&gt;</c>, its TSDB in a temp folder.
/// The exporter is an <see cref="HttpBackend"/> whose body is the metrics page a test sets.
/// </summary>
internal sealed class PrometheusServer : IAsyncDisposable
{
    private readonly TempFolder _folder;
    private readonly ChildProcess _process;

    private PrometheusServer(TempFolder folder, ChildProcess process, HttpBackend exporter, Uri url)
    {
        _folder = folder;
        _process = process;
        Exporter = exporter;
        Url = url;
    }

    /// <summary>The scraped exporter: set its <see cref="HttpBackend.Body"/> to the metrics to serve.</summary>
    public HttpBackend Exporter { get; }

    /// <summary>The Prometheus server's base URL, as a check's <c>url</c>.</summary>
    public Uri Url { get; }

    public static async Task<PrometheusServer> StartAsync(string metrics)
    {
        var exporter = HttpBackend.Start();
        exporter.Body = metrics;
        var failures = new List<string>();
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            var folder = new TempFolder("prometheus");
            File.WriteAllText(folder.File("prometheus.yml"), string.Create(CultureInfo.InvariantCulture, $"""
                global:
                  scrape_interval: 250ms
                  scrape_timeout: 200ms
                scrape_configs:
                  - job_name: app
                    static_configs:
                      - targets: ['127.0.0.1:{exporter.Port}']
                """));
            var port = PortFinder.Take();
            var process = ChildProcess.Start("prometheus", [
                "--config.file=" + folder.File("prometheus.yml"), $"--web.listen-address=127.0.0.1:{port}",
                "--storage.tsdb.path=" + folder.Folder("data"), "--log.level=warn"]);
            var url = new Uri($"http://127.0.0.1:{port}/");
            try
            {
                using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
                await Deadline.UntilAsync("Prometheus ready", TimeSpan.FromSeconds(30), async () =>
                {
                    if (process.HasExited)
                    {
                        throw new PollAbortedException($"prometheus exited with {process.ExitCode}");
                    }

                    try
                    {
                        using var ready = await http.GetAsync(new Uri(url, "-/ready"));
                        return (ready.StatusCode == HttpStatusCode.OK, $"/-/ready {ready.StatusCode}");
                    }
                    catch (HttpRequestException ex)
                    {
                        return (false, ex.Message);
                    }
                }, TimeSpan.FromMilliseconds(100));
                return new PrometheusServer(folder, process, exporter, url);
            }
            catch (Exception ex) when (ex is PollAbortedException or TimeoutException)
            {
                failures.Add($"attempt {attempt}: {ex.Message}\n{process.Describe()}");
                process.Dispose();
                folder.Dispose();
            }
        }

        await exporter.DisposeAsync();
        throw new InvalidOperationException($"Prometheus did not start:\n{string.Join("\n", failures)}");
    }



    public async ValueTask DisposeAsync()
    {
        _process.Dispose();
        await Exporter.DisposeAsync();
        _folder.Dispose();
    }
}
