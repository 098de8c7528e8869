using System.Text.Json;

namespace GslbDns.Gslb.Config;

/// <summary>
/// JSON path -> line, built in one pass with <see cref="Utf8JsonReader"/> before the document is
/// read for meaning. JsonElement knows no positions, so without this map a semantic error could name
/// its path but not its line. The same pass reports syntax errors (with the path reached so far) and
/// duplicate property names, which JsonDocument would otherwise accept silently.
/// </summary>
internal sealed class JsonLineMap
{
    /// <summary>The options both this pass and the JsonDocument parse use, so they agree on what is valid.</summary>
    public static readonly JsonReaderOptions ReaderOptions = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    public static readonly JsonDocumentOptions DocumentOptions = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    private readonly Dictionary<string, int> _lines;

    /// <summary>No text behind the JSON (an element built in code): every line is 0, unknown.</summary>
    public static readonly JsonLineMap Empty = new(new Dictionary<string, int>(StringComparer.Ordinal));

    private JsonLineMap(Dictionary<string, int> lines)
    {
        _lines = lines;
    }

    public int Count => _lines.Count;

    /// <summary>
    /// Maps every property (the line of its name) and array element (the line its value starts on).
    /// Returns null after adding a syntax error to <paramref name="errors"/>; duplicate names are added
    /// as errors too but the map is still returned, so the rest of the file is checked.
    /// </summary>
    public static JsonLineMap? Build(byte[] utf8, string file, List<ConfigError> errors)
    {
        var lines = new Dictionary<string, int>(StringComparer.Ordinal);
        var stack = new Stack<Frame>();
        var reader = new Utf8JsonReader(utf8, ReaderOptions);
        var counted = 0;
        var line = 1;
        var pendingPath = JsonPathText.Root;
        var currentPath = JsonPathText.Root;
        try
        {
            while (reader.Read())
            {
                // Counting newlines incrementally keeps the pass linear; the reader's own line counter is not public.
                var start = (int)reader.TokenStartIndex;
                line += utf8.AsSpan(counted, start - counted).Count((byte)'\n');
                counted = start;

                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName:
                        {
                            var frame = stack.Peek();
                            var name = reader.GetString() ?? string.Empty;
                            pendingPath = JsonPathText.Property(frame.Path, name);
                            currentPath = pendingPath;
                            frame.Names ??= new Dictionary<string, int>(StringComparer.Ordinal);
                            if (frame.Names.TryGetValue(name, out var firstLine))
                            {
                                errors.Add(new ConfigError(file, line, pendingPath, $"duplicate property '{name}' (first at line {firstLine})"));
                            }
                            else
                            {
                                frame.Names[name] = line;
                                lines.TryAdd(pendingPath, line);
                            }

                            break;
                        }

                    case JsonTokenType.EndObject:
                    case JsonTokenType.EndArray:
                        stack.Pop();
                        currentPath = stack.Count > 0 ? stack.Peek().Path : JsonPathText.Root;
                        break;

                    default:
                        {
                            string valuePath;
                            if (stack.Count == 0)
                            {
                                valuePath = JsonPathText.Root;
                                lines.TryAdd(valuePath, line);
                            }
                            else if (stack.Peek().IsArray)
                            {
                                var frame = stack.Peek();
                                valuePath = JsonPathText.Index(frame.Path, frame.Count++);
                                lines.TryAdd(valuePath, line);
                            }
                            else
                            {
                                valuePath = pendingPath;
                            }

                            currentPath = valuePath;
                            if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                            {
                                stack.Push(new Frame(valuePath, reader.TokenType == JsonTokenType.StartArray));
                            }

                            break;
                        }
                }
            }
        }
        catch (JsonException ex)
        {
            errors.Add(new ConfigError(file, (int)(ex.LineNumber ?? 0) + 1, currentPath, DescribeSyntaxError(ex)));
            return null;
        }

        return new JsonLineMap(lines);
    }

    /// <summary>
    /// The line of <paramref name="path"/>, or of its nearest mapped ancestor: a missing property is
    /// reported at the object that lacks it. 0 when nothing matches (a path from another document).
    /// </summary>
    public int LineOf(string path)
    {
        if (_lines.TryGetValue(path, out var line))
        {
            return line;
        }

        // Errors are rare, so a scan beats keeping a second index; the boundary check stops
        // "$.services.ab" from matching "$.services.a".
        var best = 0;
        var bestLength = -1;
        foreach (var (candidate, candidateLine) in _lines)
        {
            if (candidate.Length > bestLength && candidate.Length < path.Length && path.StartsWith(candidate, StringComparison.Ordinal)
                && path[candidate.Length] is '.' or '[')
            {
                best = candidateLine;
                bestLength = candidate.Length;
            }
        }

        return best;
    }

    /// <summary>The reader's message without its "LineNumber: n | BytePositionInLine: m." tail (the error carries the line), plus the column.</summary>
    private static string DescribeSyntaxError(JsonException ex)
    {
        var message = ex.Message;
        var tail = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (tail >= 0)
        {
            message = message[..tail];
        }

        message = "JSON syntax: " + message.TrimEnd();
        return ex.BytePositionInLine is { } column ? $"{message} (column {column + 1})" : message;
    }

    private sealed class Frame(string path, bool isArray)
    {
        public string Path { get; } = path;

        public bool IsArray { get; } = isArray;

        public int Count { get; set; }

        public Dictionary<string, int>? Names { get; set; }
    }
}
