namespace GslbDns.Consul;

/// <summary>What one KV operation of a Consul transaction does (Consul's <c>Verb</c>).</summary>
public enum ConsulKvVerb
{
    /// <summary>Unconditional write.</summary>
    Set,

    /// <summary>Write only if the key's ModifyIndex equals <see cref="ConsulKvOp.Index"/> (0: only if it does not exist).</summary>
    Cas,

    /// <summary>Delete only if the key's ModifyIndex equals <see cref="ConsulKvOp.Index"/>.</summary>
    DeleteCas,

    /// <summary>Fail the transaction unless the key's ModifyIndex equals <see cref="ConsulKvOp.Index"/>.</summary>
    CheckIndex,

    /// <summary>Fail the transaction if the key exists.</summary>
    CheckNotExists,

    /// <summary>Read the key; fails the transaction if it does not exist.</summary>
    Get,
}

/// <summary>One KV operation of <see cref="ConsulClient.TxnAsync"/>; build it with the static factories.</summary>
public sealed record ConsulKvOp
{
    private ConsulKvOp(ConsulKvVerb verb, string key, ReadOnlyMemory<byte>? value, ulong index)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        Verb = verb;
        Key = key;
        Value = value;
        Index = index;
    }

    public ConsulKvVerb Verb { get; }

    public string Key { get; }

    /// <summary>The value written by <see cref="ConsulKvVerb.Set"/> and <see cref="ConsulKvVerb.Cas"/>; null for the others.</summary>
    public ReadOnlyMemory<byte>? Value { get; }

    /// <summary>The ModifyIndex a cas, delete-cas or check-index expects.</summary>
    public ulong Index { get; }

    public static ConsulKvOp Set(string key, ReadOnlyMemory<byte> value) => new(ConsulKvVerb.Set, key, value, 0);

    public static ConsulKvOp Cas(string key, ReadOnlyMemory<byte> value, ulong modifyIndex) => new(ConsulKvVerb.Cas, key, value, modifyIndex);

    public static ConsulKvOp DeleteCas(string key, ulong modifyIndex)
    {
        // Consul treats delete-cas at index 0 as "delete if missing", which never deletes anything.
        ArgumentOutOfRangeException.ThrowIfZero(modifyIndex);
        return new(ConsulKvVerb.DeleteCas, key, null, modifyIndex);
    }

    public static ConsulKvOp CheckIndex(string key, ulong modifyIndex) => new(ConsulKvVerb.CheckIndex, key, null, modifyIndex);

    public static ConsulKvOp CheckNotExists(string key) => new(ConsulKvVerb.CheckNotExists, key, null, 0);

    public static ConsulKvOp Get(string key) => new(ConsulKvVerb.Get, key, null, 0);

    internal string WireVerb => Verb switch
    {
        ConsulKvVerb.Set => "set",
        ConsulKvVerb.Cas => "cas",
        ConsulKvVerb.DeleteCas => "delete-cas",
        ConsulKvVerb.CheckIndex => "check-index",
        ConsulKvVerb.CheckNotExists => "check-not-exists",
        ConsulKvVerb.Get => "get",
        _ => throw new ArgumentOutOfRangeException(nameof(Verb), Verb, null),
    };
}

/// <summary>Why one operation made Consul roll a transaction back (its 409 answer).</summary>
public sealed record ConsulTxnError(int OpIndex, string What);

/// <summary>
/// The outcome of a transaction: committed with Consul's results, or rolled back (nothing written) with
/// the operations that failed.
/// </summary>
/// <param name="Committed">True: Raft applied every operation. False: Consul answered 409 and applied none.</param>
/// <param name="Results">
/// On commit, the entries Consul returns, in operation order: one for each set, cas, get and check-index
/// (set and cas without the value: their ModifyIndex is the transaction's Raft index); none for
/// delete-cas and check-not-exists.
/// </param>
/// <param name="Errors">On rollback, one per failed operation.</param>
/// <param name="EarlierAttemptUncertain">
/// An agent was tried before the one that answered and failed in a way that leaves it unknown whether it
/// had passed the transaction on (timeout, broken connection, 5xx). A rollback may then be the
/// transaction colliding with its own earlier commit; callers that need to know look for a key only
/// their transaction writes.
/// </param>
public sealed record ConsulTxnResult(
    bool Committed,
    IReadOnlyList<ConsulKvPair> Results,
    IReadOnlyList<ConsulTxnError> Errors,
    bool EarlierAttemptUncertain)
{
    /// <summary>The result entry for <paramref name="key"/>, or null if the transaction returned none.</summary>
    public ConsulKvPair? ResultFor(string key) => Results.FirstOrDefault(r => r.Key == key);
}
