using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;

namespace GslbDns.Api;

/// <summary>JSON settings and strict request-body reading: unknown fields, wrong types and oversize bodies are 400/413 naming the field.</summary>
internal static class ApiJson
{
    public static readonly JsonSerializerOptions Request = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        NumberHandling = JsonNumberHandling.Strict,
        AllowTrailingCommas = false,
        ReadCommentHandling = JsonCommentHandling.Disallow,
        MaxDepth = 8,
    };

    public static void ConfigureResponse(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
        options.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
    }

    /// <summary>
    /// Reads the body as <typeparamref name="T"/>. An empty body gives null when <paramref name="optional"/>,
    /// else a 400. Throws <see cref="InvalidFieldException"/> for anything unreadable; Kestrel's
    /// <see cref="BadHttpRequestException"/> (413 over the size limit) passes through to the host.
    /// </summary>
    public static async Task<T?> ReadAsync<T>(HttpRequest request, bool optional, CancellationToken ct)
        where T : class
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, ct);
        if (buffer.Length == 0)
        {
            return optional ? null : throw new InvalidFieldException("body", "a JSON object is required");
        }

        if (request.ContentType is { } contentType && !contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase)
            && !contentType.Contains("+json", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidFieldException("body", $"Content-Type must be application/json, not '{contentType}'");
        }

        try
        {
            // Syntax first, so a broken document is blamed on the body, not on the field the parser was in.
            using var syntax = JsonDocument.Parse(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), new JsonDocumentOptions { MaxDepth = Request.MaxDepth });
        }
        catch (JsonException ex)
        {
            throw new InvalidFieldException("body", $"not valid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1})");
        }

        try
        {
            buffer.Position = 0;
            return await JsonSerializer.DeserializeAsync<T>(buffer, Request, ct) ?? throw new InvalidFieldException("body", "a JSON object is required, not null");
        }
        catch (JsonException ex)
        {
            var field = FieldOf(ex);
            var message = ex.Message;

            // System.Text.Json says "The JSON property 'x' could not be mapped to any .NET member ..." for unknown fields.
            const string unmapped = "The JSON property '";
            if (message.StartsWith(unmapped, StringComparison.Ordinal))
            {
                var end = message.IndexOf('\'', unmapped.Length);
                if (end > unmapped.Length)
                {
                    field = message[unmapped.Length..end];
                    throw new InvalidFieldException(field, "unknown field");
                }
            }

            throw new InvalidFieldException(field, field == "body" ? "not valid JSON" : "wrong type or malformed value");
        }
    }

    private static string FieldOf(JsonException ex)
    {
        var path = ex.Path;
        if (string.IsNullOrEmpty(path) || path == "$")
        {
            return "body";
        }

        return path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
    }
}
