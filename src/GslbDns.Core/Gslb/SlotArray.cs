namespace GslbDns.Gslb;

/// <summary>
/// An immutable array indexed by endpoint slot, held in fixed-size pages. A new version (<see cref="SlotArrayBuilder{T}"/>)
/// shares every page it did not change, so publishing one changed verdict among 300,000 endpoints copies one page and the
/// page table, not the whole array; a read is two array loads, without hashing or locks.
/// </summary>
public sealed class SlotArray<T>
    where T : struct
{
    internal const int PageBits = 10;
    internal const int PageSize = 1 << PageBits;
    internal const int PageMask = PageSize - 1;

    private readonly T[][] _pages;

    internal SlotArray(T[][] pages, int length)
    {
        _pages = pages;
        Length = length;
    }

    public int Length { get; }

    /// <summary>The value in <paramref name="slot"/> (0 .. <see cref="Length"/> - 1).</summary>
    public T this[int slot] => _pages[slot >> PageBits][slot & PageMask];

    internal T[][] Pages => _pages;
}

/// <summary>Makes <see cref="SlotArray{T}"/>s.</summary>
public static class SlotArray
{
    /// <summary>An array of <paramref name="length"/> slots holding <paramref name="initial"/>, all pages one shared page until written.</summary>
    public static SlotArray<T> Filled<T>(int length, T initial)
        where T : struct
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        var page = new T[SlotArray<T>.PageSize];
        Array.Fill(page, initial);
        var pages = new T[(length + SlotArray<T>.PageMask) >> SlotArray<T>.PageBits][];
        Array.Fill(pages, page);
        return new SlotArray<T>(pages, length);
    }
}

/// <summary>
/// Writes a new version of a <see cref="SlotArray{T}"/>: a page is copied the first time it is written after the last
/// <see cref="ToArray"/>, so the arrays handed out never change. Not thread-safe: one writer.
/// </summary>
public sealed class SlotArrayBuilder<T>
    where T : struct
{
    private readonly T[][] _pages;
    private readonly bool[] _owned;

    public SlotArrayBuilder(SlotArray<T> from)
    {
        ArgumentNullException.ThrowIfNull(from);
        _pages = (T[][])from.Pages.Clone();
        _owned = new bool[_pages.Length];
        Length = from.Length;
    }

    public int Length { get; }

    public T this[int slot]
    {
        get => _pages[slot >> SlotArray<T>.PageBits][slot & SlotArray<T>.PageMask];
        set
        {
            var page = slot >> SlotArray<T>.PageBits;
            if (!_owned[page])
            {
                _pages[page] = (T[])_pages[page].Clone();
                _owned[page] = true;
            }

            _pages[page][slot & SlotArray<T>.PageMask] = value;
        }
    }

    /// <summary>The current values as an immutable array; later writes copy the pages they touch first.</summary>
    public SlotArray<T> ToArray()
    {
        Array.Clear(_owned);
        return new SlotArray<T>((T[][])_pages.Clone(), Length);
    }
}
