using System.Collections.Concurrent;
using Attribution.Domain;
using Parquet;
using Parquet.Schema;

namespace Attribution.Pipeline.Storage;

/// <summary>
/// How one kind of record is laid out in a Parquet segment: columns named as the feed fields (camelCase), natural keys
/// first, values, then lineage (ingestionId, line, ingestedAt). Rows are sorted by tenant and natural key, so a row
/// group's min/max statistics on customerTenantId let a one-tenant read skip the rest. Columns are written from arrays
/// filled per row group (GUIDs formatted into one char buffer), so writing allocates per row group, not per row.
/// </summary>
internal abstract class SegmentCodec<T> where T : class
{
    protected static readonly DataField<ReadOnlyMemory<char>> IngestionIdField = new("ingestionId");
    protected static readonly DataField<long> LineField = new("line");
    protected static readonly DateTimeDataField IngestedAtField = new("ingestedAt", DateTimeFormat.Timestamp, isAdjustedToUTC: true, unit: DateTimeTimeUnit.Nanos);
    protected static readonly DataField<ReadOnlyMemory<char>> TenantField = new("customerTenantId");

    public abstract RecordKind Kind { get; }
    public abstract ParquetSchema Schema { get; }

    /// <summary>Tenant order, then the natural key, then line (so among equal keys the later line sorts last).</summary>
    public abstract int Compare(T a, T b);

    public abstract bool SameKey(T a, T b);

    public abstract FeedLineage Lineage(T record);

    public virtual Guid? TenantOf(T record) => null;

    /// <summary>Writes rows [offset, offset+count) as one row group.</summary>
    public abstract Task WriteRowGroupAsync(ParquetRowGroupWriter group, List<T> rows, int offset, int count, ColumnBuffers buffers, CancellationToken cancellationToken);

    /// <summary>Reads one row group into <paramref name="sink"/>; lineage ingestion ids resolve through <paramref name="ingestions"/>.</summary>
    public abstract Task ReadRowGroupAsync(ParquetRowGroupReader group, IngestionResolver ingestions, RowFilter filter, Action<T, long> sink, CancellationToken cancellationToken);

    protected static async Task WriteLineageAsync(ParquetRowGroupWriter g, List<T> rows, int offset, int count, ColumnBuffers b, Func<T, FeedLineage> lineage, CancellationToken ct)
    {
        var ids = b.Memory(0, count);
        var lines = b.Longs(count);
        var at = b.Times(count);
        for (var i = 0; i < count; i++)
        {
            var l = lineage(rows[offset + i]);
            ids[i] = l.IngestionId.AsMemory();
            lines[i] = l.Line;
            at[i] = l.IngestedAt.UtcDateTime;
        }
        await g.WriteAsync(IngestionIdField, Ro(ids, count), cancellationToken: ct).ConfigureAwait(false);
        await g.WriteAsync(LineField, Ro(lines, count), cancellationToken: ct).ConfigureAwait(false);
        await g.WriteAsync(IngestedAtField, Ro(at, count), cancellationToken: ct).ConfigureAwait(false);
    }

    protected static async Task<(string?[] Ids, long[] Versions, long[] Lines, DateTime[] At)> ReadLineageAsync(ParquetRowGroupReader g, IngestionResolver ingestions, int n, CancellationToken ct)
    {
        var raw = new ReadOnlyMemory<char>[n];
        await g.ReadAsync(IngestionIdField, raw.AsMemory(), cancellationToken: ct).ConfigureAwait(false);
        var ids = new string?[n];
        var versions = new long[n];
        for (var i = 0; i < n; i++) (ids[i], versions[i]) = ingestions.Resolve(raw[i].Span);
        var lines = new long[n];
        await g.ReadAsync(LineField, lines.AsMemory(), cancellationToken: ct).ConfigureAwait(false);
        var at = new DateTime[n];
        await g.ReadAsync(IngestedAtField, at.AsMemory(), cancellationToken: ct).ConfigureAwait(false);
        return (ids, versions, lines, at);
    }

    protected static FeedLineage LineageAt((string?[] Ids, long[] Versions, long[] Lines, DateTime[] At) l, int i) =>
        new(l.Ids[i]!, l.Lines[i], new DateTimeOffset(DateTime.SpecifyKind(l.At[i], DateTimeKind.Utc)));

    protected static async Task<ReadOnlyMemory<char>[]> ReadStringsAsync(ParquetRowGroupReader g, DataField<ReadOnlyMemory<char>> field, int n, CancellationToken ct)
    {
        var values = new ReadOnlyMemory<char>[n];
        await g.ReadAsync(field, values.AsMemory(), cancellationToken: ct).ConfigureAwait(false);
        return values;
    }

