using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using GslbDns.Tests.Core.Consul;
using GslbDns.Tests.Fleet;
using GslbDns.Tests.Core.Probing;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Bench.Failover;

/// <summary>
/// Time to fail over, measured on real processes at the shipped prober settings: a backend of a load-balanced
/// name stops answering (connection refused, or silent: accepts and never answers) and we time, from that
/// moment, how long until every fresh DNS answer leaves it out; then how long until it is back after it
/// recovers. Embedded mode (the DNS server alone, its in-process prober) and Consul mode (a dev agent, three
/// prober processes, the DNS server watching Consul). In Consul mode one prober has a minority-partition view
/// of a second name the whole time, and every answer for that name is checked for a false failover.
/// </summary>
internal static partial class Program
{
    private static async Task<int> Main(string[] args)
    {
        BenchOptions options;
        try
        {
            options = BenchOptions.Parse(args);
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine($"failover-bench: {ex.Message}");
            Console.Error.WriteLine(BenchOptions.Usage);
            return 2;
        }

        var report = new Report(options);
        foreach (var mode in options.Modes)
        {
            try
            {
                await using var run = await ModeRun.StartAsync(mode, options);
                foreach (var kind in options.Cases)
                {
                    for (var trial = 1; trial <= options.Trials; trial++)
                    {
                        if (kind == "lost")
                        {
                            var lost = await run.LostProbeTrialAsync(trial);
                            report.Add(lost);
                            Console.Error.WriteLine($"[{DateTime.Now:HH:mm:ss}] {lost.OneLine()}");
                            continue;
                        }

                        var result = await run.TrialAsync(kind, trial);
                        report.Add(result);
                        Console.Error.WriteLine($"[{DateTime.Now:HH:mm:ss}] {result.OneLine()}");
                    }
                }

                report.AddPartition(mode, run.PartitionAnswers, run.FalseFailovers, run.PartitionedView);
                report.AddErrors(mode, run.QueryErrors, run.Answers);
            }
            catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or IOException)
            {
                Console.Error.WriteLine($"failover-bench: {mode} mode failed: {ex}");
                report.Fail(mode, ex.Message);
            }
        }

        var text = report.Render();
        Console.Write(text);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(options.OutFile))!);
        await File.WriteAllTextAsync(options.OutFile, text);
        Console.Error.WriteLine($"written to {options.OutFile}");
        return report.Failed ? 1 : 0;
    }
}

internal sealed record BenchOptions(
    string Dotnet,
    string ServerDll,
    string ProberDll,
    int Trials,
    string[] Modes,
    string[] Cases,
    string OutFile,
    TimeSpan QueryEvery,
    TimeSpan Hold,
    TimeSpan GiveUp,
    int SessionTtl)
{
    public const string Usage = """
        Usage: FailoverBench --server-dll GslbDns.dll --prober-dll Prober.dll --out FILE
                             [--trials 20] [--modes embedded,consul] [--cases refused,silent,lost]
                             [--query-ms 20] [--hold-ms 1000] [--give-up-s 30] [--session-ttl 10] [--dotnet PATH]
        """;

    public static BenchOptions Parse(string[] args)
    {
        string? server = null, prober = null, output = null;
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        int trials = 20, queryMs = 20, holdMs = 1000, giveUp = 30, ttl = 10;
        string[] modes = ["embedded", "consul"], cases = ["refused", "silent"];
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]}: needs a value");
            switch (args[i++])
            {
                case "--server-dll": server = value; break;
                case "--prober-dll": prober = value; break;
                case "--out": output = value; break;
                case "--dotnet": dotnet = value; break;
                case "--trials": trials = Positive(value); break;
                case "--query-ms": queryMs = Positive(value); break;
                case "--hold-ms": holdMs = Positive(value); break;
                case "--give-up-s": giveUp = Positive(value); break;
                case "--session-ttl": ttl = Positive(value); break;
                case "--modes": modes = value.Split(',', StringSplitOptions.RemoveEmptyEntries); break;
                case "--cases": cases = value.Split(',', StringSplitOptions.RemoveEmptyEntries); break;
                default: throw new ArgumentException($"unknown option '{args[i - 1]}'");
            }
        }

        if (server is null || prober is null || output is null)
        {
            throw new ArgumentException("--server-dll, --prober-dll and --out are required");
        }

        if (modes.Any(m => m is not ("embedded" or "consul")) || cases.Any(c => c is not ("refused" or "silent" or "lost")))
        {
            throw new ArgumentException("modes are embedded, consul; cases are refused, silent, lost");
        }

        return new BenchOptions(dotnet, server, prober, trials, modes, cases, output, TimeSpan.FromMilliseconds(queryMs), TimeSpan.FromMilliseconds(holdMs), TimeSpan.FromSeconds(giveUp), ttl);
    }

    private static int Positive(string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : throw new ArgumentException($"'{value}' is not a positive whole number");
}

