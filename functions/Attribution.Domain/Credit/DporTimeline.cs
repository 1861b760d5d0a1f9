using Attribution.Domain;

namespace Attribution.Domain.Credit;

/// <summary>A period during which one partner is a subscription's DPOR. <see cref="To"/> inclusive, null = open.</summary>
internal readonly record struct DporSegment(long PartnerId, DateOnly From, DateOnly? To, DporEvent SetEvent)
{
    /// <summary>Days of <paramref name="month"/> inside the segment (0 when disjoint).</summary>
    public int DaysIn(YearMonth month)
    {
        var first = month.FirstDay.DayNumber;
        var last = month.LastDay.DayNumber;
        var from = Math.Max(first, From.DayNumber);
        var to = To is { } t ? Math.Min(last, t.DayNumber) : last;
        return to >= from ? to - from + 1 : 0;
    }

    public bool Contains(DateOnly day) => From <= day && (To is null || To.Value >= day);
}

/// <summary>
/// Builds a subscription's DPOR timeline (§3): events in effective-date order; on a day with several events only
/// the later-ingested one counts; a `set` makes its partner DPOR from that day until the day before the next
/// event; a `remove` ends the designation the day before it (whichever partner holds it).
/// </summary>
internal static class DporTimeline
{
    /// <summary>Later-ingested last: effective date, then ingestion time, then feed line; the rest only for determinism.</summary>
    internal static int Compare(DporEvent a, DporEvent b)
    {
        var c = a.EffectiveDate.CompareTo(b.EffectiveDate);
        if (c != 0) return c;
        c = a.Lineage.IngestedAt.CompareTo(b.Lineage.IngestedAt);
        if (c != 0) return c;
        c = a.Lineage.Line.CompareTo(b.Lineage.Line);
        if (c != 0) return c;
        c = string.CompareOrdinal(a.Lineage.IngestionId, b.Lineage.IngestionId);
        if (c != 0) return c;
        c = a.Action.CompareTo(b.Action);
        return c != 0 ? c : a.PartnerId.CompareTo(b.PartnerId);
    }

    /// <summary>The segments of one subscription's events (any order), ascending and disjoint; adjacent periods of one partner merged.</summary>
    public static DporSegment[] Build(List<DporEvent> events)
    {
        if (events.Count == 0) return [];
        events.Sort(Compare);

        // The winning event of each day: the last one of its date in sorted order.
        var winners = new List<DporEvent>(events.Count);
        for (var i = 0; i < events.Count; i++)
        {
            if (i + 1 < events.Count && events[i + 1].EffectiveDate == events[i].EffectiveDate) continue;
            winners.Add(events[i]);
        }

        var segments = new List<DporSegment>(winners.Count);
        for (var i = 0; i < winners.Count; i++)
        {
            var e = winners[i];
            if (e.Action != DporAction.Set) continue;
            DateOnly? to = i + 1 < winners.Count ? winners[i + 1].EffectiveDate.AddDays(-1) : null;
            if (segments.Count > 0)
            {
                var prev = segments[^1];
                if (prev.PartnerId == e.PartnerId && prev.To is { } pt && pt.AddDays(1) == e.EffectiveDate)
                {
                    segments[^1] = prev with { To = to };
                    continue;
                }
            }
            segments.Add(new DporSegment(e.PartnerId, e.EffectiveDate, to, e));
        }
        return [.. segments];
    }
}
