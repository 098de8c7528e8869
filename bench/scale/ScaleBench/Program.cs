using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using GslbDns.Geo;
using GslbDns.Health;
using GslbDns.Query;
using GslbDns.Reports;
using GslbDns.Snapshots;
using Microsoft.Extensions.Logging.Abstractions;

// bench/scale/ScaleBench: generates a configuration of NAMES load-balanced names over DCS data centers and a zone of
// RECORDS static records, then measures in this process (pin it to one core): load time, reload times, memory, the time
// from a health change reaching the publisher to the answer changing, and the engine's cost per answer against a
// configuration of 10 names. Prints "key value" lines (bench/scale/scale.sh turns them into its report).
var options = Options.Parse(args);
var invariant = CultureInfo.InvariantCulture;
void Report(string key, double value, string unit) => Console.WriteLine(string.Create(invariant, $"{key}\t{value:0.###}\t{unit}"));

var big = Path.Combine(options.Work, "big");
var small = Path.Combine(options.Work, "small");
var geoData = Path.Combine(options.Work, "geo-data");
Directory.CreateDirectory(geoData);
var clock = Stopwatch.StartNew();
Generator.Write(big, options.Names, options.Dcs, options.Records);
Generator.Write(small, 10, options.Dcs, 10);
Report("generate_s", clock.Elapsed.TotalSeconds, "s");

using var geoIp = options.GeoIp is null ? null : GeoIpDatabase.Open(options.GeoIp);
var rssBefore = Memory.RssMiB();
var holder = new SnapshotHolder(ServerSnapshot.Empty);
var builder = new SnapshotBuilder(big, geoData, geoIp, holder, NullLogger.Instance);
clock.Restart();
var errors = builder.Reload();
Report("load_s", clock.Elapsed.TotalSeconds, "s");
if (errors.Count > 0)
{
    Console.Error.WriteLine(string.Join("\n", errors.Take(5)));
    return 1;
}

Report("services", holder.Current.Gslb.Services.Count, "names");
Report("endpoints", holder.Current.Gslb.Services.Values.Sum(s => s.Endpoints.Count), "endpoints");
Report("geo_trees_built", builder.GeoReport?.TreesBuilt ?? 0, "trees");
Report("geo_trees_ms", builder.GeoReport?.Elapsed.TotalMilliseconds ?? 0, "ms");
GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
Report("rss_after_load_mib", Memory.RssMiB(), "MiB");
Report("rss_before_load_mib", rssBefore, "MiB");
Report("gc_heap_after_load_mib", GC.GetTotalMemory(forceFullCollection: true) / 1048576.0, "MiB");

// A reload after one service changed (the zone file is unchanged), then one after the zone file changed too.
Generator.Write(big, options.Names, options.Dcs, options.Records, gslbOnly: true, weightOfFirst: 200);
clock.Restart();
errors = builder.Reload();
Report("reload_gslb_changed_s", clock.Elapsed.TotalSeconds, "s");
File.SetLastWriteTimeUtc(Path.Combine(big, "scale.test.zone"), DateTime.UtcNow);
File.AppendAllText(Path.Combine(big, "scale.test.zone"), "; touched\n");
clock.Restart();
errors = builder.Reload();
Report("reload_all_changed_s", clock.Elapsed.TotalSeconds, "s");
GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
Report("rss_after_reloads_mib", Memory.RssMiB(), "MiB");

// Health: one prober reports every endpoint up, then s0's primary down; time until s0's answer moves to the secondary.
var engine = new QueryEngine(holder, new QueryEngineOptions());
var context = new QueryContext(ushort.MaxValue);
var publisher = new HealthStatePublisher(holder, NullLogger.Instance, TimeSpan.FromMinutes(10));
var prober = new ProberInfo("p1", "r0", 0, 0, DateTimeOffset.UtcNow);
var allEndpoints = holder.Current.Gslb.Services.Values.SelectMany(s => s.Endpoints).ToList();
var s0 = holder.Current.Gslb.Services[GslbDns.Dns.DnsName.Parse("s0.scale.test.")];
var primary = s0.Endpoints.Single(e => e.Priority == 0);
ProberReport ReportWith(bool primaryUp)
{
    var now = DateTimeOffset.UtcNow;
    var observations = new Dictionary<string, EndpointObservation>(allEndpoints.Count, StringComparer.Ordinal);
    foreach (var e in allEndpoints)
    {
        var up = e.Id != primary.Id || primaryUp;
        observations[e.Id] = new EndpointObservation(up, up ? 0 : 3, up ? 5 : 0, 1.0, now, null);
    }

    return new ProberReport(prober, observations, now);
}