/// <summary>One trial. Times are from the moment the backend was broken (down) or restored (up).</summary>
/// <param name="Down">Until every fresh answer leaves the victim out (start of the run of such answers that lasted the hold time).</param>
/// <param name="Up">Until every fresh answer has it again.</param>
/// <param name="Detect">Until the prober's verdict flipped (its log; in Consul mode the quorum-making, i.e. second, prober).</param>
/// <param name="Published">Consul mode: until that prober's report with the flip was seen in Consul (by this driver's own blocking query).</param>
/// <param name="Flaps">Answers that had the victim back after it had first been left out (should be 0).</param>
internal sealed record Trial(string Mode, string Case, int Number, double Down, double Up, double? Detect, double? Published, int Flaps, double PhaseWait)
{
    public string OneLine() =>
        $"{Mode,-8} {Case,-7} #{Number,-3} down {Down * 1000,6:0} ms  up {Up * 1000,6:0} ms  detect {Ms(Detect)}  seen-in-consul {Ms(Published)}  flaps {Flaps}";

    public static string Ms(double? seconds) => seconds is { } s ? $"{s * 1000,6:0} ms" : "     - ";
}

/// <summary>
/// One lost-probe trial: the victim's backend leaves exactly one probe connection unanswered (it runs into its timeout)
/// and serves every other; for <paramref name="Watched"/> seconds every answer must still hold the victim.
/// </summary>
/// <param name="Answers">Answers for the victim's name while watched.</param>
/// <param name="Without">Of those, answers without the victim: false failovers (should be 0).</param>
/// <param name="Lost">Whether the backend did lose a connection (a probe came while it was armed).</param>
internal sealed record LostTrial(string Mode, int Number, double Watched, int Answers, int Without, bool Lost)
{
    public string OneLine() => $"{Mode,-8} lost    #{Number,-3} {Without} of {Answers} answers without the victim in {Watched:0.0} s, probe lost: {Lost}";
}

/// <summary>One mode's fleet: backends, zone folder, (Consul, probers,) the DNS server, and the query loop.</summary>
internal sealed partial class ModeRun : IAsyncDisposable
{
    private const string Prefix = "gslbdns-bench/";
    private static readonly IPAddress Victim = FleetSpec.ServiceAddresses[0];

    private readonly BenchOptions _options;
    private readonly string _mode;
    private readonly TempFolder _folder = new("failover-bench");
    private readonly List<ChildProcess> _probers = [];
    private FleetBackends? _backends;
    private ConsulProcess? _consul;
    private Uri? _consulUri;
    private ChildProcess? _server;
    private IPEndPoint _dns = null!;
    private ReportWatch? _watch;

    private ModeRun(string mode, BenchOptions options)
    {
        _mode = mode;
        _options = options;
    }

    public long Answers { get; private set; }

    public long QueryErrors { get; private set; }

    public long PartitionAnswers { get; private set; }

    public long FalseFailovers { get; private set; }

    /// <summary>What the partitioned prober last reported for part's primary (evidence the partition is real).</summary>
    public string PartitionedView => _watch?.PartitionedView(FleetSpec.Probers[2].Id) ?? "-";

