namespace GslbDns.Probing;

/// <summary>
/// One kind of health check (HTTP, TCP, DNS). An implementation returns a failed <see cref="ProbeResult"/>
/// for an answer it does not like and may throw for transport errors (refused, reset): the
/// <see cref="ProbeRunner"/> turns both into a failed probe. It must honour <paramref name="cancellationToken"/>
/// promptly, because that is how the runner's timeout ends a probe of a silent endpoint.
/// </summary>
public interface IEndpointCheck
{
    ValueTask<ProbeResult> CheckAsync(ProbeTarget target, CancellationToken cancellationToken);
}
