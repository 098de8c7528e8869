using GslbDns.Fuzz;
using SharpFuzz;

// gslbdns-fuzz TARGET            under afl-fuzz: the persistent loop (input on standard input)
// gslbdns-fuzz TARGET FILE...    replays saved inputs once each, outside AFL (with the uninstrumented build); exit 1 if any failed
if (args.Length == 0 || !FuzzTargets.Names.Contains(args[0]))
{
    Console.Error.WriteLine($"usage: GslbDns.Fuzz {{{string.Join('|', FuzzTargets.Names)}}} [FILE...]");
    return 2;
}

if (args.Length > 1)
{
    var target = FuzzTargets.Create(args[0]);
    var failed = 0;
    foreach (var file in args[1..])
    {
        try
        {
            target.Run(File.ReadAllBytes(file));
            Console.WriteLine($"ok    {file}");
        }
        catch (Exception ex)
        {
            failed++;
            Console.WriteLine($"FAIL  {file}\n{ex}");
        }
    }

    return failed == 0 ? 0 : 1;
}

// Instrumented code may only run inside Fuzzer.Run, once SharpFuzz has attached AFL's coverage map: building the
// target (and the snapshot it answers from) is left to the first input, whose coverage then includes it.
IFuzzTarget? fuzzed = null;
var buffer = new byte[1 << 20];
Fuzzer.Run(stream =>
{
    fuzzed ??= FuzzTargets.Create(args[0]);
    // Inputs past 1 MiB are cut: none of the formats needs more, and AFL keeps its inputs far smaller.
    var length = 0;
    int read;
    while (length < buffer.Length && (read = stream.Read(buffer, length, buffer.Length - length)) > 0)
    {
        length += read;
    }

    fuzzed.Run(buffer.AsSpan(0, length));
});
return 0;
