using System.Buffers.Binary;
using GslbDns.Guards;

namespace GslbDns.Fuzz.Targets;

/// <summary>
/// Response rate limiting: the input is 8 bytes of settings (rates, slip, window, prefix lengths, table, start time
/// near the limiter's 2^18-second clock wrap) and then a sequence of operations, each a reply to a client (IPv4 or
/// IPv6, from a pool of neighbouring prefixes, an exempt prefix or raw bytes; NOERROR for one of four names and two
/// types, NXDOMAIN or an error), a repeat of the last reply, or a clock step. After every reply the invariants hold:
/// exempt prefixes and unlimited classes always pass, the table never changes size, no key (client prefix, class,
/// and name and type for NOERROR) gets more than its rate of replies in one second, a key seen for the first time
/// or untouched for longer than the window gets its reply, and exactly every slip'th limited reply is a slip.
/// The last three are checked only while the keys are few next to the table (a key that shares probed slots with
/// another could lose its bucket, which only gives it more replies, or, once in 2^18, share a tag); a "crowd" input
/// sprays any number of keys at the smallest table the server accepts, for the first three.
/// </summary>
public sealed class RateLimitTarget : IFuzzTarget
{
    private const int HeaderLength = 8;
    private const int MaxReplies = 4096;
    private const int MaxTrackedKeys = 32;
    private const int TrackedTableSize = 1 << 18;
    private const int CrowdTableSize = 1024;
    private const long MaxSpanMilliseconds = 200_000L * 1000; // well inside the limiter's 2^18 s clock
    private const uint ExemptV4 = (203u << 24) | (0u << 16) | (113u << 8); // 203.0.113.0/24
    private static readonly UInt128 ExemptV6 = new(0x2001_0db8_ffff_0000, 0); // 2001:db8:ffff::/48
    private static readonly byte[][] Names = [Wire("www.fuzz.test"), Wire("fuzz.test"), Wire("a.b.fuzz.test"), Wire("lb.fuzz.test")];

    /// <summary>Replies limited (dropped or slipped) so far, over all inputs: proof the invariants met limited replies.</summary>
    public int Limited { get; private set; }

    /// <summary>Of those, replies slipped.</summary>
    public int Slipped { get; private set; }

    public void Run(ReadOnlySpan<byte> input)
    {
        Span<byte> header = stackalloc byte[HeaderLength];
        input[..Math.Min(HeaderLength, input.Length)].CopyTo(header);
        var ops = input.Length > HeaderLength ? input[HeaderLength..] : [];
        var crowd = (header[7] & 1) != 0;
        var options = new RateLimitOptions
        {
            ResponsesPerSecond = Rate(header[0]),
            NxDomainsPerSecond = header[1] == 0xff ? null : Rate(header[1]),
            ErrorsPerSecond = header[2] == 0xff ? null : Rate(header[2]),
            Slip = header[3] % 11, // --rrl-slip takes 0..10
            WindowSeconds = header[4] < 240 ? 1 + (header[4] % 30) : 3600,
            IPv4PrefixLength = header[5] % 33,
            IPv6PrefixLength = header[6] % 129,
            TableSize = crowd ? CrowdTableSize : TrackedTableSize,
            Exempt = [(System.Net.IPAddress.Parse("203.0.113.0"), 24), (System.Net.IPAddress.Parse("2001:db8:ffff::"), 48)],
        };

        // Start just before a multiple of 2^18 s so the limiter's wrapped clock rolls over early in most inputs.
        var clock = new SteppedClock(((1L << 18) * (1 + (header[7] >> 7)) - ((header[7] >> 1) & 63)) * 1000);
        var start = clock.Milliseconds;
        var limiter = new ResponseRateLimiter(options, clock);
        var tableBytes = limiter.TableBytes;
        var model = new Model(options);

        var reader = new OpReader(ops);
        Reply last = default;
        var hasLast = false;
        var replies = 0;
        while (replies < MaxReplies && reader.TryNext(out var op))
        {
            if ((op & 3) == 3)
            {
                var step = reader.Next();
                var milliseconds = step < 128 ? step * 10L : (step - 127) * 1000L;
                if (clock.Milliseconds - start + milliseconds <= MaxSpanMilliseconds)
                {
                    clock.Milliseconds += milliseconds;
                }

                continue;
            }

            var mode = (op >> 3) & 3;
            int repeat;
            Reply reply;
            if (mode == 3)
            {
                if (!hasLast)
                {
                    continue;
                }

                reply = last;
                repeat = 1 + (reader.Next() & 63);
            }
            else
            {
                var isIPv6 = ((op >> 2) & 1) != 0;
                var responseClass = (ResponseClass)(op & 3);
                reply = new Reply(Address(mode, isIPv6, ref reader), isIPv6, responseClass, (op >> 5) & 3, (ushort)((op >> 7) == 0 ? 1 : 28));
                repeat = 1;
            }

            for (var i = 0; i < repeat && replies < MaxReplies; i++)
            {
                if (!crowd && !model.CanTrack(reply))
                {
                    break;
                }

                replies++;
                var verdict = limiter.Check(reply.Address, reply.IsIPv6, reply.Class, Names[reply.Name], reply.QType);
                Check.That(limiter.TableBytes == tableBytes, $"the table changed size: {tableBytes} -> {limiter.TableBytes} bytes");
                model.Verify(reply, verdict, clock.Milliseconds / 1000, tracked: !crowd);
                Limited += verdict == RateLimitVerdict.Send ? 0 : 1;
                Slipped += verdict == RateLimitVerdict.Slip ? 1 : 0;
            }

            last = reply;
            hasLast = true;
        }
    }

