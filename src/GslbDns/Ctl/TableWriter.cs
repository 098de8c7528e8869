using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace GslbDns.Server.Ctl;

/// <summary>Renders API JSON as aligned text: a list as rows of chosen columns, an object as name/value lines.</summary>
internal static class TableWriter
{
    public static readonly JsonSerializerOptions Pretty = new() { WriteIndented = true };

    /// <summary>One row per element of <paramref name="rows"/>; a column is a dotted path into the element (<c>health.verdict</c>).</summary>
    public static string Rows(IEnumerable<JsonNode?> rows, params (string Header, Func<JsonNode, string> Cell)[] columns)
    {
        var cells = rows.OfType<JsonNode>().Select(r => columns.Select(c => c.Cell(r)).ToArray()).ToList();
        var widths = columns.Select((c, i) => Math.Max(c.Header.Length, cells.Count == 0 ? 0 : cells.Max(r => r[i].Length))).ToArray();
        var text = new StringBuilder();
        Line(text, columns.Select(c => c.Header.ToUpperInvariant()).ToArray(), widths);
        foreach (var row in cells)
        {
            Line(text, row, widths);
        }

        return text.ToString();
    }

    /// <summary>A column that shows the value at <paramref name="path"/>.</summary>
    public static (string, Func<JsonNode, string>) Column(string header, string path) => (header, n => Text(At(n, path)));

    /// <summary>Every scalar (and list of scalars) of an object, one per line.</summary>
    public static string Object(JsonNode node)
    {
        if (node is not JsonObject obj)
        {
            return Text(node) + "\n";
        }

        var scalars = obj.Where(p => p.Value is not JsonObject && !(p.Value is JsonArray a && a.Any(e => e is JsonObject))).ToList();
        var width = scalars.Count == 0 ? 0 : scalars.Max(p => p.Key.Length);
        var text = new StringBuilder();
        foreach (var (key, value) in scalars)
        {
            text.Append(key.PadRight(width + 2)).Append(Text(value)).Append('\n');
        }

        return text.ToString();
    }

    public static JsonNode? At(JsonNode? node, string path)
    {
        foreach (var part in path.Split('.'))
        {
            node = node is JsonObject o && o.TryGetPropertyValue(part, out var next) ? next : null;
        }

        return node;
    }

    public static string Text(JsonNode? node) => node switch
    {
        null => "-",
        JsonArray a => string.Join(",", a.Select(Text)),
        JsonObject o => string.Join(",", o.Select(p => $"{p.Key}={Text(p.Value)}")),
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        _ => node.ToJsonString(),
    };

    private static void Line(StringBuilder text, string[] cells, int[] widths)
    {
        for (var i = 0; i < cells.Length; i++)
        {
            text.Append(i == cells.Length - 1 ? cells[i] : cells[i].PadRight(widths[i] + 2));
        }

        text.Append('\n');
    }
}
