using System.Collections.Frozen;
using System.Net;
using GslbDns.Answers;
using GslbDns.Dns;
using GslbDns.Geo;
using GslbDns.Gslb;
using GslbDns.Tests.Core.Geo;
using GslbDns.Gslb.Config;
using GslbDns.Guards;
using GslbDns.Query;
using GslbDns.Zones;

namespace GslbDns.Tests.Core.Query;

/// <summary>
/// Invariant 5: the query path allocates nothing per query in steady state. Counted in bytes on this
/// thread (deterministic), not timed: speed lives in bench/.
/// </summary>
public sealed class EngineAllocationTests
{
    private static (QueryEngine Engine, QueryContext Context) Build(AnswerChanges? changes = null, IDictionary<string, EvacuationWindow>? evacuated = null, ResponseRateLimiter? limiter = null, ServerCookies? cookies = null, ClientLocator? locator = null, bool signed = false, ResolvedHosts? hosts = null)
    {
        var zone = ZoneFileReader.ReadText("""
            $TTL 300
            @ IN SOA ns1 hostmaster 1 3600 600 86400 60
              IN NS ns1
            ns1 IN A 127.0.0.1
            www IN A 192.0.2.1
                IN A 192.0.2.2
            alias IN CNAME www
            *.wild IN TXT "wildcard"
            """, "alloc.test.zone", DnsName.Parse("alloc.test."));
        var gslb = GslbConfigLoader.LoadFromText(
            [("alloc.test.gslb.json", """
            {
              "dataCenters": {
                "eu": {"latitude": 50.1, "longitude": 8.7, "region": "eu"},
                "us": {"latitude": 39.0, "longitude": -77.5, "region": "us"}
              },
              "regions": {"eu": {"latitude": 50.1, "longitude": 8.7}, "us": {"latitude": 39.0, "longitude": -77.5}},
              "services": {
                "lb": {
                  "policy": [{"type": "healthy"}, {"type": "geo-proximity"}, {"type": "weighted"}, {"type": "first"}],
                  "endpoints": [
                    {"dataCenter": "eu", "address": "198.51.100.1"},
                    {"dataCenter": "eu", "address": "198.51.100.2"},
                    {"dataCenter": "us", "address": "198.51.100.3"}
                  ]
                },
                "nested": {
                  "policy": [{"type": "healthy"}, {"type": "failover"}],
                  "endpoints": [{"dataCenter": "eu", "service": "calc", "priority": 1}, {"dataCenter": "us", "service": "flat", "priority": 2}]
                },
                "calc": {
                  "policy": [{"type": "healthy"}, {"type": "multivalue"}],
                  "health": {"dataCenter": {"atLeast": 2}, "service": "all"},
                  "endpoints": [{"dataCenter": "eu", "address": "198.51.100.4"}, {"dataCenter": "eu", "address": "198.51.100.5"}]
                },
                "flat": {
                  "policy": [{"type": "healthy"}, {"type": "multivalue"}],
                  "endpoints": [{"dataCenter": "eu", "host": "lb1.example.net."}, {"dataCenter": "us", "host": "lb2.example.net."}, {"dataCenter": "us", "address": "198.51.100.6"}]
                },
                "cn": {
                  "hostAnswer": "cname",
                  "policy": [{"type": "healthy"}, {"type": "first"}],
                  "endpoints": [{"dataCenter": "eu", "host": "lb1.example.net."}]
                }
              }
            }
            """)],
            [zone.Origin]);
        // As the snapshot builders do: geo decisions precompiled for this config and locator.
        var geo = new GeoDecisionCompiler().Compile(gslb, locator);
        var dynamic = gslb.Services.ToDictionary(s => s.Key, s => (IDynamicAnswerSource)new ServiceAnswer(s.Value, geo?.GetValueOrDefault(s.Key), geo));
        var signer = signed ? new GslbDns.Dnssec.ZoneSigner(new GslbDns.Dnssec.ZoneKeys(zone.Origin, GslbDns.Dnssec.DnssecKey.Generate(GslbDns.Dnssec.DnssecKey.KeySigningFlags), GslbDns.Dnssec.DnssecKey.Generate(GslbDns.Dnssec.DnssecKey.ZoneKeyFlags))) : null;
        var zones = new ZoneSet([CompiledZone.Build(zone, dynamic, signer)]);
        var state = GslbState.Empty with { Changes = changes ?? AnswerChanges.Empty, Evacuated = (evacuated ?? new Dictionary<string, EvacuationWindow>()).ToFrozenDictionary() };
        var holder = new SnapshotHolder(ServerSnapshot.Empty with { Zones = zones, Gslb = gslb, State = state, Locator = locator, Hosts = hosts ?? Resolved() });

        // Metrics on, as every listener runs: the context counts into a per-thread DNS series block.
        var stats = new GslbDns.Observability.DnsStatsGroup("dns://127.0.0.1:53", "udp", "1").NewBlock();
        return (new QueryEngine(holder, new QueryEngineOptions(), limiter, cookies), new QueryContext(ushort.MaxValue) { Stats = stats });
    }

