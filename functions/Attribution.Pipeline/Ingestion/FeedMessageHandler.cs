using System.Net.Http;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using Attribution.Domain;
using Attribution.Domain.Feeds;
using Attribution.Domain.Rules;
using Attribution.Pipeline.Storage;
using Azure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Attribution.Pipeline.Ingestion;

/// <summary>What to do with a received message.</summary>
public enum SettlementAction
{
    /// <summary>Ingested (or already ingested before): remove it from the queue.</summary>
    Complete,

    /// <summary>It can never be ingested as sent: move it to the dead-letter queue with a reason.</summary>
    DeadLetter,

    /// <summary>Storage failed transiently: release the lock so Service Bus delivers it again.</summary>
    Abandon,
}

/// <summary>The decision for one message, and the ingestion it produced (or found) when it completes.</summary>
public sealed record MessageSettlement(
    SettlementAction Action,
    string? DeadLetterReason = null,
    string? DeadLetterDescription = null,
    FeedIngestionResult? Result = null)
{
    /// <summary>Completed without writing anything: the MessageId had already been ingested to completion.</summary>
    public bool AlreadyIngested { get; init; }

    /// <summary>The storage failure behind an <see cref="SettlementAction.Abandon"/>, for logs.</summary>
    public Exception? Failure { get; init; }
}

/// <summary>The dead-letter reasons <see cref="FeedMessageHandler"/> gives (the `DeadLetterReason` of the message).</summary>
internal static class DeadLetterReasons
{
    /// <summary>The application property `source` is missing or not one of the nine sources.</summary>
    public const string UnknownSource = "UnknownSource";

    /// <summary>The body is not UTF-8 JSON holding one object or an array.</summary>
    public const string InvalidJson = "InvalidJson";

    /// <summary>The body exceeds <see cref="FeedMessageHandler.MaxBodyBytes"/> or holds more than <see cref="FeedMessageHandler.MaxRecords"/> records.</summary>
    public const string MessageTooLarge = "MessageTooLarge";

    /// <summary>No MessageId, or one that cannot be an ingestion id (a table key).</summary>
    public const string InvalidMessageId = "InvalidMessageId";
}

/// <summary>
/// Ingests one feed message (§2.5) and says how to settle it. Used by the `IngestFeedMessage` function and
/// `attribution listen`, which receive it from Service Bus, adapt it to a <see cref="FeedMessage"/>, and only map the
/// decision onto their settlement API.
/// <list type="bullet">
/// <item>The application property `source` names the feed; the body is one JSON record or an array of records with the
/// JSONL field names; rows follow the file rules (<see cref="FeedRecordNormalizer"/>), numbered 1..n by array position.</item>
/// <item>A message that can never be ingested (no usable MessageId, unknown source, not JSON, over the limits) is
/// dead-lettered with a reason, before anything is written.</item>
/// <item>The ingestion id is the MessageId: a message whose id already completed is completed again without writing
/// (redelivery, or a sender's retry).</item>
/// <item>Every row is validated and normalized in memory first; only then are the FeedIngestions row (Running), the
/// claim on the MessageId, the record segments and rejected rows, the commit (records visible at once) and finally the
/// status written. A transient storage failure abandons the message and leaves the row Running; the redelivery takes
/// the claim over and either finds the commit (and finishes the row) or writes and commits afresh, so it ends with
/// exactly what a clean run stores.</item>
/// </list>
/// </summary>
public sealed class FeedMessageHandler(StorageAccount storage, CreditRules rules, IngestionStore store, TimeProvider time, ILogger<FeedMessageHandler> logger)
{
    /// <summary>The queue of §2.5.</summary>
    public const string QueueName = "feed-records";

    /// <summary>The application property that names the source.</summary>
    public const string SourceProperty = "source";

    /// <summary>Largest body accepted: 1 MiB (a Service Bus Premium message can be larger; Standard's limit is 256 KB).</summary>
    public const int MaxBodyBytes = 1024 * 1024;

    /// <summary>Most records in one message: a message is handled in memory and within one lock period.</summary>
    public const int MaxRecords = 5_000;

    /// <summary>The FeedIngestions fileName of a message ingestion.</summary>
    public static string FileNameOf(string messageId) => "message:" + messageId;

    private readonly TimeProvider _time = time;
    private readonly ILogger _log = logger;
    private readonly IngestionStore _store = store;

    /// <summary>Segment layout and claim settings.</summary>
    public RecordStoreOptions RecordOptions { get; set; } = RecordStoreOptions.Default;

