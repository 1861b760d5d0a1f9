using Attribution.Core.Domain;
using Attribution.Core.Feeds;
using Attribution.Core.Storage;
using Azure.Data.Tables;

namespace Attribution.Core.Ingestion;

/// <summary>
/// Collects the records of accepted rows (synchronously, from the normalizer) and writes them to their tables
/// in batches. Shared by file and message ingestion so both store records identically.
/// </summary>
internal sealed class RecordWriter : IFeedRecordSink, IAsyncDisposable
{
    private readonly StorageAccount _storage;
    private readonly Dictionary<string, TableBatchWriter> _writers = new(StringComparer.Ordinal);
    private readonly List<(string Table, TableEntity Entity)> _pending = new(4);
    private readonly int _maxInFlight;

    public RecordWriter(StorageAccount storage, int maxInFlight = 8)
    {
        _storage = storage;
        _maxInFlight = maxInFlight;
    }

    public long Written => _writers.Values.Sum(w => w.Written);

    public void Add(PartnerRecord partner, FeedLineage lineage) => _pending.Add((TableNames.Partners, RecordEntities.ToEntity(partner, lineage)));
    public void Add(DporEvent dporEvent) => _pending.Add((TableNames.DporEvents, RecordEntities.ToEntity(dporEvent)));
    public void Add(Association association) => _pending.Add((TableNames.Associations, RecordEntities.ToEntity(association)));
    public void Add(UsageRecord usage) => _pending.Add((TableNames.UsageRecords, RecordEntities.ToEntity(usage)));

    public ValueTask AddRejectedAsync(TableEntity rejected, CancellationToken cancellationToken) =>
        Writer(TableNames.RejectedRecords).UpsertAsync(rejected, cancellationToken);

    /// <summary>Hands the records of the last accepted row to the batch writers.</summary>
    public async ValueTask DrainAsync(CancellationToken cancellationToken)
    {
        foreach (var (table, entity) in _pending)
            await Writer(table).UpsertAsync(entity, cancellationToken).ConfigureAwait(false);
        _pending.Clear();
    }

    /// <summary>Drops the records of a row that turned out to be rejected.</summary>
    public void Discard() => _pending.Clear();

    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        await DrainAsync(cancellationToken).ConfigureAwait(false);
        await Task.WhenAll(_writers.Values.Select(w => w.FlushAsync(cancellationToken))).ConfigureAwait(false);
    }

    private TableBatchWriter Writer(string table)
    {
        if (!_writers.TryGetValue(table, out var w)) _writers[table] = w = new TableBatchWriter(_storage.Table(table), _maxInFlight);
        return w;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var w in _writers.Values) await w.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>A sink that only counts: the validation pass writes nothing.</summary>
internal sealed class CountingSink : IFeedRecordSink
{
    public long Records { get; private set; }
    public YearMonth? LatestUsageMonth { get; private set; }
    public void Add(PartnerRecord partner, FeedLineage lineage) => Records++;
    public void Add(DporEvent dporEvent) => Records++;
    public void Add(Association association) => Records++;

    public void Add(UsageRecord usage)
    {
        Records++;
        if (LatestUsageMonth is null || usage.Month > LatestUsageMonth.Value) LatestUsageMonth = usage.Month;
    }
}