    [Theory]
    [InlineData("www.alloc.test.", RecordType.A)]
    [InlineData("alias.alloc.test.", RecordType.A)]
    [InlineData("x.wild.alloc.test.", RecordType.TXT)]
    [InlineData("nope.alloc.test.", RecordType.A)]
    [InlineData("lb.alloc.test.", RecordType.A)]
    public void Answering_allocates_nothing_in_steady_state(string name, ushort type) => AssertNoAllocation(Build(), name, type);

    /// <summary>DNSSEC-OK queries to a signed zone: once the signatures are made (the warm-up), answering copies them.</summary>
    [Theory]
    [InlineData("www.alloc.test.", RecordType.A)]
    [InlineData("alias.alloc.test.", RecordType.A)]
    [InlineData("x.wild.alloc.test.", RecordType.TXT)]
    [InlineData("nope.alloc.test.", RecordType.A)]
    [InlineData("www.alloc.test.", RecordType.TXT)]
    [InlineData("lb.alloc.test.", RecordType.A)]
    [InlineData("lb.alloc.test.", RecordType.AAAA)]
    [InlineData("alloc.test.", RecordType.DNSKEY)]
    public void Answering_signed_allocates_nothing_once_the_signatures_are_cached(string name, ushort type) => AssertNoAllocation(Build(signed: true), name, type, dnssecOk: true);

    /// <summary>
    /// A compact denial (RFC 9824) is NOERROR on the wire, but rate limiting still counts it as the NXDOMAIN it
    /// replaces: DO set or not, a prefix asking for names that do not exist gets the NXDOMAIN rate, not the answer rate.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Denied_names_are_held_to_the_nxdomain_rate_with_or_without_dnssec_ok(bool dnssecOk)
    {
        var limiter = new ResponseRateLimiter(new RateLimitOptions { ResponsesPerSecond = 1000, NxDomainsPerSecond = 3, Slip = 0 }, new Microsoft.Extensions.Time.Testing.FakeTimeProvider());
        var (engine, context) = Build(limiter: limiter, signed: true);
        context.SourceAddress = 0xC000_0201; // 192.0.2.1
        var request = Explainer.BuildQuery(DnsName.Parse("nope.alloc.test."), RecordType.A, IPAddress.Parse("81.2.69.0"), 24);
        if (dnssecOk)
        {
            request[12 + DnsName.Parse("nope.alloc.test.").WireLength + 4 + 7] |= 0x80;
        }

        var answered = new List<int>();
        for (var i = 0; i < 20; i++)
        {
            var length = engine.Process(request, context);
            if (length > 0)
            {
                answered.Add(context.Response.Buffer[3] & 0x0F);
            }
        }

        Assert.Equal(3, answered.Count);
        Assert.All(answered, rcode => Assert.Equal(dnssecOk ? 0 : 3, rcode)); // compact denial: NOERROR; else NXDOMAIN
    }

