using System.Text.Json;

namespace GslbDns.Observability;

/// <summary>One condition a process must meet before a load balancer should send it traffic.</summary>
/// <param name="Name">Stable name shown in the /readyz body (<c>zones</c>, <c>snapshot</c>, <c>consul_watch</c>, ...).</param>
/// <param name="Evaluate">Returns null when the condition holds, else the reason it does not (for the operator).</param>
public sealed record ReadinessCheck(string Name, Func<string?> Evaluate);

/// <summary>What /readyz answered: ready or not, and the reason of every check that failed.</summary>
public sealed record ReadinessResult(bool Ready, IReadOnlyList<ReadinessCheckResult> Checks)
{
    /// <summary>The body /readyz sends: <c>{"ready":false,"notReady":{"zones":"no zone loaded"},"checks":[...]}</c>.</summary>
    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteBoolean("ready", Ready);
            json.WriteStartObject("notReady");
            foreach (var check in Checks.Where(c => c.Problem is not null))
            {
                json.WriteString(check.Name, check.Problem);
            }

            json.WriteEndObject();
            json.WriteStartArray("checks");
            foreach (var check in Checks)
            {
                json.WriteStartObject();
                json.WriteString("name", check.Name);
                json.WriteBoolean("ready", check.Problem is null);
                if (check.Problem is not null)
                {
                    json.WriteString("reason", check.Problem);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }
}

/// <summary>One check's outcome; <see cref="Problem"/> is null when it holds.</summary>
public sealed record ReadinessCheckResult(string Name, string? Problem);

/// <summary>
/// /readyz of one process: every check it registered, evaluated when asked. /healthz (live) is separate and
/// only says the process answers HTTP: a process that is alive but not ready must not be restarted, only
/// kept out of rotation.
/// </summary>
public sealed class Readiness
{
    private readonly Lock _lock = new();
    private ReadinessCheck[] _checks = [];

    /// <summary>Adds a check; processes add theirs as the parts they depend on start.</summary>
    public Readiness Add(ReadinessCheck check)
    {
        lock (_lock)
        {
            _checks = [.. _checks, check];
        }

        return this;
    }

    public Readiness Add(string name, Func<string?> evaluate) => Add(new ReadinessCheck(name, evaluate));

    public ReadinessResult Evaluate()
    {
        var checks = Volatile.Read(ref _checks);
        var results = new List<ReadinessCheckResult>(checks.Length);
        foreach (var check in checks)
        {
            string? problem;
            try
            {
                problem = check.Evaluate();
            }
            catch (Exception ex)
            {
                problem = $"check failed: {ex.Message}";
            }

            results.Add(new ReadinessCheckResult(check.Name, problem));
        }

        return new ReadinessResult(results.All(r => r.Problem is null), results);
    }
}
