using GslbDns.Gslb;
using GslbDns.Hosting;
using GslbDns.Probing;
using GslbDns.Snapshots;
using Microsoft.Extensions.Logging;

namespace GslbDns.Prober;

/// <summary>
/// Reloads the GSLB config on SIGHUP and (unless disabled) when a file in the zone folder changes.
/// A config that fails to load is logged with every error and ignored: probing goes on with the last good one.
/// </summary>
internal sealed partial class ConfigWatcher : IDisposable
{
    /// <summary>Raised after a reloaded config went to the scheduler (the hostname resolver follows it).</summary>
    public event Action<GslbDns.Gslb.GslbConfig>? Applied;

    private readonly string _folder;
    private readonly ProbeScheduler _scheduler;
    private readonly ILogger _logger;
    private readonly Lock _reloadLock = new();
    private readonly ReloadTrigger _trigger;

    public ConfigWatcher(string folder, ProbeScheduler scheduler, bool watchFiles, ProcessSignals signals, ILogger logger)
    {
        _folder = folder;
        _scheduler = scheduler;
        _logger = logger;
        _trigger = new ReloadTrigger([folder], watchFiles, Reload, signals, Relevant);
    }

    /// <summary>Loads the config now; false (and the errors logged) when it is invalid.</summary>
    public static bool TryLoad(string folder, ILogger logger, out GslbConfig config)
    {
        try
        {
            config = ProbeConfigLoader.Load(folder, logger);
            return true;
        }
        catch (GslbConfigException ex)
        {
            foreach (var error in ex.Errors)
            {
                LogConfigError(logger, error.ToString());
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogConfigError(logger, ex.Message);
        }

        config = GslbConfig.Empty;
        return false;
    }

    public void Dispose() => _trigger.Dispose();

    private static bool Relevant(string name) =>
        name.EndsWith(".zone", StringComparison.Ordinal) || name.EndsWith(Gslb.Config.GslbConfigLoader.FileSuffix, StringComparison.Ordinal);

    private void Reload(string reason)
    {
        lock (_reloadLock)
        {
            try
            {
                if (!TryLoad(_folder, _logger, out var config))
                {
                    LogKeptOld(_logger, reason);
                    return;
                }

                _scheduler.UpdateConfig(config);
                Applied?.Invoke(config);
                LogReloaded(_logger, reason, config.Services.Count);
            }
            catch (ObjectDisposedException)
            {
                // Shutting down.
            }
            catch (Exception ex)
            {
                LogReloadFailed(_logger, ex, reason);
            }
        }
    }

    [LoggerMessage(EventId = 7230, Level = LogLevel.Error, Message = "GSLB config: {Error}")]
    private static partial void LogConfigError(ILogger logger, string error);

    [LoggerMessage(EventId = 7231, Level = LogLevel.Warning, Message = "Config reload ({Reason}) failed; still probing with the last good config")]
    private static partial void LogKeptOld(ILogger logger, string reason);

    [LoggerMessage(EventId = 7232, Level = LogLevel.Information, Message = "Config reloaded ({Reason}): {Services} services")]
    private static partial void LogReloaded(ILogger logger, string reason, int services);

    [LoggerMessage(EventId = 7233, Level = LogLevel.Error, Message = "Config reload ({Reason}) failed unexpectedly")]
    private static partial void LogReloadFailed(ILogger logger, Exception exception, string reason);
}
