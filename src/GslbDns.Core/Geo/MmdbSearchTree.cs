using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Runtime.CompilerServices;
using System.Text;

namespace GslbDns.Geo;

/// <summary>
/// Read-only access to a MaxMind DB file (search tree and data section), for walking every network
/// once at snapshot build time (<see cref="GeoDecisionTree"/>). MaxMind.Db 5.2.0 offers
/// <c>FindAll</c>, which yields each network with a freshly allocated address, walks the aliased
/// IPv4 subtrees (::/96, ::ffff:0:0/96, 2002::/16) once each and decodes whole records through
/// reflection (measured here: over 3 minutes for GeoLite2-City); reading the nodes ourselves lets the
/// compiler stop at the first node whose whole subtree shares one decision, and decoding only the five
/// fields the locator uses, with strings cached by offset, takes well under a second.
/// </summary>
/// <remarks>
/// The format is MaxMind DB 2.0 (https://maxmind.github.io/MaxMind-DB/). Build-time only and
/// single-threaded; never reached from the query path. Reads what <see cref="GeoIpDatabase"/> reads
/// from a City record: location.latitude/longitude, continent.code, country.iso_code,
/// subdivisions[0].iso_code and city.names.en.
/// </remarks>
internal sealed unsafe class MmdbSearchTree : IDisposable
{
    private static readonly byte[] MetadataMarker = [0xAB, 0xCD, 0xEF, .. "MaxMind.com"u8];

    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _base;
    private readonly long _length;
    private readonly int _recordSize;
    private readonly long _dataStart;
    private readonly Dictionary<(double, double, long, long, long, long), int> _interned = [];
    private readonly List<GeoLocation> _distinct = [];
    private int _decoded;
    private readonly Dictionary<long, string> _strings = [];
    private readonly Dictionary<long, string?> _codes = [];
    private readonly Dictionary<long, string?> _cities = [];

    private MmdbSearchTree(string path)
    {
        _file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        try
        {
            _view = _file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* pointer = null;
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            _base = pointer + _view.PointerOffset;
            _length = (long)_view.SafeMemoryMappedViewHandle.ByteLength - _view.PointerOffset;

            long metadata = FindMetadata(path);
            long nodeCount = -1;
            int ipVersion = 0;
            int recordSize = 0;
            ForEachMapEntry(metadata, 0, (key, value) =>
            {
                if (key == "node_count")
                {
                    nodeCount = (long)ReadUnsigned(value, 0);
                }
                else if (key == "record_size")
                {
                    recordSize = (int)ReadUnsigned(value, 0);
                }
                else if (key == "ip_version")
                {
                    ipVersion = (int)ReadUnsigned(value, 0);
                }
            });
            _recordSize = recordSize;
            if (nodeCount is < 0 or > uint.MaxValue || _recordSize is not (24 or 28 or 32) || ipVersion is not (4 or 6))
            {
                throw new InvalidDataException($"{path}: not a MaxMind DB search tree this reader knows (node_count {nodeCount}, record_size {_recordSize}, ip_version {ipVersion})");
            }

            NodeCount = (uint)nodeCount;
            IsIPv6 = ipVersion == 6;
            _dataStart = (nodeCount * _recordSize / 4) + 16;

            // As MaxMind's reader does: IPv4 lookups in an IPv6 tree start after 96 zero bits.
            uint node = 0;
            for (int i = 0; i < 96 && IsIPv6 && node < NodeCount; i++)
            {
                node = Child(node, 0);
            }

            IPv4Start = node;
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Records below this are nodes; equal means "no data"; above, a data record.</summary>
    public uint NodeCount { get; }

    public bool IsIPv6 { get; }

    /// <summary>The record IPv4 lookups start from (node 0 in an IPv4 database).</summary>
    public uint IPv4Start { get; }

    /// <summary>Distinct data records decoded so far.</summary>
    public int DecodedRecords => _decoded;

    public static MmdbSearchTree Open(string path) => new(path);

    /// <summary>The record in <paramref name="node"/>'s left (bit 0) or right (bit 1) half.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // runs once at start-up, over millions of nodes: no tier-0 pass
    public uint Child(uint node, int bit)
    {
        byte* p = _base + ((long)node * _recordSize / 4);
        switch (_recordSize)
        {
            case 24:
                p += bit * 3;
                return (uint)(p[0] << 16 | p[1] << 8 | p[2]);
            case 28:
                return bit == 0
                    ? (uint)((p[3] & 0xF0) << 20 | p[0] << 16 | p[1] << 8 | p[2])
                    : (uint)((p[3] & 0x0F) << 24 | p[4] << 16 | p[5] << 8 | p[6]);
            default:
                p += bit * 4;
                return (uint)(p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]);
        }
    }

    /// <summary>
    /// The number of data record <paramref name="record"/>'s location in <see cref="Locations"/>, or -1
    /// when the record has no coordinates (the locator then uses the default) or cannot be decoded.
    /// Decodes each time (the caller keeps what it needs per record); records made of the same
    /// point and shared maps get one number.
    /// </summary>
    public int LocationNumberOf(uint record)
    {
        _decoded++;
        try
        {
            return Decode(_dataStart + (record - NodeCount - 16));
        }
        catch (InvalidDataException)
        {
            // As GeoIpDatabase: a damaged record places its clients at the default location.
            return -1;
        }
    }

    /// <summary>The distinct locations numbered so far.</summary>
    public IReadOnlyList<GeoLocation> Locations => _distinct;

    public void Dispose()
    {
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }

        _file.Dispose();
    }

