using Microsoft.Extensions.Logging;

namespace GslbDns.Probing;

// Messages name endpoints, Consul keys and sessions; never the Consul ACL token.
internal static partial class ProbingLog
{
    [LoggerMessage(EventId = 7200, Level = LogLevel.Warning, Message = "Endpoint {EndpointId} is DOWN after {Failures} consecutive failed probes: {Error}")]
    public static partial void EndpointDown(ILogger logger, string endpointId, int failures, string? error);

    [LoggerMessage(EventId = 7201, Level = LogLevel.Information, Message = "Endpoint {EndpointId} is UP again after {Successes} consecutive successful probes")]
    public static partial void EndpointUp(ILogger logger, string endpointId, int successes);

    [LoggerMessage(EventId = 7202, Level = LogLevel.Information, Message = "Probing {Endpoints} endpoints ({Added} added, {Changed} changed, {Removed} removed); reporting every {ReportInterval}")]
    public static partial void ConfigApplied(ILogger logger, int endpoints, int added, int changed, int removed, TimeSpan reportInterval);

    [LoggerMessage(EventId = 7203, Level = LogLevel.Warning, Message = "Publishing the prober report failed")]
    public static partial void PublishFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 7204, Level = LogLevel.Error, Message = "Probe loop of {EndpointId} failed unexpectedly; it continues")]
    public static partial void ProbeLoopFailed(ILogger logger, Exception exception, string endpointId);

    [LoggerMessage(EventId = 7205, Level = LogLevel.Warning, Message = "Probe observer failed for {EndpointId}")]
    public static partial void ObserverFailed(ILogger logger, Exception exception, string endpointId);

    [LoggerMessage(EventId = 7210, Level = LogLevel.Information, Message = "Consul session {SessionId} created for prober report {Key}")]
    public static partial void SinkSessionCreated(ILogger logger, string sessionId, string key);

    [LoggerMessage(EventId = 7211, Level = LogLevel.Warning, Message = "Consul session {SessionId} for prober report {Key} is gone; creating a new one")]
    public static partial void SinkSessionLost(ILogger logger, string sessionId, string key);

    [LoggerMessage(EventId = 7212, Level = LogLevel.Warning, Message = "Writing prober report {Key} to Consul failed (attempt {Attempt}); retrying in {Delay}: {Reason}")]
    public static partial void SinkWriteFailed(ILogger logger, string key, int attempt, TimeSpan delay, string reason);

    [LoggerMessage(EventId = 7213, Level = LogLevel.Information, Message = "Prober report {Key} written to Consul again after {Failures} failed attempts")]
    public static partial void SinkRecovered(ILogger logger, string key, int failures);

    [LoggerMessage(EventId = 7214, Level = LogLevel.Information, Message = "Consul session {SessionId} destroyed: prober report {Key} removed")]
    public static partial void SinkSessionDestroyed(ILogger logger, string sessionId, string key);

    [LoggerMessage(EventId = 7215, Level = LogLevel.Warning, Message = "Consul session {SessionId} could not be destroyed; prober report {Key} expires with the session's TTL")]
    public static partial void SinkDestroyFailed(ILogger logger, Exception exception, string sessionId, string key);

    [LoggerMessage(EventId = 7220, Level = LogLevel.Warning, Message = "Zone file {File} could not be read ({Reason}); taking its origin from the file name")]
    public static partial void ZoneOriginFromFileName(ILogger logger, string file, string reason);
}
