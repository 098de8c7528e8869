using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using GslbDns.Consul;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GslbDns.State;

/// <summary>
/// Operator state in Consul KV, shared by every DNS server and API process of an installation.
/// </summary>
/// <remarks>
/// <para>Key layout (values are JSON, see <see cref="StateJson"/>):</para>
/// <list type="bullet">
/// <item><c>{prefix}state/weights/&lt;endpoint id | data center&gt;</c></item>
/// <item><c>{prefix}state/drains/&lt;endpoint id | data center&gt;</c></item>
/// <item><c>{prefix}state/overrides/&lt;endpoint id | data center&gt;</c></item>
/// <item><c>{prefix}audit/&lt;yyyyMMddTHHmmssfffffffZ&gt;-&lt;guid&gt;</c>: one <see cref="AuditEntry"/> per change</item>
/// </list>
/// <para>
/// An entry's version is its ModifyIndex. Every change is one Consul transaction (<c>PUT /v1/txn</c>):
/// a <c>cas</c> (or <c>delete-cas</c>) on the entry at the expected index, <c>check-index</c> /
/// <c>check-not-exists</c> for each extra condition, and a <c>set</c> of the audit entry. Either all of
/// it is committed by Raft or none, so there is never a change without its audit entry, and two writers
/// that read the same version cannot both succeed.
/// </para>
/// <para>
/// <see cref="ConsulClient"/> has no transaction call, so this class sends the transaction itself
/// through the same <see cref="HttpClient"/>, agents, token and datacenter, failing over between agents
/// like the client does. A transaction whose outcome is unknown (the agent went away after the request
/// was sent) and that then fails on a retry is resolved by looking for its audit key: the key is unique,
/// so if it exists the first attempt committed.
/// </para>
/// </remarks>
public sealed partial class ConsulOperatorStateStore : IOperatorStateStore
{
    /// <summary>Consul refuses transactions with more operations than this.</summary>
    public const int MaxTxnOperations = 64;

    private static readonly TimeSpan WatchWait = TimeSpan.FromSeconds(30);

    private readonly ConsulClient _client;
    private readonly HttpClient _http;
    private readonly string _prefix;
    private readonly ILogger _logger;

    /// <param name="client">Reads and blocking queries.</param>
    /// <param name="httpClient">The client's HttpClient (or one like it, with an infinite timeout), for transactions.</param>
    /// <param name="prefix">Root of GslbDns keys, e.g. <c>gslbdns/</c>.</param>
    public ConsulOperatorStateStore(ConsulClient client, HttpClient httpClient, string prefix, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(prefix);
        _client = client;
        _http = httpClient;
        _prefix = prefix.Length == 0 || prefix.EndsWith('/') ? prefix : prefix + "/";
        _logger = logger ?? NullLogger.Instance;
    }

    public string Kind => "consul";

    public string Prefix => _prefix;

    /// <summary>Folder watched by every DNS server.</summary>
    public string StatePrefix => _prefix + "state/";

    public string AuditPrefix => _prefix + "audit/";

    public string KeyOf(StateKey key) => StatePrefix + StateKinds.Folder(key.Kind) + "/" + key.Target;

    public async Task<OperatorState> ReadAsync(CancellationToken cancellationToken = default)
    {
        var result = await _client.KvListAsync(StatePrefix, new ConsulBlockingQuery(0, TimeSpan.FromSeconds(1)), cancellationToken);
        return Parse(result.Value, result.Index);
    }