    /// <summary>A nullable string column: values[i] is meaningful where present[i].</summary>
    protected static async Task<(ReadOnlyMemory<char>[] Values, bool[] Present)> ReadNullableStringsAsync(ParquetRowGroupReader g, DataField<ReadOnlyMemory<char>?> field, int n, CancellationToken ct)
    {
        var packed = new ReadOnlyMemory<char>[n];
        var levels = new int[n];
        await g.ReadRawAsync(field, packed.AsMemory(), levels.AsMemory(), null, ct).ConfigureAwait(false);
        var values = new ReadOnlyMemory<char>[n];
        var present = new bool[n];
        for (int i = 0, v = 0; i < n; i++)
        {
            if (levels[i] == 0) continue;
            present[i] = true;
            values[i] = packed[v++];
        }
        return (values, present);
    }

    protected static async Task<TV?[]> ReadNullableAsync<TV>(ParquetRowGroupReader g, DataField<TV?> field, int n, CancellationToken ct) where TV : struct
    {
        var values = new TV?[n];
        await g.ReadAsync(field, values.AsMemory(), cancellationToken: ct).ConfigureAwait(false);
        return values;
    }

    protected static async Task<TV[]> ReadAsync<TV>(ParquetRowGroupReader g, DataField<TV> field, int n, CancellationToken ct) where TV : struct
    {
        var values = new TV[n];
        await g.ReadAsync(field, values.AsMemory(), cancellationToken: ct).ConfigureAwait(false);
        return values;
    }

    protected static ReadOnlyMemory<TV> Ro<TV>(TV[] values, int count) => new(values, 0, count);

    protected static Guid ParseGuid(ReadOnlyMemory<char> text) => Guid.ParseExact(text.Span, "D");

    /// <summary>Whether a row group can hold the filter's tenant, by its statistics (absent statistics: it may).</summary>
    protected static bool MayHoldTenant(ParquetRowGroupReader g, RowFilter filter)
    {
        if (filter.Tenant is not { } tenant) return true;
        var stats = g.GetStatistics(TenantField);
        return stats?.MinValue is not string min || stats.MaxValue is not string max
            || (string.CompareOrdinal(tenant, min) >= 0 && string.CompareOrdinal(tenant, max) <= 0);
    }
}

/// <summary>Which rows a read wants: one tenant (lower-case `D` form) and/or a month range (usage).</summary>
internal readonly record struct RowFilter(string? Tenant, YearMonth? From, YearMonth? To)
{
    public static readonly RowFilter All = new(null, null, null);
}

/// <summary>Maps a row's ingestion id to the committed version that orders latest-wins, sharing one string per id.</summary>
internal sealed class IngestionResolver(IReadOnlyDictionary<string, long> ingestions)
{
    private readonly Dictionary<string, long>.AlternateLookup<ReadOnlySpan<char>> _lookup =
        (ingestions as Dictionary<string, long> ?? new Dictionary<string, long>(ingestions, StringComparer.Ordinal)).GetAlternateLookup<ReadOnlySpan<char>>();
    private string? _last;
    private long _lastVersion;

    public (string Id, long Version) Resolve(ReadOnlySpan<char> id)
    {
        // Rows of one ingestion are adjacent: compare with the previous id before hashing.
        if (_last is not null && id.SequenceEqual(_last)) return (_last, _lastVersion);
        if (!_lookup.TryGetValue(id, out var key, out var version))
            throw new InvalidDataException($"A committed segment holds rows of ingestion '{id}', which no commit names.");
        _last = key;
        _lastVersion = version;
        return (key, version);
    }
}

/// <summary>Column arrays reused across the row groups of one segment.</summary>
internal sealed class ColumnBuffers(int capacity)
{
    private readonly ReadOnlyMemory<char>[][] _memory = new ReadOnlyMemory<char>[6][];
    private readonly ReadOnlyMemory<char>?[][] _nullableMemory = new ReadOnlyMemory<char>?[4][];
    private readonly char[][] _chars = new char[3][];
    private long[]? _longs;
    private DateTime[]? _times;

    public ReadOnlyMemory<char>[] Memory(int slot, int count) => _memory[slot] ??= new ReadOnlyMemory<char>[Math.Max(count, capacity)];
    public ReadOnlyMemory<char>?[] NullableMemory(int slot, int count) => _nullableMemory[slot] ??= new ReadOnlyMemory<char>?[Math.Max(count, capacity)];
    public long[] Longs(int count) => _longs ??= new long[Math.Max(count, capacity)];
    public DateTime[] Times(int count) => _times ??= new DateTime[Math.Max(count, capacity)];

    /// <summary>A char buffer for <paramref name="count"/> formatted GUIDs (36 chars each).</summary>
    public char[] GuidChars(int slot, int count) => _chars[slot] ??= new char[Math.Max(count, capacity) * 36];

    public static ReadOnlyMemory<char> Format(Guid g, char[] chars, int i)
    {
        g.TryFormat(chars.AsSpan(i * 36, 36), out _, "D");
        return chars.AsMemory(i * 36, 36);
    }
}

