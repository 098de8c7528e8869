using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace GslbDns.Api.Auth;

/// <summary>What a token may do: read everything, or also change state; or, for a monitoring system, only push feeds.</summary>
public enum ApiRole
{
    Read,
    Operator,

    /// <summary>
    /// Only PUT/DELETE of endpoint feeds (<c>/v1/endpoints/.../feed</c>): what an outside monitor pushing NS1-style
    /// data feeds needs, and nothing that can drain, weight or force a verdict. It cannot read either.
    /// </summary>
    Feed,
}

/// <summary>One accepted token, kept only as its SHA-256; <see cref="Name"/> is what the audit log records as the actor.</summary>
public sealed record ApiTokenEntry(ApiRole Role, byte[] Hash, string Name);

/// <summary>The tokens file could not be used; the message names file and line, never the token.</summary>
public sealed class ApiTokensException : Exception
{
    public ApiTokensException()
    {
    }

    public ApiTokensException(string message)
        : base(message)
    {
    }

    public ApiTokensException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// The bearer tokens the API accepts. File format, one token per line (blank lines and <c>#</c> comments ignored):
/// <code>
/// # role      token                                   [name]
/// operator    0f3c9a...(at least 20 characters)        alice
/// read        sha256:9b74c9897bac770ffc029102a200c5de   grafana
/// </code>
/// <c>role</c> is <c>operator</c> (read and write), <c>read</c> (read only) or <c>feed</c> (push endpoint feeds only). A token may be given as
/// <c>sha256:&lt;64 hex digits&gt;</c>, its SHA-256, so the file need not hold it in clear. The name
/// (default <c>&lt;role&gt;-line&lt;N&gt;</c>) identifies the caller in the audit log and request log.
/// </summary>
/// <remarks>
/// Tokens are compared as SHA-256 hashes with <see cref="CryptographicOperations.FixedTimeEquals"/>, against
/// every entry without stopping at a match, so neither the bytes of a token nor which entry matched shows in
/// the timing.
/// </remarks>
public sealed class ApiTokens
{
    public const int MinTokenLength = 20;

    /// <summary>File name of the generated tokens file inside the state folder.</summary>
    public const string GeneratedFileName = "api-tokens";

    private readonly ApiTokenEntry[] _entries;

    public ApiTokens(IEnumerable<ApiTokenEntry> entries)
    {
        _entries = [.. entries];
    }

    public int Count => _entries.Length;

    public IReadOnlyList<ApiTokenEntry> Entries => _entries;

    /// <summary>Things worth a log line (e.g. a tokens file readable by others); never contains a token.</summary>
    public IReadOnlyList<string> Warnings { get; private init; } = [];

    /// <summary>Tokens given in clear (tests, or a host that has them from elsewhere).</summary>
    public static ApiTokens FromTokens(params (ApiRole Role, string Token, string Name)[] tokens) =>
        new(tokens.Select(t => new ApiTokenEntry(t.Role, Hash(t.Token), t.Name)));

    /// <summary>The entry <paramref name="presented"/> belongs to, or null. Constant time in the token's bytes.</summary>
    public ApiTokenEntry? Find(string presented)
    {
        ArgumentNullException.ThrowIfNull(presented);
        var hash = Hash(presented);
        ApiTokenEntry? match = null;
        foreach (var entry in _entries)
        {
            // No early exit: every entry is compared whatever matched.
            var equal = CryptographicOperations.FixedTimeEquals(hash, entry.Hash);
            if (equal && match is null)
            {
                match = entry;
            }
        }

        return match;
    }

    public static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    /// <summary>A new random token: 32 bytes from the OS generator, base64url (43 characters).</summary>
    public static string Generate() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static ApiTokens Load(string path)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ApiTokensException($"{path}: cannot read the tokens file: {ex.Message}", ex);
        }

        var entries = new List<ApiTokenEntry>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var where = $"{path}:{i + 1}";
            var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length is < 2 or > 3)
            {
                throw new ApiTokensException($"{where}: expected 'role token [name]'");
            }

            var role = parts[0] switch
            {
                "operator" => ApiRole.Operator,
                "read" => ApiRole.Read,
                "feed" => ApiRole.Feed,
                _ => throw new ApiTokensException($"{where}: role must be 'operator', 'read' or 'feed'"),
            };
            byte[] hash;
            if (parts[1].StartsWith("sha256:", StringComparison.Ordinal))
            {
                var hex = parts[1]["sha256:".Length..];
                if (hex.Length != 64 || !hex.All(Uri.IsHexDigit))
                {
                    throw new ApiTokensException($"{where}: sha256: must be followed by 64 hex digits");
                }

                hash = Convert.FromHexString(hex);
            }
            else
            {
                if (parts[1].Length < MinTokenLength)
                {
                    throw new ApiTokensException($"{where}: the token is shorter than {MinTokenLength} characters");
                }

                hash = Hash(parts[1]);
            }

            var name = parts.Length == 3 ? parts[2] : $"{parts[0]}-line{(i + 1).ToString(CultureInfo.InvariantCulture)}";
            if (!names.Add(name))
            {
                throw new ApiTokensException($"{where}: the name '{name}' is used twice");
            }

            if (entries.Any(e => CryptographicOperations.FixedTimeEquals(e.Hash, hash)))
            {
                throw new ApiTokensException($"{where}: the same token is listed twice");
            }

            entries.Add(new ApiTokenEntry(role, hash, name));
        }

        var warnings = new List<string>();
        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
        {
            warnings.Add($"{path} is readable or writable by group or others; chmod 600 it");
        }

        if (entries.Count == 0)
        {
            warnings.Add($"{path} holds no token: every request will be refused");
        }

        return new ApiTokens(entries) { Warnings = warnings };
    }

    /// <summary>
    /// Embedded mode without a tokens file: loads <c>{stateFolder}/api-tokens</c>, or at first start creates it
    /// (mode 0600, in a folder created 0700) with one new operator token, returned in
    /// <paramref name="generatedToken"/> so the caller can print it once. Null when the file already existed.
    /// </summary>
    public static ApiTokens LoadOrGenerate(string stateFolder, out string? generatedToken)
    {
        generatedToken = null;
        var path = Path.Combine(stateFolder, GeneratedFileName);
        if (!File.Exists(path))
        {
            if (!Directory.Exists(stateFolder))
            {
                if (OperatingSystem.IsWindows())
                {
                    Directory.CreateDirectory(stateFolder);
                }
                else
                {
                    Directory.CreateDirectory(stateFolder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                }
            }

            var token = Generate();
            var text = "# Generated by gslbdns-api at first start. Format: role token [name] (see src/Api/README.md).\n"
                + $"operator {token} generated-operator\n";
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, Options = FileOptions.WriteThrough };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            try
            {
                using var stream = new FileStream(path, options);
                stream.Write(Encoding.UTF8.GetBytes(text));
                stream.Flush(flushToDisk: true);
                generatedToken = token;
            }
            catch (IOException) when (File.Exists(path))
            {
                // Another process created it first: use theirs.
            }
        }

        return Load(path);
    }
}
