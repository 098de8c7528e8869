using GslbDns.Dns;
using GslbDns.Dnssec;
using Microsoft.Extensions.Logging;

namespace GslbDns.Server.Hosting;

/// <summary>
/// The signed zones' keys: read (or generated) at start, then a timer off the query path re-reads each zone's key
/// state, starts the rollover its schedule calls for, and when what a zone publishes or signs with has changed
/// swaps in new keys and reloads, which recompiles just those zones and swaps the snapshot atomically.
/// </summary>
internal sealed partial class DnsServer
{
    private readonly ZoneKeyRollover? _dnssecRollover;

    // Each signed zone's key state as last read: the operator's view (API, metrics), swapped whole by the timer.
    private volatile IReadOnlyDictionary<DnsName, ZoneKeyState> _keyStates = new Dictionary<DnsName, ZoneKeyState>();
    private Timer? _keyRolloverTimer;
    private int _keyRolloverRunning;

    /// <summary>How often the key state is re-read: often enough for the shortest transition, at most once a minute.</summary>
    internal static TimeSpan KeyRolloverInterval(RolloverTimings timings) =>
        TimeSpan.FromTicks(Math.Clamp(timings.PropagationDelay.Ticks / 4, TimeSpan.FromMilliseconds(100).Ticks, TimeSpan.FromMinutes(1).Ticks));

    /// <summary>The key store of the signed zones (Consul KV with Consul, else the keys folder) and the rollover schedule; null when nothing is signed.</summary>
    internal static ZoneKeyRollover? CreateKeyRollover(ServerOptions options, HttpClient? consulHttp, string? consulToken, TimeProvider time)
    {
        if (options.DnssecZones.Count == 0)
        {
            return null;
        }

        if (options.ConsulAddresses.Count == 0)
        {
            return new ZoneKeyRollover(new ZoneKeyStore(options.DnssecKeysFolder), options.DnssecTimings, time);
        }

        if (options.DnssecKeyEncryptionFile is not { } file)
        {
            throw new GslbDns.Hosting.StartupException("--dnssec-zone with --consul: the zones' keys are shared through Consul, encrypted; give --dnssec-key-encryption-file FILE (64 hex digits, e.g. openssl rand -hex 32)");
        }

        byte[] encryptionKey;
        try
        {
            encryptionKey = SharedZoneKeyStore.ReadEncryptionKey(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            throw new GslbDns.Hosting.StartupException($"--dnssec-key-encryption-file: {ex.Message}");
        }

        var client = new Consul.ConsulClient(consulHttp!, new Consul.ConsulClientOptions { Addresses = options.ConsulAddresses, Token = consulToken });
        return new ZoneKeyRollover(new SharedZoneKeyStore(client, options.ConsulPrefix, encryptionKey), options.DnssecTimings, time);
    }

    /// <summary>Each signed zone's keys with their phases and times now, by zone name (the API's /dnssec, explain, metrics).</summary>
    internal IReadOnlyList<SignedZoneView> DnssecView()
    {
        var now = _time.GetUtcNow();
        return [.. _keyStates.Values.Select(s => SignedZoneView.Of(s, now, _dnssecRollover!.Timings)).OrderBy(v => v.Zone, StringComparer.Ordinal)];
    }

    /// <summary>What each zone publishes and signs with at <paramref name="now"/>.</summary>
    internal static Dictionary<DnsName, ZoneKeys> KeysAt(IReadOnlyDictionary<DnsName, ZoneKeyState> states, DateTimeOffset now) =>
        states.ToDictionary(s => s.Key, s => s.Value.KeysAt(now));

    /// <summary>Reads (or on first start generates) the keys of every zone to sign; a key that cannot be read stops the start.</summary>
    internal static Dictionary<DnsName, ZoneKeyState> LoadDnssecKeyStates(ServerOptions options, ZoneKeyRollover? rollover)
    {
        var keys = new Dictionary<DnsName, ZoneKeyState>();
        foreach (var zone in options.DnssecZones)
        {
            try
            {
                // Start-up only: the server does not answer before it knows which keys it signs with.
                keys[zone] = rollover!.EvaluateAsync(zone).GetAwaiter().GetResult();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException or InvalidOperationException or HttpRequestException or TaskCanceledException)
            {
                throw new GslbDns.Hosting.StartupException($"--dnssec-zone {zone}: keys in {rollover!.Where(zone)}: {ex.Message}");
            }
        }

        return keys;
    }

    private void StartKeyRolloverTimer()
    {
        if (_dnssecRollover is null)
        {
            return;
        }

        var interval = KeyRolloverInterval(_dnssecRollover.Timings);
        _keyRolloverTimer = new Timer(_ => _ = EvaluateKeysAsync(), null, interval, interval);
    }

    /// <summary>One pass over the signed zones; a pass still running (a slow Consul) makes the next tick a no-op.</summary>
    private async Task EvaluateKeysAsync()
    {
        if (Interlocked.Exchange(ref _keyRolloverRunning, 1) == 1)
        {
            return;
        }

        try
        {
            var current = Builder.DnssecKeys;
            Dictionary<DnsName, ZoneKeys>? changed = null;
            var states = new Dictionary<DnsName, ZoneKeyState>(_keyStates);
            foreach (var zone in _options.DnssecZones)
            {
                try
                {
                    var state = await _dnssecRollover!.EvaluateAsync(zone);
                    states[zone] = state;
                    var keys = state.KeysAt(_time.GetUtcNow());
                    if (current.TryGetValue(zone, out var serving) && serving.SameAs(keys))
                    {
                        continue;
                    }

                    changed ??= new Dictionary<DnsName, ZoneKeys>(current);
                    changed[zone] = keys;
                    LogKeysChanged(_logger, zone.ToString(), keys.Zsk.KeyTag, string.Join(' ', keys.OtherZsks.Select(k => k.KeyTag)), keys.Ksk.KeyTag, string.Join(' ', keys.OtherKsks.Select(k => k.KeyTag)));
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException or InvalidOperationException or HttpRequestException or TaskCanceledException)
                {
                    // The keys in use keep signing; the next tick tries again.
                    LogKeyStateError(_logger, zone.ToString(), ex.Message);
                }
            }

            _keyStates = states;
            if (changed is not null)
            {
                Builder.DnssecKeys = changed;
                foreach (var error in Builder.Reload())
                {
                    LogLoadError(_logger, error.ToString());
                }
            }
        }
        finally
        {
            Volatile.Write(ref _keyRolloverRunning, 0);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "DNSSEC {Zone}: signing with ZSK {Signing}, also published: [{Published}]; KSK {Ksk} (CDS), other KSKs signing the DNSKEY RRset: [{OtherKsks}]")]
    private static partial void LogKeysChanged(ILogger logger, string zone, ushort signing, string published, ushort ksk, string otherKsks);

    [LoggerMessage(Level = LogLevel.Warning, Message = "DNSSEC {Zone}: cannot read or update the key state: {Error}")]
    private static partial void LogKeyStateError(ILogger logger, string zone, string error);
}
