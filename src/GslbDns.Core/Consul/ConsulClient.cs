using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GslbDns.Consul;

/// <summary>
/// The slice of Consul's HTTP API that GslbDns uses: KV (get, list, put, check-and-set, lock acquire and
/// release, delete), KV transactions, blocking queries, TTL sessions and raft status.
/// </summary>
/// <remarks>
/// Failover: an attempt that fails below HTTP, times out or gets a 5xx moves on to the next agent; the
/// agent that answered becomes the first one tried next time. There is no other retry: callers own
/// backoff, because only they know whether a call is worth repeating. A write that timed out or got a
/// 5xx may still have been applied, so non-idempotent writes should use check-and-set.
/// Safe for concurrent use; the only shared state is which agent to try first.
/// The <see cref="HttpClient"/> is not owned. Give it <see cref="Timeout.InfiniteTimeSpan"/>: this class
/// enforces its own per-attempt timeout, and long blocking queries must not be cut by HttpClient's.
/// </remarks>
public sealed class ConsulClient
{
    private const string TokenHeader = "X-Consul-Token";
    private const string IndexHeader = "X-Consul-Index";
    private const int MaxErrorTextLength = 512;

    private readonly HttpClient _http;
    private readonly ConsulClientOptions _options;
    private readonly ILogger _logger;
    private readonly Uri[] _addresses;
    private int _preferred;

    public ConsulClient(HttpClient httpClient, ConsulClientOptions options, ILogger<ConsulClient>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _http = httpClient;
        _options = options;
        _logger = logger ?? NullLogger<ConsulClient>.Instance;

        // Relative paths resolve under the address only if it ends with '/', e.g. http://proxy/consul/.
        _addresses = options.Addresses
            .Select(a => a.AbsoluteUri.EndsWith('/') ? a : new Uri(a.AbsoluteUri + "/"))
            .ToArray();
    }

    /// <summary>The agent that answered last (tried first by the next request).</summary>
    public Uri CurrentAddress => _addresses[Volatile.Read(ref _preferred)];

    public ConsulClientOptions Options => _options;

    // ---- KV ---------------------------------------------------------------------------------------

    /// <summary>One key, or null if it does not exist.</summary>
    public async Task<ConsulKvPair?> KvGetAsync(string key, CancellationToken cancellationToken = default) =>
        (await KvGetCoreAsync(key, null, cancellationToken)).Value;

    /// <summary>One key as a blocking query; a missing key gives a null value and still an index to wait on.</summary>
    public Task<ConsulQueryResult<ConsulKvPair?>> KvGetAsync(string key, ConsulBlockingQuery query, CancellationToken cancellationToken = default) =>
        KvGetCoreAsync(key, query, cancellationToken);

    /// <summary>Every entry under <paramref name="prefix"/> (<c>recurse</c>); empty if none.</summary>
    public async Task<IReadOnlyList<ConsulKvPair>> KvListAsync(string prefix, CancellationToken cancellationToken = default) =>
        (await KvListCoreAsync(prefix, null, cancellationToken)).Value;

    public Task<ConsulQueryResult<IReadOnlyList<ConsulKvPair>>> KvListAsync(string prefix, ConsulBlockingQuery query, CancellationToken cancellationToken = default) =>
        KvListCoreAsync(prefix, query, cancellationToken);

    /// <summary>Every key under <paramref name="prefix"/>, without values (<c>keys</c>); empty if none.</summary>
    public async Task<IReadOnlyList<string>> KvKeysAsync(string prefix, CancellationToken cancellationToken = default) =>
        (await KvKeysCoreAsync(prefix, null, cancellationToken)).Value;

    public Task<ConsulQueryResult<IReadOnlyList<string>>> KvKeysAsync(string prefix, ConsulBlockingQuery query, CancellationToken cancellationToken = default) =>
        KvKeysCoreAsync(prefix, query, cancellationToken);

