using Microsoft.Extensions.Logging;

namespace GslbDns.Consul;

// Messages carry addresses, methods and paths, never the ACL token (it travels only in a request header).
internal static partial class ConsulLog
{
    [LoggerMessage(EventId = 7100, Level = LogLevel.Warning, Message = "Consul agent {Address} failed {Method} {Path}: {Reason}; trying the next agent")]
    public static partial void AgentFailed(ILogger logger, Uri address, string method, string path, string reason);

    [LoggerMessage(EventId = 7101, Level = LogLevel.Information, Message = "Now using Consul agent {Address}")]
    public static partial void AgentSwitched(ILogger logger, Uri address);

    [LoggerMessage(EventId = 7102, Level = LogLevel.Debug, Message = "Consul index went backwards on {Path} ({Sent} -> {Returned}); resetting to 0")]
    public static partial void IndexReset(ILogger logger, string path, ulong sent, ulong returned);
}