    /// <summary>Test hook: runs after each write phase (may throw, or stop the emulator, to simulate a crash there).</summary>
    internal Func<WritePhase, CancellationToken, Task>? AfterPhase { get; set; }

    public async Task<MessageSettlement> HandleAsync(FeedMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var startedAt = _time.GetUtcNow();
        // Everything that can make the message unusable is decided here, in memory, without touching storage:
        // a poison message is dead-lettered even while storage is down.
        var prepared = Prepare(message, startedAt);
        if (prepared.DeadLetter is { } deadLetter) return deadLetter;
        try
        {
            return await IngestAsync(prepared, startedAt, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (IsTransientStorageFailure(e, cancellationToken))
        {
            // The FeedIngestions row (if it was written) stays Running: the attempt did not finish. The redelivery
            // completes it; after the queue's max delivery count Service Bus dead-letters the message itself.
            return new MessageSettlement(SettlementAction.Abandon) { Failure = e };
        }
    }

    private async Task<MessageSettlement> IngestAsync(PreparedMessage m, DateTimeOffset startedAt, CancellationToken cancellationToken)
    {
        await storage.EnsureCreatedAsync().ConfigureAwait(false);
        var existing = await _store.GetAsync(m.Source, m.MessageId, cancellationToken).ConfigureAwait(false);
        if (existing is { Status: IngestionStatus.Succeeded or IngestionStatus.CompletedWithRejections or IngestionStatus.Duplicate })
            return new MessageSettlement(SettlementAction.Complete, Result: existing) { AlreadyIngested = true };

        // Running first, so an attempt that dies part-way is visible; any earlier unfinished attempt is taken over.
        var result = new FeedIngestionResult(m.MessageId, m.Source, FileNameOf(m.MessageId), m.ContentSha256, IngestionStatus.Running, 0, 0, 0, startedAt, null);
        await _store.SaveAsync(result, cancellationToken).ConfigureAwait(false);
        await Phase(WritePhase.RunningRecorded, cancellationToken).ConfigureAwait(false);

        var commits = new RecordCommits(storage, RecordOptions, _time, _log);
        var claim = await commits.Claims.AcquireAsync(ContentClaims.MessageKey(m.Source, m.MessageId), m.MessageId, breakLiveLease: true, cancellationToken).ConfigureAwait(false);
        if (claim.Outcome != ClaimOutcome.Acquired)
        {
            // An earlier delivery committed and died before its status: finish the row from its commit.
            var finished = await commits.FinishCommittedRowAsync(m.Source, m.MessageId, cancellationToken).ConfigureAwait(false);
            return new MessageSettlement(SettlementAction.Complete, Result: finished! with { LatestUsageMonth = m.LatestUsageMonth });
        }

        var lease = claim.Lease!;
        try
        {
            await Phase(WritePhase.Claimed, cancellationToken).ConfigureAwait(false);
            long accepted = 0, rejected = 0;
            RecordCommit commit;
            var records = await SegmentWriter.CreateAsync(commits.Log, m.MessageId, cancellationToken).ConfigureAwait(false);
            await using (records.ConfigureAwait(false))
            {
                var rejects = new TableBatchWriter(storage.Table(TableNames.RejectedRecords));
                await using (rejects.ConfigureAwait(false))
                {
                    foreach (var row in m.Rows)
                    {
                        if (row.Reason is { } reason)
                        {
                            rejected++;
                            await rejects.UpsertAsync(IngestionStore.RejectedEntity(m.Source, m.MessageId, row.Line, reason, row.Raw), cancellationToken).ConfigureAwait(false);
                            continue;
                        }
                        accepted++;
                        foreach (var record in row.Records) record(records);
                        await records.AcceptAsync(cancellationToken).ConfigureAwait(false);
                    }
                    await Task.WhenAll(records.FlushAsync(cancellationToken), rejects.FlushAsync(cancellationToken)).ConfigureAwait(false);
                }
                await Phase(WritePhase.RecordsWritten, cancellationToken).ConfigureAwait(false);
                commit = await RecordCommits.CommitAsync(lease, records, m.MessageId, m.Source, new CommitRows(m.Rows.Count, accepted, rejected), cancellationToken).ConfigureAwait(false);
            }
            await Phase(WritePhase.Committed, cancellationToken).ConfigureAwait(false);

            result = result with
            {
                Status = rejected == 0 ? IngestionStatus.Succeeded : IngestionStatus.CompletedWithRejections,
                RowsTotal = m.Rows.Count,
                RowsAccepted = accepted,
                RowsRejected = rejected,
                CompletedAt = _time.GetUtcNow(),
                LatestUsageMonth = m.LatestUsageMonth,
            };
            await _store.SaveAsync(result, cancellationToken).ConfigureAwait(false);
            await commits.CompactIfNeededAsync(commit, cancellationToken).ConfigureAwait(false);
            return new MessageSettlement(SettlementAction.Complete, Result: result);
        }
        finally
        {
            // Released by the commit; otherwise left to run out — the redelivery breaks it anyway.
            await lease.DisposeAsync().ConfigureAwait(false);
        }
    }

    private Task Phase(WritePhase phase, CancellationToken cancellationToken) =>
        AfterPhase is { } hook ? hook(phase, cancellationToken) : Task.CompletedTask;

    /// <summary>Checks the message and normalizes every row in memory; nothing is written.</summary>
    private PreparedMessage Prepare(FeedMessage message, DateTimeOffset startedAt)
    {
        var id = message.MessageId;
        if (string.IsNullOrEmpty(id))
            return PreparedMessage.Dead(DeadLetterReasons.InvalidMessageId, "The message has no MessageId; it is the ingestion id, so it is required.");
        if (!IsUsableKey(id))
            return PreparedMessage.Dead(DeadLetterReasons.InvalidMessageId,
                $"MessageId '{ValueRules.Show(id)}' cannot be an ingestion id: it may not contain '/', '\\', '#', '?' or control characters.");

        var sourceValue = SourceValue(message.ApplicationProperties);
        if (sourceValue is null)
            return PreparedMessage.Dead(DeadLetterReasons.UnknownSource, $"The message has no application property '{SourceProperty}' (one of: {FeedSources.AllNames}).");
        if (sourceValue is not string sourceName || !FeedSources.TryParse(sourceName, out var source))
            return PreparedMessage.Dead(DeadLetterReasons.UnknownSource,
                $"Application property '{SourceProperty}' is '{ValueRules.Show(Convert.ToString(sourceValue, System.Globalization.CultureInfo.InvariantCulture))}': expected one of: {FeedSources.AllNames}.");

        var body = message.Body.ToMemory();
        if (body.Length > MaxBodyBytes)
            return PreparedMessage.Dead(DeadLetterReasons.MessageTooLarge,
                $"The body is {body.Length:N0} bytes; at most {MaxBodyBytes:N0} are accepted. Send the records in several messages.");
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(body.Span));
        if (body.Span.StartsWith("\uFEFF"u8)) body = body[3..];
        // The JSON parser checks structure, not the bytes inside strings: bad UTF-8 would surface later, row by row.
        if (!System.Text.Unicode.Utf8.IsValid(body.Span))
            return PreparedMessage.Dead(DeadLetterReasons.InvalidJson, "The body is not valid UTF-8.");

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException e)
        {
            return PreparedMessage.Dead(DeadLetterReasons.InvalidJson, $"The body is not valid UTF-8 JSON: {e.Message}");
        }
        using (document)
        {
            var root = document.RootElement;
            List<JsonElement> elements;
            switch (root.ValueKind)
            {
                case JsonValueKind.Object:
                    elements = [root];
                    break;
                case JsonValueKind.Array:
                    var count = root.GetArrayLength();
                    if (count > MaxRecords)
                        return PreparedMessage.Dead(DeadLetterReasons.MessageTooLarge,
                            $"The body holds {count:N0} records; at most {MaxRecords:N0} are accepted per message. Send them in several messages.");
                    elements = [.. root.EnumerateArray()];
                    break;
                default:
                    return PreparedMessage.Dead(DeadLetterReasons.InvalidJson,
                        $"The body is a JSON {root.ValueKind}: expected one record (an object) or an array of records.");
            }

            var normalizer = new FeedRecordNormalizer(source, rules.ProductMap, id, startedAt);
            var sink = new BufferingSink();
            var rows = new List<PreparedRow>(elements.Count);
            using var reader = new MessageRecordReader(source, elements);
            while (reader.MoveNext())
            {
                if (normalizer.Normalize(reader, sink) is { } reason)
                {
                    sink.Take();
                    rows.Add(new PreparedRow(reader.Line, reason, reader.RawText(), []));
                }
                else
                {
                    rows.Add(new PreparedRow(reader.Line, null, "", sink.Take()));
                }
            }
            return new PreparedMessage(null, id, source, sha256, rows, sink.LatestUsageMonth);
        }
    }

