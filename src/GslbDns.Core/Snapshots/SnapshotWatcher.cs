using GslbDns.Hosting;
using Microsoft.Extensions.Logging;

namespace GslbDns.Snapshots;

/// <summary>
/// Reloads a <see cref="SnapshotBuilder"/> on SIGHUP and, when asked, when files in the zone folder or the geo-data
/// folder change: the one reload path of the DNS server and the API process. Errors are logged as <c>file:line: reason</c>.
/// </summary>
public sealed partial class SnapshotWatcher : IDisposable
{
    private readonly SnapshotBuilder _builder;
    private readonly ILogger _logger;
    private readonly ReloadTrigger _trigger;

    /// <param name="signals">The process's signals, for SIGHUP; null when the process is not this watcher's (a test hosting several).</param>
    public SnapshotWatcher(SnapshotBuilder builder, bool watchFiles, ILogger logger, ProcessSignals? signals = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        _builder = builder;
        _logger = logger;
        _trigger = new ReloadTrigger([builder.Folder, builder.GeoDataFolder], watchFiles, Reload, signals);
        if (_trigger.Unwatched.Contains(builder.Folder))
        {
            LogNotWatched(_logger, builder.Folder);
        }
    }

    private void Reload(string why)
    {
        try
        {
            LogReloading(_logger, why);
            foreach (var error in _builder.Reload())
            {
                LogReloadError(_logger, error.ToString());
            }
        }
        catch (Exception ex)
        {
            LogReloadFailed(_logger, ex);
        }
    }

    public void Dispose() => _trigger.Dispose();

    [LoggerMessage(Level = LogLevel.Information, Message = "{Why}: reloading zones, GSLB config and geo-data")]
    private static partial void LogReloading(ILogger logger, string why);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Error}")]
    private static partial void LogReloadError(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Reload failed")]
    private static partial void LogReloadFailed(ILogger logger, Exception ex);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Zone folder {Folder} does not exist yet: it is watched for, and its files reload once it appears (SIGHUP too)")]
    private static partial void LogNotWatched(ILogger logger, string folder);
}