    // Keys compared as bytes; the maps records share through pointers (a continent, a country, a
    // city, a point) decoded once per offset: a whole-database decode costs a fraction of what
    // decoding every record's maps would.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // runs once at start-up, over millions of nodes: no tier-0 pass
    private int Decode(long offset)
    {
        (double Latitude, double Longitude)? point = null;
        (long Continent, long Country, long Subdivision, long City) from = (-1, -1, -1, -1);
        string? continent = null;
        string? country = null;
        string? subdivision = null;
        string? city = null;
        offset = Resolve(offset, 0);
        var (type, size, next) = Control(offset);
        if (type != 7)
        {
            throw new InvalidDataException($"expected a map at data offset {offset}, found type {type}");
        }

        for (long i = 0; i < size; i++)
        {
            ReadOnlySpan<byte> key = KeyAt(next);
            long value = Skip(next);
            if (key.SequenceEqual("location"u8))
            {
                point = PointIn(value); // a record's own map (accuracy radius, time zone): nothing to share
            }
            else if (key.SequenceEqual("continent"u8))
            {
                continent = Cached(_codes, value, CodeIn, out from.Continent);
            }
            else if (key.SequenceEqual("country"u8))
            {
                country = Cached(_codes, value, CodeIn, out from.Country);
            }
            else if (key.SequenceEqual("subdivisions"u8))
            {
                long first = FirstArrayElement(value);
                subdivision = first < 0 ? null : Cached(_codes, first, CodeIn, out from.Subdivision);
            }
            else if (key.SequenceEqual("city"u8))
            {
                city = Cached(_cities, value, CityNameIn, out from.City);
            }

            next = Skip(value);
        }

        if (point is not { } coordinates)
        {
            return -1;
        }

        // Interned by its point and the shared maps its codes came from (cheap to hash); equal values from other maps are another
        // number, which costs a leaf in the walk, not a wrong decision.
        var identity = (coordinates.Latitude, coordinates.Longitude, from.Continent, from.Country, from.Subdivision, from.City);
        if (!_interned.TryGetValue(identity, out int number))
        {
            number = _distinct.Count;
            _distinct.Add(new GeoLocation(coordinates.Latitude, coordinates.Longitude, continent, country, subdivision, city));
            _interned[identity] = number;
        }

        return number;
    }

    private T Cached<T>(Dictionary<long, T> cache, long offset, Func<long, T> read, out long resolved)
    {
        offset = Resolve(offset, 0);
        resolved = offset;
        if (!cache.TryGetValue(offset, out T? value))
        {
            value = read(offset);
            cache[offset] = value;
        }

        return value;
    }