    /// <summary>A rate from one byte: mostly tiny (limits are reached in a few replies), sometimes large, sometimes the maximum.</summary>
    private static int Rate(byte b) => b < 128 ? b % 9 : b < 240 ? b : 1_000_000;

    private static UInt128 Address(int mode, bool isIPv6, ref OpReader reader)
    {
        if (mode == 2)
        {
            // Raw bytes: anything, exempt or not.
            Span<byte> raw = stackalloc byte[16];
            for (var i = 0; i < (isIPv6 ? 16 : 4); i++)
            {
                raw[i] = reader.Next();
            }

            return isIPv6 ? BinaryPrimitives.ReadUInt128BigEndian(raw) : BinaryPrimitives.ReadUInt32BigEndian(raw);
        }

        var a = reader.Next();
        if (mode == 1)
        {
            return isIPv6 ? ExemptV6 | ((UInt128)a << 64) | 1 : ExemptV4 | a;
        }

        // Neighbours: 198.51.0.0-198.51.7.31 (eight /24s, 32 hosts each); 2001:db8:0:X?Y0::Z with X inside the /56 and Y outside it.
        return isIPv6
            ? new UInt128(0x2001_0db8_0000_0000 | ((ulong)(a >> 4) << 8) | ((ulong)((a >> 2) & 3) << 4), (ulong)(a & 3))
            : (198u << 24) | (51u << 16) | ((uint)(a >> 5) << 8) | (uint)(a & 31);
    }

    private static byte[] Wire(string name)
    {
        var wire = new List<byte>();
        foreach (var label in name.Split('.'))
        {
            wire.Add((byte)label.Length);
            wire.AddRange(System.Text.Encoding.ASCII.GetBytes(label));
        }

        wire.Add(0);
        return [.. wire];
    }

    private readonly record struct Reply(UInt128 Address, bool IsIPv6, ResponseClass Class, int Name, ushort QType);

    /// <summary>What the limiter counts a reply against, computed independently of it.</summary>
    private readonly record struct Key(UInt128 Prefix, bool IsIPv6, ResponseClass Class, int Name, ushort QType);

    private sealed class KeyState
    {
        public long LastTouched;
        public long Second;
        public int SentInSecond;
        public int LimitedSinceSlip;
    }

    /// <summary>The invariants, kept per key from the settings alone (not from the limiter's arithmetic).</summary>
    private sealed class Model(RateLimitOptions options)
    {
        private readonly Dictionary<Key, KeyState> _keys = [];
        private readonly int _window = options.WindowSeconds;

