using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace GslbDns.Snapshots;

/// <summary>
/// Reloads a <see cref="SnapshotBuilder"/> on SIGHUP and, when asked, when files in the zone folder or the geo-data
/// folder change: the one reload trigger of the DNS server and the API process. Editors write in bursts (truncate,
/// write, rename), so changes are gathered for a short quiet period before one reload runs.
/// </summary>
public sealed partial class SnapshotWatcher : IDisposable
{
    private static readonly TimeSpan QuietPeriod = TimeSpan.FromMilliseconds(250);

    private readonly SnapshotBuilder _builder;
    private readonly ILogger _logger;
    private readonly List<FileSystemWatcher> _watchers = [];
    private readonly Timer _debounce;
    private readonly PosixSignalRegistration? _sighup;

    public SnapshotWatcher(SnapshotBuilder builder, bool watchFiles, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(builder);
        _builder = builder;
        _logger = logger;
        _debounce = new Timer(_ => Reload("file change"), null, Timeout.Infinite, Timeout.Infinite);
        if (!OperatingSystem.IsWindows())
        {
            _sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
            {
                // Handled: the default action of SIGHUP would end the process.
                context.Cancel = true;
                ThreadPool.QueueUserWorkItem(_ => Reload("SIGHUP"));
            });
        }

        if (!watchFiles)
        {
            return;
        }

        foreach (var folder in new[] { builder.Folder, builder.GeoDataFolder })
        {
            if (folder is null || !Directory.Exists(folder))
            {
                if (folder == builder.Folder)
                {
                    LogNotWatched(_logger, builder.Folder);
                }

                continue;
            }

            var watcher = new FileSystemWatcher(folder)
            {
                IncludeSubdirectories = true,
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
            };
            watcher.Changed += OnChange;
            watcher.Created += OnChange;
            watcher.Deleted += OnChange;
            watcher.Renamed += OnChange;
            watcher.EnableRaisingEvents = true;
            _watchers.Add(watcher);
        }
    }

    private void OnChange(object sender, FileSystemEventArgs e) => _debounce.Change(QuietPeriod, Timeout.InfiniteTimeSpan);

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

    public void Dispose()
    {
        _sighup?.Dispose();
        foreach (var watcher in _watchers)
        {
            watcher.Dispose();
        }

        _debounce.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Why}: reloading zones, GSLB config and geo-data")]
    private static partial void LogReloading(ILogger logger, string why);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Error}")]
    private static partial void LogReloadError(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Reload failed")]
    private static partial void LogReloadFailed(ILogger logger, Exception ex);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Zone folder {Folder} does not exist: file changes are not watched (SIGHUP still reloads)")]
    private static partial void LogNotWatched(ILogger logger, string folder);
}
