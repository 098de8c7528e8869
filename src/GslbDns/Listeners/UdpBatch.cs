using System.Runtime.InteropServices;

namespace GslbDns.Server.Listeners;

/// <summary>
/// One receive thread's recvmmsg/sendmmsg state, in native memory allocated once when the thread starts: per slot a
/// request buffer, a reply buffer, a sockaddr_storage and their iovecs, plus the two mmsghdr arrays. Native memory
/// needs no pinning and is never touched by the GC; pages of the 64 KiB buffers a datagram never reaches stay unbacked.
/// </summary>
internal sealed unsafe class UdpBatch : IDisposable
{
    /// <summary>Room for any datagram (a UDP payload is at most 65,507 bytes), so nothing arrives truncated.</summary>
    public const int SlotSize = 65536;

    private readonly byte* _requests;
    private readonly byte* _replies;
    private readonly byte* _names;
    private readonly LinuxUdp.IoVec* _receiveIov;
    private readonly LinuxUdp.IoVec* _sendIov;

    public UdpBatch(int count)
    {
        Count = count;
        _requests = (byte*)NativeMemory.Alloc((nuint)count * SlotSize);
        _replies = (byte*)NativeMemory.Alloc((nuint)count * SlotSize);
        _names = (byte*)NativeMemory.AllocZeroed((nuint)count * LinuxUdp.SockaddrStorageSize);
        _receiveIov = (LinuxUdp.IoVec*)NativeMemory.AllocZeroed((nuint)(count * sizeof(LinuxUdp.IoVec)));
        _sendIov = (LinuxUdp.IoVec*)NativeMemory.AllocZeroed((nuint)(count * sizeof(LinuxUdp.IoVec)));
        Receive = (LinuxUdp.MMsgHdr*)NativeMemory.AllocZeroed((nuint)(count * sizeof(LinuxUdp.MMsgHdr)));
        Send = (LinuxUdp.MMsgHdr*)NativeMemory.AllocZeroed((nuint)(count * sizeof(LinuxUdp.MMsgHdr)));
        for (var i = 0; i < count; i++)
        {
            _receiveIov[i].Base = (nint)(_requests + ((long)i * SlotSize));
            _receiveIov[i].Length = SlotSize;
            Receive[i].Header.Name = (nint)(_names + (i * LinuxUdp.SockaddrStorageSize));
            Receive[i].Header.Iov = (nint)(_receiveIov + i);
            Receive[i].Header.IovLength = 1;
            Send[i].Header.Iov = (nint)(_sendIov + i);
            Send[i].Header.IovLength = 1;
        }
    }

    public int Count { get; }

    public LinuxUdp.MMsgHdr* Receive { get; }

    public LinuxUdp.MMsgHdr* Send { get; }

    /// <summary>Before each recvmmsg: the kernel shrinks msg_namelen to the address it wrote, and sets msg_flags.</summary>
    public void ResetForReceive()
    {
        for (var i = 0; i < Count; i++)
        {
            Receive[i].Header.NameLength = LinuxUdp.SockaddrStorageSize;
            Receive[i].Header.Flags = 0;
        }
    }

    public ReadOnlySpan<byte> Request(int slot) => new(_requests + ((long)slot * SlotSize), (int)Receive[slot].Length);

    public ReadOnlySpan<byte> Peer(int slot) => new(_names + (slot * LinuxUdp.SockaddrStorageSize), (int)Receive[slot].Header.NameLength);

    public bool Truncated(int slot) => (Receive[slot].Header.Flags & LinuxUdp.MsgTrunc) != 0;

    /// <summary>Queues a reply to the sender of <paramref name="slot"/> as send entry <paramref name="entry"/>: copied out of the engine's buffer, the peer address reused.</summary>
    public void QueueReply(int entry, int slot, ReadOnlySpan<byte> reply)
    {
        var buffer = _replies + ((long)slot * SlotSize);
        reply.CopyTo(new Span<byte>(buffer, SlotSize));
        _sendIov[entry].Base = (nint)buffer;
        _sendIov[entry].Length = (nuint)reply.Length;
        Send[entry].Header.Name = Receive[slot].Header.Name;
        Send[entry].Header.NameLength = Receive[slot].Header.NameLength;
    }

    public void Dispose()
    {
        NativeMemory.Free(_requests);
        NativeMemory.Free(_replies);
        NativeMemory.Free(_names);
        NativeMemory.Free(_receiveIov);
        NativeMemory.Free(_sendIov);
        NativeMemory.Free(Receive);
        NativeMemory.Free(Send);
    }
}
