using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;

namespace GslbDns.State;

/// <summary>
/// The embedded store (no Consul): one SQLite file in WAL mode with <c>synchronous=FULL</c>, so a commit
/// has reached the disk (the WAL is fsynced) before a write is acknowledged; a crash or <c>kill -9</c>
/// right after loses nothing acknowledged.
/// </summary>
/// <remarks>
/// <para>
/// Tables: <c>state(kind, target, value, version)</c>, <c>audit(...)</c> and <c>meta(version)</c>. The
/// version is one counter for the whole store, bumped by every write and stamped on the row written: it
/// plays the part of Consul's ModifyIndex (never reused, so an ETag from before a delete cannot match a
/// re-created entry). Every write is one <c>BEGIN IMMEDIATE</c> transaction that checks the expected
/// versions, writes the row and its audit row, and commits.
/// </para>
/// <para>
/// One connection, used by one caller at a time. Changes made through this instance wake watchers at
/// once; changes by another process on the same file are noticed by polling the version every 250 ms.
/// </para>
/// </remarks>
public sealed class SqliteOperatorStateStore : IOperatorStateStore
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    private readonly SqliteConnection _connection;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private TaskCompletionSource _changed = NewSignal();
    private bool _disposed;

    private SqliteOperatorStateStore(SqliteConnection connection, string path)
    {
        _connection = connection;
        Path = path;
    }

    public string Kind => "sqlite";

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <summary>Opens (creating if needed) the database at <paramref name="path"/>; its folder must exist.</summary>
    public static SqliteOperatorStateStore Open(string path)
    {
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = 30,
        };
        var connection = new SqliteConnection(builder.ToString());
        try
        {
            connection.Open();
            Execute(connection, "PRAGMA journal_mode=WAL;");
            Execute(connection, "PRAGMA synchronous=FULL;");
            Execute(connection, "PRAGMA busy_timeout=10000;");
            var mode = Scalar(connection, "PRAGMA journal_mode;");
            if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException($"{path}: SQLite refused WAL mode (journal_mode={mode})");
            }

            Execute(connection, """
                CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
                INSERT OR IGNORE INTO meta(key, value) VALUES ('version', 0);
                INSERT OR IGNORE INTO meta(key, value) VALUES ('schema', 1);
                CREATE TABLE IF NOT EXISTS state(
                    kind TEXT NOT NULL,
                    target TEXT NOT NULL,
                    value TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    PRIMARY KEY(kind, target)) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS audit(
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    at INTEGER NOT NULL,
                    actor TEXT NOT NULL,
                    action TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    target TEXT NOT NULL,
                    before TEXT,
                    after TEXT,
                    reason TEXT,
                    forced INTEGER NOT NULL,
                    version INTEGER NOT NULL);
                CREATE INDEX IF NOT EXISTS audit_at ON audit(at);
                CREATE INDEX IF NOT EXISTS audit_target ON audit(target, at);
                """);
            return new SqliteOperatorStateStore(connection, path);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>The pragmas in force (for tests and the API's status): journal mode and synchronous level (2 = FULL).</summary>
    public async Task<(string JournalMode, long Synchronous)> PragmasAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return (Scalar(_connection, "PRAGMA journal_mode;") ?? "", long.Parse(Scalar(_connection, "PRAGMA synchronous;") ?? "-1", CultureInfo.InvariantCulture));
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<OperatorState> ReadAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return ReadLocked();
        }
        finally
        {
            _gate.Release();
        }
    }

    private OperatorState ReadLocked()
    {
        // One read transaction so the rows and the version agree.
        using var transaction = _connection.BeginTransaction(deferred: true);
        var index = CurrentVersion(transaction);
        var entries = new List<KeyValuePair<StateKey, VersionedSetting>>();
        using (var command = _connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = "SELECT kind, target, value, version FROM state;";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                if (!StateKinds.TryParseFolder(reader.GetString(0), out var kind))
                {
                    continue;
                }

                var key = new StateKey(kind, reader.GetString(1));
                var setting = StateJson.Deserialize(kind, reader.GetString(2));
                entries.Add(new(key, new VersionedSetting(setting, (ulong)reader.GetInt64(3))));
            }
        }

        transaction.Commit();
        return OperatorState.Create(entries, index);
    }

    public Task<StateWriteResult> SetAsync(StateKey key, StateSetting setting, ulong expectedVersion, AuditEntry? audit, IReadOnlyDictionary<StateKey, ulong>? conditions = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(setting);
        if (setting.Kind != key.Kind)
        {
            throw new ArgumentException($"a {setting.Kind} setting cannot be stored at {key}", nameof(setting));
        }

        return WriteAsync(key, setting, expectedVersion, audit, conditions, cancellationToken);
    }

    public Task<StateWriteResult> DeleteAsync(StateKey key, ulong expectedVersion, AuditEntry? audit, IReadOnlyDictionary<StateKey, ulong>? conditions = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfZero(expectedVersion);
        return WriteAsync(key, null, expectedVersion, audit, conditions, cancellationToken);
    }

    private async Task<StateWriteResult> WriteAsync(StateKey key, StateSetting? setting, ulong expectedVersion, AuditEntry? audit, IReadOnlyDictionary<StateKey, ulong>? conditions, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);

            // BEGIN IMMEDIATE: takes the write lock now, so the checks below and the write are one step
            // even against another process on the same file.
            using var transaction = _connection.BeginTransaction(deferred: false);
            var (currentVersion, currentSetting) = ReadEntry(transaction, key);
            if (currentVersion != expectedVersion)
            {
                transaction.Rollback();
                return new StateWriteResult(WriteStatus.VersionMismatch, currentVersion, currentSetting);
            }

            if (conditions is not null)
            {
                foreach (var (other, version) in conditions)
                {
                    if (other == key)
                    {
                        continue;
                    }

                    if (ReadEntry(transaction, other).Version != version)
                    {
                        transaction.Rollback();
                        return new StateWriteResult(WriteStatus.ConditionFailed, currentVersion, currentSetting);
                    }
                }
            }

            var newVersion = BumpVersion(transaction);
            using (var command = _connection.CreateCommand())
            {
                command.Transaction = transaction;
                command.Parameters.AddWithValue("$kind", StateKinds.Folder(key.Kind));
                command.Parameters.AddWithValue("$target", key.Target);
                if (setting is null)
                {
                    command.CommandText = "DELETE FROM state WHERE kind = $kind AND target = $target;";
                }
                else
                {
                    command.CommandText = "INSERT INTO state(kind, target, value, version) VALUES ($kind, $target, $value, $version) "
                        + "ON CONFLICT(kind, target) DO UPDATE SET value = excluded.value, version = excluded.version;";
                    command.Parameters.AddWithValue("$value", StateJson.Serialize(setting));
                    command.Parameters.AddWithValue("$version", (long)newVersion);
                }

                command.ExecuteNonQuery();
            }

            if (audit is not null)
            {
                InsertAudit(transaction, audit with { Version = setting is null ? 0 : newVersion });
            }

            // synchronous=FULL in WAL mode: the commit returns after the WAL is fsynced.
            transaction.Commit();
            Signal();
            return new StateWriteResult(WriteStatus.Applied, newVersion, setting);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Nothing to take: the embedded store's file belongs to one process (the embedded server), whose callers
    /// serialise among themselves.
    /// </summary>
    public Task<IAsyncDisposable> LockAsync(string name, TimeSpan wait, CancellationToken cancellationToken = default) =>
        Task.FromResult<IAsyncDisposable>(NoLock.Instance);

    public async Task AppendAuditAsync(AuditEntry entry, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            using var transaction = _connection.BeginTransaction(deferred: false);
            InsertAudit(transaction, entry);
            transaction.Commit();
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<IReadOnlyList<AuditEntry>> QueryAuditAsync(AuditQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            using var command = _connection.CreateCommand();
            command.CommandText = """
                SELECT id, at, actor, action, kind, target, before, after, reason, forced, version FROM audit
                WHERE ($from IS NULL OR at >= $from) AND ($to IS NULL OR at < $to)
                  AND ($target IS NULL OR target = $target) AND ($kind IS NULL OR kind = $kind)
                ORDER BY at, seq LIMIT $limit;
                """;
            command.Parameters.AddWithValue("$from", query.From is { } from ? from.UtcTicks : DBNull.Value);
            command.Parameters.AddWithValue("$to", query.To is { } to ? to.UtcTicks : DBNull.Value);
            command.Parameters.AddWithValue("$target", (object?)query.Target ?? DBNull.Value);
            command.Parameters.AddWithValue("$kind", query.Kind is { } kind ? StateKinds.Name(kind) : DBNull.Value);
            command.Parameters.AddWithValue("$limit", Math.Max(0, query.Limit));
            using var reader = command.ExecuteReader();
            var entries = new List<AuditEntry>();
            while (reader.Read())
            {
                entries.Add(new AuditEntry(
                    reader.GetString(0),
                    new DateTimeOffset(reader.GetInt64(1), TimeSpan.Zero),
                    reader.GetString(2),
                    reader.GetString(3),
                    reader.GetString(4),
                    reader.GetString(5),
                    reader.IsDBNull(6) ? null : reader.GetString(6),
                    reader.IsDBNull(7) ? null : reader.GetString(7),
                    reader.IsDBNull(8) ? null : reader.GetString(8),
                    reader.GetInt64(9) != 0,
                    (ulong)reader.GetInt64(10)));
            }

            return entries;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async IAsyncEnumerable<OperatorState> WatchAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ulong? last = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            // Take the signal before reading, so a commit between the read and the wait is not missed.
            var signal = Volatile.Read(ref _changed).Task;
            var version = await VersionAsync(cancellationToken);
            if (version != last)
            {
                var state = await ReadAsync(cancellationToken);
                last = state.Index;
                yield return state;
            }

            try
            {
                await signal.WaitAsync(PollInterval, cancellationToken);
            }
            catch (TimeoutException)
            {
                // Poll: another process may have written to the file.
            }
        }
    }

    private async Task<ulong> VersionAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return CurrentVersion(null);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync();
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _connection.Dispose();
        }
        finally
        {
            _gate.Release();
        }

        Volatile.Read(ref _changed).TrySetCanceled();
    }

    private (ulong Version, StateSetting? Setting) ReadEntry(SqliteTransaction transaction, StateKey key)
    {
        using var command = _connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT version, value FROM state WHERE kind = $kind AND target = $target;";
        command.Parameters.AddWithValue("$kind", StateKinds.Folder(key.Kind));
        command.Parameters.AddWithValue("$target", key.Target);
        using var reader = command.ExecuteReader();
        return reader.Read() ? ((ulong)reader.GetInt64(0), StateJson.Deserialize(key.Kind, reader.GetString(1))) : (0, null);
    }

    private ulong CurrentVersion(SqliteTransaction? transaction)
    {
        using var command = _connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT value FROM meta WHERE key = 'version';";
        return (ulong)(long)command.ExecuteScalar()!;
    }

    private ulong BumpVersion(SqliteTransaction transaction)
    {
        using var command = _connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "UPDATE meta SET value = value + 1 WHERE key = 'version' RETURNING value;";
        return (ulong)(long)command.ExecuteScalar()!;
    }

    private void InsertAudit(SqliteTransaction transaction, AuditEntry entry)
    {
        using var command = _connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO audit(id, at, actor, action, kind, target, before, after, reason, forced, version)
            VALUES ($id, $at, $actor, $action, $kind, $target, $before, $after, $reason, $forced, $version);
            """;
        command.Parameters.AddWithValue("$id", entry.Id);
        command.Parameters.AddWithValue("$at", entry.At.UtcTicks);
        command.Parameters.AddWithValue("$actor", entry.Actor);
        command.Parameters.AddWithValue("$action", entry.Action);
        command.Parameters.AddWithValue("$kind", entry.Kind);
        command.Parameters.AddWithValue("$target", entry.Target);
        command.Parameters.AddWithValue("$before", (object?)entry.Before ?? DBNull.Value);
        command.Parameters.AddWithValue("$after", (object?)entry.After ?? DBNull.Value);
        command.Parameters.AddWithValue("$reason", (object?)entry.Reason ?? DBNull.Value);
        command.Parameters.AddWithValue("$forced", entry.Forced ? 1 : 0);
        command.Parameters.AddWithValue("$version", (long)entry.Version);
        command.ExecuteNonQuery();
    }

    private void Signal() => Interlocked.Exchange(ref _changed, NewSignal()).TrySetResult();

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static string? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToString(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private sealed class NoLock : IAsyncDisposable
    {
        public static readonly NoLock Instance = new();

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
