using GslbDns.Geo;

namespace GslbDns.Gslb;

/// <summary>
/// What a policy may consult for one decision. Reused per listener thread; the client's location is
/// looked up only when a policy asks for it, and asking records the ECS scope the answer depends on.
/// </summary>
public sealed class SelectionContext
{
    private LocateResult _location;
    private bool _located;
    private string? _note;
    private string? _alsoNote;

    public ServiceConfig Service { get; private set; } = null!;

    public GslbConfig Config { get; private set; } = GslbConfig.Empty;

    public GslbState State { get; private set; } = GslbState.Empty;

    public IClientLocator? Locator { get; set; }

    /// <summary>Hostname endpoints' addresses (the snapshot's); set by the caller with <see cref="Locator"/>, not cleared by <see cref="Reset"/>.</summary>
    public ResolvedHosts Hosts { get; set; } = ResolvedHosts.Empty;

    public DateTimeOffset Now { get; private set; }

    /// <summary>Client address as 128 bits (IPv4 in the low 32 bits) and how many leading bits of it are known (ECS source prefix, or the full length).</summary>
    public UInt128 ClientAddress { get; private set; }

    public bool ClientIsIPv6 { get; private set; }

    public byte ClientPrefix { get; private set; }

    /// <summary>The widest prefix of the client address that the decision so far depended on (RFC 7871 scope).</summary>
    public byte ScopePrefix { get; private set; }

    /// <summary>Set when explaining: every step records what it kept. Null on the query path.</summary>
    public SelectionTrace? Trace { get; set; }

    /// <summary>
    /// The service's precompiled geo decisions (per snapshot), or null to locate the client through
    /// <see cref="Locator"/>. Cleared by <see cref="Reset"/>; set after it.
    /// </summary>
    public ServiceGeoDecisions? Geo { get; set; }

    /// <summary>Set by a geofenced step that found no usable endpoint in the client's region: answer the service's fallback addresses.</summary>
    public bool GeofenceFallback { get; set; }

    public void Reset(ServiceConfig service, GslbConfig config, GslbState state, DateTimeOffset now, UInt128 clientAddress, bool clientIsIPv6, byte clientPrefix)
    {
        Service = service;
        Config = config;
        State = state;
        Now = now;
        ClientAddress = clientAddress;
        ClientIsIPv6 = clientIsIPv6;
        ClientPrefix = clientPrefix;
        ScopePrefix = 0;
        Geo = null;
        GeofenceFallback = false;
        _located = false;
        _note = null;
        _alsoNote = null;
    }

    /// <summary>
    /// Lets the running policy step say why it kept what it kept (explain output). Ignored when
    /// <see cref="Trace"/> is null; callers that format a note check <see cref="Trace"/> first so
    /// the query path never builds the string.
    /// </summary>
    public void Note(string note)
    {
        if (Trace is not null)
        {
            _note = note;
        }
    }

    /// <summary>Explain only: a decision inside the running step (load shedding, geofence), appended to its own note.</summary>
    public void NoteAlso(string note)
    {
        if (Trace is not null)
        {
            _alsoNote = _alsoNote is null ? note : _alsoNote + "; " + note;
        }
    }

    /// <summary>The note the last step left, cleared on read (the selector records it with the step).</summary>
    public string? TakeNote()
    {
        var note = _alsoNote is null ? _note : _note is null ? _alsoNote : _note + "; " + _alsoNote;
        _note = null;
        _alsoNote = null;
        return note;
    }

    /// <summary>The client's location (ECS subnet or source address); the first call looks it up.</summary>
    public LocateResult Location
    {
        get
        {
            if (!_located)
            {
                _location = Locator is null
                    ? new LocateResult(Config.DefaultLocation, 0, LocationSource.Default)
                    : LocateClient(Locator, ClientAddress, ClientIsIPv6);
                _located = true;

                // The locator counts an IPv4-mapped client's scope in IPv4 bits; ECS speaks in bits of the address as sent.
                var mapped = ClientIsIPv6 && (ClientAddress >> 32) == 0xFFFF;
                DependOnPrefix(mapped ? (byte)Math.Min(128, _location.ScopePrefix + 96) : _location.ScopePrefix);
            }

            return _location;
        }
    }

    /// <summary>
    /// The client's decision in a precompiled tree; records the merged network's prefix as the scope
    /// the answer depends on. No database call, no allocation.
    /// </summary>
    public int Decide(GeoDecisionTree tree)
    {
        ArgumentNullException.ThrowIfNull(tree);
        byte scope;
        int decision = ClientIsIPv6 ? tree.LookupV6(ClientAddress, out scope) : tree.LookupV4((uint)ClientAddress, out scope);

        // As for Location: a mapped client's scope comes back in IPv4 bits.
        var mapped = ClientIsIPv6 && (ClientAddress >> 32) == 0xFFFF;
        DependOnPrefix(mapped ? (byte)Math.Min(128, scope + 96) : scope);
        return decision;
    }

    private static LocateResult LocateClient(IClientLocator locator, UInt128 address, bool isIPv6)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (isIPv6)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt128BigEndian(bytes, address);
            return locator.Locate(bytes);
        }

        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)address);
        return locator.Locate(bytes[..4]);
    }

    /// <summary>Records that the answer depends on the first <paramref name="bits"/> bits of the client address.</summary>
    public void DependOnPrefix(byte bits)
    {
        var capped = Math.Min(bits, ClientIsIPv6 ? (byte)128 : (byte)32);
        if (capped > ScopePrefix)
        {
            ScopePrefix = capped;
        }
    }
}

/// <summary>What each policy step kept, for explain output.</summary>
public sealed class SelectionTrace
{
    public List<TraceStep> Steps { get; } = [];

    public void Record(string policy, ReadOnlySpan<int> kept, ServiceConfig service, string? note = null)
    {
        var ids = new List<string>(kept.Length);
        foreach (var index in kept)
        {
            ids.Add(service.Endpoints[index].Id);
        }

        Steps.Add(new TraceStep(policy, ids, note));
    }
}

public sealed record TraceStep(string Policy, IReadOnlyList<string> Kept, string? Note);