/// <summary>Strings of small closed sets, computed once (no per-row allocation when writing).</summary>
internal static class CachedNames
{
    private static readonly ConcurrentDictionary<int, string> Months = new();
    private static readonly ConcurrentDictionary<ushort, string> WorkloadSets = new();
    private static readonly string[] Workloads = Enum.GetValues<Workload>().Select(w => w.ToString()).ToArray();

    public static string Month(YearMonth m) => Months.GetOrAdd(m.Index, static (_, m) => m.ToString(), m);
    public static string Workload(Workload w) => Workloads[(int)w];
    public static string WorkloadSet(WorkloadSet s) => WorkloadSets.GetOrAdd(s.Bits, static (_, s) => s.ToString(), s);

    public static string Source(AssociationSource s) => s switch
    {
        AssociationSource.Sales => "sales",
        AssociationSource.Csp => "csp",
        AssociationSource.FastTrack => "fasttrack",
        AssociationSource.Dap => "dap",
        AssociationSource.Pal => "pal",
        _ => throw new ArgumentOutOfRangeException(nameof(s), s, "Not an association source."),
    };

    public static AssociationSource ParseSource(ReadOnlySpan<char> s) => s switch
    {
        "sales" => AssociationSource.Sales,
        "csp" => AssociationSource.Csp,
        "fasttrack" => AssociationSource.FastTrack,
        "dap" => AssociationSource.Dap,
        "pal" => AssociationSource.Pal,
        _ => throw new InvalidDataException($"Association segment row has unknown source '{s}'."),
    };

    public static Workload ParseWorkload(ReadOnlySpan<char> s) =>
        Enum.TryParse<Workload>(s, out var w) ? w : throw new InvalidDataException($"Usage segment row has unknown workload '{s}'.");
}

internal sealed class UsageCodec : SegmentCodec<UsageRecord>
{
    private static readonly DataField<ReadOnlyMemory<char>> Subscription = new("subscriptionId");
    private static readonly DataField<ReadOnlyMemory<char>> WorkloadField = new("workload");
    private static readonly DataField<ReadOnlyMemory<char>> MonthField = new("month");
    private static readonly DataField<double?> Revenue = new("consumedRevenueUsd");
    private static readonly DataField<long?> Users = new("activeUsers");

    // After the fields: static initializers run in order, and the schema needs them.
    public static readonly UsageCodec Instance = new();

    public override RecordKind Kind => RecordKind.Usage;
    public override ParquetSchema Schema { get; } = new(TenantField, Subscription, WorkloadField, MonthField, Revenue, Users, IngestionIdField, LineField, IngestedAtField);
    public override FeedLineage Lineage(UsageRecord r) => r.Lineage;
    public override Guid? TenantOf(UsageRecord r) => r.CustomerTenantId;

    public override int Compare(UsageRecord a, UsageRecord b)
    {
        var c = a.CustomerTenantId.CompareTo(b.CustomerTenantId);
        if (c == 0) c = a.SubscriptionId.CompareTo(b.SubscriptionId);
        if (c == 0) c = a.Workload.CompareTo(b.Workload);
        if (c == 0) c = a.Month.CompareTo(b.Month);
        return c != 0 ? c : a.Lineage.Line.CompareTo(b.Lineage.Line);
    }

    public override bool SameKey(UsageRecord a, UsageRecord b) => Key(a) == Key(b);

    public static (Guid, Guid, Workload, int) Key(UsageRecord u) => (u.CustomerTenantId, u.SubscriptionId, u.Workload, u.Month.Index);

    public override async Task WriteRowGroupAsync(ParquetRowGroupWriter g, List<UsageRecord> rows, int offset, int count, ColumnBuffers b, CancellationToken ct)
    {
        var tenants = b.Memory(1, count);
        var subs = b.Memory(2, count);
        var workloads = b.Memory(3, count);
        var months = b.Memory(4, count);
        var tChars = b.GuidChars(0, count);
        var sChars = b.GuidChars(1, count);
        var revenue = new double?[count];
        var users = new long?[count];
        for (var i = 0; i < count; i++)
        {
            var u = rows[offset + i];
            tenants[i] = ColumnBuffers.Format(u.CustomerTenantId, tChars, i);
            subs[i] = ColumnBuffers.Format(u.SubscriptionId, sChars, i);
            workloads[i] = CachedNames.Workload(u.Workload).AsMemory();
            months[i] = CachedNames.Month(u.Month).AsMemory();
            revenue[i] = u.ConsumedRevenueUsd;
            users[i] = u.ActiveUsers;
        }
        await g.WriteAsync(TenantField, Ro(tenants, count), cancellationToken: ct).ConfigureAwait(false);
        await g.WriteAsync(Subscription, Ro(subs, count), cancellationToken: ct).ConfigureAwait(false);
        await g.WriteAsync(WorkloadField, Ro(workloads, count), cancellationToken: ct).ConfigureAwait(false);
        await g.WriteAsync(MonthField, Ro(months, count), cancellationToken: ct).ConfigureAwait(false);
        await g.WriteAsync(Revenue, Ro(revenue, count), cancellationToken: ct).ConfigureAwait(false);
        await g.WriteAsync(Users, Ro(users, count), cancellationToken: ct).ConfigureAwait(false);
        await WriteLineageAsync(g, rows, offset, count, b, r => r.Lineage, ct).ConfigureAwait(false);
    }