    /// <summary>Signed: the RRSIG of a load-balanced answer covers the set written, a CNAME for a hostname service in CNAME mode.</summary>
    [Theory]
    [InlineData("cn.alloc.test.", RecordType.A, "CName")]
    [InlineData("flat.alloc.test.", RecordType.A, "A")]
    [InlineData("nested.alloc.test.", RecordType.A, "A")]
    public void Signed_load_balanced_answers_are_signed_as_the_type_they_wrote(string name, ushort type, string covered)
    {
        var (engine, context) = Build(signed: true);
        var request = Explainer.BuildQuery(DnsName.Parse(name), type, IPAddress.Parse("81.2.69.0"), 24);
        request[12 + DnsName.Parse(name).WireLength + 4 + 7] |= 0x80;
        var length = engine.Process(request, context);
        var message = ARSoft.Tools.Net.Dns.DnsMessage.Parse(context.Response.Buffer.AsSpan(0, length).ToArray());
        var signature = Assert.Single(message.AnswerRecords.OfType<ARSoft.Tools.Net.Dns.RrSigRecord>());
        Assert.Equal(covered, signature.TypeCovered.ToString());
        AssertNoAllocation(Build(signed: true), name, type, dnssecOk: true);
    }

    /// <summary>Two hostnames as the background resolver publishes them: they share 203.0.113.2, so the flattened answer de-duplicates.</summary>
    private static ResolvedHosts Resolved()
    {
        var now = DateTimeOffset.UtcNow;
        HostAddresses Host(string name, params string[] addresses) => new(DnsName.Parse(name), [.. addresses.Select(IPAddress.Parse)], 60, now, now.AddHours(1));
        var hosts = new[] { Host("lb1.example.net.", "203.0.113.1", "203.0.113.2", "2001:db8::1"), Host("lb2.example.net.", "203.0.113.2", "203.0.113.3") };
        return new ResolvedHosts(hosts.ToFrozenDictionary(h => h.Host));
    }

    /// <summary>Nested services, calculated health, flattened and CNAME hostname endpoints: the answers they give, and that they allocate nothing.</summary>
    [Theory]
    [InlineData("nested.alloc.test.", RecordType.A, "198.51.100.4 198.51.100.5")]
    [InlineData("calc.alloc.test.", RecordType.A, "198.51.100.4 198.51.100.5")]
    [InlineData("flat.alloc.test.", RecordType.A, "198.51.100.6 203.0.113.1 203.0.113.2 203.0.113.3")]
    [InlineData("flat.alloc.test.", RecordType.AAAA, "2001:db8::1")]
    [InlineData("cn.alloc.test.", RecordType.A, "lb1.example.net.")]
    public void Nested_calculated_and_hostname_answers_allocate_nothing(string name, ushort type, string expected)
    {
        var (engine, context) = Build();
        var request = Explainer.BuildQuery(DnsName.Parse(name), type, IPAddress.Parse("81.2.69.0"), 24);
        var length = engine.Process(request, context);
        var message = ARSoft.Tools.Net.Dns.DnsMessage.Parse(context.Response.Buffer.AsSpan(0, length).ToArray());
        var data = message.AnswerRecords.Select(r => r switch
        {
            ARSoft.Tools.Net.Dns.ARecord a => a.Address.ToString(),
            ARSoft.Tools.Net.Dns.AaaaRecord a => a.Address.ToString(),
            ARSoft.Tools.Net.Dns.CNameRecord c => c.CanonicalName.ToString(),
            _ => r.ToString(),
        }).Order(StringComparer.Ordinal);
        Assert.Equal(expected, string.Join(' ', data));
        AssertNoAllocation(Build(), name, type);
    }

