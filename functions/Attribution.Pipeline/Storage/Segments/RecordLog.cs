using System.Globalization;
using System.Text.Json;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Logging;

namespace Attribution.Pipeline.Storage;

/// <summary>A commit that no longer applies (a compaction whose inputs another commit already removed).</summary>
internal sealed class RecordCommitConflictException(string message) : Exception(message);

/// <summary>
/// The commit log of the `records` container, Delta-Lake style (docs/storage.md): segments are written first, then one
/// log entry per ingestion or compaction names them. Only segments a commit names are visible, so an ingestion becomes
/// visible all at once or not at all. Versions are taken with If-None-Match:*, so two committers never share one; the
/// loser re-reads the log and takes the next. Every N versions (the store's checkpoint interval) a
/// checkpoint holds the whole state, so opening a version reads one checkpoint and fewer than N entries.
/// </summary>
internal sealed class RecordLog
{
    public const string FormatBucketHash = "splitmix64(guid bytes) mod bucketCount";
    private const string MetadataName = "_store.json";
    private const string TipName = "_log/_tip.json";
    private const int ParallelReads = 16;

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly StorageAccount _storage;
    private readonly TimeProvider _time;
    private Task<StoreMetadata>? _metadata;

    /// <param name="logger">Where a failed tip or checkpoint write is said (the committer's logger).</param>
    public RecordLog(StorageAccount storage, RecordStoreOptions options, TimeProvider time, ILogger logger)
    {
        _storage = storage;
        Options = options;
        _time = time;
        Logger = logger;
        Container = storage.Blobs.GetBlobContainerClient(TableNames.RecordsContainer);
    }

    public BlobContainerClient Container { get; }
    public RecordStoreOptions Options { get; }
    public TimeProvider Time => _time;

    /// <summary>The committer's logger: the claims and the compactor built on this log say their failures there too.</summary>
    public ILogger Logger { get; }

    public static string LogName(long version) => "_log/" + version.ToString("D20", CultureInfo.InvariantCulture) + ".json";
    public static string CheckpointName(long version) => "_checkpoints/" + version.ToString("D20", CultureInfo.InvariantCulture) + ".json";

    /// <summary>The store's layout; created on first use with the configured bucket count (the first writer's count wins).</summary>
    public Task<StoreMetadata> MetadataAsync(CancellationToken cancellationToken)
    {
        var task = _metadata;
        if (task is null || task.IsFaulted || task.IsCanceled) _metadata = task = LoadMetadataAsync(cancellationToken);
        return task;
    }

