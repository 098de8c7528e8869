using System.Text;

namespace GslbDns.Consul;

/// <summary>
/// A lock across processes on one Consul KV key, as Consul's own lock recipe does it: a TTL session (Behavior=delete,
/// lock-delay 0), <c>?acquire=</c> on the key, a blocking query on the key while someone else holds it, and
/// <c>?release=</c> plus the session's destruction when done. A holder that dies without releasing loses the lock
/// when its session ends (between 1x and 2x <see cref="SessionTtl"/>), so no key stays locked for good.
/// </summary>
public sealed class ConsulLock : IAsyncDisposable
{
    /// <summary>Consul's minimum session TTL: a critical section here is one read and one write, far shorter.</summary>
    public static readonly TimeSpan SessionTtl = TimeSpan.FromSeconds(10);

    private readonly ConsulClient _client;
    private readonly string _session;
    private int _released;

    private ConsulLock(ConsulClient client, string key, string session)
    {
        _client = client;
        Key = key;
        _session = session;
    }

    public string Key { get; }

    /// <summary>Takes <paramref name="key"/>, waiting at most <paramref name="wait"/> for its holder (then <see cref="TimeoutException"/>).</summary>
    /// <param name="holder">Written as the key's value while held: who holds it, for an operator looking at Consul.</param>
    public static async Task<ConsulLock> AcquireAsync(ConsulClient client, string key, string holder, TimeSpan wait, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrEmpty(key);
        var session = await client.SessionCreateAsync("gslbdns-lock " + key, SessionTtl, cancellationToken).ConfigureAwait(false);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(wait);
        try
        {
            var value = Encoding.UTF8.GetBytes(holder);
            ulong index = 0;
            while (!await client.KvAcquireAsync(key, value, session, 0, deadline.Token).ConfigureAwait(false))
            {
                // Held: wait until the key changes (its holder releases it or its session ends), at most a second
                // at a time so a missed change costs one second, never the whole wait.
                var current = await client.KvGetAsync(key, new ConsulBlockingQuery(index, TimeSpan.FromSeconds(1)), deadline.Token).ConfigureAwait(false);
                index = current.Index;
            }

            return new ConsulLock(client, key, session);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await DestroyAsync(client, session).ConfigureAwait(false);
            throw new TimeoutException($"the Consul lock {key} stayed held by another process for {wait.TotalSeconds:0} s");
        }
        catch
        {
            await DestroyAsync(client, session).ConfigureAwait(false);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0)
        {
            return;
        }

        try
        {
            await _client.KvReleaseAsync(Key, Array.Empty<byte>(), _session, 0, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ConsulException or HttpRequestException or TaskCanceledException)
        {
            // Destroying the session below (or its TTL) frees the key anyway.
        }

        await DestroyAsync(_client, _session).ConfigureAwait(false);
    }

    private static async Task DestroyAsync(ConsulClient client, string session)
    {
        try
        {
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await client.SessionDestroyAsync(session, bound.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ConsulException or HttpRequestException or OperationCanceledException)
        {
            // Unreachable Consul: the session's TTL ends it.
        }
    }
}