    [Fact]
    public void Answering_a_service_whose_answers_are_changing_allocates_nothing()
    {
        // A data center changed just now (the adaptive TTL's lookups run), another endpoint's change is long forgotten.
        var now = DateTimeOffset.UtcNow;
        var changes = AnswerChanges.Empty.With(["us"], now, now - TimeSpan.FromMinutes(5)).With(["lb.alloc.test/eu/198.51.100.9"], now - TimeSpan.FromMinutes(1), now - TimeSpan.FromMinutes(5));
        AssertNoAllocation(Build(changes), "lb.alloc.test.", RecordType.A);
    }

    [Fact]
    public void Answering_during_a_drill_allocates_nothing_in_steady_state()
    {
        // A drill evacuating "eu" for the next hour: each query compares the window with its own time.
        var now = DateTimeOffset.UtcNow;
        AssertNoAllocation(Build(evacuated: new Dictionary<string, EvacuationWindow> { ["eu"] = new(now.AddMinutes(-1), now.AddHours(1), "drill-alloc") }), "lb.alloc.test.", RecordType.A);
    }

    /// <summary>
    /// Issue 15's policy behaviour on the query path: load shedding over fed and probed loads (the client's /24 hashed),
    /// feeds voting and vetoing, geofenced geo-proximity and geolocation failing open inside the region or answering the
    /// fallback; per query (no locator) and through precompiled decision trees (a
    /// locator over a geo-data override for the test client: the GeoIP-sized trees are covered above, and would cost
    /// seconds per case here).
    /// </summary>
    [Theory]
    [InlineData("shed.alloc.test.", false)]
    [InlineData("shed.alloc.test.", true)]
    [InlineData("fence.alloc.test.", false)]
    [InlineData("fence.alloc.test.", true)]
    [InlineData("fenceloc.alloc.test.", false)]
    [InlineData("fenceloc.alloc.test.", true)]
    [InlineData("fencefb.alloc.test.", true)]
    [InlineData("fed.alloc.test.", false)]
    public void Shedding_feeds_and_geofences_allocate_nothing(string name, bool precompiled)
    {
        var locator = precompiled
            ? new ClientLocator(GeoOverrides.Parse("81.2.69.0/24 51.5,-0.1 continent=EU country=GB\n", "alloc.txt"), new GeoLocation(50, 8, null, null, null, null, null))
            : null;
        var zone = ZoneFileReader.ReadText("$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 600 86400 60\n  IN NS ns1\nns1 IN A 127.0.0.1\n", "alloc.test.zone", DnsName.Parse("alloc.test."));
        var gslb = GslbConfigLoader.LoadFromText(
            [("alloc.test.gslb.json", """
            {
              "dataCenters": {
                "eu": {"latitude": 50.1, "longitude": 8.7, "region": "eu"},
                "eu2": {"latitude": 48.8, "longitude": 2.3, "region": "eu"},
                "us": {"latitude": 39.0, "longitude": -77.5, "region": "us"}
              },
              "defaultLocation": {"latitude": 51.5, "longitude": -0.1},
              "services": {
                "shed": {
                  "loadShedding": {"lowWatermark": 0.5, "highWatermark": 0.9},
                  "policy": [{"type": "healthy"}, {"type": "geo-proximity"}, {"type": "first"}],
                  "endpoints": [{"dataCenter": "eu", "address": "198.51.100.1", "capacity": 2}, {"dataCenter": "eu", "address": "198.51.100.2"}, {"dataCenter": "us", "address": "198.51.100.3"}]
                },
                "fence": {
                  "policy": [{"type": "healthy"}, {"type": "geo-proximity", "geofence": true}],
                  "endpoints": [{"dataCenter": "eu", "address": "198.51.100.4"}, {"dataCenter": "eu2", "address": "198.51.100.5"}, {"dataCenter": "us", "address": "198.51.100.6"}]
                },
                "fenceloc": {
                  "policy": [{"type": "healthy"}, {"type": "geolocation", "geofence": true, "rules": [{"continent": "EU", "dataCenters": ["eu"]}], "default": ["eu"]}],
                  "endpoints": [{"dataCenter": "eu", "address": "198.51.100.7"}, {"dataCenter": "us", "address": "198.51.100.8"}]
                },
                "fencefb": {
                  "whenAllUnhealthy": "fallback", "fallback": ["192.0.2.99"],
                  "policy": [{"type": "healthy"}, {"type": "geo-proximity", "geofence": true}],
                  "endpoints": [{"dataCenter": "eu", "address": "198.51.100.9"}, {"dataCenter": "us", "address": "198.51.100.10"}]
                },
                "fed": {
                  "feed": "veto",
                  "policy": [{"type": "healthy"}, {"type": "multivalue"}],
                  "endpoints": [{"dataCenter": "eu", "address": "198.51.100.11"}, {"dataCenter": "us", "address": "198.51.100.12"}]
                }
              }
            }
            """)],
            [zone.Origin]);
        var geo = new GeoDecisionCompiler().Compile(gslb, locator);
        var dynamic = gslb.Services.ToDictionary(s => s.Key, s => (IDynamicAnswerSource)new ServiceAnswer(s.Value, geo?.GetValueOrDefault(s.Key)));
        var later = DateTimeOffset.UtcNow.AddHours(1);
        var state = GslbState.Empty with
        {
            // Every eu endpoint of the fenced services is down, so the fence fails open (or falls back) inside eu.
            Health = new Dictionary<string, bool>
            {
                ["fence.alloc.test/eu/198.51.100.4"] = false, ["fence.alloc.test/eu2/198.51.100.5"] = false,
                ["fenceloc.alloc.test/eu/198.51.100.7"] = false, ["fencefb.alloc.test/eu/198.51.100.9"] = false,
            }.ToFrozenDictionary(),
            Tallies = new Dictionary<string, ProberTally> { ["fed.alloc.test/eu/198.51.100.11"] = new(3, 0) }.ToFrozenDictionary(),
            Feeds = new Dictionary<string, FeedSignal>
            {
                ["shed.alloc.test/eu/198.51.100.1"] = new(null, 1.6, later),
                ["fed.alloc.test/eu/198.51.100.11"] = new(false, null, later),
                ["fed.alloc.test/us/198.51.100.12"] = new(true, 0.5, later.AddHours(-2)),
            }.ToFrozenDictionary(),
            ProbedLoads = new Dictionary<string, double> { ["shed.alloc.test/eu/198.51.100.2"] = 0.8 }.ToFrozenDictionary(),
        };
        var holder = new SnapshotHolder(ServerSnapshot.Empty with { Zones = new ZoneSet([CompiledZone.Build(zone, dynamic)]), Gslb = gslb, State = state, Locator = locator });
        var stats = new GslbDns.Observability.DnsStatsGroup("dns://127.0.0.1:53", "udp", "1").NewBlock();
        AssertNoAllocation((new QueryEngine(holder, new QueryEngineOptions()), new QueryContext(ushort.MaxValue) { Stats = stats }), name, RecordType.A);
    }

