namespace GslbDns.Consul;

/// <summary>One KV entry. <see cref="Value"/> is never null: Consul's null (an empty put) becomes an empty array.</summary>
public sealed record ConsulKvPair(
    string Key,
    byte[] Value,
    ulong CreateIndex,
    ulong ModifyIndex,
    ulong LockIndex,
    ulong Flags,
    string? Session);

/// <summary>A session as <c>/v1/session/info</c> reports it.</summary>
public sealed record ConsulSessionInfo(
    string Id,
    string Name,
    string Node,
    TimeSpan? Ttl,
    string Behavior,
    TimeSpan LockDelay,
    ulong CreateIndex,
    ulong ModifyIndex);

/// <summary>
/// A blocking query: return when the watched data's index exceeds <see cref="Index"/>, or after
/// <see cref="Wait"/> (Consul adds up to wait/16 of jitter and caps wait at 10 minutes). Index 0 returns at once.
/// </summary>
public readonly record struct ConsulBlockingQuery(ulong Index, TimeSpan Wait)
{
    /// <summary>Consul's own cap on <c>wait</c>; asking for more would silently be cut, which hides bugs.</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromMinutes(10);
}

/// <summary>
/// A read result with the index to pass to the next blocking query. <see cref="Index"/> is already
/// sanitised as Consul's blocking-query docs prescribe: 0 when the index went backwards (the next query
/// then reads without blocking and picks up the new index), never 0 otherwise.
/// </summary>
public sealed record ConsulQueryResult<T>(T Value, ulong Index);