    public override async Task ReadRowGroupAsync(ParquetRowGroupReader g, IngestionResolver ingestions, RowFilter filter, Action<UsageRecord, long> sink, CancellationToken ct)
    {
        if (!MayHoldTenant(g, filter) || !MayHoldMonths(g, filter)) return;
        var n = (int)g.RowCount;
        var tenants = await ReadStringsAsync(g, TenantField, n, ct).ConfigureAwait(false);
        var months = await ReadStringsAsync(g, MonthField, n, ct).ConfigureAwait(false);
        var subs = await ReadStringsAsync(g, Subscription, n, ct).ConfigureAwait(false);
        var workloads = await ReadStringsAsync(g, WorkloadField, n, ct).ConfigureAwait(false);
        var revenue = await ReadNullableAsync(g, Revenue, n, ct).ConfigureAwait(false);
        var users = await ReadNullableAsync(g, Users, n, ct).ConfigureAwait(false);
        var lineage = await ReadLineageAsync(g, ingestions, n, ct).ConfigureAwait(false);
        for (var i = 0; i < n; i++)
        {
            if (filter.Tenant is { } t && !tenants[i].Span.SequenceEqual(t)) continue;
            if (!YearMonth.TryParse(months[i].Span, out var month)) throw new InvalidDataException($"Usage segment row has month '{months[i]}'.");
            if ((filter.From is { } from && month < from) || (filter.To is { } to && month > to)) continue;
            sink(new UsageRecord(ParseGuid(tenants[i]), ParseGuid(subs[i]), CachedNames.ParseWorkload(workloads[i].Span), month, revenue[i], users[i], LineageAt(lineage, i)), lineage.Versions[i]);
        }
    }

    /// <summary>A row group's month statistics (min, max), or null when it was written without them.</summary>
    public static (YearMonth Min, YearMonth Max)? MonthRange(ParquetRowGroupReader g) =>
        g.GetStatistics(MonthField) is { MinValue: string min, MaxValue: string max } && YearMonth.TryParse(min, out var a) && YearMonth.TryParse(max, out var b)
            ? (a, b) : null;

    /// <summary>Every row's month of a row group (only that column is read).</summary>
    public static async Task<List<YearMonth>> ReadMonthsAsync(ParquetRowGroupReader g, CancellationToken ct)
    {
        var months = await ReadStringsAsync(g, MonthField, (int)g.RowCount, ct).ConfigureAwait(false);
        var list = new List<YearMonth>(months.Length);
        foreach (var m in months)
            list.Add(YearMonth.TryParse(m.Span, out var month) ? month : throw new InvalidDataException($"Usage segment row has month '{m}'."));
        return list;
    }

    private static bool MayHoldMonths(ParquetRowGroupReader g, RowFilter filter)
    {
        if (filter.From is null && filter.To is null) return true;
        var stats = g.GetStatistics(MonthField);
        if (stats?.MinValue is not string min || stats.MaxValue is not string max) return true;
        return (filter.To is not { } to || string.CompareOrdinal(min, CachedNames.Month(to)) <= 0)
            && (filter.From is not { } from || string.CompareOrdinal(max, CachedNames.Month(from)) >= 0);
    }
}

internal sealed class AssociationCodec : SegmentCodec<Association>
{
    private static readonly DataField<ReadOnlyMemory<char>> SourceField = new("source");
    private static readonly DataField<long> Partner = new("partnerId");
    private static readonly DataField<ReadOnlyMemory<char>?> Subscription = new("subscriptionId");
    private static readonly DataField<ReadOnlyMemory<char>> Workloads = new("workloads");
    private static readonly DataField<DateOnly> ValidFrom = new("validFrom");
    private static readonly DataField<DateOnly?> ValidTo = new("validTo");
    private static readonly DataField<ReadOnlyMemory<char>?> Program = new("program");
    private static readonly DataField<ReadOnlyMemory<char>?> Agreement = new("agreementId");
    private static readonly DataField<long?> Related = new("relatedPartnerId");

    // After the fields: static initializers run in order, and the schema needs them.
    public static readonly AssociationCodec Instance = new();

    public override RecordKind Kind => RecordKind.Associations;
    public override ParquetSchema Schema { get; } = new(TenantField, SourceField, Partner, Subscription, Workloads, ValidFrom, ValidTo, Program, Agreement, Related, IngestionIdField, LineField, IngestedAtField);
    public override FeedLineage Lineage(Association r) => r.Lineage;
    public override Guid? TenantOf(Association r) => r.CustomerTenantId;

