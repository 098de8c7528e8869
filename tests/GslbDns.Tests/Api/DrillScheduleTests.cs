using GslbDns.Api.Drills;

namespace GslbDns.Tests.Api;

/// <summary>Blocked windows and practice schedules: the time arithmetic the preconditions and the runner rely on.</summary>
public sealed class DrillScheduleTests
{
    private static readonly DateTimeOffset Tuesday = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero); // a Tuesday

    [Fact]
    public void A_weekly_window_overlaps_every_week_and_may_wrap_over_the_week_end()
    {
        Assert.True(BlockedWindow.TryParse("TUE:11:00-TUE:13:00", out var window, out _));
        Assert.True(window.Overlaps(Tuesday, Tuesday.AddMinutes(1)));
        Assert.True(window.Overlaps(Tuesday.AddDays(14), Tuesday.AddDays(14).AddMinutes(1)));
        Assert.False(window.Overlaps(Tuesday.AddHours(1), Tuesday.AddHours(2)));
        Assert.True(window.Overlaps(Tuesday.AddHours(-1.5), Tuesday.AddHours(-0.5))); // ends inside
        Assert.False(window.Overlaps(Tuesday.AddHours(-3), Tuesday.AddHours(-1))); // ends at the start

        Assert.True(BlockedWindow.TryParse("sun:22:00-mon:02:00", out var wrap, out _));
        var sunday = Tuesday.AddDays(-2).AddHours(11); // Sunday 23:00
        Assert.True(wrap.Overlaps(sunday, sunday.AddMinutes(1)));
        Assert.False(wrap.Overlaps(Tuesday, Tuesday.AddHours(1)));

        Assert.True(BlockedWindow.TryParse("2026-12-24", out var date, out _));
        Assert.True(date.Overlaps(new DateTimeOffset(2026, 12, 23, 23, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 12, 24, 0, 30, 0, TimeSpan.Zero)));
        Assert.False(date.Overlaps(new DateTimeOffset(2026, 12, 25, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 12, 25, 1, 0, 0, TimeSpan.Zero)));

        Assert.False(BlockedWindow.TryParse("TUE:11:00", out _, out var error));
        Assert.Contains("DAY:HH:MM-DAY:HH:MM", error, StringComparison.Ordinal);
        Assert.False(BlockedWindow.TryParse("XYZ:11:00-TUE:12:00", out _, out _));
    }

    [Fact]
    public void A_practice_schedule_is_due_inside_its_window_once_per_period()
    {
        Assert.True(PracticeSchedule.TryParse("dc-eu,dc-us/7/TUE:10:00-TUE:16:00/1800", out var schedule, out _));
        Assert.Equal(["dc-eu", "dc-us"], schedule.DataCenters);
        Assert.Equal(TimeSpan.FromMinutes(30), schedule.Duration);

        var id = schedule.DueId(Tuesday, lastRun: null);
        Assert.NotNull(id);
        Assert.StartsWith(schedule.IdPrefix, id, StringComparison.Ordinal);
        Assert.Equal(id, schedule.DueId(Tuesday.AddHours(1), lastRun: null)); // same period, same id for every runner
        Assert.Null(schedule.DueId(Tuesday.AddHours(5), lastRun: null));        // outside the window
        Assert.Null(schedule.DueId(Tuesday.AddDays(1), lastRun: null));         // Wednesday
        Assert.Null(schedule.DueId(Tuesday.AddDays(7), lastRun: Tuesday.AddDays(1)));
        Assert.NotNull(schedule.DueId(Tuesday.AddDays(7), lastRun: Tuesday));
        Assert.NotEqual(id, schedule.DueId(Tuesday.AddDays(7), lastRun: Tuesday));

        Assert.False(PracticeSchedule.TryParse("dc-eu/0/TUE:10:00-TUE:16:00/1800", out _, out _));
        Assert.False(PracticeSchedule.TryParse("dc-eu/7/2026-12-24/1800", out _, out _));
        Assert.False(PracticeSchedule.TryParse("dc-eu/7/TUE:10:00-TUE:16:00/100000", out _, out _));
    }
}