    public static async Task<ModeRun> StartAsync(string mode, BenchOptions options)
    {
        var run = new ModeRun(mode, options);
        try
        {
            await run.StartCoreAsync();
            return run;
        }
        catch
        {
            await run.DisposeAsync();
            throw;
        }
    }

    private async Task StartCoreAsync()
    {
        _backends = FleetBackends.Start();
        var zones = _folder.Folder("zones");
        _backends.Spec().WriteTo(zones);
        IReadOnlyList<Uri> consul = [];
        if (_mode == "consul")
        {
            _consulUri = await StartConsulAsync();
            consul = [_consulUri];

            // The third prober is cut off from part's primary: in its view the check port is one where 127.0.0.5 refuses.
            var partitioned = _folder.Folder("zones-partitioned");
            (_backends.Spec() with { PartitionPort = _backends.PartitionViewPort }).WriteTo(partitioned);
            for (var i = 0; i < FleetSpec.Probers.Length; i++)
            {
                _probers.Add(FleetProcesses.StartProber(_options.Dotnet, _options.ProberDll, FleetSpec.Probers[i], i == 2 ? partitioned : zones, consul, Prefix, _options.SessionTtl));
            }

            _watch = new ReportWatch(_consulUri, Prefix + "probers/", FleetSpec.ServiceEndpointId(0), FleetSpec.PartitionPrimaryId);
            _watch.Start();
        }

        var (server, dns, metrics) = await FleetProcesses.StartServerAsync(_options.Dotnet, _options.ServerDll, zones, consul, _mode == "consul" ? Prefix : null, metrics: true);
        _server = server;
        _dns = dns;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await Deadline.UntilAsync($"{_mode}: every endpoint answered and every prober live", TimeSpan.FromSeconds(60), async () =>
        {
            var answer = await FleetProcesses.AskAsync(_dns, FleetSpec.ServiceName, TimeSpan.FromSeconds(1));
            var live = FleetProcesses.Metric(await http.GetStringAsync(metrics), "gslbdns_live_probers");
            var wanted = _mode == "consul" ? 3 : 1;
            return (answer?.Addresses.Count == 3 && live == wanted, $"answer {answer}, live probers {live}");
        }, TimeSpan.FromMilliseconds(200));
    }

    private async Task<Uri> StartConsulAsync()
    {
        for (var attempt = 1; ; attempt++)
        {
            var ports = FreePorts.Take(5);
            _consul = ConsulProcess.Start(
            [
                "-dev", "-bind", "127.0.0.1", "-client", "127.0.0.1", "-node", $"bench-{ports[0]}",
                "-http-port", ports[0].ToString(CultureInfo.InvariantCulture), "-serf-lan-port", ports[1].ToString(CultureInfo.InvariantCulture),
                "-serf-wan-port", ports[2].ToString(CultureInfo.InvariantCulture), "-server-port", ports[3].ToString(CultureInfo.InvariantCulture),
                "-grpc-port", ports[4].ToString(CultureInfo.InvariantCulture), "-dns-port", "-1", "-log-level", "warn",
            ]);
            var uri = new Uri($"http://127.0.0.1:{ports[0]}/");
            try
            {
                using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
                await Deadline.UntilAsync("consul dev agent with a leader and its node registered", TimeSpan.FromSeconds(30), async () =>
                {
                    if (_consul.HasExited)
                    {
                        throw new PollAbortedException("consul exited:\n" + _consul.RecentOutput);
                    }

                    var leader = (await http.GetStringAsync(new Uri(uri, "v1/status/leader"))).Trim().Trim('"');
                    var node = leader.Length == 0 ? "null" : await http.GetStringAsync(new Uri(uri, $"v1/catalog/node/bench-{ports[0]}"));
                    using var doc = JsonDocument.Parse(node);
                    var registered = doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("Node", out var n) && n.ValueKind == JsonValueKind.Object;
                    return (registered, $"leader '{leader}'");
                }, TimeSpan.FromMilliseconds(100));
                return uri;
            }
            catch (Exception ex) when (attempt < 3 && ex is PollAbortedException or TimeoutException)
            {
                _consul.Dispose();
            }
        }
    }

