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
    private readonly Dictionary<string, (FileSystemWatcher Watcher, string Parent)> _waitingFor = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly Timer _debounce;
    private readonly IDisposable? _sighup;
    private bool _disposed;

    /// <param name="folders">Folders to watch; a missing one is watched for from its nearest existing parent and, once
    /// it appears, watched like the others (and its appearance reloads). See <see cref="Unwatched"/>.</param>
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

            var full = Path.GetFullPath(folder);
            lock (_gate)
            {
                if (!Directory.Exists(full))
                {
                    unwatched.Add(folder);
                    WaitFor(full);
                    continue;
                }

                Watch(full);
            }
        }

        Unwatched = unwatched;
    }

    /// <summary>Folders that did not exist at start: watched for, so their files count once they appear.</summary>
    public IReadOnlyList<string> Unwatched { get; }

    /// <summary>Called under <see cref="_gate"/>.</summary>
    private void Watch(string folder)
    {
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

    /// <summary>
    /// Watches the nearest existing parent of a missing folder (that one directory only, not its tree: the parent may be
    /// large) for the next path component to appear; called under <see cref="_gate"/>. A deployment that creates the
    /// folder after the process started (a volume mounted late, a first `mkdir`) then needs no SIGHUP.
    /// </summary>
    private void WaitFor(string folder)
    {
        var parent = Path.GetDirectoryName(folder);
        while (parent is not null && !Directory.Exists(parent))
        {
            parent = Path.GetDirectoryName(parent);
        }

        if (parent is null || _waitingFor.ContainsKey(folder))
        {
            return;
        }

        // Handled on the pool, not in the watcher's own callback: Appeared disposes that watcher under the gate.
        var watcher = new FileSystemWatcher(parent) { IncludeSubdirectories = false, NotifyFilter = NotifyFilters.DirectoryName };
        watcher.Created += (_, _) => ThreadPool.QueueUserWorkItem(_ => Appeared(folder));
        watcher.Renamed += (_, _) => ThreadPool.QueueUserWorkItem(_ => Appeared(folder));
        watcher.EnableRaisingEvents = true;
        _waitingFor[folder] = (watcher, parent);

        // It may have appeared between the check and the watcher's start.
        if (Directory.Exists(NextStep(parent, folder)) || !Directory.Exists(parent))
        {
            ThreadPool.QueueUserWorkItem(_ => Appeared(folder));
        }
    }

    /// <summary>A directory appeared beside, or on the way to, a folder waited for: watch it if it is there now, else wait from nearer.</summary>
    private void Appeared(string folder)
    {
        lock (_gate)
        {
            if (_disposed || !_waitingFor.TryGetValue(folder, out var waiting))
            {
                return;
            }

            var exists = Directory.Exists(folder);
            if (!exists && Directory.Exists(waiting.Parent) && !Directory.Exists(NextStep(waiting.Parent, folder)))
            {
                return; // another directory appeared beside it: keep waiting where we are
            }

            _waitingFor.Remove(folder);
            waiting.Watcher.Dispose();
            if (exists)
            {
                Watch(folder);
                _debounce.Change(QuietPeriod, Timeout.InfiniteTimeSpan);
            }
            else
            {
                WaitFor(folder);
            }
        }
    }

    /// <summary>The directory one level below <paramref name="parent"/> on the way to <paramref name="folder"/>.</summary>
    private static string NextStep(string parent, string folder)
    {
        var step = folder;
        while (Path.GetDirectoryName(step) is { } up && !string.Equals(up, parent, StringComparison.Ordinal))
        {
            step = up;
        }

        return step;
    }

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
        lock (_gate)
        {
            _disposed = true;
            foreach (var watcher in _watchers.Concat(_waitingFor.Values.Select(w => w.Watcher)))
            {
                watcher.Dispose();
            }

            _waitingFor.Clear();
        }

        _debounce.Dispose();
    }
}
