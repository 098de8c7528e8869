using System.Buffers;
using System.Buffers.Binary;

namespace GslbDns.Gslb.Policies;

/// <summary>
/// <c>weighted</c>: picks <c>count</c> candidates at random without replacement, each draw in
/// proportion to <see cref="GslbState.WeightOf"/>. Weight 0 is never picked unless every candidate
/// has weight 0, in which case all are equally likely (as Route 53 does), so zeroing every weight
/// cannot black-hole a service.
/// </summary>
/// <remarks>
/// <para>
/// Method: each candidate gets the key <c>ln(u) / weight</c> for a uniform <c>u</c> in (0, 1], and the
/// largest keys win (Efraimidis and Spirakis, 2006). That is exactly successive weighted sampling
/// without replacement, in one pass, with no running totals to overflow.
/// </para>
/// <para>
/// Sticky: <c>u</c> is not random but a stable hash of the client's subnet (/24 for IPv4, /56 for
/// IPv6), the service name and the candidate's endpoint id. A subnet therefore keeps its answer while
/// the candidates are unchanged, and because each candidate's key depends only on its own id
/// (rendezvous hashing), a change moves only the clients it must: those whose endpoint left, or
/// those a new endpoint now outranks.
/// </para>
/// </remarks>
public sealed class WeightedPolicy : ISelectionPolicy
{
    public const string TypeName = "weighted";

    /// <summary>The options this policy takes besides <c>type</c>.</summary>
    internal static readonly string[] OptionNames = ["count", "sticky"];

    public const byte StickyPrefixV4 = 24;
    public const byte StickyPrefixV6 = 56;

    private readonly Random _random;

    public WeightedPolicy(int count, bool sticky)
        : this(count, sticky, Random.Shared)
    {
    }

    /// <summary>Reads this policy's options from its step; errors go to the step's file.</summary>
    internal static WeightedPolicy Read(PolicyOptions options) => new(options.Count(1), options.Bool("sticky", false));

    /// <summary>For tests: a seeded <paramref name="random"/> (not thread-safe, so not for serving).</summary>
    internal WeightedPolicy(int count, bool sticky, Random random)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        Count = count;
        Sticky = sticky;
        _random = random;
    }

    public int Count { get; }

    public bool Sticky { get; }

    public string Name => TypeName;

    public int Apply(Span<int> candidates, int count, SelectionContext context)
    {
        if (count <= 1)
        {
            // Nothing to choose between; returning early also keeps a sticky answer from narrowing
            // the ECS scope when the subnet made no difference.
            return count;
        }

        var endpoints = context.Service.Endpoints;
        var state = context.State;
        var positive = 0;
        for (var i = 0; i < count; i++)
        {
            if (state.WeightOf(endpoints[candidates[i]]) > 0)
            {
                positive++;
            }
        }

        var allZero = positive == 0;
        var take = Math.Min(Count, allZero ? count : positive);
        var subnetHash = Sticky ? SubnetHash(context) : 0;

        double[]? rented = null;
        Span<double> keys = count <= DataCenterRanking.StackLimit ? stackalloc double[DataCenterRanking.StackLimit] : (rented = ArrayPool<double>.Shared.Rent(count));
        try
        {
            for (var i = 0; i < count; i++)
            {
                var endpoint = endpoints[candidates[i]];
                var weight = allZero ? 1 : state.WeightOf(endpoint);
                if (weight <= 0)
                {
                    keys[i] = double.NegativeInfinity;
                    continue;
                }

                var u = Sticky
                    ? StableHash.ToUnitInterval(StableHash.Finish(StableHash.Add(subnetHash, endpoint.Id)))
                    : 1.0 - _random.NextDouble();
                keys[i] = Math.Log(u) / weight;
            }

            // Partial selection sort: take is at most 64, and the winners come out in draw order.
            for (var slot = 0; slot < take; slot++)
            {
                var best = slot;
                for (var i = slot + 1; i < count; i++)
                {
                    if (keys[i] > keys[best])
                    {
                        best = i;
                    }
                }

                (candidates[slot], candidates[best]) = (candidates[best], candidates[slot]);
                (keys[slot], keys[best]) = (keys[best], keys[slot]);
            }
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<double>.Shared.Return(rented);
            }
        }

        if (allZero)
        {
            context.Note("every weight is 0: equal chances");
        }

        return take;
    }

    /// <summary>Hash of the client's subnet and the service name; records that the answer depends on that subnet.</summary>
    private static ulong SubnetHash(SelectionContext context)
    {
        Span<byte> bytes = stackalloc byte[17];
        UInt128 subnet;
        if (context.ClientIsIPv6)
        {
            subnet = context.ClientAddress & (UInt128.MaxValue << (128 - StickyPrefixV6));
            bytes[0] = 6;
            context.DependOnPrefix(StickyPrefixV6);
        }
        else
        {
            subnet = context.ClientAddress & (0xFFFF_FFFFu << (32 - StickyPrefixV4));
            bytes[0] = 4;
            context.DependOnPrefix(StickyPrefixV4);
        }

        BinaryPrimitives.WriteUInt128BigEndian(bytes[1..], subnet);
        return StableHash.Add(StableHash.Add(StableHash.Seed, bytes), context.Service.Name.Wire);
    }
}