    private static void AssertNoAllocation((QueryEngine Engine, QueryContext Context) built, string name, ushort type, bool dnssecOk = false)
    {
        var (engine, context) = built;
        var request = Explainer.BuildQuery(DnsName.Parse(name), type, IPAddress.Parse("81.2.69.0"), 24);
        if (dnssecOk)
        {
            // The OPT follows the question: root owner, TYPE, CLASS, then TTL = extended RCODE, version, DO bit.
            request[12 + DnsName.Parse(name).WireLength + 4 + 7] |= 0x80;
        }

        for (var i = 0; i < 1_000; i++)
        {
            Assert.True(engine.Process(request, context) > 0);
        }

        if (dnssecOk)
        {
            var reply = context.Response.Buffer.AsSpan(0, engine.Process(request, context));
            Assert.True(System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(reply[6..]) + System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(reply[8..]) >= 2, "a signed reply has a record and its RRSIG");
            Assert.True(context.Snapshot.Zones.Zones.Single().Signer!.Signatures > 0);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            engine.Process(request, context);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);

        // The zero is with counting: every query of both loops is in the block, under the zone it was asked in.
        Assert.Equal(dnssecOk ? 11_001 : 11_000, context.Stats!.RequestsFor(context.Snapshot.Zones.FindExact(DnsName.Parse("alloc.test.").Wire)!.MetricSlot));
    }

