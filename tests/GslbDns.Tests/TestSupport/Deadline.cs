using System.Diagnostics;

namespace GslbDns.Tests.TestSupport;

/// <summary>Waiting for something to become true: poll with a deadline, never sleep and hope.</summary>
internal static class Deadline
{
    /// <summary>
    /// Calls <paramref name="probe"/> until it returns a value, at most until <paramref name="timeout"/> has passed;
    /// then throws a <see cref="TimeoutException"/> that says what was awaited and what the last probe saw.
    /// </summary>
    public static async Task<T> PollAsync<T>(string what, TimeSpan timeout, Func<Task<(bool Done, T Value, string Seen)>> probe, TimeSpan? interval = null)
    {
        var clock = Stopwatch.StartNew();
        var pause = interval ?? TimeSpan.FromMilliseconds(20);
        var seen = "nothing yet";
        while (true)
        {
            try
            {
                var (done, value, description) = await probe();
                if (done)
                {
                    return value;
                }

                seen = description;
            }
            catch (Exception ex) when (ex is not PollAbortedException && (ex is not TimeoutException || clock.Elapsed < timeout))
            {
                seen = $"{ex.GetType().Name}: {ex.Message}";
            }

            if (clock.Elapsed >= timeout)
            {
                throw new TimeoutException($"{what}: not reached within {timeout.TotalSeconds:0.#} s; last seen: {seen}");
            }

            await Task.Delay(pause);
        }
    }

    /// <summary>Like <see cref="PollAsync{T}"/> for a condition.</summary>
    public static Task UntilAsync(string what, TimeSpan timeout, Func<Task<(bool Done, string Seen)>> probe, TimeSpan? interval = null)
        => PollAsync(what, timeout, async () =>
        {
            var (done, seen) = await probe();
            return (done, 0, seen);
        }, interval);

    /// <summary>Awaits <paramref name="task"/> but fails the test if it takes longer than <paramref name="timeout"/>.</summary>
    public static async Task<T> Within<T>(Task<T> task, TimeSpan timeout, string what)
    {
        var finished = await Task.WhenAny(task, Task.Delay(timeout));
        if (finished != task)
        {
            throw new TimeoutException($"{what}: did not finish within {timeout.TotalSeconds:0.#} s");
        }

        return await task;
    }

    public static async Task Within(Task task, TimeSpan timeout, string what)
    {
        var finished = await Task.WhenAny(task, Task.Delay(timeout));
        if (finished != task)
        {
            throw new TimeoutException($"{what}: did not finish within {timeout.TotalSeconds:0.#} s");
        }

        await task;
    }
}

/// <summary>Thrown by a probe to stop polling at once (the process being waited for has exited, say).</summary>
internal sealed class PollAbortedException(string message) : Exception(message);
