using System.Threading.Channels;
using GslbDns.Snapshots;
using GslbDns.Tests.TestSupport;

namespace GslbDns.Tests.Core.Snapshots;

/// <summary>
/// <see cref="ReloadTrigger"/> on the real file system (inotify): a folder that does not exist at start is watched
/// for, so a deployment that creates it later (a volume mounted late, a first <c>mkdir</c>) needs no SIGHUP.
/// </summary>
public sealed class ReloadTriggerTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_folder_missing_two_levels_deep_at_start_reloads_when_it_appears_and_its_files_are_watched_from_then_on()
    {
        using var root = new TempFolder("reload-trigger");
        var zones = Path.Combine(root.Path, "deploy", "zones");
        var reloads = Channel.CreateUnbounded<string>();
        // Only *.zone files count as changes, so the one reload before the last step is the folder's appearance.
        using var trigger = new ReloadTrigger([zones], watchFiles: true, why => reloads.Writer.TryWrite(why), signals: null, relevant: name => name.EndsWith(".zone", StringComparison.Ordinal));
        Assert.Equal([zones], trigger.Unwatched);

        // The parent first (the trigger moves its wait one level down), a sibling it must not mistake, then the folder.
        Directory.CreateDirectory(Path.Combine(root.Path, "deploy"));
        Directory.CreateDirectory(Path.Combine(root.Path, "unrelated"));
        Directory.CreateDirectory(zones);
        File.WriteAllText(Path.Combine(zones, "notes.txt"), "not a zone\n");
        Assert.Equal("file change", await Deadline.Within(reloads.Reader.ReadAsync().AsTask(), Patience, "the reload for the folder that appeared"));

        // From now on the folder is watched like one that existed at start: a zone file written inside reloads again.
        File.WriteAllText(Path.Combine(zones, "example.com.zone"), "; second\n");
        Assert.Equal("file change", await Deadline.Within(reloads.Reader.ReadAsync().AsTask(), Patience, "the reload for a change inside the folder"));
    }

    [Fact]
    public async Task A_folder_that_exists_at_start_is_watched_and_not_listed_as_unwatched()
    {
        using var root = new TempFolder("reload-trigger-present");
        var reloads = Channel.CreateUnbounded<string>();
        using var trigger = new ReloadTrigger([root.Path, null], watchFiles: true, why => reloads.Writer.TryWrite(why), signals: null);
        Assert.Empty(trigger.Unwatched);
        File.WriteAllText(Path.Combine(root.Path, "a.zone"), "; a\n");
        Assert.Equal("file change", await Deadline.Within(reloads.Reader.ReadAsync().AsTask(), Patience, "the reload for a new file"));
    }
}