    // location.latitude/longitude, both or nothing.
    private (double, double)? PointIn(long map)
    {
        double? latitude = null;
        double? longitude = null;
        foreach (var (key, value) in Entries(map))
        {
            if (key.AsSpan().SequenceEqual("latitude"u8))
            {
                latitude = ReadDouble(value);
            }
            else if (key.AsSpan().SequenceEqual("longitude"u8))
            {
                longitude = ReadDouble(value);
            }
        }

        return latitude is { } lat && longitude is { } lon ? (lat, lon) : null;
    }

    // The "code" (continent) or "iso_code" (country, subdivision) of a map.
    private string? CodeIn(long map)
    {
        foreach (var (key, value) in Entries(map))
        {
            if (key.AsSpan().SequenceEqual("code"u8) || key.AsSpan().SequenceEqual("iso_code"u8))
            {
                return ReadString(value);
            }
        }

        return null;
    }

    // city.names.en
    private string? CityNameIn(long map)
    {
        foreach (var (key, value) in Entries(map))
        {
            if (key.AsSpan().SequenceEqual("names"u8))
            {
                foreach (var (language, name) in Entries(value))
                {
                    if (language.AsSpan().SequenceEqual("en"u8))
                    {
                        return ReadString(name);
                    }
                }
            }
        }

        return null;
    }

    // A map's keys (copied: these run once per shared map, not per record) and the offsets of their values.
    private List<(byte[] Key, long Value)> Entries(long offset)
    {
        offset = Resolve(offset, 0);
        var (type, size, next) = Control(offset);
        if (type != 7)
        {
            throw new InvalidDataException($"expected a map at data offset {offset}, found type {type}");
        }

        var entries = new List<(byte[], long)>((int)Math.Min(size, 64));
        for (long i = 0; i < size; i++)
        {
            byte[] key = KeyAt(next).ToArray();
            long value = Skip(next);
            entries.Add((key, value));
            next = Skip(value);
        }

        return entries;
    }

    private ReadOnlySpan<byte> KeyAt(long offset)
    {
        offset = Resolve(offset, 0);
        var (type, size, payload) = Control(offset);
        if (type != 2)
        {
            throw new InvalidDataException($"map key at {offset} is not a string");
        }

        return Bytes(payload, size);
    }

    // Calls `entry` with each key and the offset of its value; follows a pointer to the map first.
    private void ForEachMapEntry(long offset, int depth, Action<string, long> entry)
    {
        offset = Resolve(offset, depth);
        var (type, size, payload) = Control(offset);
        if (type != 7)
        {
            throw new InvalidDataException($"expected a map at data offset {offset}, found type {type}");
        }

        long next = payload;
        for (int i = 0; i < size; i++)
        {
            string key = ReadString(next) ?? throw new InvalidDataException($"map key at {next} is not a string");
            long value = Skip(next);
            entry(key, value);
            next = Skip(value);
        }
    }

    private long FirstArrayElement(long offset)
    {
        offset = Resolve(offset, 0);
        var (type, size, payload) = Control(offset);
        return type == 11 && size > 0 ? payload : -1;
    }

    private string? ReadString(long offset)
    {
        offset = Resolve(offset, 0);
        if (_strings.TryGetValue(offset, out string? known))
        {
            return known;
        }

        var (type, size, payload) = Control(offset);
        if (type != 2)
        {
            return null;
        }

        string text = Encoding.UTF8.GetString(Bytes(payload, size));
        _strings[offset] = text;
        return text;
    }

    private double? ReadDouble(long offset)
    {
        offset = Resolve(offset, 0);
        var (type, size, payload) = Control(offset);
        return type switch
        {
            3 when size == 8 => BinaryPrimitives.ReadDoubleBigEndian(Bytes(payload, 8)),
            15 when size == 4 => BinaryPrimitives.ReadSingleBigEndian(Bytes(payload, 4)),
            _ => null,
        };
    }

    private ulong ReadUnsigned(long offset, int depth)
    {
        offset = Resolve(offset, depth);
        var (type, size, payload) = Control(offset);
        if (type is not (5 or 6 or 9) || size > 8)
        {
            throw new InvalidDataException($"expected an unsigned integer at data offset {offset}, found type {type}");
        }

        ulong value = 0;
        foreach (byte b in Bytes(payload, size))
        {
            value = (value << 8) | b;
        }

        return value;
    }

