using GslbDns.Hosting;

namespace GslbDns.Snapshots;

/// <summary>
/// When a process re-reads its files: on SIGHUP, and (when asked) when a file in one of the watched folders changes.
/// Editors write in bursts (truncate, write, rename), so changes are gathered for a short quiet period before one
/// reload runs. The DNS server and the API (through <see cref="SnapshotWatcher"/>) and the prober all use it.
/// </summary>
public sealed class ReloadTrigger : IDisposable
{
    private static readonly TimeSpan QuietPeriod = TimeSpan.FromMilliseconds(250);

    private readonly Action<string> _reload;
    private readonly Func<string, bool>? _relevant;
    private readonly List<FileSystemWatcher> _watchers = [];
    private readonly Timer _debounce;
    private readonly IDisposable? _sighup;

    /// <param name="folders">Folders to watch (missing ones are skipped; see <see cref="Unwatched"/>).</param>
    /// <param name="watchFiles">False: SIGHUP only.</param>
    /// <param name="reload">Runs on a pool thread with the reason ("SIGHUP" or "file change"); it must not throw.</param>
    /// <param name="signals">The process's signals (<see cref="ProcessSignals"/>, the one SIGHUP handler); null: no SIGHUP reloads.</param>
    /// <param name="relevant">Which changed file names count; null: all.</param>
    public ReloadTrigger(IEnumerable<string?> folders, bool watchFiles, Action<string> reload, ProcessSignals? signals, Func<string, bool>? relevant = null)
    {
        ArgumentNullException.ThrowIfNull(folders);
        _reload = reload;
        _relevant = relevant;
        _debounce = new Timer(_ => _reload("file change"), null, Timeout.Infinite, Timeout.Infinite);
        _sighup = signals?.OnReload(() => _reload("SIGHUP"));

        var unwatched = new List<string>();
        foreach (var folder in folders)
        {
            if (!watchFiles || folder is null)
            {
                continue;
            }

            if (!Directory.Exists(folder))
            {
                unwatched.Add(folder);
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

        Unwatched = unwatched;
    }

    /// <summary>Folders that were asked for but did not exist, so only SIGHUP reloads what they hold.</summary>
    public IReadOnlyList<string> Unwatched { get; }

    private void OnChange(object sender, FileSystemEventArgs e)
    {
        if (_relevant is null || (e.Name is { } name && _relevant(name)) || (e is RenamedEventArgs { OldName: { } old } && _relevant(old)))
        {
            _debounce.Change(QuietPeriod, Timeout.InfiniteTimeSpan);
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
}
