using System.Net;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Server;

/// <summary>
/// Starts Debian's unbound in the foreground on a free loopback port with the config <paramref name="config"/>
/// writes for that port, ready when it answers <c>probeName SOA</c> with NOERROR; retried on a fresh port when the
/// one chosen was taken meanwhile. Shared by the resolver fixtures (iterator only, and validating).
/// </summary>
internal static class UnboundProcess
{
    /// <summary>
    /// The start of every test resolver's config: a foreground, unprivileged, single-threaded Unbound on
    /// 127.0.0.1:<paramref name="port"/> that may query servers on loopback. Callers add their server options
    /// (indented by four spaces) and their other sections.
    /// </summary>
    public static string ServerSection(string directory, int port) =>
        "server:\n" + string.Concat(new[]
        {
            "verbosity: 1", "interface: 127.0.0.1", $"port: {port}", "do-ip4: yes", "do-ip6: no", "do-daemonize: no",
            "use-syslog: no", "logfile: \"\"", "chroot: \"\"", "username: \"\"", "pidfile: \"\"", $"directory: \"{directory}\"",
            "num-threads: 1", "access-control: 127.0.0.0/8 allow", "do-not-query-localhost: no",
        }.Select(option => "    " + option + "\n"));

    public static async Task<(ChildProcess Process, IPEndPoint Resolver)> StartAsync(TempFolder folder, Func<int, string> config, string probeName)
    {
        var failures = new List<string>();
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            var port = PortFinder.Take();
            var file = folder.File("unbound.conf");
            File.WriteAllText(file, config(port));
            var unbound = ChildProcess.Start("unbound", ["-d", "-c", file], folder.Path);
            var resolver = new IPEndPoint(IPAddress.Loopback, port);
            try
            {
                await Deadline.UntilAsync("unbound answering", TimeSpan.FromSeconds(15), async () =>
                {
                    if (unbound.HasExited)
                    {
                        throw new PollAbortedException("unbound exited");
                    }

                    var reply = await RawDnsClient.UdpAsync(resolver, DnsWire.Query(probeName, DnsWire.TypeSOA, 4242, recursionDesired: true), 4242, TimeSpan.FromMilliseconds(500));
                    return (reply is not null && RawReply.Parse(reply).Rcode == 0, reply is null ? "no reply" : RawReply.Parse(reply).ToString());
                }, TimeSpan.FromMilliseconds(50));
                return (unbound, resolver);
            }
            catch (Exception ex) when (ex is PollAbortedException or TimeoutException)
            {
                failures.Add($"attempt {attempt} on port {port}: {ex.Message}\n{unbound.Describe()}");
                unbound.Dispose();
            }
        }

        throw new InvalidOperationException($"unbound did not start:\n{string.Join("\n", failures)}");
    }
}