    /// <summary>Unconditional write.</summary>
    public async Task KvPutAsync(string key, ReadOnlyMemory<byte> value, ulong flags = 0, CancellationToken cancellationToken = default) =>
        _ = await KvPutCoreAsync(key, value, flags, null, cancellationToken);

    /// <summary>
    /// Check-and-set: writes only if the key's ModifyIndex still equals <paramref name="modifyIndex"/>
    /// (0: only if the key does not exist). False means somebody else wrote first.
    /// </summary>
    public Task<bool> KvCasAsync(string key, ReadOnlyMemory<byte> value, ulong modifyIndex, ulong flags = 0, CancellationToken cancellationToken = default) =>
        KvPutCoreAsync(key, value, flags, "cas=" + modifyIndex.ToString(System.Globalization.CultureInfo.InvariantCulture), cancellationToken);

    /// <summary>Writes and locks the key for the session; false if another session holds it (or lock-delay applies).</summary>
    public Task<bool> KvAcquireAsync(string key, ReadOnlyMemory<byte> value, string sessionId, ulong flags = 0, CancellationToken cancellationToken = default) =>
        KvPutCoreAsync(key, value, flags, "acquire=" + Uri.EscapeDataString(RequireId(sessionId)), cancellationToken);

    /// <summary>Writes and unlocks the key; false if the session does not hold it.</summary>
    public Task<bool> KvReleaseAsync(string key, ReadOnlyMemory<byte> value, string sessionId, ulong flags = 0, CancellationToken cancellationToken = default) =>
        KvPutCoreAsync(key, value, flags, "release=" + Uri.EscapeDataString(RequireId(sessionId)), cancellationToken);

    /// <summary>Deletes one key; deleting a missing key succeeds.</summary>
    public async Task KvDeleteAsync(string key, CancellationToken cancellationToken = default) =>
        _ = await KvDeleteCoreAsync(key, null, cancellationToken);

    /// <summary>Deletes every key under <paramref name="prefix"/> (<c>recurse</c>).</summary>
    public async Task KvDeleteTreeAsync(string prefix, CancellationToken cancellationToken = default) =>
        _ = await KvDeleteCoreAsync(prefix, "recurse", cancellationToken);

    /// <summary>Deletes the key only if its ModifyIndex still equals <paramref name="modifyIndex"/>.</summary>
    public Task<bool> KvDeleteCasAsync(string key, ulong modifyIndex, CancellationToken cancellationToken = default) =>
        KvDeleteCoreAsync(key, "cas=" + modifyIndex.ToString(System.Globalization.CultureInfo.InvariantCulture), cancellationToken);

    // ---- Transactions -----------------------------------------------------------------------------

    /// <summary>Consul refuses transactions with more operations than this.</summary>
    public const int MaxTxnOperations = 64;

    /// <summary>
    /// <c>PUT /v1/txn</c>: every operation is applied by one Raft commit, or none is. A rollback (409) is a
    /// result, not an exception, and names each failed operation; any other error status throws.
    /// </summary>
    public async Task<ConsulTxnResult> TxnAsync(IReadOnlyList<ConsulKvOp> operations, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(operations);
        if (operations.Count is 0 or > MaxTxnOperations)
        {
            throw new ArgumentException($"{operations.Count} operations in one Consul transaction; Consul allows 1 to {MaxTxnOperations}", nameof(operations));
        }

        var wire = new TxnOpJson[operations.Count];
        for (var i = 0; i < wire.Length; i++)
        {
            var op = operations[i];
            _ = KvPath(op.Key, allowEmpty: false); // the same key rules as the single-key calls
            wire[i] = new TxnOpJson { Kv = new TxnKvJson { Verb = op.WireVerb, Key = op.Key, Value = op.Value?.ToArray(), Index = op.Index } };
        }

        var body = JsonSerializer.SerializeToUtf8Bytes(wire, ConsulJsonContext.Default.TxnOpJsonArray);
        var response = await SendAsync(HttpMethod.Put, "v1/txn", null, body, null, cancellationToken);
        if (response.Status is not (HttpStatusCode.OK or HttpStatusCode.Conflict))
        {
            EnsureSuccess(response);
        }

        var parsed = Deserialize(response, ConsulJsonContext.Default.TxnResponseJson);
        var results = parsed?.Results is { } r ? Array.ConvertAll(r, static x => x.Kv is { } kv ? ToPair(kv) : null).OfType<ConsulKvPair>().ToArray() : [];
        var errors = parsed?.Errors is { } e ? Array.ConvertAll(e, static x => new ConsulTxnError(x.OpIndex, x.What ?? string.Empty)) : [];
        return new ConsulTxnResult(response.Status == HttpStatusCode.OK, results, errors, response.EarlierAttemptUncertain);
    }

