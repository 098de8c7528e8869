using Microsoft.Extensions.Logging;

namespace GslbDns.Server.Zones;

/// <summary>
/// Reloads the catalog when files in the zone folder change. Editors write in bursts (truncate,
/// write, rename), so changes are gathered for a short quiet period before one reload runs.
/// </summary>
internal sealed partial class ZoneWatcher : IDisposable
{
    private static readonly TimeSpan QuietPeriod = TimeSpan.FromMilliseconds(250);

    private readonly ZoneCatalog _catalog;
    private readonly ILogger _logger;
    private readonly FileSystemWatcher? _watcher;
    private readonly Timer _debounce;

    public ZoneWatcher(ZoneCatalog catalog, ILogger logger)
    {
        _catalog = catalog;
        _logger = logger;
        _debounce = new Timer(_ => Reload(), null, Timeout.Infinite, Timeout.Infinite);
        if (!Directory.Exists(catalog.Folder))
        {
            return;
        }

        _watcher = new FileSystemWatcher(catalog.Folder)
        {
            IncludeSubdirectories = true,
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
        };
        _watcher.Changed += OnChange;
        _watcher.Created += OnChange;
        _watcher.Deleted += OnChange;
        _watcher.Renamed += OnChange;
        _watcher.EnableRaisingEvents = true;
    }

    private void OnChange(object sender, FileSystemEventArgs e) => _debounce.Change(QuietPeriod, Timeout.InfiniteTimeSpan);

    private void Reload()
    {
        try
        {
            foreach (var error in _catalog.Reload())
            {
                LogReloadError(_logger, error.ToString());
            }
        }
        catch (Exception ex)
        {
            LogReloadFailed(_logger, ex);
        }
    }

    public void Dispose()
    {
        _watcher?.Dispose();
        _debounce.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "{Error}")]
    private static partial void LogReloadError(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Zone reload failed")]
    private static partial void LogReloadFailed(ILogger logger, Exception ex);
}