    public static (Guid, AssociationSource, long, Guid?, ushort, DateOnly) Key(Association a) =>
        (a.CustomerTenantId, a.Source, a.PartnerId, a.SubscriptionId, a.Workloads.Bits, a.ValidFrom);

    public override int Compare(Association a, Association b)
    {
        var c = a.CustomerTenantId.CompareTo(b.CustomerTenantId);
        if (c == 0) c = a.Source.CompareTo(b.Source);
        if (c == 0) c = a.PartnerId.CompareTo(b.PartnerId);
        if (c == 0) c = Nullable.Compare(a.SubscriptionId, b.SubscriptionId);
        if (c == 0) c = a.Workloads.Bits.CompareTo(b.Workloads.Bits);
        if (c == 0) c = a.ValidFrom.CompareTo(b.ValidFrom);
        return c != 0 ? c : a.Lineage.Line.CompareTo(b.Lineage.Line);
    }

    public override bool SameKey(Association a, Association b) => Key(a) == Key(b);

    public override async Task WriteRowGroupAsync(ParquetRowGroupWriter g, List<Association> rows, int offset, int count, ColumnBuffers b, CancellationToken ct)
    {
        var tenants = b.Memory(1, count);
        var sources = b.Memory(2, count);
        var workloads = b.Memory(3, count);
        var subs = b.NullableMemory(0, count);
        var programs = b.NullableMemory(1, count);
        var agreements = b.NullableMemory(2, count);
        var tChars = b.GuidChars(0, count);
        var sChars = b.GuidChars(1, count);
        var partners = new long[count];
        var from = new DateOnly[count];
        var to = new DateOnly?[count];
        var related = new long?[count];
        for (var i = 0; i < count; i++)
        {
            var a = rows[offset + i];
            tenants[i] = ColumnBuffers.Format(a.CustomerTenantId, tChars, i);
            sources[i] = CachedNames.Source(a.Source).AsMemory();
            partners[i] = a.PartnerId;
            // Typed nullable: a bare null would convert to an empty ReadOnlyMemory (through char[]) and store "".
            subs[i] = a.SubscriptionId is { } s ? ColumnBuffers.Format(s, sChars, i) : (ReadOnlyMemory<char>?)null;
            workloads[i] = CachedNames.WorkloadSet(a.Workloads).AsMemory();
            from[i] = a.ValidFrom;
            to[i] = a.ValidTo;
            programs[i] = a.Program switch { SalesProgram.EA => "EA".AsMemory(), SalesProgram.Open => "Open".AsMemory(), _ => (ReadOnlyMemory<char>?)null };
            agreements[i] = a.AgreementId?.AsMemory();
            related[i] = a.RelatedPartnerId;
        }
        await g.WriteAsync(TenantField, Ro(tenants, count), cancellationToken: ct).ConfigureAwait(false);
        await g.WriteAsync(SourceField, Ro(sources, count), cancellationToken: ct).ConfigureAwait(false);
        await g.WriteAsync(Partner, Ro(partners, count), cancellationToken: ct).ConfigureAwait(false);
        await g.WriteAsync(Subscription, Ro(subs, count), cancellationToken: ct).ConfigureAwait(false);
        await g.WriteAsync(Workloads, Ro(workloads, count), cancellationToken: ct).ConfigureAwait(false);
        await g.WriteAsync(ValidFrom, Ro(from, count), cancellationToken: ct).ConfigureAwait(false);
        await g.WriteAsync(ValidTo, Ro(to, count), cancellationToken: ct).ConfigureAwait(false);
        await g.WriteAsync(Program, Ro(programs, count), cancellationToken: ct).ConfigureAwait(false);
        await g.WriteAsync(Agreement, Ro(agreements, count), cancellationToken: ct).ConfigureAwait(false);
        await g.WriteAsync(Related, Ro(related, count), cancellationToken: ct).ConfigureAwait(false);
        await WriteLineageAsync(g, rows, offset, count, b, r => r.Lineage, ct).ConfigureAwait(false);
    }

