using System.Text.Json;
using GslbDns.Dns;

namespace GslbDns.Dnssec;

/// <summary>
/// A <see cref="ZoneKeyState"/> as JSON, the keys themselves by reference (a file name in the file store, the
/// PKCS#8 in base64 inside the encrypted Consul value): <c>{"ksk":REF,"ksks":[{"key":REF,"published":UNIX,
/// "ready":UNIX,"active":UNIX|null,"retire":UNIX|null,"remove":UNIX|null}],"zsks":[{"key":REF,"published":UNIX,
/// "active":UNIX,"retire":UNIX|null,"remove":UNIX|null}]}</c>. Times in Unix seconds, so every server reads the same.
/// A state from before KSK rollovers has no "ksks": its "ksk" reads as active since the first ZSK's publication;
/// "ksk" is still written (the active KSK) so such a server can read a newer state.
/// </summary>
public static class ZoneKeyStateJson
{
    /// <summary>Bounds what is read: a zone has a handful of keys.</summary>
    public const int MaxZsks = 16;

    public static byte[] Write(ZoneKeyState state, Func<DnssecKey, string> reference)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("ksk", reference(state.Ksk));
            json.WriteStartArray("ksks");
            foreach (var ksk in state.Ksks)
            {
                json.WriteStartObject();
                json.WriteString("key", reference(ksk.Key));
                json.WriteNumber("tag", ksk.Key.KeyTag);
                json.WriteNumber("published", ksk.Published.ToUnixTimeSeconds());
                json.WriteNumber("ready", ksk.ReadyAt.ToUnixTimeSeconds());
                WriteTime(json, "active", ksk.ActiveAt);
                WriteTime(json, "retire", ksk.RetireAt);
                WriteTime(json, "remove", ksk.RemoveAt);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartArray("zsks");
            foreach (var zsk in state.Zsks)
            {
                json.WriteStartObject();
                json.WriteString("key", reference(zsk.Key));
                json.WriteNumber("tag", zsk.Key.KeyTag);
                json.WriteNumber("published", zsk.Published.ToUnixTimeSeconds());
                json.WriteNumber("active", zsk.ActiveAt.ToUnixTimeSeconds());
                WriteTime(json, "retire", zsk.RetireAt);
                WriteTime(json, "remove", zsk.RemoveAt);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>Reads the state; <paramref name="where"/> names the file or Consul key in errors.</summary>
    /// <exception cref="InvalidDataException">Not a key state, with the JSON path at fault.</exception>
    public static ZoneKeyState Read(DnsName zone, ReadOnlySpan<byte> utf8, Func<string, ushort, DnssecKey> resolve, string where)
    {
        try
        {
            using var document = JsonDocument.Parse(utf8.ToArray());
            var root = document.RootElement;
            if (!root.TryGetProperty("zsks", out var zsks) || zsks.ValueKind != JsonValueKind.Array || zsks.GetArrayLength() is 0 or > MaxZsks)
            {
                throw new InvalidDataException($"{where}: $.zsks: expected 1 to {MaxZsks} ZSKs");
            }

            var entries = new List<ZskEntry>();
            var index = 0;
            foreach (var zsk in zsks.EnumerateArray())
            {
                var path = $"$.zsks[{index++}]";
                entries.Add(new ZskEntry(
                    resolve(Text(zsk, "key", where, path), DnssecKey.ZoneKeyFlags),
                    Time(zsk, "published", where, path) ?? throw new InvalidDataException($"{where}: {path}.published: required"),
                    Time(zsk, "active", where, path) ?? throw new InvalidDataException($"{where}: {path}.active: required"),
                    Time(zsk, "retire", where, path),
                    Time(zsk, "remove", where, path)));
            }

            return new ZoneKeyState(zone, ReadKsks(root, resolve, where, entries[0].Published), entries);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{where}: not JSON: {ex.Message}", ex);
        }
    }

    private static List<KskEntry> ReadKsks(JsonElement root, Func<string, ushort, DnssecKey> resolve, string where, DateTimeOffset firstPublished)
    {
        if (!root.TryGetProperty("ksks", out var ksks))
        {
            // Written before KSK rollovers: the one KSK, in use as long as the keys.
            return [new KskEntry(resolve(Text(root, "ksk", where, "$"), DnssecKey.KeySigningFlags), firstPublished, firstPublished, firstPublished, null, null)];
        }

        if (ksks.ValueKind != JsonValueKind.Array || ksks.GetArrayLength() is 0 or > ZoneKeyState.MaxKsks)
        {
            throw new InvalidDataException($"{where}: $.ksks: expected 1 to {ZoneKeyState.MaxKsks} KSKs");
        }

        var entries = new List<KskEntry>();
        var index = 0;
        foreach (var ksk in ksks.EnumerateArray())
        {
            var path = $"$.ksks[{index++}]";
            entries.Add(new KskEntry(
                resolve(Text(ksk, "key", where, path), DnssecKey.KeySigningFlags),
                Time(ksk, "published", where, path) ?? throw new InvalidDataException($"{where}: {path}.published: required"),
                Time(ksk, "ready", where, path) ?? throw new InvalidDataException($"{where}: {path}.ready: required"),
                Time(ksk, "active", where, path),
                Time(ksk, "retire", where, path),
                Time(ksk, "remove", where, path)));
        }

        if (!entries.Any(k => k.ActiveAt is not null))
        {
            throw new InvalidDataException($"{where}: $.ksks: no KSK is active (one needs an \"active\" time)");
        }

        return entries;
    }

    private static void WriteTime(Utf8JsonWriter json, string name, DateTimeOffset? time)
    {
        if (time is { } value)
        {
            json.WriteNumber(name, value.ToUnixTimeSeconds());
        }
        else
        {
            json.WriteNull(name);
        }
    }

    private static string Text(JsonElement element, string name, string where, string path) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text
            ? text
            : throw new InvalidDataException($"{where}: {path}.{name}: expected a string");

    private static DateTimeOffset? Time(JsonElement element, string name, string where, string path)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var seconds) && seconds is >= 0 and < 253402300800
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : throw new InvalidDataException($"{where}: {path}.{name}: expected Unix seconds");
    }
}
