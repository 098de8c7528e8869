using System.Runtime.CompilerServices;
using System.Text.Json;
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
/// A transaction that <see cref="ConsulClient.TxnAsync"/> had to retry on another agent after an attempt
/// with an unknown outcome, and that then rolled back, is resolved by looking for its audit key: the key
/// is unique, so if it exists the first attempt committed.
/// </para>
/// </remarks>
public sealed partial class ConsulOperatorStateStore : IOperatorStateStore
{
    /// <summary>Consul refuses transactions with more operations than this.</summary>
    public const int MaxTxnOperations = ConsulClient.MaxTxnOperations;

    private static readonly TimeSpan WatchWait = TimeSpan.FromSeconds(30);

    private readonly ConsulClient _client;
    private readonly string _prefix;
    private readonly ILogger _logger;

    /// <param name="client">Reads, blocking queries and transactions.</param>
    /// <param name="prefix">Root of GslbDns keys, e.g. <c>gslbdns/</c>.</param>
    public ConsulOperatorStateStore(ConsulClient client, string prefix, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(prefix);
        _client = client;
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

        var op = ConsulKvOp.Cas(KeyOf(key), StateJson.SerializeToUtf8(setting), expectedVersion);
        return TransactAsync(key, op, setting, expectedVersion, audit, conditions, cancellationToken);
    }

    public Task<StateWriteResult> DeleteAsync(StateKey key, ulong expectedVersion, AuditEntry? audit, IReadOnlyDictionary<StateKey, ulong>? conditions = null, CancellationToken cancellationToken = default)
    {
        var op = ConsulKvOp.DeleteCas(KeyOf(key), expectedVersion);
        return TransactAsync(key, op, null, expectedVersion, audit, conditions, cancellationToken);
    }

    private async Task<StateWriteResult> TransactAsync(StateKey key, ConsulKvOp main, StateSetting? setting, ulong expectedVersion, AuditEntry? audit, IReadOnlyDictionary<StateKey, ulong>? conditions, CancellationToken ct)
    {
        var ops = new List<ConsulKvOp> { main };
        if (conditions is not null)
        {
            foreach (var (other, version) in conditions)
            {
                if (other != key)
                {
                    ops.Add(version == 0 ? ConsulKvOp.CheckNotExists(KeyOf(other)) : ConsulKvOp.CheckIndex(KeyOf(other), version));
                }
            }
        }

        string? auditKey = null;
        if (audit is not null)
        {
            auditKey = AuditPrefix + audit.Id;

            // The audit entry carries the version it produced; a set's ModifyIndex is the transaction's
            // Raft index, which is not known before commit, so it is stored as 0 and filled in on read.
            ops.Add(ConsulKvOp.Set(auditKey, StateJson.SerializeAudit(audit)));
        }

        if (ops.Count > MaxTxnOperations)
        {
            throw new ArgumentException($"{ops.Count} operations in one Consul transaction; Consul allows {MaxTxnOperations}", nameof(conditions));
        }

        var result = await _client.TxnAsync(ops, ct);
        if (result.Committed)
        {
            if (setting is not null)
            {
                return new StateWriteResult(WriteStatus.Applied, result.ResultFor(main.Key)?.ModifyIndex ?? 0, setting);
            }

            // A delete has no result; the audit set's ModifyIndex is the transaction's index. Without an
            // audit entry, a read after the commit gives an index at least as large (it counts tombstones).
            var committedAt = auditKey is null ? 0 : result.ResultFor(auditKey)?.ModifyIndex ?? 0;
            if (committedAt == 0)
            {
                committedAt = (await ReadAsync(ct)).Index;
            }

            return new StateWriteResult(WriteStatus.Applied, committedAt, null);
        }

        // Rolled back: nothing was written. If an earlier attempt may have been committed, its unique
        // audit key tells.
        if (result.EarlierAttemptUncertain && auditKey is not null && await _client.KvGetAsync(auditKey, ct) is { } committed)
        {
            LogAmbiguousCommitted(_logger, key.ToString());
            return new StateWriteResult(WriteStatus.Applied, committed.ModifyIndex, setting);
        }

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

        if (result.Errors.Any(e => e.OpIndex == 0) || currentVersion != expectedVersion)
        {
            return new StateWriteResult(WriteStatus.VersionMismatch, currentVersion, currentSetting);
        }

        return new StateWriteResult(WriteStatus.ConditionFailed, currentVersion, currentSetting);
    }

    /// <summary>A <see cref="ConsulLock"/> on <c>{prefix}locks/NAME</c>, shared by every API process of the fleet.</summary>
    public async Task<IAsyncDisposable> LockAsync(string name, TimeSpan wait, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var holder = $"{Environment.MachineName} pid {Environment.ProcessId}";
        return await ConsulLock.AcquireAsync(_client, _prefix + "locks/" + name, holder, wait, cancellationToken).ConfigureAwait(false);
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
}