    /// <summary>The `source` application property; its name is matched ignoring case, as column names are.</summary>
    private static object? SourceValue(IReadOnlyDictionary<string, object> properties)
    {
        if (properties.TryGetValue(SourceProperty, out var value)) return value;
        foreach (var (key, v) in properties)
            if (string.Equals(key, SourceProperty, StringComparison.OrdinalIgnoreCase)) return v;
        return null;
    }

    /// <summary>Table keys (FeedIngestions RowKey, RejectedRecords PartitionKey) exclude these characters.</summary>
    private static bool IsUsableKey(string id)
    {
        if (id.Length > 512) return false;
        foreach (var c in id)
            if (c is '/' or '\\' or '#' or '?' || char.IsControl(c)) return false;
        return true;
    }

    /// <summary>
    /// A failure that a redelivery may not meet: the service busy, unreachable or timing out (including the SDK giving up
    /// its retries against a stopped emulator), as opposed to a bad request, which is a bug and propagates.
    /// </summary>
    public static bool IsTransientStorageFailure(Exception exception, CancellationToken cancellationToken) => exception switch
    {
        // Status 0: no response at all (connection refused or reset), which the Azure SDK reports this way.
        RequestFailedException r => r.Status is 0 or 408 or 429 or >= 500,
        HttpRequestException or IOException or SocketException or TimeoutException => true,
        // A timeout inside the SDK, not the caller cancelling.
        OperationCanceledException => !cancellationToken.IsCancellationRequested,
        AggregateException a => a.InnerExceptions.Count > 0 && a.InnerExceptions.All(e => IsTransientStorageFailure(e, cancellationToken)),
        _ => false,
    };

