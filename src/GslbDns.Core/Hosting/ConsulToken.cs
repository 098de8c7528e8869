namespace GslbDns.Hosting;

/// <summary>
/// The Consul ACL token of a process: from <c>--consul-token-file</c>, else the environment, else none.
/// Never logged, never echoed in an error.
/// </summary>
public static class ConsulToken
{
    public const string EnvironmentVariable = "GSLBDNS_CONSUL_TOKEN";

    /// <summary>
    /// The token when the process talks to Consul or a token file was given (a broken file is an error even
    /// when Consul is not in use: the operator meant something by it); else null without looking.
    /// </summary>
    public static string? ReadIfUsed(IReadOnlyList<Uri> consulAddresses, string? file) =>
        consulAddresses.Count > 0 || file is not null ? Read(file) : null;

    /// <summary>
    /// Reads the token. A file that was given but cannot be read, or holds nothing, is a start-up error
    /// naming the file: running without the token the operator meant would fail later and less clearly.
    /// </summary>
    /// <exception cref="StartupException">The file is unreadable or empty (exit code 2).</exception>
    public static string? Read(string? file)
    {
        if (file is not null)
        {
            string token;
            try
            {
                token = File.ReadAllText(file).Trim();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new StartupException($"{CommonOptions.ConsulTokenFile.Name}: cannot read '{file}': {ex.Message}");
            }

            return token.Length > 0 ? token : throw new StartupException($"{CommonOptions.ConsulTokenFile.Name}: '{file}' is empty");
        }

        var fromEnvironment = Environment.GetEnvironmentVariable(EnvironmentVariable)?.Trim();
        return string.IsNullOrEmpty(fromEnvironment) ? null : fromEnvironment;
    }
}

/// <summary>A process cannot start as configured; the message says why and names the file or option. Ends it with <see cref="ExitCode"/>.</summary>
public sealed class StartupException(string message, int exitCode = 2) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