    public override async Task ReadRowGroupAsync(ParquetRowGroupReader g, IngestionResolver ingestions, RowFilter filter, Action<Association, long> sink, CancellationToken ct)
    {
        if (!MayHoldTenant(g, filter)) return;
        var n = (int)g.RowCount;
        var tenants = await ReadStringsAsync(g, TenantField, n, ct).ConfigureAwait(false);
        var sources = await ReadStringsAsync(g, SourceField, n, ct).ConfigureAwait(false);
        var partners = await ReadAsync(g, Partner, n, ct).ConfigureAwait(false);
        var subs = await ReadNullableStringsAsync(g, Subscription, n, ct).ConfigureAwait(false);
        var workloads = await ReadStringsAsync(g, Workloads, n, ct).ConfigureAwait(false);
        var from = await ReadAsync(g, ValidFrom, n, ct).ConfigureAwait(false);
        var to = await ReadNullableAsync(g, ValidTo, n, ct).ConfigureAwait(false);
        var programs = await ReadNullableStringsAsync(g, Program, n, ct).ConfigureAwait(false);
        var agreements = await ReadNullableStringsAsync(g, Agreement, n, ct).ConfigureAwait(false);
        var related = await ReadNullableAsync(g, Related, n, ct).ConfigureAwait(false);
        var lineage = await ReadLineageAsync(g, ingestions, n, ct).ConfigureAwait(false);
        var sets = new Dictionary<string, WorkloadSet>(StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();
        for (var i = 0; i < n; i++)
        {
            if (filter.Tenant is { } t && !tenants[i].Span.SequenceEqual(t)) continue;
            var w = workloads[i].Span;
            if (!sets.TryGetValue(w, out var set))
            {
                if (!WorkloadNames.TryParseList(w, out set, out var unknown))
                    throw new InvalidDataException($"Association segment row has unknown workload '{unknown}'.");
                sets[w] = set;
            }
            sink(new Association(
                CachedNames.ParseSource(sources[i].Span), partners[i], ParseGuid(tenants[i]),
                subs.Present[i] ? ParseGuid(subs.Values[i]) : null, set, from[i], to[i], LineageAt(lineage, i))
            {
                Program = !programs.Present[i] ? SalesProgram.None : programs.Values[i].Span.SequenceEqual("EA") ? SalesProgram.EA : SalesProgram.Open,
                AgreementId = agreements.Present[i] ? agreements.Values[i].ToString() : null,
                RelatedPartnerId = related[i],
            }, lineage.Versions[i]);
        }
    }
}

internal sealed class DporCodec : SegmentCodec<DporEvent>
{
    private static readonly DataField<ReadOnlyMemory<char>> Subscription = new("subscriptionId");
    private static readonly DataField<long> Partner = new("partnerId");
    private static readonly DataField<DateOnly> Effective = new("effectiveDate");
    private static readonly DataField<ReadOnlyMemory<char>> ActionField = new("action");

    // After the fields: static initializers run in order, and the schema needs them.
    public static readonly DporCodec Instance = new();

    public override RecordKind Kind => RecordKind.Dpor;
    public override ParquetSchema Schema { get; } = new(TenantField, Subscription, Partner, Effective, ActionField, IngestionIdField, LineField, IngestedAtField);
    public override FeedLineage Lineage(DporEvent r) => r.Lineage;
    public override Guid? TenantOf(DporEvent r) => r.CustomerTenantId;

    /// <summary>(subscription, effective date, partner, action), behind the tenant as the table row key had it.</summary>
    public static (Guid, Guid, DateOnly, long, DporAction) Key(DporEvent d) => (d.CustomerTenantId, d.SubscriptionId, d.EffectiveDate, d.PartnerId, d.Action);

    public override int Compare(DporEvent a, DporEvent b)
    {
        var c = a.CustomerTenantId.CompareTo(b.CustomerTenantId);
        if (c == 0) c = a.SubscriptionId.CompareTo(b.SubscriptionId);
        if (c == 0) c = a.EffectiveDate.CompareTo(b.EffectiveDate);
        if (c == 0) c = a.PartnerId.CompareTo(b.PartnerId);
        if (c == 0) c = a.Action.CompareTo(b.Action);
        return c != 0 ? c : a.Lineage.Line.CompareTo(b.Lineage.Line);
    }

    public override bool SameKey(DporEvent a, DporEvent b) => Key(a) == Key(b);

    public override async Task WriteRowGroupAsync(ParquetRowGroupWriter g, List<DporEvent> rows, int offset, int count, ColumnBuffers b, CancellationToken ct)
    {
        var tenants = b.Memory(1, count);
        var subs = b.Memory(2, count);
        var actions = b.Memory(3, count);
        var tChars = b.GuidChars(0, count);
        var sChars = b.GuidChars(1, count);
        var partners = new long[count];
        var dates = new DateOnly[count];
        for (var i = 0; i < count; i++)
        {
            var d = rows[offset + i];
            tenants[i] = ColumnBuffers.Format(d.CustomerTenantId, tChars, i);
            subs[i] = ColumnBuffers.Format(d.SubscriptionId, sChars, i);
            partners[i] = d.PartnerId;
            dates[i] = d.EffectiveDate;
            actions[i] = (d.Action == DporAction.Set ? "set" : "remove").AsMemory();
        }
        await g.WriteAsync(TenantField, Ro(tenants, count), cancellationToken: ct).ConfigureAwait(false);
        await g.WriteAsync(Subscription, Ro(subs, count), cancellationToken: ct).ConfigureAwait(false);
        await g.WriteAsync(Partner, Ro(partners, count), cancellationToken: ct).ConfigureAwait(false);
        await g.WriteAsync(Effective, Ro(dates, count), cancellationToken: ct).ConfigureAwait(false);
        await g.WriteAsync(ActionField, Ro(actions, count), cancellationToken: ct).ConfigureAwait(false);
        await WriteLineageAsync(g, rows, offset, count, b, r => r.Lineage, ct).ConfigureAwait(false);
    }