    private sealed record PreparedRow(long Line, string? Reason, string Raw, Action<IFeedRecordSink>[] Records);

    private sealed record PreparedMessage(
        MessageSettlement? DeadLetter,
        string MessageId,
        FeedSource Source,
        string ContentSha256,
        IReadOnlyList<PreparedRow> Rows,
        YearMonth? LatestUsageMonth)
    {
        public static PreparedMessage Dead(string reason, string description) =>
            new(new MessageSettlement(SettlementAction.DeadLetter, reason, description), "", default, "", [], null);
    }

    /// <summary>Holds the records of the current row until it is known to be accepted; replayed into the writer later.</summary>
    private sealed class BufferingSink : IFeedRecordSink
    {
        private readonly List<Action<IFeedRecordSink>> _pending = [];

        public YearMonth? LatestUsageMonth { get; private set; }

        public void Add(PartnerRecord partner, FeedLineage lineage) => _pending.Add(s => s.Add(partner, lineage));
        public void Add(DporEvent dporEvent) => _pending.Add(s => s.Add(dporEvent));
        public void Add(Association association) => _pending.Add(s => s.Add(association));
        public void Add(CertificationRecord certification) => _pending.Add(s => s.Add(certification));

        public void Add(UsageRecord usage)
        {
            _pending.Add(s => s.Add(usage));
            if (LatestUsageMonth is null || usage.Month > LatestUsageMonth.Value) LatestUsageMonth = usage.Month;
        }

        public Action<IFeedRecordSink>[] Take()
        {
            var records = _pending.ToArray();
            _pending.Clear();
            return records;
        }
    }
}

/// <summary>The records of one message as feed rows: line n is the n-th array element (a single object is line 1).</summary>
internal sealed class MessageRecordReader : FeedRowReader
{
    private readonly IReadOnlyList<JsonElement> _elements;
    private readonly Dictionary<string, FeedColumn> _byName;
    private readonly string?[] _values = new string?[FeedSchema.ColumnCount];
    private readonly string?[] _labels = new string?[FeedSchema.ColumnCount];
    private int _index = -1;

    public MessageRecordReader(FeedSource source, IReadOnlyList<JsonElement> elements) : base(FeedSchema.For(source))
    {
        _elements = elements;
        _byName = Schema.Columns.ToDictionary(c => FeedSchema.NormalizeName(c.Name), c => c.Column);
    }

    public override bool MoveNext()
    {
        if (++_index >= _elements.Count) return false;
        Line = _index + 1;
        Array.Clear(_values);
        Array.Clear(_labels);
        var element = _elements[_index];
        RowProblem = element.ValueKind == JsonValueKind.Object
            ? JsonRecord.Read(element, _byName, _values, _labels)
            : $"record is JSON but not an object ({element.ValueKind})";
        return true;
    }

    public override ReadOnlySpan<char> this[FeedColumn column] => _values[(int)column];

    public override string Label(FeedColumn column) =>
        _labels[(int)column] is { } label ? InputText.Escape(label) : Schema.Columns.FirstOrDefault(c => c.Column == column).Name ?? column.ToString();

    public override string RawText() => _elements[_index].GetRawText();

    protected override void Dispose(bool disposing)
    {
    }
}