var s0Query = Generator.Query("s0.scale.test", 1);
string AnswerOf(byte[] query)
{
    // The address of the one A record (the last four bytes without EDNS): the TTL shortens after a change, the address is what moves.
    var length = engine.Process(query, context);
    return Convert.ToHexString(context.Response.Buffer, length - 4, 4);
}

publisher.OnReports([ReportWith(primaryUp: true)]);
var healthyAnswer = AnswerOf(s0Query);
var publishMs = new List<double>();
var publishGcMs = new List<double>();
var toAnswerMs = new List<double>();

// The same spans in this thread's CPU time: on a shared machine the wall time says more about the other processes.
var publishCpuMs = new List<double>();
var toAnswerCpuMs = new List<double>();
for (var round = 0; round < options.HealthRounds; round++)
{
    var up = round % 2 == 1;
    var reports = new[] { ReportWith(primaryUp: up) };
    var pause0 = GC.GetTotalPauseDuration();
    var cpu0 = Memory.ThreadCpuMs();
    clock.Restart();
    publisher.OnReports(reports);
    var published = clock.Elapsed.TotalMilliseconds;
    publishCpuMs.Add(Memory.ThreadCpuMs() - cpu0);
    publishGcMs.Add((GC.GetTotalPauseDuration() - pause0).TotalMilliseconds);
    while ((AnswerOf(s0Query) == healthyAnswer) != up)
    {
        if (clock.Elapsed > TimeSpan.FromSeconds(30))
        {
            Console.Error.WriteLine($"the answer did not change within 30 s of the health change: {healthyAnswer} / {AnswerOf(s0Query)}; state has {holder.Current.State.Health.Count} verdicts, {primary.Id} = {holder.Current.State.Health.GetValueOrDefault(primary.Id)}");
            return 1;
        }
    }

    publishMs.Add(published);
    toAnswerMs.Add(clock.Elapsed.TotalMilliseconds);
    toAnswerCpuMs.Add(Memory.ThreadCpuMs() - cpu0);
}

Report("health_publish_ms_median", Median(publishMs), "ms");
Report("health_publish_gc_pause_ms_median", Median(publishGcMs), "ms");
Report("health_change_to_answer_ms_median", Median(toAnswerMs), "ms");
Report("health_change_to_answer_ms_max", toAnswerMs.Max(), "ms");
Report("health_publish_cpu_ms_median", Median(publishCpuMs), "ms");
Report("health_change_to_answer_cpu_ms_median", Median(toAnswerCpuMs), "ms");

// Snapshot input (the health state) swapped directly, without the quorum over reports: the query-time part alone.
var swapMs = new List<double>();
var state0 = holder.Current.State;
var flipped = new Dictionary<string, bool>(holder.Current.State.Health) { [primary.Id] = false }.ToFrozenDictionarySafe();
for (var round = 0; round < options.HealthRounds; round++)
{
    var down = round % 2 == 0;
    clock.Restart();
    holder.Update(s => s with { State = s.State with { Health = down ? flipped : state0.Health } });
    while ((AnswerOf(s0Query) == healthyAnswer) == down)
    {
    }

    swapMs.Add(clock.Elapsed.TotalMilliseconds);
}

Report("state_swap_to_answer_ms_median", Median(swapMs), "ms");

// Answer cost: the same engine over every one of NAMES names in random order, against 10 names; alternating rounds.
var smallHolder = new SnapshotHolder(ServerSnapshot.Empty);
var smallBuilder = new SnapshotBuilder(small, geoData, geoIp, smallHolder, NullLogger.Instance);
smallBuilder.Reload();
var smallEngine = new QueryEngine(smallHolder, new QueryEngineOptions());

