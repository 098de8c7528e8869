using GslbDns.Reports;

namespace GslbDns.Probing;

/// <summary>Sees every finished probe (metrics, logs). Called on the probe's task: keep it cheap and never throw.</summary>
public interface IProbeObserver
{
    /// <param name="verdictChanged">True when this probe flipped <see cref="EndpointObservation.Up"/>.</param>
    void OnProbeCompleted(ProbeTarget target, ProbeOutcome outcome, EndpointObservation observation, bool verdictChanged);
}