    public override async Task ReadRowGroupAsync(ParquetRowGroupReader g, IngestionResolver ingestions, RowFilter filter, Action<DporEvent, long> sink, CancellationToken ct)
    {
        if (!MayHoldTenant(g, filter)) return;
        var n = (int)g.RowCount;
        var tenants = await ReadStringsAsync(g, TenantField, n, ct).ConfigureAwait(false);
        var subs = await ReadStringsAsync(g, Subscription, n, ct).ConfigureAwait(false);
        var partners = await ReadAsync(g, Partner, n, ct).ConfigureAwait(false);
        var dates = await ReadAsync(g, Effective, n, ct).ConfigureAwait(false);
        var actions = await ReadStringsAsync(g, ActionField, n, ct).ConfigureAwait(false);
        var lineage = await ReadLineageAsync(g, ingestions, n, ct).ConfigureAwait(false);
        for (var i = 0; i < n; i++)
        {
            if (filter.Tenant is { } t && !tenants[i].Span.SequenceEqual(t)) continue;
            sink(new DporEvent(ParseGuid(subs[i]), ParseGuid(tenants[i]), partners[i], dates[i],
                actions[i].Span.SequenceEqual("remove") ? DporAction.Remove : DporAction.Set, LineageAt(lineage, i)), lineage.Versions[i]);
        }
    }
}

/// <summary>A partner record with the lineage the feed gave it (PartnerRecord itself carries none).</summary>
internal sealed record PartnerRow(PartnerRecord Partner, FeedLineage Lineage);

internal sealed class PartnerCodec : SegmentCodec<PartnerRow>
{
    private static readonly DataField<long> Partner = new("partnerId");
    private static readonly DataField<long> Global = new("globalPartnerId");
    private static readonly DataField<ReadOnlyMemory<char>?> Name = new("partnerName");
    private static readonly DataField<ReadOnlyMemory<char>?> Country = new("country");

    // After the fields: static initializers run in order, and the schema needs them.
    public static readonly PartnerCodec Instance = new();

    public override RecordKind Kind => RecordKind.Partners;
    public override ParquetSchema Schema { get; } = new(Partner, Global, Name, Country, IngestionIdField, LineField, IngestedAtField);
    public override FeedLineage Lineage(PartnerRow r) => r.Lineage;

    public override int Compare(PartnerRow a, PartnerRow b)
    {
        var c = a.Partner.PartnerId.CompareTo(b.Partner.PartnerId);
        return c != 0 ? c : a.Lineage.Line.CompareTo(b.Lineage.Line);
    }

    public override bool SameKey(PartnerRow a, PartnerRow b) => a.Partner.PartnerId == b.Partner.PartnerId;

    public override async Task WriteRowGroupAsync(ParquetRowGroupWriter g, List<PartnerRow> rows, int offset, int count, ColumnBuffers b, CancellationToken ct)
    {
        var ids = new long[count];
        var globals = new long[count];
        var names = b.NullableMemory(0, count);
        var countries = b.NullableMemory(1, count);
        for (var i = 0; i < count; i++)
        {
            var p = rows[offset + i].Partner;
            ids[i] = p.PartnerId;
            globals[i] = p.GlobalPartnerId;
            names[i] = p.PartnerName?.AsMemory();
            countries[i] = p.Country?.AsMemory();
        }
        await g.WriteAsync(Partner, Ro(ids, count), cancellationToken: ct).ConfigureAwait(false);
        await g.WriteAsync(Global, Ro(globals, count), cancellationToken: ct).ConfigureAwait(false);
        await g.WriteAsync(Name, Ro(names, count), cancellationToken: ct).ConfigureAwait(false);
        await g.WriteAsync(Country, Ro(countries, count), cancellationToken: ct).ConfigureAwait(false);
        await WriteLineageAsync(g, rows, offset, count, b, r => r.Lineage, ct).ConfigureAwait(false);
    }

    public override async Task ReadRowGroupAsync(ParquetRowGroupReader g, IngestionResolver ingestions, RowFilter filter, Action<PartnerRow, long> sink, CancellationToken ct)
    {
        var n = (int)g.RowCount;
        var ids = await ReadAsync(g, Partner, n, ct).ConfigureAwait(false);
        var globals = await ReadAsync(g, Global, n, ct).ConfigureAwait(false);
        var names = await ReadNullableStringsAsync(g, Name, n, ct).ConfigureAwait(false);
        var countries = await ReadNullableStringsAsync(g, Country, n, ct).ConfigureAwait(false);
        var lineage = await ReadLineageAsync(g, ingestions, n, ct).ConfigureAwait(false);
        for (var i = 0; i < n; i++)
            sink(new PartnerRow(new PartnerRecord(ids[i], globals[i], names.Present[i] ? names.Values[i].ToString() : null,
                countries.Present[i] ? countries.Values[i].ToString() : null), LineageAt(lineage, i)), lineage.Versions[i]);
    }
}

/// <summary>
/// Certifications are partner-level, like the partner directory: one unbucketed folder. Rows are sorted by the natural
/// key (partner, person, certification, earned date), which is also the order <see cref="RecordSnapshot.CertificationsAsync"/>
/// merges segments in, so the row groups' partnerId statistics let a reader skip to a partner range.
/// </summary>
internal sealed class CertificationCodec : SegmentCodec<CertificationRecord>
{
    private static readonly DataField<long> Partner = new("partnerId");
    private static readonly DataField<ReadOnlyMemory<char>> Person = new("personId");
    private static readonly DataField<ReadOnlyMemory<char>> Code = new("certification");
    private static readonly DataField<DateOnly> Earned = new("earnedOn");
    private static readonly DataField<DateOnly?> Expires = new("expiresOn");

