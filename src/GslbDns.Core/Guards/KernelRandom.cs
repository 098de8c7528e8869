using System.Runtime.InteropServices;

namespace GslbDns.Guards;

/// <summary>
/// Secret keys (the cookie secret, the rate limiter's hash key) from the kernel's CSPRNG, getrandom(2). Not
/// RandomNumberGenerator: on Linux its first use loads System.Security.Cryptography and OpenSSL (libcrypto, libssl),
/// ~5 MiB of the DNS server's resident memory for 16 random bytes, in a process that uses no other cryptography.
/// </summary>
public static partial class KernelRandom
{
    private const int EINTR = 4;

    public static unsafe void Fill(Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            var filled = 0;
            while (filled < buffer.Length)
            {
                // Flags 0: block until the pool is initialised at boot, then never; at most 256 bytes per call are atomic.
                var n = GetRandom(p + filled, (nuint)(buffer.Length - filled), 0);
                if (n < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == EINTR)
                    {
                        continue;
                    }

                    throw new IOException($"getrandom failed: {Marshal.GetPInvokeErrorMessage(errno)}");
                }

                filled += (int)n;
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "getrandom", SetLastError = true)]
    private static unsafe partial nint GetRandom(byte* buffer, nuint length, uint flags);
}
