using Azure.Data.Tables;

namespace Attribution.Pipeline.Storage;

/// <summary>
/// Writes entities with Table batch transactions: at most 100 operations, one partition and under 4 MiB per
/// batch (Azurite does not enforce the size limit, so we do). Memory is bounded: a partition's batch goes out when
/// it is full, when the input moves on to another partition key (<c>groupedByPartition</c>, for key-ordered input
/// such as a publish), or when the operations buffered over all partitions reach a global cap; at most
/// <c>maxInFlight</c> batches are in flight. Batches of different partitions run in parallel; batches of one
/// partition run in order, so a later write of the same entity always lands last.
/// Within a pending batch a second write of the same key replaces the first (a batch may not touch an entity twice).
/// A delete of an entity that is already gone is not an error (a retried step deletes again): the batch is
/// resubmitted without it.
/// </summary>
public sealed class TableBatchWriter : IAsyncDisposable
{
    public const int MaxOperations = 100;
    public const int MaxBatchBytes = 4 * 1024 * 1024;
    public const int DefaultMaxPendingOperations = 5_000;
    // Headroom for the multipart envelope and JSON escaping our estimate does not see.
    private const int BatchByteBudget = MaxBatchBytes - 512 * 1024;

    private readonly TableClient _table;
    private readonly int _maxInFlight;
    private readonly bool _groupedByPartition;
    private readonly int _maxPending;
    private readonly Dictionary<string, PartitionBuffer> _open = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Task> _tails = new(StringComparer.Ordinal);
    private readonly List<Task> _inFlight = [];
    private string? _lastPartition;
    private int _pending;
    private long _written;
    private long _absent;
    private long _batches;
    private int _largestBatchBytes;

    /// <param name="groupedByPartition">The caller writes all of a partition's entities together (key order): send its batch as soon as the key changes.</param>
    /// <param name="maxPendingOperations">Operations buffered across partitions before every open batch is sent.</param>
    public TableBatchWriter(TableClient table, int maxInFlight = 8, bool groupedByPartition = false, int maxPendingOperations = DefaultMaxPendingOperations)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxInFlight, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPendingOperations, 1);
        _table = table;
        _maxInFlight = maxInFlight;
        _groupedByPartition = groupedByPartition;
        _maxPending = maxPendingOperations;
    }

    public string TableName => _table.Name;

    /// <summary>Entities (and deletes) committed so far.</summary>
    public long Written => Interlocked.Read(ref _written);

    /// <summary>Deletes of entities that were already gone (skipped).</summary>
    public long AlreadyAbsent => Interlocked.Read(ref _absent);

    /// <summary>Transactions submitted so far.</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>The largest estimated batch size sent, in bytes.</summary>
    public int LargestBatchBytes => Volatile.Read(ref _largestBatchBytes);

    /// <summary>Operations buffered and not yet sent (bounded by the global cap).</summary>
    public int Pending => _pending;

    public ValueTask UpsertAsync(ITableEntity entity, CancellationToken cancellationToken = default) =>
        AddAsync(new TableTransactionAction(TableTransactionActionType.UpsertReplace, entity), EstimateBytes(entity), cancellationToken);

    public ValueTask DeleteAsync(string partitionKey, string rowKey, CancellationToken cancellationToken = default) =>
        AddAsync(new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(partitionKey, rowKey), Azure.ETag.All),
            partitionKey.Length + rowKey.Length + 200, cancellationToken);

    private async ValueTask AddAsync(TableTransactionAction action, int bytes, CancellationToken cancellationToken)
    {
        var pk = action.Entity.PartitionKey;
        if (_groupedByPartition && _lastPartition is not null && !string.Equals(_lastPartition, pk, StringComparison.Ordinal)
            && _open.TryGetValue(_lastPartition, out var previous))
            await DispatchAsync(_lastPartition, previous, cancellationToken).ConfigureAwait(false);
        _lastPartition = pk;

        if (!_open.TryGetValue(pk, out var buffer)) _open[pk] = buffer = new PartitionBuffer();
        if (buffer.Index.TryGetValue(action.Entity.RowKey, out var at))
        {
            buffer.Bytes += bytes - buffer.Sizes[at];
            buffer.Actions[at] = action;
            buffer.Sizes[at] = bytes;
            return;
        }
        if (buffer.Actions.Count == MaxOperations || (buffer.Actions.Count > 0 && buffer.Bytes + bytes > BatchByteBudget))
        {
            await DispatchAsync(pk, buffer, cancellationToken).ConfigureAwait(false);
            _open[pk] = buffer = new PartitionBuffer();
        }
        buffer.Index[action.Entity.RowKey] = buffer.Actions.Count;
        buffer.Actions.Add(action);
        buffer.Sizes.Add(bytes);
        buffer.Bytes += bytes;
        _pending++;
        if (_pending >= _maxPending) await DispatchAllAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task DispatchAllAsync(CancellationToken cancellationToken)
    {
        foreach (var (pk, buffer) in _open.ToList())
            await DispatchAsync(pk, buffer, cancellationToken).ConfigureAwait(false);
    }

    private async Task DispatchAsync(string partitionKey, PartitionBuffer buffer, CancellationToken cancellationToken)
    {
        _open.Remove(partitionKey);
        if (buffer.Actions.Count == 0) return;
        while (_inFlight.Count >= _maxInFlight)
        {
            var done = await Task.WhenAny(_inFlight).ConfigureAwait(false);
            _inFlight.Remove(done);
            await done.ConfigureAwait(false); // surfaces a failed batch now rather than at the end
        }
        _pending -= buffer.Actions.Count;
        if (buffer.Bytes > _largestBatchBytes) _largestBatchBytes = buffer.Bytes;
        var previous = _tails.TryGetValue(partitionKey, out var tail) && !tail.IsCompleted ? tail : Task.CompletedTask;
        var task = SubmitAfterAsync(previous, buffer.Actions, cancellationToken);
        _tails[partitionKey] = task;
        _inFlight.Add(task);
        // Only partitions with a batch in flight need their tail: forget finished ones so the map stays small.
        if (_tails.Count > 4 * _maxInFlight)
            foreach (var key in _tails.Where(kv => kv.Value.IsCompleted).Select(kv => kv.Key).ToList()) _tails.Remove(key);
    }

    private async Task SubmitAfterAsync(Task previous, List<TableTransactionAction> actions, CancellationToken cancellationToken)
    {
        await previous.ConfigureAwait(false);
        while (actions.Count > 0)
        {
            try
            {
                await _table.SubmitTransactionAsync(actions, cancellationToken).ConfigureAwait(false);
                Interlocked.Add(ref _written, actions.Count);
                Interlocked.Increment(ref _batches);
                return;
            }
            catch (TableTransactionFailedException e) when (e.Status == 404 && e.FailedTransactionActionIndex is int i
                && i >= 0 && i < actions.Count && actions[i].ActionType == TableTransactionActionType.Delete)
            {
                // Already deleted (by an earlier attempt of the same step): nothing to do for it; send the rest.
                actions.RemoveAt(i);
                Interlocked.Increment(ref _absent);
            }
        }
    }

    /// <summary>Sends every pending batch and waits for all of them.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        await DispatchAllAsync(cancellationToken).ConfigureAwait(false);
        var all = _inFlight.ToArray();
        _inFlight.Clear();
        _tails.Clear();
        _lastPartition = null;
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
        ArgumentNullException.ThrowIfNull(entity);
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
    }
}