// The same kind of state as the big configuration: every endpoint reported up by one prober.
var smallEndpoints = smallHolder.Current.Gslb.Services.Values.SelectMany(s => s.Endpoints).ToList();
new HealthStatePublisher(smallHolder, NullLogger.Instance, TimeSpan.FromMinutes(10)).OnReports(
    [new ProberReport(prober, smallEndpoints.ToDictionary(e => e.Id, _ => new EndpointObservation(true, 0, 5, 1.0, DateTimeOffset.UtcNow, null), StringComparer.Ordinal), DateTimeOffset.UtcNow)]);
var random = new Random(7);
var bigQueries = Enumerable.Range(0, options.Names).Select(i => Generator.Query($"s{i}.scale.test", (ushort)i)).OrderBy(_ => random.Next()).ToArray();
var smallQueries = Enumerable.Range(0, options.Names).Select(i => Generator.Query($"s{i % 10}.scale.test", (ushort)i)).ToArray();
var bigCost = new List<double>();
var smallCost = new List<double>();
Cost(engine, bigQueries, options.CostQueries / 4);
Cost(smallEngine, smallQueries, options.CostQueries / 4);
for (var round = 0; round < options.CostRounds; round++)
{
    bigCost.Add(Cost(engine, bigQueries, options.CostQueries));
    smallCost.Add(Cost(smallEngine, smallQueries, options.CostQueries));
}

Report("answer_ns_names_big_median", Median(bigCost), "ns");
Report("answer_ns_names_10_median", Median(smallCost), "ns");
Report("answer_cost_ratio_big_to_10", Median(bigCost) / Median(smallCost), "x");
Report("rss_end_mib", Memory.RssMiB(), "MiB");
return 0;

double Cost(QueryEngine e, byte[][] queries, int count)
{
    var c = new QueryContext(ushort.MaxValue);
    var cpu0 = Memory.ThreadCpuTicks();
    var t = Stopwatch.StartNew();
    for (var i = 0; i < count; i++)
    {
        e.Process(queries[i % queries.Length], c);
    }

    var wall = t.Elapsed.TotalNanoseconds / count;
    var cpu = (Memory.ThreadCpuTicks() - cpu0) * 1e9 / Memory.TicksPerSecond / count;

    // Thread CPU when it has the resolution (10 ms ticks), else wall time.
    return cpu > 0 ? cpu : wall;
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToArray();
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
}

internal sealed record Options(string Work, int Names, int Dcs, int Records, string? GeoIp, int HealthRounds, int CostQueries, int CostRounds)
{
    public static Options Parse(string[] args)
    {
        string Get(string name, string fallback)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }

        var geoIp = Get("--geoip", "");
        return new Options(
            Get("--work", Path.Combine(Path.GetTempPath(), "gslbdns-scale")),
            int.Parse(Get("--names", "100000"), CultureInfo.InvariantCulture),
            int.Parse(Get("--dcs", "20"), CultureInfo.InvariantCulture),
            int.Parse(Get("--records", "1000000"), CultureInfo.InvariantCulture),
            geoIp.Length == 0 ? null : geoIp,
            int.Parse(Get("--health-rounds", "10"), CultureInfo.InvariantCulture),
            int.Parse(Get("--cost-queries", "2000000"), CultureInfo.InvariantCulture),
            int.Parse(Get("--cost-rounds", "3"), CultureInfo.InvariantCulture));
    }
}