    public async Task<Trial> TrialAsync(string kind, int number)
    {
        var backend = _backends!.Service[0];
        await SettleAsync();

        // Break it at a random moment of the probe cycle, as a real outage would.
        var phase = Random.Shared.NextDouble();
        await Task.Delay(TimeSpan.FromSeconds(phase));
        var brokenAt = DateTime.Now;
        var clock = Stopwatch.StartNew();
        if (kind == "refused")
        {
            backend.Refuse();
        }
        else
        {
            backend.Mode = BackendMode.Silent;
        }

        var (down, flaps) = await UntilStableAsync(a => !a.Contains(Victim), clock, $"{kind} #{number}: answers without {Victim}");
        var detect = FlipTime(brokenAt, down: true);
        double? published = null;
        if (_watch is not null && _watch.QuorumFlip(brokenAt.ToUniversalTime(), up: false) is { } seen)
        {
            published = (seen - brokenAt.ToUniversalTime()).TotalSeconds;
        }

        if (kind == "refused")
        {
            backend.Accept();
        }
        else
        {
            backend.Mode = BackendMode.Healthy;
        }

        var restoreClock = Stopwatch.StartNew();
        var (up, _) = await UntilStableAsync(a => a.Contains(Victim), restoreClock, $"{kind} #{number}: answers with {Victim} again");
        return new Trial(_mode, kind, number, down.TotalSeconds, up.TotalSeconds, detect, published, flaps, phase);
    }

    /// <summary>
    /// One probe of the victim is lost (its connection accepted and never answered), the rest answered: no answer may leave
    /// the victim out. Watched for the probe's timeout plus three intervals, long enough for a wrong flip to show.
    /// </summary>
    public async Task<LostTrial> LostProbeTrialAsync(int number)
    {
        var backend = _backends!.Service[0];
        await SettleAsync();
        await Task.Delay(TimeSpan.FromSeconds(Random.Shared.NextDouble()));
        backend.LoseNext(1);
        var watch = TimeSpan.FromSeconds(4);
        var clock = Stopwatch.StartNew();
        using var tick = new PeriodicTimer(_options.QueryEvery);
        int answers = 0, without = 0;
        while (clock.Elapsed < watch)
        {
            var answer = await AskCountedAsync();
            answers++;
            if (answer is null || !answer.Contains(Victim))
            {
                without++;
            }

            await tick.WaitForNextTickAsync();
        }

        var lost = backend.ToLose == 0;
        backend.LoseNext(0);
        return new LostTrial(_mode, number, clock.Elapsed.TotalSeconds, answers, without, lost);
    }

    /// <summary>The victim is in every answer, and in Consul mode every prober has it up with no failure streak.</summary>
    private async Task SettleAsync()
    {
        var since = Stopwatch.StartNew();
        await Deadline.UntilAsync("settled: victim up everywhere", _options.GiveUp, async () =>
        {
            var answer = await AskCountedAsync();
            if (answer is null || !answer.Contains(Victim))
            {
                since.Restart();
                return (false, $"answer {answer}");
            }

            if (_watch is not null && !_watch.AllUp(FleetSpec.Probers.Length))
            {
                return (false, "a prober still sees the victim down or failing");
            }

            return (since.Elapsed >= _options.Hold, $"up for {since.Elapsed.TotalMilliseconds:0} ms");
        }, _options.QueryEvery);
    }

    /// <summary>
    /// Asks every <see cref="BenchOptions.QueryEvery"/> until the predicate has held for <see cref="BenchOptions.Hold"/>;
    /// returns when (on <paramref name="clock"/>) that final run of answers began, and how many runs ended early.
    /// </summary>
    private async Task<(TimeSpan At, int Flaps)> UntilStableAsync(Func<FleetAnswer, bool> predicate, Stopwatch clock, string what)
    {
        using var tick = new PeriodicTimer(_options.QueryEvery);
        TimeSpan? runStart = null;
        var flaps = 0;
        while (clock.Elapsed < _options.GiveUp)
        {
            var sentAt = clock.Elapsed;
            var answer = await AskCountedAsync();
            if (answer is not null && predicate(answer))
            {
                runStart ??= sentAt;
                if (clock.Elapsed - runStart.Value >= _options.Hold)
                {
                    return (runStart.Value, flaps);
                }
            }
            else if (runStart is not null)
            {
                runStart = null;
                flaps++;
            }

            await tick.WaitForNextTickAsync();
        }

        throw new TimeoutException($"{_mode} {what}: not stable within {_options.GiveUp.TotalSeconds:0} s");
    }

