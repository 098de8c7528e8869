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

    [LoggerMessage(EventId = 7110, Level = LogLevel.Information, Message = "Consul session {SessionId} created for {Name}")]
    public static partial void SessionCreated(ILogger logger, string name, string sessionId);

    [LoggerMessage(EventId = 7111, Level = LogLevel.Warning, Message = "Consul session {SessionId} for {Name} is gone; creating a new one")]
    public static partial void SessionLost(ILogger logger, string name, string sessionId);

    [LoggerMessage(EventId = 7112, Level = LogLevel.Warning, Message = "Consul session keeper for {Name} failed to {Step}; retrying in {Delay}")]
    public static partial void SessionStepFailed(ILogger logger, Exception exception, string name, string step, TimeSpan delay);

    [LoggerMessage(EventId = 7113, Level = LogLevel.Warning, Message = "Consul session {SessionId} for {Name} could not be destroyed on stop; it expires with its TTL")]
    public static partial void SessionDestroyFailed(ILogger logger, Exception exception, string name, string sessionId);
}