    // After the fields: static initializers run in order, and the schema needs them.
    public static readonly CertificationCodec Instance = new();

    public override RecordKind Kind => RecordKind.Certifications;
    public override ParquetSchema Schema { get; } = new(Partner, Person, Code, Earned, Expires, IngestionIdField, LineField, IngestedAtField);
    public override FeedLineage Lineage(CertificationRecord r) => r.Lineage;

    public static (long, string, string, DateOnly) Key(CertificationRecord c) => (c.PartnerId, c.PersonId, c.Certification, c.EarnedOn);

    /// <summary>The natural key's order: person IDs compare exactly (ordinal), codes are stored upper-case.</summary>
    public static int CompareKey(CertificationRecord a, CertificationRecord b)
    {
        var c = a.PartnerId.CompareTo(b.PartnerId);
        if (c == 0) c = string.CompareOrdinal(a.PersonId, b.PersonId);
        if (c == 0) c = string.CompareOrdinal(a.Certification, b.Certification);
        return c != 0 ? c : a.EarnedOn.CompareTo(b.EarnedOn);
    }

    public override int Compare(CertificationRecord a, CertificationRecord b)
    {
        var c = CompareKey(a, b);
        return c != 0 ? c : a.Lineage.Line.CompareTo(b.Lineage.Line);
    }

    public override bool SameKey(CertificationRecord a, CertificationRecord b) => CompareKey(a, b) == 0;

    public override async Task WriteRowGroupAsync(ParquetRowGroupWriter g, List<CertificationRecord> rows, int offset, int count, ColumnBuffers b, CancellationToken ct)
    {
        var partners = new long[count];
        var persons = b.Memory(1, count);
        var codes = b.Memory(2, count);
        var earned = new DateOnly[count];
        var expires = new DateOnly?[count];
        for (var i = 0; i < count; i++)
        {
            var c = rows[offset + i];
            partners[i] = c.PartnerId;
            persons[i] = c.PersonId.AsMemory();
            codes[i] = c.Certification.AsMemory();
            earned[i] = c.EarnedOn;
            expires[i] = c.ExpiresOn;
        }
        await g.WriteAsync(Partner, Ro(partners, count), cancellationToken: ct).ConfigureAwait(false);
        await g.WriteAsync(Person, Ro(persons, count), cancellationToken: ct).ConfigureAwait(false);
        await g.WriteAsync(Code, Ro(codes, count), cancellationToken: ct).ConfigureAwait(false);
        await g.WriteAsync(Earned, Ro(earned, count), cancellationToken: ct).ConfigureAwait(false);
        await g.WriteAsync(Expires, Ro(expires, count), cancellationToken: ct).ConfigureAwait(false);
        await WriteLineageAsync(g, rows, offset, count, b, r => r.Lineage, ct).ConfigureAwait(false);
    }

    public override async Task ReadRowGroupAsync(ParquetRowGroupReader g, IngestionResolver ingestions, RowFilter filter, Action<CertificationRecord, long> sink, CancellationToken ct)
    {
        var n = (int)g.RowCount;
        var partners = await ReadAsync(g, Partner, n, ct).ConfigureAwait(false);
        var persons = await ReadStringsAsync(g, Person, n, ct).ConfigureAwait(false);
        var codes = await ReadStringsAsync(g, Code, n, ct).ConfigureAwait(false);
        var earned = await ReadAsync(g, Earned, n, ct).ConfigureAwait(false);
        var expires = await ReadNullableAsync(g, Expires, n, ct).ConfigureAwait(false);
        var lineage = await ReadLineageAsync(g, ingestions, n, ct).ConfigureAwait(false);
        // Codes repeat across people: one string per distinct code in the group.
        var codeNames = new Dictionary<string, string>(StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();
        for (var i = 0; i < n; i++)
        {
            if (!codeNames.TryGetValue(codes[i].Span, out var code)) codeNames[codes[i].Span] = code = codes[i].ToString();
            sink(new CertificationRecord(partners[i], persons[i].ToString(), code, earned[i], expires[i], LineageAt(lineage, i)), lineage.Versions[i]);
        }
    }
}
