using System.Text.Json.Serialization;

namespace GslbDns.Consul;

// Wire shapes of Consul's JSON. Kept internal and separate from the public records so that Consul's
// spellings (TTL, ID, nanosecond LockDelay, null Value) stay out of the API.

internal sealed class KvEntryJson
{
    public string Key { get; set; } = string.Empty;

    // System.Text.Json reads and writes byte[] as base64, which is how Consul encodes KV values.
    public byte[]? Value { get; set; }

    public ulong CreateIndex { get; set; }

    public ulong ModifyIndex { get; set; }

    public ulong LockIndex { get; set; }

    public ulong Flags { get; set; }

    public string? Session { get; set; }
}

internal sealed class SessionCreateJson
{
    public string? Name { get; set; }

    [JsonPropertyName("TTL")]
    public string? Ttl { get; set; }

    public string? Behavior { get; set; }

    public string? LockDelay { get; set; }

    // An empty list, not null: null would make Consul attach the serfHealth check, tying the session
    // to the agent's gossip health instead of only to our TTL.
    public string[]? Checks { get; set; }
}

internal sealed class SessionIdJson
{
    [JsonPropertyName("ID")]
    public string? Id { get; set; }
}

internal sealed class SessionEntryJson
{
    [JsonPropertyName("ID")]
    public string Id { get; set; } = string.Empty;

    public string? Name { get; set; }

    public string? Node { get; set; }

    /// <summary>Nanoseconds.</summary>
    public long LockDelay { get; set; }

    public string? Behavior { get; set; }

    [JsonPropertyName("TTL")]
    public string? Ttl { get; set; }

    public ulong CreateIndex { get; set; }

    public ulong ModifyIndex { get; set; }
}



internal sealed class TxnOpJson
{
    [JsonPropertyName("KV")]
    public TxnKvJson? Kv { get; set; }
}

internal sealed class TxnKvJson
{
    public string Verb { get; set; } = string.Empty;

    public string Key { get; set; } = string.Empty;

    public byte[]? Value { get; set; }

    public ulong Index { get; set; }
}

internal sealed class TxnResponseJson
{
    public TxnResultJson[]? Results { get; set; }

    public TxnErrorJson[]? Errors { get; set; }
}

internal sealed class TxnResultJson
{
    [JsonPropertyName("KV")]
    public KvEntryJson? Kv { get; set; }
}

internal sealed class TxnErrorJson
{
    public int OpIndex { get; set; }

    public string? What { get; set; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(KvEntryJson[]))]
[JsonSerializable(typeof(SessionCreateJson))]
[JsonSerializable(typeof(SessionIdJson))]
[JsonSerializable(typeof(SessionEntryJson[]))]
[JsonSerializable(typeof(TxnOpJson[]))]
[JsonSerializable(typeof(TxnResponseJson))]
[JsonSerializable(typeof(string[]))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(bool))]
internal sealed partial class ConsulJsonContext : JsonSerializerContext;