    private async Task<StoreMetadata> LoadMetadataAsync(CancellationToken cancellationToken)
    {
        await _storage.EnsureCreatedAsync().ConfigureAwait(false);
        var blob = Container.GetBlobClient(MetadataName);
        if (await ReadJsonAsync<StoreMetadata>(blob, cancellationToken).ConfigureAwait(false) is { } existing) return existing;
        var mine = new StoreMetadata(1, Options.BucketCount, FormatBucketHash, Math.Max(1, Options.CheckpointInterval));
        if (await TryCreateAsync(blob, BinaryData.FromObjectAsJson(mine, Json), cancellationToken).ConfigureAwait(false)) return mine;
        return await ReadJsonAsync<StoreMetadata>(blob, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidDataException($"records/{MetadataName} exists but cannot be read.");
    }

    /// <summary>The committed state at <paramref name="version"/>, or the latest when null.</summary>
    public async Task<RecordState> OpenAsync(long? version, CancellationToken cancellationToken)
    {
        await MetadataAsync(cancellationToken).ConfigureAwait(false);
        long target;
        if (version is { } v)
        {
            if (v < 0) throw new ArgumentOutOfRangeException(nameof(version), v, "A records version is 0 or more.");
            target = v;
        }
        else
        {
            target = await FindLatestAsync(await ReadTipAsync(cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        }

        var state = await CheckpointAtOrBelowAsync(target, cancellationToken).ConfigureAwait(false);
        var entries = await ReadEntriesAsync(state.Version + 1, target, cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < entries.Length; i++)
        {
            if (entries[i] is not { } entry)
                throw new ArgumentOutOfRangeException(nameof(version), target,
                    $"Records version {target} is not committed (the log has no entry {state.Version + i + 1}).");
            state.Apply(entry);
        }
        return state;
    }

    /// <summary>Commits <paramref name="draft"/> as the next version; retries on a lost race after re-reading the log.</summary>
    /// <param name="conflict">Given the state the commit would follow, a reason it may not (then nothing is committed).</param>
    public async Task<(long Version, RecordState State)> CommitAsync(CommitEntry draft, Func<RecordState, string?>? conflict, CancellationToken cancellationToken)
    {
        draft = draft with { CommitId = Guid.NewGuid().ToString("N") };
        var state = await OpenAsync(null, cancellationToken).ConfigureAwait(false);
        while (true)
        {
            // Entries committed since: applied in order (each is immutable once written).
            while (await ReadEntryAsync(state.Version + 1, cancellationToken).ConfigureAwait(false) is { } newer)
            {
                state.Apply(newer);
                if (newer.CommitId == draft.CommitId) return (newer.Version, state);
            }
            if (conflict?.Invoke(state) is { } reason) throw new RecordCommitConflictException(reason);
            var entry = draft with { Version = state.Version + 1, CommittedAt = _time.GetUtcNow() };
            if (!await TryCreateAsync(Container.GetBlobClient(LogName(entry.Version)), BinaryData.FromObjectAsJson(entry, Json), cancellationToken).ConfigureAwait(false))
                continue; // another committer took this version
            state.Apply(entry);
            await AfterCommitAsync(state, cancellationToken).ConfigureAwait(false);
            return (entry.Version, state);
        }
    }

    /// <summary>Best effort: the tip and the checkpoint only speed readers up; a reader never depends on either.</summary>
    private async Task AfterCommitAsync(RecordState state, CancellationToken cancellationToken)
    {
        try
        {
            await Container.GetBlobClient(TipName).UploadAsync(BinaryData.FromString(state.Version.ToString(CultureInfo.InvariantCulture)), overwrite: true, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The commit stands (any failure here, a transport one too, must not report it as failed); the next commit
            // writes the tip again. Said and counted: a tip that keeps failing makes every open list the log.
            Logger.TipWriteFailed(state.Version, e);
        }
        try
        {
            var metadata = await MetadataAsync(cancellationToken).ConfigureAwait(false);
            if (state.Version % metadata.CheckpointInterval == 0)
            {
                var checkpoint = state.ToCheckpoint(_time.GetUtcNow() - Options.Retention - Options.UncommittedGrace);
                // Already there (409/412): this committer's own earlier try wrote it; nothing failed.
                await TryCreateAsync(Container.GetBlobClient(CheckpointName(state.Version)), BinaryData.FromObjectAsJson(checkpoint, Json), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Readers fall back to the checkpoint before; said and counted, since each missed one lengthens every open.
            Logger.CheckpointWriteFailed(state.Version, e);
        }
    }

    private async Task<long> ReadTipAsync(CancellationToken cancellationToken)
    {
        try
        {
            var content = await Container.GetBlobClient(TipName).DownloadContentAsync(cancellationToken).ConfigureAwait(false);
            return long.TryParse(content.Value.Content.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : 0;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return 0;
        }
    }

    /// <summary>
    /// The latest version at or after <paramref name="from"/> (a committed version, or 0), listing only the tail of the
    /// log: the zero-padded names share a prefix per hundred versions, so each listing returns at most 100 names.
    /// </summary>
    public async Task<long> FindLatestAsync(long from, CancellationToken cancellationToken)
    {
        var latest = from;
        var probe = from;
        while (true)
        {
            var prefix = "_log/" + probe.ToString("D20", CultureInfo.InvariantCulture)[..18];
            long max = -1;
            await foreach (var item in Container.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, prefix, cancellationToken).ConfigureAwait(false))
            {
                var digits = item.Name.AsSpan(5, 20);
                if (item.Name.Length == 30 && long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > max) max = v;
            }
            if (max < 0) return latest;
            latest = Math.Max(latest, max);
            if (max % 100 != 99) return latest;
            probe = max + 1;
        }
    }

    private async Task<RecordState> CheckpointAtOrBelowAsync(long version, CancellationToken cancellationToken)
    {
        var n = (await MetadataAsync(cancellationToken).ConfigureAwait(false)).CheckpointInterval;
        // A committer that died before writing its checkpoint leaves a gap: fall back to the one before.
        for (var c = version / n * n; c > 0; c -= n)
            if (await ReadJsonAsync<Checkpoint>(Container.GetBlobClient(CheckpointName(c)), cancellationToken).ConfigureAwait(false) is { } checkpoint)
                return RecordState.From(checkpoint);
        return RecordState.Empty();
    }

    private async Task<CommitEntry?[]> ReadEntriesAsync(long first, long last, CancellationToken cancellationToken)
    {
        if (last < first) return [];
        var entries = new CommitEntry?[last - first + 1];
        await Parallel.ForEachAsync(Enumerable.Range(0, entries.Length), new ParallelOptions { MaxDegreeOfParallelism = ParallelReads, CancellationToken = cancellationToken },
            async (i, ct) => entries[i] = await ReadEntryAsync(first + i, ct).ConfigureAwait(false)).ConfigureAwait(false);
        return entries;
    }

    public Task<CommitEntry?> ReadEntryAsync(long version, CancellationToken cancellationToken) =>
        ReadJsonAsync<CommitEntry>(Container.GetBlobClient(LogName(version)), cancellationToken);

    internal static async Task<T?> ReadJsonAsync<T>(BlobClient blob, CancellationToken cancellationToken) where T : class
    {
        try
        {
            var content = await blob.DownloadContentAsync(cancellationToken).ConfigureAwait(false);
            return content.Value.Content.ToObjectFromJson<T>(Json);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    /// <summary>Creates the blob only if it does not exist; false when it already did.</summary>
    internal static async Task<bool> TryCreateAsync(BlobClient blob, BinaryData content, CancellationToken cancellationToken)
    {
        try
        {
            await blob.UploadAsync(content, new BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412)
        {
            return false;
        }
    }
}