    public async IAsyncEnumerable<OperatorState> WatchAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ulong index = 0;
        var first = true;
        while (!cancellationToken.IsCancellationRequested)
        {
            var result = await _client.KvListAsync(StatePrefix, new ConsulBlockingQuery(index, WatchWait), cancellationToken);
            if (first || result.Index != index)
            {
                first = false;
                yield return Parse(result.Value, result.Index);
            }

            index = result.Index;
        }
    }

    private OperatorState Parse(IReadOnlyList<ConsulKvPair> pairs, ulong index)
    {
        var entries = new List<KeyValuePair<StateKey, VersionedSetting>>(pairs.Count);
        foreach (var pair in pairs)
        {
            var rest = pair.Key.AsSpan(StatePrefix.Length);
            var slash = rest.IndexOf('/');
            if (slash <= 0 || slash == rest.Length - 1 || !StateKinds.TryParseFolder(rest[..slash].ToString(), out var kind))
            {
                continue;
            }

            var key = new StateKey(kind, rest[(slash + 1)..].ToString());
            try
            {
                entries.Add(new(key, new VersionedSetting(StateJson.Deserialize(kind, pair.Value), pair.ModifyIndex)));
            }
            catch (JsonException ex)
            {
                // One bad value (written by hand?) must not hide every other entry.
                LogBadEntry(_logger, pair.Key, ex.Message);
            }
        }

        return OperatorState.Create(entries, index);
    }

    public Task<StateWriteResult> SetAsync(StateKey key, StateSetting setting, ulong expectedVersion, AuditEntry? audit, IReadOnlyDictionary<StateKey, ulong>? conditions = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(setting);
        if (setting.Kind != key.Kind)
        {
            throw new ArgumentException($"a {setting.Kind} setting cannot be stored at {key}", nameof(setting));
        }

        var op = new TxnKv { Verb = "cas", Key = KeyOf(key), Value = StateJson.SerializeToUtf8(setting), Index = expectedVersion };
        return TransactAsync(key, op, setting, expectedVersion, audit, conditions, cancellationToken);
    }

    public Task<StateWriteResult> DeleteAsync(StateKey key, ulong expectedVersion, AuditEntry? audit, IReadOnlyDictionary<StateKey, ulong>? conditions = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfZero(expectedVersion);
        var op = new TxnKv { Verb = "delete-cas", Key = KeyOf(key), Index = expectedVersion };
        return TransactAsync(key, op, null, expectedVersion, audit, conditions, cancellationToken);
    }

    private async Task<StateWriteResult> TransactAsync(StateKey key, TxnKv main, StateSetting? setting, ulong expectedVersion, AuditEntry? audit, IReadOnlyDictionary<StateKey, ulong>? conditions, CancellationToken ct)
    {
        var ops = new List<TxnOp> { new() { KV = main } };
        if (conditions is not null)
        {
            foreach (var (other, version) in conditions)
            {
                if (other == key)
                {
                    continue;
                }

                ops.Add(new TxnOp
                {
                    KV = version == 0
                        ? new TxnKv { Verb = "check-not-exists", Key = KeyOf(other) }
                        : new TxnKv { Verb = "check-index", Key = KeyOf(other), Index = version },
                });
            }
        }

        string? auditKey = null;
        if (audit is not null)
        {
            auditKey = AuditPrefix + audit.Id;

            // The audit entry carries the version it produced; a set's ModifyIndex is the transaction's
            // Raft index, which is not known before commit, so it is stored as 0 and filled in on read.
            ops.Add(new TxnOp { KV = new TxnKv { Verb = "set", Key = auditKey, Value = StateJson.SerializeAudit(audit) } });
        }

        if (ops.Count > MaxTxnOperations)
        {
            throw new ArgumentException($"{ops.Count} operations in one Consul transaction; Consul allows {MaxTxnOperations}", nameof(conditions));
        }

        var body = JsonSerializer.SerializeToUtf8Bytes(ops, TxnJsonContext.Default.ListTxnOp);
        var (status, response, ambiguous) = await SendTxnAsync(body, ct);
        if (status == HttpStatusCode.OK)
        {
            var results = response?.Results ?? [];

            var version = setting is null ? 0UL : results.FirstOrDefault(r => r.KV?.Key == main.Key)?.KV?.ModifyIndex ?? 0;
            if (setting is null)
            {
                // A delete has no result; the audit set's ModifyIndex is the transaction's index. Without an
                // audit entry, a read after the commit gives an index at least as large (it counts tombstones).
                var committedAt = auditKey is null ? 0 : results.FirstOrDefault(r => r.KV?.Key == auditKey)?.KV?.ModifyIndex ?? 0;
                if (committedAt == 0)
                {
                    committedAt = (await ReadAsync(ct)).Index;
                }

                return new StateWriteResult(WriteStatus.Applied, committedAt, null);
            }

            return new StateWriteResult(WriteStatus.Applied, version, setting);
        }

        // 409: some operation failed and nothing was written. If an earlier attempt may have been
        // committed, its unique audit key tells.
        if (ambiguous && auditKey is not null && await _client.KvGetAsync(auditKey, ct) is { } committed)
        {
            LogAmbiguousCommitted(_logger, key.ToString());
            return new StateWriteResult(WriteStatus.Applied, committed.ModifyIndex, setting);
        }

        var failedOps = response?.Errors?.Select(e => e.OpIndex).ToHashSet() ?? [];
        var current = await _client.KvGetAsync(KeyOf(key), ct);
        var currentVersion = current?.ModifyIndex ?? 0;
        StateSetting? currentSetting = null;
        if (current is not null)
        {
            try
            {
                currentSetting = StateJson.Deserialize(key.Kind, current.Value);
            }
            catch (JsonException)
            {
                // Reported as a mismatch with no readable value.
            }
        }

        if (failedOps.Contains(0) || currentVersion != expectedVersion)
        {
            return new StateWriteResult(WriteStatus.VersionMismatch, currentVersion, currentSetting);
        }

        return new StateWriteResult(WriteStatus.ConditionFailed, currentVersion, currentSetting);
    }

    /// <summary>PUT /v1/txn to the first agent that answers; returns 200 or 409 with the parsed body.</summary>
    private async Task<(HttpStatusCode Status, TxnResponse? Response, bool Ambiguous)> SendTxnAsync(byte[] body, CancellationToken ct)
    {
        var options = _client.Options;
        var start = _client.CurrentAddress;
        var addresses = options.Addresses.Select(a => a.AbsoluteUri.EndsWith('/') ? a : new Uri(a.AbsoluteUri + "/")).ToList();
        var first = addresses.FindIndex(a => a == start);
        if (first > 0)
        {
            addresses = [.. addresses.Skip(first), .. addresses.Take(first)];
        }

        var path = "v1/txn" + (options.Datacenter is { Length: > 0 } dc ? "?dc=" + Uri.EscapeDataString(dc) : "");
        var ambiguous = false;
        Exception? last = null;
        foreach (var address in addresses)
        {
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct);
            attempt.CancelAfter(options.RequestTimeout);
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Put, new Uri(address, path)) { Content = new ByteArrayContent(body) };
                if (options.Token is { Length: > 0 } token)
                {
                    request.Headers.TryAddWithoutValidation("X-Consul-Token", token);
                }

                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, attempt.Token);
                var bytes = await response.Content.ReadAsByteArrayAsync(attempt.Token);
                if (response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Conflict)
                {
                    TxnResponse? parsed = null;
                    if (bytes.Length > 0)
                    {
                        parsed = JsonSerializer.Deserialize(bytes, TxnJsonContext.Default.TxnResponse);
                    }

                    return (response.StatusCode, parsed, ambiguous);
                }

                var text = Encoding.UTF8.GetString(bytes, 0, Math.Min(bytes.Length, 512)).Trim();
                if ((int)response.StatusCode >= 500)
                {
                    // A 5xx may come after the leader applied the transaction.
                    ambiguous = true;
                    last = new ConsulException($"Consul answered {(int)response.StatusCode} to PUT /{path}: {text}");
                    continue;
                }

                throw new ConsulException($"Consul answered {(int)response.StatusCode} to PUT /{path}: {text}");
            }
            catch (OperationCanceledException ex) when (!ct.IsCancellationRequested)
            {
                ambiguous = true;
                last = new TimeoutException($"no answer from {address} within {options.RequestTimeout}", ex);
            }
            catch (HttpRequestException ex)
            {
                ambiguous = true;
                last = ex;
            }
            catch (IOException ex)
            {
                ambiguous = true;
                last = ex;
            }
        }

        throw new ConsulException($"No Consul agent completed PUT /{path} (tried {string.Join(", ", addresses)}): {last?.Message}", last ?? new InvalidOperationException("no agents"));
    }

    public async Task AppendAuditAsync(AuditEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);

        // Create-only: an id is never reused.
        if (!await _client.KvCasAsync(AuditPrefix + entry.Id, StateJson.SerializeAudit(entry), 0, cancellationToken: cancellationToken))
        {
            throw new InvalidOperationException($"audit entry {entry.Id} already exists");
        }
    }

    /// <summary>
    /// Lists the audit folder and filters it. The time range narrows the listing to the keys' longest
    /// common prefix (same day, same hour ...), since ids start with their time.
    /// </summary>
    public async Task<IReadOnlyList<AuditEntry>> QueryAuditAsync(AuditQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var listPrefix = AuditPrefix;
        if (query.From is { } from && query.To is { } to && to > from)
        {
            var a = AuditEntry.TimePrefix(from);
            var b = AuditEntry.TimePrefix(to - TimeSpan.FromTicks(1));
            var common = 0;
            while (common < a.Length && common < b.Length && a[common] == b[common])
            {
                common++;
            }

            listPrefix += a[..common];
        }

        var pairs = await _client.KvListAsync(listPrefix, cancellationToken);
        var entries = new List<(AuditEntry Entry, ulong Order)>();
        foreach (var pair in pairs)
        {
            AuditEntry? entry;
            try
            {
                entry = StateJson.DeserializeAudit(pair.Value);
            }
            catch (JsonException ex)
            {
                LogBadEntry(_logger, pair.Key, ex.Message);
                continue;
            }

            if (entry is null || !query.Matches(entry))
            {
                continue;
            }

            // The version a set produced is the transaction's index, which is the audit key's CreateIndex.
            entries.Add((entry.After is not null && entry.Version == 0 ? entry with { Version = pair.CreateIndex } : entry, pair.CreateIndex));
        }

        // Time order; entries stamped with the same time in the order Consul committed them.
        return entries.OrderBy(e => e.Entry.At).ThenBy(e => e.Order).Take(Math.Max(0, query.Limit)).Select(e => e.Entry).ToList();
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ignoring unreadable operator state at {Key}: {Reason}")]
    private static partial void LogBadEntry(ILogger logger, string key, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "A Consul transaction for {Key} with an unknown outcome had committed (its audit entry exists)")]
    private static partial void LogAmbiguousCommitted(ILogger logger, string key);

    internal sealed class TxnOp
    {
        public TxnKv? KV { get; set; }
    }

    internal sealed class TxnKv
    {
        public string Verb { get; set; } = "";

        public string Key { get; set; } = "";

        public byte[]? Value { get; set; }

        public ulong Index { get; set; }
    }

    internal sealed class TxnResponse
    {
        public List<TxnResult>? Results { get; set; }

        public List<TxnError>? Errors { get; set; }
    }

    internal sealed class TxnResult
    {
        public TxnKvResult? KV { get; set; }
    }

    internal sealed class TxnKvResult
    {
        public string Key { get; set; } = "";

        public ulong CreateIndex { get; set; }

        public ulong ModifyIndex { get; set; }
    }

    internal sealed class TxnError
    {
        public int OpIndex { get; set; }

        public string? What { get; set; }
    }
}

[JsonSerializable(typeof(List<ConsulOperatorStateStore.TxnOp>))]
[JsonSerializable(typeof(ConsulOperatorStateStore.TxnResponse))]
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
internal sealed partial class TxnJsonContext : JsonSerializerContext
{
}