    // ---- Sessions ---------------------------------------------------------------------------------

    /// <summary>
    /// Creates a TTL session with Behavior=delete (its keys vanish when it ends), LockDelay=0 (a successor
    /// may take over at once) and no health checks (only the TTL decides). Returns the session id.
    /// Consul refuses TTLs outside its <c>session_ttl_min</c> (default 10 s) to 24 h, and ends a session
    /// between 1x and 2x the TTL after the last renewal.
    /// </summary>
    public async Task<string> SessionCreateAsync(string name, TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);
        var body = JsonSerializer.SerializeToUtf8Bytes(
            new SessionCreateJson { Name = name, Ttl = GoDuration.Format(ttl), Behavior = "delete", LockDelay = "0s", Checks = [] },
            ConsulJsonContext.Default.SessionCreateJson);
        var response = await SendAsync(HttpMethod.Put, "v1/session/create", null, body, null, cancellationToken);
        EnsureSuccess(response);
        var id = Deserialize(response, ConsulJsonContext.Default.SessionIdJson)?.Id;
        return string.IsNullOrEmpty(id)
            ? throw ConsulException.Api(HttpMethod.Put, response.Path, response.Status, "session create returned no ID")
            : id;
    }

    /// <summary>Resets the session's TTL. False means Consul no longer knows the session (expired or destroyed).</summary>
    public async Task<bool> SessionRenewAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        var response = await SendAsync(HttpMethod.Put, "v1/session/renew/" + Uri.EscapeDataString(RequireId(sessionId)), null, null, null, cancellationToken);
        if (response.Status == HttpStatusCode.NotFound)
        {
            return false;
        }

        EnsureSuccess(response);
        return true;
    }

    /// <summary>Ends the session now; with Behavior=delete its keys are deleted. Destroying an unknown session succeeds.</summary>
    public async Task SessionDestroyAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        var response = await SendAsync(HttpMethod.Put, "v1/session/destroy/" + Uri.EscapeDataString(RequireId(sessionId)), null, null, null, cancellationToken);
        EnsureSuccess(response);
    }

    /// <summary>The session, or null if Consul does not know it.</summary>
    public async Task<ConsulSessionInfo?> SessionInfoAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        var response = await SendAsync(HttpMethod.Get, "v1/session/info/" + Uri.EscapeDataString(RequireId(sessionId)), null, null, null, cancellationToken);
        EnsureSuccess(response);
        var entries = Deserialize(response, ConsulJsonContext.Default.SessionEntryJsonArray);
        if (entries is not { Length: > 0 })
        {
            return null;
        }

        var e = entries[0];
        return new ConsulSessionInfo(
            e.Id,
            e.Name ?? string.Empty,
            e.Node ?? string.Empty,
            GoDuration.TryParse(e.Ttl, out var ttl) ? ttl : null,
            e.Behavior ?? string.Empty,
            TimeSpan.FromTicks(e.LockDelay / 100),
            e.CreateIndex,
            e.ModifyIndex);
    }

    // ---- Status -----------------------------------------------------------------------------------

    /// <summary>The raft leader's "ip:port" as the agent sees it, or null while there is none.</summary>
    public async Task<string?> StatusLeaderAsync(CancellationToken cancellationToken = default)
    {
        var response = await SendAsync(HttpMethod.Get, "v1/status/leader", null, null, null, cancellationToken);
        EnsureSuccess(response);
        var leader = Deserialize(response, ConsulJsonContext.Default.String);
        return string.IsNullOrEmpty(leader) ? null : leader;
    }

    /// <summary>The raft peers' "ip:port".</summary>
    public async Task<IReadOnlyList<string>> StatusPeersAsync(CancellationToken cancellationToken = default)
    {
        var response = await SendAsync(HttpMethod.Get, "v1/status/peers", null, null, null, cancellationToken);
        EnsureSuccess(response);
        return Deserialize(response, ConsulJsonContext.Default.StringArray) ?? [];
    }

    // ---- KV internals -----------------------------------------------------------------------------

    private async Task<ConsulQueryResult<ConsulKvPair?>> KvGetCoreAsync(string key, ConsulBlockingQuery? query, CancellationToken ct)
    {
        var response = await SendAsync(HttpMethod.Get, KvPath(key, allowEmpty: false), null, null, query, ct);
        if (response.Status == HttpStatusCode.NotFound)
        {
            return new(null, NextIndex(response, query));
        }

        EnsureSuccess(response);
        var entries = Deserialize(response, ConsulJsonContext.Default.KvEntryJsonArray);
        return new(entries is { Length: > 0 } ? ToPair(entries[0]) : null, NextIndex(response, query));
    }

    private async Task<ConsulQueryResult<IReadOnlyList<ConsulKvPair>>> KvListCoreAsync(string prefix, ConsulBlockingQuery? query, CancellationToken ct)
    {
        var response = await SendAsync(HttpMethod.Get, KvPath(prefix, allowEmpty: true), "recurse", null, query, ct);
        if (response.Status == HttpStatusCode.NotFound)
        {
            return new([], NextIndex(response, query));
        }

        EnsureSuccess(response);
        var entries = Deserialize(response, ConsulJsonContext.Default.KvEntryJsonArray) ?? [];
        return new(Array.ConvertAll(entries, ToPair), NextIndex(response, query));
    }

    private async Task<ConsulQueryResult<IReadOnlyList<string>>> KvKeysCoreAsync(string prefix, ConsulBlockingQuery? query, CancellationToken ct)
    {
        var response = await SendAsync(HttpMethod.Get, KvPath(prefix, allowEmpty: true), "keys", null, query, ct);
        if (response.Status == HttpStatusCode.NotFound)
        {
            return new([], NextIndex(response, query));
        }

        EnsureSuccess(response);
        return new(Deserialize(response, ConsulJsonContext.Default.StringArray) ?? [], NextIndex(response, query));
    }

    private async Task<bool> KvPutCoreAsync(string key, ReadOnlyMemory<byte> value, ulong flags, string? extraQuery, CancellationToken ct)
    {
        var query = flags == 0 ? extraQuery : Join("flags=" + flags.ToString(System.Globalization.CultureInfo.InvariantCulture), extraQuery);
        var response = await SendAsync(HttpMethod.Put, KvPath(key, allowEmpty: false), query, value, null, ct);
        EnsureSuccess(response);
        return Deserialize(response, ConsulJsonContext.Default.Boolean);
    }

    private async Task<bool> KvDeleteCoreAsync(string key, string? extraQuery, CancellationToken ct)
    {
        var response = await SendAsync(HttpMethod.Delete, KvPath(key, allowEmpty: extraQuery == "recurse"), extraQuery, null, null, ct);
        EnsureSuccess(response);
        return Deserialize(response, ConsulJsonContext.Default.Boolean);
    }

    private static ConsulKvPair ToPair(KvEntryJson e) =>
        new(e.Key, e.Value ?? [], e.CreateIndex, e.ModifyIndex, e.LockIndex, e.Flags, string.IsNullOrEmpty(e.Session) ? null : e.Session);

    private static string KvPath(string key, bool allowEmpty)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!allowEmpty && key.Length == 0)
        {
            throw new ArgumentException("KV key must not be empty", nameof(key));
        }

        // "v1/kv//x" would be cleaned by Go's router into a redirect, which a PUT does not survive.
        if (key.StartsWith('/'))
        {
            throw new ArgumentException($"KV key '{key}' must not start with '/'", nameof(key));
        }

        // Escape each segment but keep '/', which is Consul's hierarchy separator.
        return "v1/kv/" + string.Join('/', key.Split('/').Select(static s => Uri.EscapeDataString(s)));
    }

    private static string RequireId(string sessionId)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        return sessionId;
    }

    private static string? Join(string? a, string? b) =>
        string.IsNullOrEmpty(a) ? b : string.IsNullOrEmpty(b) ? a : a + "&" + b;

    // ---- Blocking-query index -------------------------------------------------------------------

    private ulong NextIndex(ConsulResponse response, ConsulBlockingQuery? query)
    {
        var sent = query?.Index ?? 0;
        var returned = response.Index ?? 0;
        var next = ConsulIndex.Next(sent, returned);
        if (next == 0 && sent != 0)
        {
            ConsulLog.IndexReset(_logger, response.Path, sent, returned);
        }

        return next;
    }

    // ---- Transport --------------------------------------------------------------------------------

    private async Task<ConsulResponse> SendAsync(
        HttpMethod method,
        string path,
        string? query,
        ReadOnlyMemory<byte>? body,
        ConsulBlockingQuery? blocking,
        CancellationToken ct)
    {
        var timeout = _options.RequestTimeout;
        if (blocking is { } b)
        {
            if (b.Wait <= TimeSpan.Zero || b.Wait > ConsulBlockingQuery.MaxWait)
            {
                throw new ArgumentOutOfRangeException(nameof(blocking), b.Wait, "blocking query wait must be in (0, 10 min]");
            }

            // Consul holds the request for up to wait + wait/16 (random jitter) before answering.
            timeout += b.Wait + (b.Wait / 16);
            if (_http.Timeout != Timeout.InfiniteTimeSpan && timeout > _http.Timeout)
            {
                throw new ArgumentOutOfRangeException(
                    nameof(blocking),
                    b.Wait,
                    $"HttpClient.Timeout ({_http.Timeout}) is shorter than the blocking query needs ({timeout}); use Timeout.InfiniteTimeSpan");
            }

            query = Join(query, "index=" + b.Index.ToString(System.Globalization.CultureInfo.InvariantCulture) + "&wait=" + GoDuration.Format(b.Wait));
        }

        if (_options.Datacenter is { Length: > 0 } dc)
        {
            query = Join(query, "dc=" + Uri.EscapeDataString(dc));
        }

        var pathAndQuery = query is null ? path : path + "?" + query;
        var displayPath = "/" + pathAndQuery;
        var start = Volatile.Read(ref _preferred);
        ConsulException? lastApiError = null;
        Exception? lastTransportError = null;

        // A failed attempt may still have reached the leader; a later agent's answer then does not tell
        // the whole story of a write.
        var uncertain = false;

        for (var attempt = 0; attempt < _addresses.Length; attempt++)
        {
            var index = (start + attempt) % _addresses.Length;
            var address = _addresses[index];
            using var attemptCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            attemptCts.CancelAfter(timeout);
            try
            {
                using var request = new HttpRequestMessage(method, new Uri(address, pathAndQuery));
                if (_options.Token is { Length: > 0 } token)
                {
                    request.Headers.TryAddWithoutValidation(TokenHeader, token);
                }

                if (body is { } content)
                {
                    request.Content = new ReadOnlyMemoryContent(content);
                }

                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, attemptCts.Token);
                var bytes = await response.Content.ReadAsByteArrayAsync(attemptCts.Token);
                if ((int)response.StatusCode >= 500)
                {
                    lastApiError = ConsulException.Api(method, displayPath, response.StatusCode, ErrorText(bytes));
                    uncertain = true;
                    ConsulLog.AgentFailed(_logger, address, method.Method, displayPath, $"{(int)response.StatusCode} {lastApiError.ConsulMessage}");
                    continue;
                }

                if (index != start)
                {
                    Volatile.Write(ref _preferred, index);
                    ConsulLog.AgentSwitched(_logger, address);
                }

                return new ConsulResponse(response.StatusCode, bytes, ReadIndex(response), displayPath, method, uncertain);
            }
            catch (OperationCanceledException ex) when (!ct.IsCancellationRequested)
            {
                // Our per-attempt timeout (or HttpClient's), not the caller's cancellation: a hung agent.
                lastTransportError = new TimeoutException($"no answer from {address} within {timeout}", ex);
                uncertain = true;
                ConsulLog.AgentFailed(_logger, address, method.Method, displayPath, "timed out");
            }
            catch (HttpRequestException ex)
            {
                lastTransportError = ex;
                uncertain = true;

                // A TLS failure says why only in the inner exception (e.g. "the remote certificate was rejected").
                ConsulLog.AgentFailed(_logger, address, method.Method, displayPath, ex.InnerException is { } inner ? $"{ex.Message} {inner.Message}" : ex.Message);
            }
            catch (IOException ex)
            {
                lastTransportError = ex;
                uncertain = true;
                ConsulLog.AgentFailed(_logger, address, method.Method, displayPath, ex.Message);
            }
        }

        // An agent that answered says more than one that did not: report its error.
        throw lastApiError ?? ConsulException.Unreachable(method, displayPath, _addresses, lastTransportError);
    }

    private static ulong? ReadIndex(HttpResponseMessage response) =>
        response.Headers.TryGetValues(IndexHeader, out var values)
        && ulong.TryParse(values.FirstOrDefault(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index)
            ? index
            : null;

    private string ErrorText(byte[] body)
    {
        var text = Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, MaxErrorTextLength * 4)).Trim();
        if (text.Length > MaxErrorTextLength)
        {
            text = text[..MaxErrorTextLength] + "...";
        }

        // Consul does not echo tokens today; this keeps that true if some version starts to.
        if (_options.Token is { Length: > 0 } token)
        {
            text = text.Replace(token, "<redacted>", StringComparison.Ordinal);
        }

        return text.Length == 0 ? "(no message)" : text;
    }

    private void EnsureSuccess(ConsulResponse response)
    {
        if (response.Status != HttpStatusCode.OK)
        {
            throw ConsulException.Api(response.Method, response.Path, response.Status, ErrorText(response.Body));
        }
    }

    private T? Deserialize<T>(ConsulResponse response, JsonTypeInfo<T> typeInfo)
    {
        if (response.Body.Length == 0)
        {
            return default;
        }

        try
        {
            return JsonSerializer.Deserialize(response.Body, typeInfo);
        }
        catch (JsonException ex)
        {
            throw ConsulException.Api(response.Method, response.Path, response.Status, "unreadable JSON: " + ex.Message);
        }
    }

    private sealed record ConsulResponse(HttpStatusCode Status, byte[] Body, ulong? Index, string Path, HttpMethod Method, bool EarlierAttemptUncertain);
}

/// <summary>Consul's blocking-query index rules, from its "Blocking Queries" implementation notes.</summary>
internal static class ConsulIndex
{
    /// <summary>
    /// The index to send next. If it went backwards (a snapshot restore, a server with older state, or
    /// a key deleted and recreated) reset to 0 so the next read does not block and resynchronises;
    /// a 0 from Consul otherwise becomes 1 so the caller does not spin on non-blocking reads.
    /// </summary>
    public static ulong Next(ulong sent, ulong returned) =>
        returned < sent ? 0 : Math.Max(returned, 1);
}