    private async Task<FleetAnswer?> AskCountedAsync()
    {
        var answer = await FleetProcesses.AskAsync(_dns, FleetSpec.ServiceName, TimeSpan.FromSeconds(1));
        Answers++;
        if (answer is null || answer.Rcode != 0 || answer.Addresses.Count == 0)
        {
            QueryErrors++;
        }

        if (_mode == "consul")
        {
            var part = await FleetProcesses.AskAsync(_dns, FleetSpec.PartitionName, TimeSpan.FromSeconds(1));
            PartitionAnswers++;
            if (part is null || !part.Contains(FleetSpec.PartitionPrimary))
            {
                FalseFailovers++;
            }
        }

        return answer is { Rcode: 0 } ? answer : null;
    }

    [GeneratedRegex(@"^(\d\d:\d\d:\d\d\.\d\d\d) \w+ \S+ Endpoint (\S+) is (DOWN|UP)", RegexOptions.Multiline)]
    private static partial Regex FlipLine();

    /// <summary>
    /// Seconds from <paramref name="since"/> until the prober verdict for the victim flipped, from the probers'
    /// own log lines (local time, ms): the embedded prober's, or in Consul mode the second prober's (the one that
    /// makes a majority of three).
    /// </summary>
    private double? FlipTime(DateTime since, bool down)
    {
        var logs = _mode == "consul" ? _probers.Select(p => p.StandardError + p.StandardOutput) : [_server!.StandardError + _server.StandardOutput];
        var firsts = new List<DateTime>();
        foreach (var log in logs)
        {
            DateTime? first = null;
            foreach (Match match in FlipLine().Matches(log))
            {
                if (match.Groups[2].Value != FleetSpec.ServiceEndpointId(0) || (match.Groups[3].Value == "DOWN") != down)
                {
                    continue;
                }

                var at = since.Date + TimeSpan.ParseExact(match.Groups[1].Value, @"hh\:mm\:ss\.fff", CultureInfo.InvariantCulture);
                if (at >= since.AddMilliseconds(-1) && (first is null || at < first))
                {
                    first = at;
                }
            }

            if (first is { } f)
            {
                firsts.Add(f);
            }
        }

        firsts.Sort();
        var needed = _mode == "consul" ? 2 : 1;
        return firsts.Count >= needed ? (firsts[needed - 1] - since).TotalSeconds : null;
    }

    public async ValueTask DisposeAsync()
    {
        if (_watch is not null)
        {
            await _watch.DisposeAsync();
        }

        _server?.Dispose();
        foreach (var prober in _probers)
        {
            prober.Dispose();
        }

        _consul?.Dispose();
        if (_backends is not null)
        {
            await _backends.DisposeAsync();
        }

        _folder.Dispose();
    }
}

/// <summary>
/// This driver's own blocking-query watch of the prober reports: when each prober's verdict on the victim
/// changed as Consul shows it (the DNS server's watch sees the same write at the same moment).
/// </summary>
internal sealed class ReportWatch : IAsyncDisposable
{
    private readonly Uri _consul;
    private readonly string _folder;
    private readonly string _victim;
    private readonly string _partitioned;
    private readonly HttpClient _http = new() { Timeout = Timeout.InfiniteTimeSpan };
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private readonly Dictionary<string, (bool Up, int Failures)> _latest = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _partitionView = new(StringComparer.Ordinal);
    private readonly List<(string Prober, bool Up, DateTimeOffset SeenAt)> _changes = [];
    private Task? _loop;

    public ReportWatch(Uri consul, string folder, string victim, string partitioned)
    {
        _consul = consul;
        _folder = folder;
        _victim = victim;
        _partitioned = partitioned;
    }

