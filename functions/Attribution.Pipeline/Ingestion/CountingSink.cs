using Attribution.Domain;
using Attribution.Domain.Feeds;

namespace Attribution.Pipeline.Ingestion;

/// <summary>A sink that only counts: the validation pass writes nothing.</summary>
internal sealed class CountingSink : IFeedRecordSink
{
    public long Records { get; private set; }
    public YearMonth? LatestUsageMonth { get; private set; }
    public void Add(PartnerRecord partner, FeedLineage lineage) => Records++;
    public void Add(DporEvent dporEvent) => Records++;
    public void Add(Association association) => Records++;
    public void Add(CertificationRecord certification) => Records++;

    public void Add(UsageRecord usage)
    {
        Records++;
        if (LatestUsageMonth is null || usage.Month > LatestUsageMonth.Value) LatestUsageMonth = usage.Month;
    }
}