/// <summary>The generated configuration: data centers dc0..dcN round the globe; names s0..sN cycling over four policies.</summary>
internal static class Generator
{
    public static void Write(string folder, int names, int dcs, int records, bool gslbOnly = false, int weightOfFirst = 100)
    {
        Directory.CreateDirectory(folder);
        if (!gslbOnly)
        {
            using var zone = new StreamWriter(Path.Combine(folder, "scale.test.zone"), false, new UTF8Encoding(false), 1 << 20);
            zone.Write("$ORIGIN scale.test.\n$TTL 3600\n@ IN SOA ns1 hostmaster 1 3600 900 604800 300\n@ IN NS ns1\nns1 IN A 127.0.0.1\n");
            for (var i = 0; i < records - 3; i++)
            {
                zone.Write(string.Create(CultureInfo.InvariantCulture, $"h{i} IN A 10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}\n"));
            }
        }

        using var gslb = new StreamWriter(Path.Combine(folder, "scale.test.gslb.json.tmp"), false, new UTF8Encoding(false), 1 << 20);
        gslb.Write("{\n  \"dataCenters\": {\n");
        for (var d = 0; d < dcs; d++)
        {
            var lat = -60 + (120.0 * d / Math.Max(1, dcs - 1));
            var lon = -180 + (360.0 * d / dcs);
            gslb.Write(string.Create(CultureInfo.InvariantCulture, $"    \"dc{d}\": {{\"latitude\": {lat:0.###}, \"longitude\": {lon:0.###}}}{(d + 1 < dcs ? "," : "")}\n"));
        }

        gslb.Write("  },\n  \"services\": {\n");
        string[] policies =
        [
            "[{\"type\": \"healthy\"}, {\"type\": \"failover\"}]",
            "[{\"type\": \"healthy\"}, {\"type\": \"weighted\"}]",
            "[{\"type\": \"healthy\"}, {\"type\": \"multivalue\"}]",
            "[{\"type\": \"healthy\"}, {\"type\": \"geo-proximity\", \"count\": 1}]",
        ];
        for (var i = 0; i < names; i++)
        {
            // Geo services use one of four data-center sets (distinct geo decisions are what the trees are built for).
            var a = i % 4 == 3 ? (i / 4) % 4 : i % dcs;
            var b = (a + 7) % dcs;
            var c = (a + 13) % dcs;
            var address = i % 65536;
            var weight = i == 1 ? weightOfFirst : 100;
            gslb.Write(string.Create(CultureInfo.InvariantCulture,
                $"    \"s{i}\": {{\"policy\": {policies[i % 4]}, \"check\": {{\"type\": \"tcp\", \"port\": 80}}, \"endpoints\": [" +
                $"{{\"dataCenter\": \"dc{a}\", \"address\": \"10.1.{address >> 8}.{address & 255}\", \"priority\": 0, \"weight\": {weight}}}, " +
                $"{{\"dataCenter\": \"dc{b}\", \"address\": \"10.2.{address >> 8}.{address & 255}\", \"priority\": 1}}, " +
                $"{{\"dataCenter\": \"dc{c}\", \"address\": \"10.3.{address >> 8}.{address & 255}\", \"priority\": 2}}]}}{(i + 1 < names ? "," : "")}\n"));
        }

        gslb.Write("  }\n}\n");
        gslb.Close();
        File.Move(Path.Combine(folder, "scale.test.gslb.json.tmp"), Path.Combine(folder, "scale.test.gslb.json"), overwrite: true);
    }

    public static byte[] Query(string name, ushort id)
    {
        var bytes = new List<byte> { (byte)(id >> 8), (byte)id, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0 };
        foreach (var label in name.Split('.'))
        {
            bytes.Add((byte)label.Length);
            bytes.AddRange(Encoding.ASCII.GetBytes(label));
        }

        bytes.AddRange([0, 0, 1, 0, 1]);
        return [.. bytes];
    }
}

internal static partial class Memory
{
    public const int TicksPerSecond = 100;

    private const int ThreadCpuClock = 3; // CLOCK_THREAD_CPUTIME_ID

    /// <summary>The calling thread's CPU time in milliseconds, to the nanosecond (clock_gettime; the stat file's ticks are 10 ms).</summary>
    public static double ThreadCpuMs()
    {
        _ = ClockGetTime(ThreadCpuClock, out var time);
        return (time.Seconds * 1e3) + (time.Nanoseconds / 1e6);
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec time);

    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    public static double RssMiB()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
            }
        }

        return 0;
    }

    /// <summary>utime+stime of the calling thread (fields 14 and 15 of /proc/thread-self/stat), in clock ticks.</summary>
    public static long ThreadCpuTicks()
    {
        var stat = File.ReadAllText("/proc/thread-self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }
}

internal static class FrozenExtensions
{
    public static System.Collections.Frozen.FrozenDictionary<string, bool> ToFrozenDictionarySafe(this Dictionary<string, bool> d)
        => System.Collections.Frozen.FrozenDictionary.ToFrozenDictionary(d, StringComparer.Ordinal);
}
