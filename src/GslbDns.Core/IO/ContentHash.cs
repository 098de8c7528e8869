using System.IO.Hashing;
using System.Text;

namespace GslbDns.IO;

/// <summary>
/// What a reload compares to tell whether a file (or the GSLB config as a whole) holds other octets than when it was
/// loaded: XXH128 of the content. Not SHA-256: nothing here defends against a chosen collision (whoever can write the
/// files decides what is served anyway), and SHA-256 on Linux goes through OpenSSL, whose libcrypto,
/// libssl and System.Security.Cryptography pages were ~5.5 MiB of the DNS server's resident memory for this alone.
/// </summary>
public static class ContentHash
{
    /// <summary>The hash of <paramref name="content"/> (16 bytes).</summary>
    public static byte[] Of(ReadOnlySpan<byte> content) => XxHash128.Hash(content);

    /// <summary>A hash over several texts, each ended by a zero octet so that ("ab", "c") and ("a", "bc") differ.</summary>
    public sealed class Builder
    {
        private readonly XxHash128 _hash = new();

        public void Add(string text)
        {
            ArgumentNullException.ThrowIfNull(text);
            _hash.Append(Encoding.UTF8.GetBytes(text));
            _hash.Append([0]);
        }

        public byte[] Finish() => _hash.GetHashAndReset();
    }
}
