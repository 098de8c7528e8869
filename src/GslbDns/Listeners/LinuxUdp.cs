using System.Runtime.InteropServices;

namespace GslbDns.Server.Listeners;

/// <summary>
/// The few libc calls the batched UDP loop needs (Linux only): recvmmsg and sendmmsg move up to a batch of datagrams per
/// system call, which is most of what gdnsd saves over a one-datagram-per-call loop. The structs are the x86-64/arm64
/// glibc and musl layouts; sequential layout with pointer-sized fields gives the C padding.
/// </summary>
internal static partial class LinuxUdp
{
    public const int MsgDontWait = 0x40;
    public const int MsgTrunc = 0x20;
    public const int MsgWaitForOne = 0x10000;
    public const int ShutRd = 0;
    public const int FGetFl = 3;
    public const int FSetFl = 4;
    public const int ONonBlock = 0x800;
    public const int EAgain = 11;
    public const int EIntr = 4;
    public const ushort AfInet = 2;
    public const ushort AfInet6 = 10;

    /// <summary>sizeof(struct sockaddr_storage).</summary>
    public const int SockaddrStorageSize = 128;

    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public nint Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct MsgHdr
    {
        public nint Name;
        public uint NameLength;
        public nint Iov;
        public nuint IovLength;
        public nint Control;
        public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct MMsgHdr
    {
        public MsgHdr Header;

        /// <summary>Bytes received (recvmmsg) or sent (sendmmsg) for this message.</summary>
        public uint Length;
    }

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial int recvmmsg(int fd, MMsgHdr* messages, uint count, int flags, nint timeout);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial int sendmmsg(int fd, MMsgHdr* messages, uint count, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int fcntl(int fd, int command, int argument);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int shutdown(int fd, int how);

    /// <summary>Batched I/O is used on Linux on 64-bit processes (the struct layouts above), unless turned off.</summary>
    public static bool Available => OperatingSystem.IsLinux() && Environment.Is64BitProcess;
}
