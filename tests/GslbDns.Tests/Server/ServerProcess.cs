using System.Net;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Server;

/// <summary>
/// The real server process (<c>dotnet GslbDns.dll serve</c>) on free loopback ports, started and awaited until DNS (and
/// /metrics, when asked for) answers. A port taken between choosing and binding it makes the start fail, so it retries
/// with fresh ports a few times.
/// </summary>
internal sealed class ServerProcess : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private ServerProcess(ChildProcess process, IPEndPoint dns, Uri? metrics)
    {
        Process = process;
        Dns = dns;
        Metrics = metrics;
    }

    public ChildProcess Process { get; }

    public IPEndPoint Dns { get; }

    /// <summary>The /metrics URL, when started with metrics.</summary>
    public Uri? Metrics { get; }

    /// <summary>
    /// Starts the server on <paramref name="address"/> serving the zones in <paramref name="zones"/>, with
    /// <paramref name="arguments"/> after the listen options; ready when <paramref name="readyName"/>'s SOA is answered.
    /// </summary>
    public static async Task<ServerProcess> StartAsync(string zones, string readyName, IReadOnlyList<string> arguments, bool withMetrics = false, IPAddress? address = null, Action<string>? log = null)
    {
        var listen = address ?? IPAddress.Loopback;
        var failures = new List<string>();
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            var dnsPort = PortFinder.Take();
            var metricsPort = withMetrics ? PortFinder.Take() : 0;
            List<string> command = [RepoLayout.ServerDll, "serve", "--zones", zones, "--dns", $"{listen}:{dnsPort}"];
            if (withMetrics)
            {
                command.AddRange(["--metrics", $"127.0.0.1:{metricsPort}"]);
            }

            command.AddRange(arguments);
            var process = ChildProcess.Start(RepoLayout.DotnetHost, command);
            var endPoint = new IPEndPoint(listen, dnsPort);
            var metrics = withMetrics ? new Uri($"http://127.0.0.1:{metricsPort}/metrics") : null;
            try
            {
                await Deadline.UntilAsync("the server process answering", StartTimeout, async () =>
                {
                    if (process.HasExited)
                    {
                        throw new PollAbortedException($"exited with {process.ExitCode}");
                    }

                    var id = DnsWire.NewId();
                    var reply = await RawDnsClient.UdpAsync(endPoint, DnsWire.Query(readyName, DnsWire.TypeSOA, id), id, TimeSpan.FromMilliseconds(300));
                    if (reply is null)
                    {
                        return (false, "no DNS reply yet");
                    }

                    if (metrics is null)
                    {
                        return (true, "answering");
                    }

                    using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
                    using var page = await probe.GetAsync(metrics);
                    return (page.IsSuccessStatusCode, $"/metrics: {page.StatusCode}");
                }, TimeSpan.FromMilliseconds(100));
                return new ServerProcess(process, endPoint, metrics);
            }
            catch (Exception ex) when (ex is PollAbortedException or TimeoutException)
            {
                var failure = $"attempt {attempt}: {ex.Message}\n{process.Describe()}";
                log?.Invoke(failure);
                failures.Add(failure);
                process.Dispose();
            }
        }

        throw new InvalidOperationException($"the server process did not start:\n{string.Join('\n', failures)}");
    }

    public void Dispose() => Process.Dispose();
}