    // A pointer's target (pointers never point to pointers, but a damaged file might: bounded).
    private long Resolve(long offset, int depth)
    {
        while (true)
        {
            byte control = ByteAt(offset);
            if (control >> 5 != 1)
            {
                return offset;
            }

            if (++depth > 8)
            {
                throw new InvalidDataException($"pointer chain at data offset {offset}");
            }

            offset = _dataStart + PointerValue(offset, out _);
        }
    }

    private long PointerValue(long offset, out long end)
    {
        byte control = ByteAt(offset);
        int sizeBits = (control >> 3) & 3;
        long v = control & 7;
        long p = offset + 1;
        long value = sizeBits switch
        {
            0 => (v << 8) | ByteAt(p),
            1 => ((v << 16) | ((long)ByteAt(p) << 8) | ByteAt(p + 1)) + 2048,
            2 => ((v << 24) | ((long)ByteAt(p) << 16) | ((long)ByteAt(p + 1) << 8) | ByteAt(p + 2)) + 526336,
            _ => ((long)ByteAt(p) << 24) | ((long)ByteAt(p + 1) << 16) | ((long)ByteAt(p + 2) << 8) | ByteAt(p + 3),
        };
        end = p + sizeBits + 1;
        return value;
    }

    // Type, size and where the payload starts, for the field at `offset` (not a pointer).
    private (int Type, long Size, long Payload) Control(long offset)
    {
        byte control = ByteAt(offset);
        int type = control >> 5;
        long p = offset + 1;
        if (type == 0)
        {
            type = 7 + ByteAt(p);
            p++;
        }

        long size = control & 0x1F;
        switch (size)
        {
            case 29:
                size = 29 + ByteAt(p);
                p += 1;
                break;
            case 30:
                size = 285 + ((long)ByteAt(p) << 8 | ByteAt(p + 1));
                p += 2;
                break;
            case 31:
                size = 65821 + ((long)ByteAt(p) << 16 | (long)ByteAt(p + 1) << 8 | ByteAt(p + 2));
                p += 3;
                break;
        }

        return (type, size, p);
    }

    // The offset just past the field at `offset` (a pointer is skipped, not followed).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // runs once at start-up, over millions of nodes: no tier-0 pass
    private long Skip(long offset)
    {
        if (ByteAt(offset) >> 5 == 1)
        {
            PointerValue(offset, out long end);
            return end;
        }

        var (type, size, payload) = Control(offset);
        switch (type)
        {
            case 7:
                for (long i = 0; i < size * 2; i++)
                {
                    payload = Skip(payload);
                }

                return payload;
            case 11:
                for (long i = 0; i < size; i++)
                {
                    payload = Skip(payload);
                }

                return payload;
            case 14:
                return payload; // boolean: the value is the size
            default:
                return payload + size;
        }
    }

    private byte ByteAt(long offset)
    {
        if ((ulong)offset >= (ulong)_length)
        {
            throw new InvalidDataException($"offset {offset} is past the end of the database");
        }

        return _base[offset];
    }

    private ReadOnlySpan<byte> Bytes(long offset, long count)
    {
        if (offset < 0 || count < 0 || offset + count > _length)
        {
            throw new InvalidDataException($"{count} bytes at {offset} run past the end of the database");
        }

        return new ReadOnlySpan<byte>(_base + offset, (int)count);
    }

    private long FindMetadata(string path)
    {
        // The marker is within the last 128 KiB (the format's own limit), the last occurrence counts.
        var all = new ReadOnlySpan<byte>(_base, (int)Math.Min(_length, int.MaxValue));
        int window = (int)Math.Min(all.Length, 128 * 1024);
        int at = all[^window..].LastIndexOf(MetadataMarker);
        if (at < 0)
        {
            throw new InvalidDataException($"{path} has no MaxMind DB metadata marker");
        }

        return all.Length - window + at + MetadataMarker.Length;
    }
}
