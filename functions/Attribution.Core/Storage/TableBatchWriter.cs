using Azure.Data.Tables;

namespace Attribution.Core.Storage;

/// <summary>
/// Writes entities with Table batch transactions: at most 100 operations, one partition and under 4 MiB per
/// batch (Azurite does not enforce the size limit, so we do). Batches of different partitions run in parallel;
/// batches of one partition run in order, so a later write of the same entity always lands last.
/// Within a pending batch a second write of the same key replaces the first (a batch may not touch an entity twice).
/// </summary>
public sealed class TableBatchWriter : IAsyncDisposable
{
    public const int MaxOperations = 100;
    public const int MaxBatchBytes = 4 * 1024 * 1024;
    // Headroom for the multipart envelope and JSON escaping our estimate does not see.
    private const int BatchByteBudget = MaxBatchBytes - 512 * 1024;

    private readonly TableClient _table;
    private readonly int _maxInFlight;
    private readonly Dictionary<string, PartitionBuffer> _partitions = new(StringComparer.Ordinal);
    private readonly List<Task> _inFlight = [];
    private long _written;
    private long _batches;
    private int _largestBatchBytes;

    public TableBatchWriter(TableClient table, int maxInFlight = 8)
    {
        _table = table;
        _maxInFlight = maxInFlight;
    }

    public string TableName => _table.Name;

    /// <summary>Entities (and deletes) committed so far.</summary>
    public long Written => Interlocked.Read(ref _written);

    /// <summary>Transactions submitted so far.</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>The largest estimated batch size sent, in bytes.</summary>
    public int LargestBatchBytes => Volatile.Read(ref _largestBatchBytes);

    public ValueTask UpsertAsync(ITableEntity entity, CancellationToken cancellationToken = default) =>
        AddAsync(new TableTransactionAction(TableTransactionActionType.UpsertReplace, entity), EstimateBytes(entity), cancellationToken);

    public ValueTask DeleteAsync(string partitionKey, string rowKey, CancellationToken cancellationToken = default) =>
        AddAsync(new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(partitionKey, rowKey), Azure.ETag.All),
            partitionKey.Length + rowKey.Length + 200, cancellationToken);

    private async ValueTask AddAsync(TableTransactionAction action, int bytes, CancellationToken cancellationToken)
    {
        var pk = action.Entity.PartitionKey;
        if (!_partitions.TryGetValue(pk, out var buffer)) _partitions[pk] = buffer = new PartitionBuffer();
        if (buffer.Index.TryGetValue(action.Entity.RowKey, out var at))
        {
            buffer.Bytes += bytes - buffer.Sizes[at];
            buffer.Actions[at] = action;
            buffer.Sizes[at] = bytes;
            return;
        }
        if (buffer.Actions.Count == MaxOperations || (buffer.Actions.Count > 0 && buffer.Bytes + bytes > BatchByteBudget))
            await DispatchAsync(buffer, cancellationToken).ConfigureAwait(false);
        buffer.Index[action.Entity.RowKey] = buffer.Actions.Count;
        buffer.Actions.Add(action);
        buffer.Sizes.Add(bytes);
        buffer.Bytes += bytes;
    }

    private async Task DispatchAsync(PartitionBuffer buffer, CancellationToken cancellationToken)
    {
        while (_inFlight.Count >= _maxInFlight)
        {
            var done = await Task.WhenAny(_inFlight).ConfigureAwait(false);
            _inFlight.Remove(done);
            await done.ConfigureAwait(false); // surfaces a failed batch now rather than at the end
        }
        var actions = buffer.Actions.ToArray();
        var bytes = buffer.Bytes;
        if (bytes > _largestBatchBytes) _largestBatchBytes = bytes;
        buffer.Actions.Clear();
        buffer.Sizes.Clear();
        buffer.Index.Clear();
        buffer.Bytes = 0;
        var previous = buffer.Tail;
        var task = SubmitAfterAsync(previous, actions, cancellationToken);
        buffer.Tail = task;
        _inFlight.Add(task);
    }

    private async Task SubmitAfterAsync(Task previous, TableTransactionAction[] actions, CancellationToken cancellationToken)
    {
        await previous.ConfigureAwait(false);
        await _table.SubmitTransactionAsync(actions, cancellationToken).ConfigureAwait(false);
        Interlocked.Add(ref _written, actions.Length);
        Interlocked.Increment(ref _batches);
    }

    /// <summary>Sends every pending batch and waits for all of them.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        foreach (var buffer in _partitions.Values)
            if (buffer.Actions.Count > 0) await DispatchAsync(buffer, cancellationToken).ConfigureAwait(false);
        var all = _inFlight.ToArray();
        _inFlight.Clear();
        _partitions.Clear();
        await Task.WhenAll(all).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        // Never lose a failure silently: pending writes are flushed by callers; here we only let in-flight work end.
        try
        {
            await Task.WhenAll(_inFlight).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The failure was (or will be) observed by the caller's FlushAsync; disposal must not throw over it.
        }
    }

    /// <summary>An upper-bound estimate of an entity's JSON size in the batch body.</summary>
    public static int EstimateBytes(ITableEntity entity)
    {
        var size = 256 + (entity.PartitionKey.Length + entity.RowKey.Length) * 2;
        if (entity is TableEntity te)
        {
            foreach (var (key, value) in te)
            {
                size += key.Length + 40;
                size += value switch
                {
                    string s => s.Length * 6 / 2 + 2, // escaping can grow a character; UTF-8 up to 3 bytes
                    byte[] b => b.Length * 4 / 3 + 4,
                    _ => 32,
                };
            }
        }
        return size;
    }

    private sealed class PartitionBuffer
    {
        public readonly List<TableTransactionAction> Actions = new(MaxOperations);
        public readonly List<int> Sizes = new(MaxOperations);
        public readonly Dictionary<string, int> Index = new(StringComparer.Ordinal);
        public int Bytes;
        public Task Tail = Task.CompletedTask;
    }
}
