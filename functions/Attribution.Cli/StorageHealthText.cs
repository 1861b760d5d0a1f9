using System.Globalization;
using Attribution.Pipeline.Storage;

namespace Attribution.Cli;

/// <summary>
/// The record store's compaction health as `run` and `recalc` print it under their summary, so a compaction backlog
/// (compaction failing, or off) is seen without logs: "records v1234: 3 of 256 buckets over the compaction threshold
/// (max 41 segments, threshold 8); oldest uncompacted commit v1180 at 2026-12-01T10:00Z (6 days ago)."
/// </summary>
internal static class StorageHealthText
{
    public static string Line(RecordStoreHealth h, DateTimeOffset now)
    {
        var at = string.Create(CultureInfo.InvariantCulture, $"records v{h.Version}: ");
        if (!h.Backlog)
            return at + string.Create(CultureInfo.InvariantCulture,
                $"no bucket over the compaction threshold ({h.MaxSegments} segments at most, threshold {h.CompactionThreshold}).");
        var which = (h.BucketsOverThreshold, h.PartnersOverThreshold) switch
        {
            (0, _) => "the partners folder",
            (var n, true) => string.Create(CultureInfo.InvariantCulture, $"{n} of {h.Buckets} buckets and the partners folder"),
            (var n, false) => string.Create(CultureInfo.InvariantCulture, $"{n} of {h.Buckets} buckets"),
        };
        var line = at + string.Create(CultureInfo.InvariantCulture,
            $"{which} over the compaction threshold (max {h.MaxSegments} segments, threshold {h.CompactionThreshold})");
        if (h.OldestUncompactedVersion is { } v && h.OldestUncompactedAt is { } committed)
            line += string.Create(CultureInfo.InvariantCulture,
                $"; oldest uncompacted commit v{v} at {committed.UtcDateTime:yyyy-MM-dd'T'HH:mm'Z'} ({Age(now - committed)} ago)");
        return line + ".";
    }

    /// <summary>The same for `--format json`.</summary>
    public static object Json(RecordStoreHealth h) => new
    {
        version = h.Version,
        buckets = h.Buckets,
        compactionThreshold = h.CompactionThreshold,
        bucketsOverThreshold = h.BucketsOverThreshold,
        partnersOverThreshold = h.PartnersOverThreshold,
        maxSegments = h.MaxSegments,
        oldestUncompactedCommit = h.OldestUncompactedVersion is { } v ? new { version = v, committedAt = h.OldestUncompactedAt } : null,
    };

    /// <summary>"6 days", "5 h", "12 min", "under a minute".</summary>
    public static string Age(TimeSpan age) => age switch
    {
        { TotalDays: >= 2 } => string.Create(CultureInfo.InvariantCulture, $"{(int)age.TotalDays} days"),
        { TotalDays: >= 1 } => "1 day",
        { TotalHours: >= 1 } => string.Create(CultureInfo.InvariantCulture, $"{(int)age.TotalHours} h"),
        { TotalMinutes: >= 1 } => string.Create(CultureInfo.InvariantCulture, $"{(int)age.TotalMinutes} min"),
        _ => "under a minute",
    };
}
