using GslbDns.Certificates;
using GslbDns.Dnssec;
using GslbDns.Hosting;

namespace GslbDns.Server.Hosting;

/// <summary>
/// <c>gslbdns dnssec-rollover</c>: starts a ZSK or KSK rollover, confirms a KSK rollover's DS change, or shows the
/// keys, against the key store the servers use (the keys folder, or Consul); the running servers pick the change up
/// on their next pass. Prints each key's phase and times after the change.
/// </summary>
internal static class DnssecRolloverCommand
{
    public static async Task<int> RunAsync(ServerOptions options, CommandLine.RolloverRequest request, TextWriter output, TextWriter errors, TimeProvider? time = null)
    {
        if (options.DnssecZones.Count == 0 || (request.Key is null && !request.Status))
        {
            errors.WriteLine("dnssec-rollover: give the zone with --dnssec-zone ZONE and --key zsk, --key ksk [--ds-published] or --status");
            return 2;
        }

        if (request.DsPublished && request.Key != "ksk")
        {
            errors.WriteLine("dnssec-rollover: --ds-published confirms a KSK rollover's DS change: give it with --key ksk");
            return 2;
        }

        time ??= TimeProvider.System;
        var token = ConsulToken.ReadIfUsed(options.ConsulAddresses, options.ConsulTokenFile);
        using var consulHttp = options.ConsulAddresses.Count > 0 ? ConsulHttp.Create(options.ConsulTls, pooledConnectionLifetime: TimeSpan.FromMinutes(1)) : null;
        var rollover = DnsServer.CreateKeyRollover(options, consulHttp?.Client, token, time)!;
        foreach (var zone in options.DnssecZones)
        {
            try
            {
                var state = request switch
                {
                    { Key: "zsk" } => await rollover.StartZskRolloverAsync(zone),
                    { Key: "ksk", DsPublished: true } => await rollover.ConfirmDsPublishedAsync(zone),
                    { Key: "ksk" } => await rollover.StartKskRolloverAsync(zone),
                    _ => await rollover.ReadAsync(zone),
                };
                var now = time.GetUtcNow();
                foreach (var line in state.Describe(now))
                {
                    output.WriteLine(line);
                }

                if (state.Ksks.FirstOrDefault(k => k.PhaseAt(now) == KeyPhase.Published) is { } coming)
                {
                    output.WriteLine($"{zone} next: KSK {coming.Key.KeyTag} is ready at {coming.ReadyAt:u}; then give the parent the DS that CDS shows and confirm with --key ksk --ds-published");
                }
                else if (state.Ksks.Any(k => k.PhaseAt(now) == KeyPhase.Ready))
                {
                    output.WriteLine($"{zone} next: give the parent this DS, then confirm with --key ksk --ds-published: {state.KeysAt(now).DsText((uint)rollover.Timings.ParentDsTtl.TotalSeconds)}");
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException or InvalidOperationException or HttpRequestException)
            {
                errors.WriteLine($"dnssec-rollover {zone}: {rollover.Where(zone)}: {ex.Message}");
                return 1;
            }
        }

        return 0;
    }
}
