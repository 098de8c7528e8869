using System.Globalization;
using System.Runtime.InteropServices;

namespace GslbDns.IO;

/// <summary>
/// Reads a whole file an operator's configuration points at (a zone file, an <c>$INCLUDE</c>), refusing before it
/// reads what is not a regular file and what is larger than a bound: <c>/dev/zero</c> would fill memory, a FIFO
/// would block the reload that opened it, <c>/dev/stdin</c> would wait for a terminal. The failure is an
/// <see cref="IOException"/> whose message says why, for the caller to put after the file's name.
/// </summary>
public static partial class BoundedFile
{
    private const int AtCurrentDirectory = -100;
    private const uint StatxType = 0x1;
    private const int StatxModeOffset = 28;
    private const int StatxBufferSize = 256;
    private const int TypeMask = 0xF000; // S_IFMT, in stx_mode

    public static byte[] ReadAllBytes(string path, long maxBytes)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Kind(path) is { } kind)
        {
            throw new IOException($"not a regular file ({kind})");
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan);
        var length = stream.Length;
        if (length > maxBytes)
        {
            throw new IOException(TooLarge(length, maxBytes));
        }

        // Read what the file holds now, not what its length said a moment ago: a file growing past the bound while
        // it is read is refused too.
        var bytes = new byte[length];
        stream.ReadExactly(bytes);
        if (stream.ReadByte() >= 0)
        {
            throw new IOException(TooLarge(stream.Length, maxBytes));
        }

        return bytes;
    }

    private static string TooLarge(long length, long maxBytes) =>
        string.Create(CultureInfo.InvariantCulture, $"{length} bytes, more than the {maxBytes} bytes allowed");

    /// <summary>
    /// What <paramref name="path"/> is when it is not a regular file (symbolic links followed); null for a regular
    /// file, a missing one (opening it then says so) or where the type cannot be asked (no Linux statx).
    /// </summary>
    private static string? Kind(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return Directory.Exists(path) ? "a directory" : null;
        }

        Span<byte> buffer = stackalloc byte[StatxBufferSize];
        int result;
        try
        {
            result = Statx(AtCurrentDirectory, path, 0, StatxType, ref MemoryMarshal.GetReference(buffer));
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return Directory.Exists(path) ? "a directory" : null; // a libc without statx (glibc < 2.28)
        }

        if (result != 0)
        {
            return null;
        }

        return (MemoryMarshal.Read<ushort>(buffer[StatxModeOffset..]) & TypeMask) switch
        {
            0x8000 => null,
            0x4000 => "a directory",
            0x2000 => "a character device",
            0x6000 => "a block device",
            0x1000 => "a FIFO",
            0xC000 => "a socket",
            _ => "an unknown kind of file",
        };
    }

    // statx(2): its struct has one layout on every architecture, unlike stat's. The mode is a u16 at offset 28.
    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int directory, string path, int flags, uint mask, ref byte buffer);
}