    public void Start() => _loop = Task.Run(() => RunAsync(_stop.Token));

    public bool AllUp(int probers)
    {
        lock (_lock)
        {
            return _latest.Count >= probers && _latest.Values.All(v => v.Up && v.Failures == 0);
        }
    }

    /// <summary>When Consul first showed a majority (2 of 3) of probers with the victim's verdict = <paramref name="up"/> after <paramref name="since"/>.</summary>
    public DateTimeOffset? QuorumFlip(DateTimeOffset since, bool up)
    {
        lock (_lock)
        {
            var firsts = _changes.Where(c => c.Up == up && c.SeenAt >= since)
                .GroupBy(c => c.Prober)
                .Select(g => g.Min(c => c.SeenAt))
                .Order()
                .ToList();
            return firsts.Count >= 2 ? firsts[1] : null;
        }
    }

    public string PartitionedView(string prober)
    {
        lock (_lock)
        {
            return _partitionView.GetValueOrDefault(prober, "no report");
        }
    }

    private async Task RunAsync(CancellationToken ct)
    {
        var index = "0";
        while (!ct.IsCancellationRequested)
        {
            try
            {
                using var response = await _http.GetAsync(new Uri(_consul, $"v1/kv/{_folder}?recurse=true&index={index}&wait=30s"), ct);
                var seenAt = DateTimeOffset.UtcNow;
                index = response.Headers.TryGetValues("X-Consul-Index", out var values) ? values.First() : "0";
                if (response.StatusCode == HttpStatusCode.NotFound)
                {
                    continue;
                }

                response.EnsureSuccessStatusCode();
                using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
                foreach (var pair in doc.RootElement.EnumerateArray())
                {
                    if (pair.GetProperty("Value").GetString() is not { } base64)
                    {
                        continue;
                    }

                    using var report = JsonDocument.Parse(Convert.FromBase64String(base64));
                    var prober = report.RootElement.GetProperty("prober").GetProperty("id").GetString()!;
                    var endpoints = report.RootElement.GetProperty("endpoints");
                    lock (_lock)
                    {
                        if (endpoints.TryGetProperty(_victim, out var victim))
                        {
                            var up = victim.GetProperty("up").GetBoolean();
                            var failures = victim.GetProperty("consecutiveFailures").GetInt32();
                            if (!_latest.TryGetValue(prober, out var before) || before.Up != up)
                            {
                                _changes.Add((prober, up, seenAt));
                            }

                            _latest[prober] = (up, failures);
                        }

                        if (endpoints.TryGetProperty(_partitioned, out var part))
                        {
                            _partitionView[prober] = part.GetRawText();
                        }
                    }
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is HttpRequestException or JsonException or IOException or KeyNotFoundException or InvalidOperationException)
            {
                index = "0";
                await Task.Delay(200, ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        _http.Dispose();
        _stop.Dispose();
    }
}

/// <summary>Collects the trials and renders the summary and the raw figures.</summary>
internal sealed class Report(BenchOptions options)
{
    private readonly List<Trial> _trials = [];
    private readonly List<LostTrial> _lost = [];
    private readonly List<string> _notes = [];

    public bool Failed { get; private set; }

    public void Add(Trial trial) => _trials.Add(trial);

    public void Add(LostTrial trial) => _lost.Add(trial);

    public void Fail(string mode, string message)
    {
        Failed = true;
        _notes.Add($"{mode}: FAILED: {message}");
    }

    public void AddPartition(string mode, long answers, long falseFailovers, string view)
    {
        if (mode == "consul")
        {
            _notes.Add($"consul: minority partition: {falseFailovers} false failovers in {answers} answers for {FleetSpec.PartitionName} " +
                $"(prober-ap, cut off from {FleetSpec.PartitionPrimary}, last reported it as {view})");
        }
    }

    public void AddErrors(string mode, long errors, long answers) =>
        _notes.Add($"{mode}: {errors} failed queries (timeout, non-NOERROR or empty) of {answers} for {FleetSpec.ServiceName}");

    public string Render()
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"# failover time, {DateTime.Now:yyyy-MM-dd HH:mm:ss}, {Environment.ProcessorCount} cores, {Environment.OSVersion}");
        text.AppendLine(CultureInfo.InvariantCulture, $"# prober settings as shipped (check interval 1 s, timeout 80%, failureThreshold 3, successThreshold 2); session TTL {options.SessionTtl} s");
        text.AppendLine(CultureInfo.InvariantCulture, $"# a query every {options.QueryEvery.TotalMilliseconds:0} ms; a state counts once it held {options.Hold.TotalMilliseconds:0} ms; {options.Trials} trials per case");
        text.AppendLine();
        text.AppendLine("mode      case     what                      n     p50      p99      max      min     mean");
        foreach (var group in _trials.GroupBy(t => (t.Mode, t.Case)))
        {
            Row(text, group.Key.Mode, group.Key.Case, "down (answers exclude it)", group.Select(t => t.Down));
            Row(text, group.Key.Mode, group.Key.Case, "  prober verdict flip", group.Where(t => t.Detect is not null).Select(t => t.Detect!.Value));
            if (group.Key.Mode == "consul")
            {
                Row(text, group.Key.Mode, group.Key.Case, "  quorum seen in Consul", group.Where(t => t.Published is not null).Select(t => t.Published!.Value));
                Row(text, group.Key.Mode, group.Key.Case, "  publish+watch+swap", group.Where(t => t.Detect is not null).Select(t => t.Down - t.Detect!.Value));
            }
            else
            {
                Row(text, group.Key.Mode, group.Key.Case, "  flip to answer", group.Where(t => t.Detect is not null).Select(t => t.Down - t.Detect!.Value));
            }

            Row(text, group.Key.Mode, group.Key.Case, "up (answers include it)", group.Select(t => t.Up));
            var flaps = group.Sum(t => t.Flaps);
            text.AppendLine(CultureInfo.InvariantCulture, $"{group.Key.Mode,-9} {group.Key.Case,-8} answers that had it back early: {flaps}");
        }

        foreach (var group in _lost.GroupBy(t => t.Mode))
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"{group.Key,-9} lost     one lost probe: {group.Sum(t => t.Without)} false failovers in {group.Sum(t => t.Answers)} answers, {group.Count()} trials ({group.Count(t => t.Lost)} with the probe lost)");
        }

        text.AppendLine();
        foreach (var note in _notes)
        {
            text.AppendLine(note);
        }

        text.AppendLine();
        text.AppendLine("# raw: mode case trial down_ms up_ms detect_ms seen_in_consul_ms flaps phase_ms");
        foreach (var t in _trials)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"{t.Mode} {t.Case} {t.Number} {t.Down * 1000:0} {t.Up * 1000:0} {Ms(t.Detect)} {Ms(t.Published)} {t.Flaps} {t.PhaseWait * 1000:0}");
        }

        if (_lost.Count > 0)
        {
            text.AppendLine("# raw: mode lost trial answers without_victim probe_lost");
            foreach (var t in _lost)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"{t.Mode} lost {t.Number} {t.Answers} {t.Without} {t.Lost}");
            }
        }

        return text.ToString();

        static string Ms(double? s) => s is { } v ? (v * 1000).ToString("0", CultureInfo.InvariantCulture) : "-";
    }

    private static void Row(StringBuilder text, string mode, string kind, string what, IEnumerable<double> seconds)
    {
        var values = seconds.Order().ToArray();
        if (values.Length == 0)
        {
            return;
        }

        text.AppendLine(CultureInfo.InvariantCulture,
            $"{mode,-9} {kind,-8} {what,-25} {values.Length,3} {Percentile(values, 0.5),7:0} ms {Percentile(values, 0.99),5:0} ms {values[^1] * 1000,5:0} ms {values[0] * 1000,5:0} ms {values.Average() * 1000,5:0} ms");
    }

    /// <summary>Nearest rank, in ms: with fewer than 100 values p99 is the maximum.</summary>
    private static double Percentile(double[] sorted, double p) => sorted[Math.Max(0, (int)Math.Ceiling(p * sorted.Length) - 1)] * 1000;
}