    /// <summary>A query with EDNS and a COOKIE option (client cookie, then a server cookie when given), built byte by byte.</summary>
    private static byte[] CookieQuery(string name, ReadOnlySpan<byte> cookie)
    {
        var wire = DnsName.Parse(name).Wire;
        var packet = new List<byte> { 0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1 };
        packet.AddRange(wire.ToArray());
        packet.AddRange(new byte[] { 0, 1, 0, 1 });
        packet.AddRange(new byte[] { 0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, (byte)(4 + cookie.Length), 0, 10, 0, (byte)cookie.Length });
        packet.AddRange(cookie.ToArray());
        return [.. packet];
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Answering_with_cookies_and_rate_limiting_allocates_nothing(bool returnServerCookie)
    {
        var cookies = new ServerCookies(CookieSecrets.Generate());
        var limiter = new ResponseRateLimiter(new RateLimitOptions { ResponsesPerSecond = 5 });
        var (engine, context) = Build(limiter: limiter, cookies: cookies);
        context.SourceAddress = 0x7F000001;
        var request = CookieQuery("www.alloc.test.", [1, 2, 3, 4, 5, 6, 7, 8]);
        var length = engine.Process(request, context);
        Assert.True(length > 0);
        if (returnServerCookie)
        {
            // The reply's COOKIE option is the last 24 bytes: send it back, as a resolver does.
            request = CookieQuery("www.alloc.test.", context.Response.Buffer.AsSpan(length - 24, 24));
        }

        for (var i = 0; i < 1_000; i++)
        {
            engine.Process(request, context);
        }

        Assert.Equal(returnServerCookie ? CookieVerdict.Valid : CookieVerdict.ClientOnly, context.Cookie);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            engine.Process(request, context);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);

        // The valid cookie exempted every reply from the limit of 5 per second; without it most were withheld.
        if (returnServerCookie)
        {
            Assert.Equal(0, context.Counters.RateLimited + context.Counters.Slipped);
        }
        else
        {
            Assert.True(context.Counters.RateLimited > 5_000, $"{context.Counters.RateLimited} limited");
        }
    }

    /// <summary>
    /// A random-subnet flood: geo answers with ECS from 20,000 distinct random /24s, every one of which
    /// was a GeoIP cache miss before the decisions were precompiled (about 8.7 KB per miss then), over
    /// the real GeoLite2-City database. Precompiled trees: no MaxMind call, so 0 bytes per query.
    /// </summary>
    [Fact]
    public void Geo_answers_for_random_ECS_subnets_allocate_nothing()
    {
        using var database = GeoIpDatabase.Open(GeoTestEnvironment.DatabasePath);
        var (engine, context) = Build(locator: new ClientLocator(GeoOverrides.Empty, GslbConfig.Empty.DefaultLocation, database));
        var random = new Random(13);
        var used = new HashSet<uint>();
        byte[][] Requests(int count)
        {
            var requests = new List<byte[]>();
            while (requests.Count < count)
            {
                var subnet = (uint)random.Next() & 0x00FF_FFFF; // IPAddress(long) takes the first octet from the low byte
                if (used.Add(subnet))
                {
                    requests.Add(Explainer.BuildQuery(DnsName.Parse("lb.alloc.test."), RecordType.A, new IPAddress(subnet), 24));
                }
            }

            return [.. requests];
        }

        foreach (var request in Requests(2_000))
        {
            Assert.True(engine.Process(request, context) > 0);
        }

        var flood = Requests(20_000);
        Assert.Equal(flood.Length, flood.Select(r => Convert.ToHexString(r.AsSpan(r.Length - 3))).Distinct().Count());
        var before = GC.GetAllocatedBytesForCurrentThread();
        foreach (var request in flood)
        {
            engine.Process(request, context);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.Equal(0, database.CachedCount);
    }
}
