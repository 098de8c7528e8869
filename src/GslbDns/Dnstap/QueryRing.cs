namespace GslbDns.Server.Dnstap;

/// <summary>
/// A bounded many-producer, one-consumer ring of preallocated slots (Vyukov's sequence-numbered queue).
/// Query threads claim a slot with one compare-exchange, copy the query and response into it and publish it;
/// when the ring is full they give up at once (the caller counts the drop), so the query path never waits
/// for the writer. The writer thread takes slots in order and hands each back after encoding it.
/// </summary>
internal sealed class QueryRing
{
    private readonly QuerySlot[] _slots;
    private readonly long _mask;
    private long _enqueue;
    private long _dequeue; // the writer's alone

    public QueryRing(int slots, int bytesPerSlot)
    {
        if (slots < 2 || (slots & (slots - 1)) != 0)
        {
            throw new ArgumentException("the slot count must be a power of two", nameof(slots));
        }

        _slots = new QuerySlot[slots];
        for (var i = 0; i < slots; i++)
        {
            _slots[i] = new QuerySlot(i, bytesPerSlot);
        }

        _mask = slots - 1;
        BytesPerSlot = bytesPerSlot;
    }

    public int BytesPerSlot { get; }

    /// <summary>Claims the next free slot for the caller to fill and <see cref="Publish"/>; null when the ring is full.</summary>
    public QuerySlot? TryClaim()
    {
        var position = Volatile.Read(ref _enqueue);
        while (true)
        {
            var slot = _slots[position & _mask];
            var lag = Volatile.Read(ref slot.Sequence) - position;
            if (lag == 0)
            {
                var seen = Interlocked.CompareExchange(ref _enqueue, position + 1, position);
                if (seen == position)
                {
                    slot.Position = position;
                    return slot;
                }

                position = seen;
            }
            else if (lag < 0)
            {
                return null; // the writer has not handed this slot back yet: full
            }
            else
            {
                position = Volatile.Read(ref _enqueue);
            }
        }
    }

    /// <summary>Makes a filled slot visible to the writer.</summary>
    public static void Publish(QuerySlot slot) => Volatile.Write(ref slot.Sequence, slot.Position + 1);

    /// <summary>The writer's next slot, if it has been published.</summary>
    public QuerySlot? TryTake()
    {
        var slot = _slots[_dequeue & _mask];
        return Volatile.Read(ref slot.Sequence) == _dequeue + 1 ? slot : null;
    }

    /// <summary>Hands the slot <see cref="TryTake"/> returned back to the producers.</summary>
    public void Release(QuerySlot slot)
    {
        Volatile.Write(ref slot.Sequence, _dequeue + _slots.Length);
        _dequeue++;
    }
}

/// <summary>One sampled query and its response, copied off the query path.</summary>
internal sealed class QuerySlot(long sequence, int bytes)
{
    public long Sequence = sequence;
    public long Position;
    public readonly byte[] Data = new byte[bytes];
    public int QueryLength;
    public int ResponseLength;

    /// <summary>UTC <see cref="DateTime.Ticks"/> when the query was answered.</summary>
    public long Ticks;
    public UInt128 ClientAddress;
    public bool ClientIsIPv6;
    public int ClientPort;

    /// <summary>The listener it came in on (its address, port and protocol).</summary>
    public DnstapTap? Tap;
}