        public bool CanTrack(Reply reply) => IsExempt(reply) || RateOf(reply.Class) <= 0 || _keys.Count < MaxTrackedKeys || _keys.ContainsKey(KeyOf(reply));

        public void Verify(Reply reply, RateLimitVerdict verdict, long second, bool tracked)
        {
            var rate = RateOf(reply.Class);
            if (IsExempt(reply))
            {
                Check.That(verdict == RateLimitVerdict.Send, $"an exempt client {reply.Address:X} got {verdict}");
                return;
            }

            if (rate <= 0)
            {
                Check.That(verdict == RateLimitVerdict.Send, $"{reply.Class} is unlimited (rate 0) but got {verdict}");
                return;
            }

            if (!tracked)
            {
                return;
            }

            var key = KeyOf(reply);
            if (!_keys.TryGetValue(key, out var state) || second - state.LastTouched > _window)
            {
                var what = state is null ? "first reply" : $"reply after {second - state.LastTouched} s untouched (window {_window} s)";
                Check.That(verdict == RateLimitVerdict.Send, $"{key}: the {what} got {verdict}");
                state = new KeyState { Second = second };
                _keys[key] = state;
            }

            state.LastTouched = second;
            if (state.Second != second)
            {
                state.Second = second;
                state.SentInSecond = 0;
            }

            if (verdict == RateLimitVerdict.Send)
            {
                state.SentInSecond++;
                Check.That(state.SentInSecond <= rate, $"{key}: {state.SentInSecond} replies sent in second {second} at {rate} per second");
                return;
            }

            state.LimitedSinceSlip++;
            var slips = options.Slip > 0 && state.LimitedSinceSlip == options.Slip;
            Check.That(verdict == (slips ? RateLimitVerdict.Slip : RateLimitVerdict.Drop), $"{key}: limited reply {state.LimitedSinceSlip} at slip {options.Slip} was {verdict}");
            if (slips)
            {
                state.LimitedSinceSlip = 0;
            }
        }

        private int RateOf(ResponseClass responseClass) => responseClass switch
        {
            ResponseClass.Normal => options.ResponsesPerSecond,
            ResponseClass.NxDomain => options.NxDomainsPerSecond ?? options.ResponsesPerSecond,
            _ => options.ErrorsPerSecond ?? options.ResponsesPerSecond,
        };

        private Key KeyOf(Reply reply)
        {
            var bits = reply.IsIPv6 ? 128 : 32;
            var length = reply.IsIPv6 ? options.IPv6PrefixLength : options.IPv4PrefixLength;
            var prefix = length == 0 ? UInt128.Zero : (reply.Address >> (bits - length)) << (bits - length);
            return reply.Class == ResponseClass.Normal
                ? new Key(prefix, reply.IsIPv6, reply.Class, reply.Name, reply.QType)
                : new Key(prefix, reply.IsIPv6, reply.Class, -1, 0);
        }

        private static bool IsExempt(Reply reply) => reply.IsIPv6
            ? reply.Address >> 80 == ExemptV6 >> 80
            : (uint)reply.Address >> 8 == ExemptV4 >> 8;
    }

    /// <summary>Reads operation bytes; past the end every byte is 0 (an operation cut short still runs).</summary>
    private ref struct OpReader(ReadOnlySpan<byte> bytes)
    {
        private readonly ReadOnlySpan<byte> _bytes = bytes;
        private int _next;

        public bool TryNext(out byte b)
        {
            b = _next < _bytes.Length ? _bytes[_next] : (byte)0;
            return _next++ < _bytes.Length;
        }

        public byte Next() => _next < _bytes.Length ? _bytes[_next++] : (byte)0;
    }

    /// <summary>A clock that moves only when the input says so, in milliseconds.</summary>
    private sealed class SteppedClock(long milliseconds) : TimeProvider
    {
        public long Milliseconds { get; set; } = milliseconds;

        public override long TimestampFrequency => 1000;

        public override long GetTimestamp() => Milliseconds;
    }
}
