using System.Runtime.InteropServices;

namespace GslbDns.Hosting;

/// <summary>
/// A process's signals, handled one way everywhere: SIGTERM and SIGINT complete <see cref="Stopping"/> (a
/// graceful stop, exit 0), SIGHUP runs the reload hooks on the thread pool. Each is marked handled, so the
/// runtime's default action (ending the process) does not run.
/// </summary>
public sealed class ProcessSignals : IDisposable
{
    private readonly TaskCompletionSource _stop = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<PosixSignalRegistration> _registrations = [];
    private readonly Lock _gate = new();
    private Action[] _reloadHooks = [];

    public ProcessSignals()
    {
        _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnStop));
        _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGINT, OnStop));
        if (!OperatingSystem.IsWindows())
        {
            _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnHangUp));
        }
    }

    /// <summary>Completes on the first SIGTERM or SIGINT.</summary>
    public Task Stopping => _stop.Task;

    /// <summary>Runs <paramref name="reload"/> on every SIGHUP (on the thread pool, never on the signal thread) until the returned handle is disposed.</summary>
    public IDisposable OnReload(Action reload)
    {
        ArgumentNullException.ThrowIfNull(reload);
        lock (_gate)
        {
            _reloadHooks = [.. _reloadHooks, reload];
        }

        return new Unsubscriber(this, reload);
    }

    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }
    }

    private void OnStop(PosixSignalContext context)
    {
        context.Cancel = true;
        _stop.TrySetResult();
    }

    private void OnHangUp(PosixSignalContext context)
    {
        context.Cancel = true;
        foreach (var hook in Volatile.Read(ref _reloadHooks))
        {
            ThreadPool.QueueUserWorkItem(static h => h(), hook, preferLocal: false);
        }
    }

    private void Remove(Action reload)
    {
        lock (_gate)
        {
            _reloadHooks = [.. _reloadHooks.Where(h => h != reload)];
        }
    }

    private sealed class Unsubscriber(ProcessSignals owner, Action reload) : IDisposable
    {
        public void Dispose() => owner.Remove(reload);
    }
}
