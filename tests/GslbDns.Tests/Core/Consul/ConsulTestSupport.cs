using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using GslbDns.Consul;
using Microsoft.Extensions.Logging;

namespace GslbDns.Tests.Core.Consul;

internal static class ConsulTestSupport
{
    /// <summary>One handler for all Consul tests; infinite timeout because ConsulClient times attempts itself.</summary>
    public static readonly HttpClient Http = new() { Timeout = Timeout.InfiniteTimeSpan };

    public static ConsulClient Client(IEnumerable<Uri> addresses, string? token = null, TimeSpan? requestTimeout = null, ILogger<ConsulClient>? logger = null) =>
        new(
            Http,
            new ConsulClientOptions
            {
                Addresses = addresses.ToArray(),
                Token = token,
                RequestTimeout = requestTimeout ?? TimeSpan.FromSeconds(5),
            },
            logger);

    public static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    public static string Text(ConsulKvPair? pair) => pair is null ? "<missing>" : Encoding.UTF8.GetString(pair.Value);

    /// <summary>A key prefix no other test uses, so tests sharing one agent never see each other's keys.</summary>
    public static string UniquePrefix(string test) => $"t/{test}/{Guid.NewGuid():N}/";

    /// <summary>Polls until <paramref name="condition"/> holds or the deadline passes; returns the time it took.</summary>
    public static async Task<TimeSpan> EventuallyAsync(Func<Task<bool>> condition, TimeSpan deadline, string what, TimeSpan? poll = null)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (await condition())
            {
                return clock.Elapsed;
            }

            if (clock.Elapsed > deadline)
            {
                throw new TimeoutException($"{what}: not true within {deadline}");
            }

            await Task.Delay(poll ?? TimeSpan.FromMilliseconds(100));
        }
    }

    /// <summary>
    /// Polls an agent (plain HTTP unless given a TLS client) until it has a leader, serves KV reads (with the token, if any) and
    /// has registered its node in the catalog: until then session create fails with "Missing node
    /// registration", which a loaded machine shows in the first ~100 ms after the leader appears.
    /// </summary>
    /// <param name="http">The client to poll with (one that speaks the agent's TLS); null: the shared plain one.</param>
    public static async Task WaitUntilReadyAsync(Uri address, string node, string? token, ConsulProcess process, TimeSpan deadline, HttpClient? http = null)
    {
        http ??= Http;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < deadline)
        {
            if (process.HasExited)
            {
                throw new ConsulStartException($"consul exited during start-up:\n{process.RecentOutput}");
            }

            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                var leader = await http.GetStringAsync(new Uri(address, "v1/status/leader"), cts.Token);
                if (leader.Trim().Trim('"').Length > 0)
                {
                    // With ACLs the master token only works once the leader has stored it: probe with it.
                    using var kv = await GetAsync(http, new Uri(address, "v1/kv/readiness-probe"), token, cts.Token);
                    using var catalog = await GetAsync(http, new Uri(address, "v1/catalog/node/" + Uri.EscapeDataString(node)), token, cts.Token);
                    if (kv.StatusCode is System.Net.HttpStatusCode.NotFound or System.Net.HttpStatusCode.OK
                        && catalog.StatusCode == System.Net.HttpStatusCode.OK
                        && HasNode(await catalog.Content.ReadAsStringAsync(cts.Token)))
                    {
                        return;
                    }
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (OperationCanceledException)
            {
                // Slow start; try again.
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"consul at {address} not ready within {deadline}:\n{process.RecentOutput}");
    }

    // catalog/node answers 200 with "null" for a node it does not know yet.
    private static bool HasNode(string json)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        return doc.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object
            && doc.RootElement.TryGetProperty("Node", out var node)
            && node.ValueKind == System.Text.Json.JsonValueKind.Object;
    }

    private static async Task<HttpResponseMessage> GetAsync(HttpClient http, Uri uri, string? token, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        if (token is not null)
        {
            request.Headers.Add("X-Consul-Token", token);
        }

        return await http.SendAsync(request, ct);
    }
}

internal sealed class ConsulStartException(string message) : Exception(message);

/// <summary>Keeps every formatted log line and exception text, to assert what never gets logged.</summary>
internal sealed class ListLogger<T> : ILogger<T>
{
    public ConcurrentQueue<string> Lines { get; } = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        Lines.Enqueue($"{logLevel} {eventId} {formatter(state, exception)} {state} {exception}");
    }
}
