using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Attribution.Domain.Rules;

namespace Attribution.Domain.Credit;

/// <summary>
/// One shard's explanation of one location partner: every usage row of the credit window that credited the partner,
/// with the associations and DPOR periods behind it, in the compact layout of <see cref="EvidenceIndex"/>. A partner's
/// chunks from every shard, concatenated, are its section of the run's explanation index.
/// </summary>
public sealed record EvidenceChunk(long PartnerId, byte[] Bytes, int Rows);

/// <summary>
/// The explanation index (issue 21): what competency evidence needs of a credited row, written by the shard that walks
/// the row, so an explanation reads one partner's section and no records, and re-runs nothing.
/// <para>
/// Layout of a chunk (integers are unsigned LEB128 varints unless said otherwise; a partner's section is its chunks,
/// each prefixed by its length as a little-endian int32):
/// <code>
/// version=1 · ingestionCount · ingestion ids (length-prefixed UTF-8) · tenantCount · tenant blocks
/// tenant block: tenant (16 bytes) · subCount · subscriptions (16 bytes each)
///               · assocCount · per association: source (byte) · validFrom (day number) · validTo+1 (0 open)
///                 · subscription+1 (0 none) · workloads · ingestion · line
///               · rowCount · per row: subscription · workload (byte) · month index · flags (byte: 1 revenue, 2 users)
///                 · [revenue: float64] · [users: zigzag] · share denominator k (share = 1/k) · dporDays (byte)
///                 · sources (byte) · ingestion · line · associations count · association indexes
/// </code>
/// Why this shape: a row is about 25 bytes, against ~300 as a table entity. Dictionaries per tenant block keep the
/// 16-byte ids and the associations once per (partner, tenant); ingestion ids once per chunk. Rows keep the engine's
/// walk order within a tenant, and readers order tenants by id: the evidence the engine's Explain lists, row for row.
/// </para>
/// </summary>
public static class EvidenceIndex
{
    private const int Version = 1;
    private const byte HasRevenue = 1, HasUsers = 2;

    /// <summary>
    /// The rows of a partner's section whose workload is in <paramref name="workloads"/>, tenants by id (rows in walk
    /// order within a tenant): their count, and the rows from <paramref name="offset"/> (at most <paramref name="take"/>).
    /// </summary>
    public static (int Total, List<EvidenceRow> Page) Read(ReadOnlyMemory<byte> section, WorkloadSet workloads, int offset = 0, int take = int.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(take);
        try
        {
            return ReadSection(section, workloads, offset, take);
        }
        catch (Exception e) when (e is IndexOutOfRangeException or ArgumentOutOfRangeException or OverflowException)
        {
            // An index past a dictionary, a day or month out of range: bytes this layout cannot have written.
            throw new InvalidDataException($"An evidence section is damaged ({e.Message}).", e);
        }
    }

    private static (int Total, List<EvidenceRow> Page) ReadSection(ReadOnlyMemory<byte> section, WorkloadSet workloads, int offset, int take)
    {
        // Pass 1: every tenant block's place and matching rows; pass 2 decodes only the blocks the page needs.
        var blocks = new List<Block>();
        foreach (var chunk in Chunks(section))
        {
            var r = new Reader(chunk);
            var ingestions = Header(ref r);
            var tenants = r.Varint();
            for (var t = 0; t < tenants; t++)
            {
                var start = r.Position;
                var matching = SkimBlock(ref r, workloads);
                blocks.Add(new Block(new Guid(chunk.Span.Slice(start, 16)), chunk, ingestions, start, matching));
            }
            if (r.Position != chunk.Length) throw new InvalidDataException("An evidence chunk has bytes after its last tenant.");
        }
        blocks.Sort((a, b) => a.Tenant.CompareTo(b.Tenant));

        var total = 0;
        foreach (var b in blocks) total += b.Matching;
        var page = new List<EvidenceRow>(Math.Max(0, Math.Min(take, total - offset)));
        var position = 0;
        foreach (var b in blocks)
        {
            if (page.Count >= take) break;
            if (position + b.Matching <= offset)
            {
                position += b.Matching;
                continue;
            }
            var r = new Reader(b.Chunk) { Position = b.Start };
            DecodeBlock(ref r, b.Ingestions, workloads, row =>
            {
                if (position++ >= offset && page.Count < take) page.Add(row);
            });
        }
        return (total, page);
    }

    private readonly record struct Block(Guid Tenant, ReadOnlyMemory<byte> Chunk, string[] Ingestions, int Start, int Matching);

    private static IEnumerable<ReadOnlyMemory<byte>> Chunks(ReadOnlyMemory<byte> section)
    {
        var at = 0;
        while (at < section.Length)
        {
            if (section.Length - at < 4) throw new InvalidDataException("An evidence section ends inside a chunk length.");
            var length = BinaryPrimitives.ReadInt32LittleEndian(section.Span[at..]);
            at += 4;
            if (length < 0 || length > section.Length - at) throw new InvalidDataException("An evidence chunk runs past its section.");
            yield return section.Slice(at, length);
            at += length;
        }
    }

    private static string[] Header(ref Reader r)
    {
        if (r.Varint() != Version) throw new InvalidDataException("An evidence chunk has an unknown version.");
        var ingestions = new string[r.Count(1)];
        for (var i = 0; i < ingestions.Length; i++) ingestions[i] = r.String();
        return ingestions;
    }

    /// <summary>Moves past a tenant block; returns its rows of <paramref name="workloads"/>.</summary>
    private static int SkimBlock(ref Reader r, WorkloadSet workloads)
    {
        r.Skip(16);
        r.Skip(16 * r.Varint());
        var assocs = r.Varint();
        for (var a = 0; a < assocs; a++)
        {
            r.Skip(1);
            for (var f = 0; f < 6; f++) r.Varint64();
        }
        var rows = r.Varint();
        var matching = 0;
        for (var i = 0; i < rows; i++)
        {
            r.Varint();
            var workload = (Workload)r.Byte();
            r.Varint();
            var flags = r.Byte();
            if ((flags & HasRevenue) != 0) r.Skip(8);
            if ((flags & HasUsers) != 0) r.Varint64();
            r.Varint();
            r.Skip(2);
            r.Varint();
            r.Varint64();
            var n = r.Varint();
            for (var j = 0; j < n; j++) r.Varint();
            if (workloads.Contains(workload)) matching++;
        }
        return matching;
    }

    private static void DecodeBlock(ref Reader r, string[] ingestions, WorkloadSet workloads, Action<EvidenceRow> onRow)
    {
        var tenant = r.Guid();
        var subs = new Guid[r.Count(16)];
        for (var i = 0; i < subs.Length; i++) subs[i] = r.Guid();
        var assocs = new EvidenceAssociation[r.Count(7)];
        for (var a = 0; a < assocs.Length; a++)
        {
            var source = (AssociationSource)r.Byte();
            var from = DateOnly.FromDayNumber((int)r.Varint64());
            var to = r.Varint64();
            var sub = r.Varint();
            var scope = new WorkloadSet((ushort)r.Varint());
            var ingestion = ingestions[r.Varint()];
            assocs[a] = new EvidenceAssociation
            {
                Source = source,
                SourceName = source.Name(),
                ValidFrom = from,
                ValidTo = to == 0 ? null : DateOnly.FromDayNumber((int)(to - 1)),
                SubscriptionId = sub == 0 ? null : subs[sub - 1],
                Workloads = scope,
                IngestionId = ingestion,
                Line = (long)r.Varint64(),
            };
        }
        var rows = r.Varint();
        for (var i = 0; i < rows; i++)
        {
            var sub = subs[r.Varint()];
            var workload = (Workload)r.Byte();
            var month = new YearMonth(r.Varint());
            var flags = r.Byte();
            double? revenue = (flags & HasRevenue) != 0 ? r.Double() : null;
            long? users = (flags & HasUsers) != 0 ? Unzig(r.Varint64()) : null;
            var share = 1.0 / r.Varint();
            var dporDays = r.Byte();
            var sources = r.Byte();
            var usageIngestion = ingestions[r.Varint()];
            var line = (long)r.Varint64();
            var n = r.Count(1);
            var list = new EvidenceAssociation[n];
            for (var j = 0; j < n; j++) list[j] = assocs[r.Varint()];
            if (!workloads.Contains(workload)) continue;
            onRow(new EvidenceRow
            {
                CustomerTenantId = tenant,
                SubscriptionId = sub,
                Workload = workload,
                Month = month,
                ConsumedRevenueUsd = revenue,
                ActiveUsers = users,
                Share = share,
                CreditedRevenueUsd = Nano.Credited(revenue, share),
                CreditedActiveUsers = Nano.Credited(users, share),
                DporDays = dporDays,
                DaysInMonth = month.DaysInMonth,
                Sources = CreditSources.Names(sources),
                UsageLineage = new FeedLineage(usageIngestion, line, default),
                Associations = list,
            });
        }
    }

    /// <summary>The unsigned LEB128 number at <paramref name="at"/> (moved past it): the index's one number format.</summary>
    internal static ulong ReadVarint(ReadOnlySpan<byte> bytes, ref int at)
    {
        ulong result = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (at >= bytes.Length) throw new InvalidDataException("An evidence chunk is truncated.");
            var b = bytes[at++];
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return result;
        }
        throw new InvalidDataException("An evidence chunk has a malformed number.");
    }

    private static long Unzig(ulong v) => (long)(v >> 1) ^ -(long)(v & 1);

    private static ulong Zig(long v) => (ulong)((v << 1) ^ (v >> 63));

    private ref struct Reader(ReadOnlyMemory<byte> memory)
    {
        private readonly ReadOnlySpan<byte> _span = memory.Span;
        public int Position;

        public readonly int Length => _span.Length;

        public byte Byte() => Position < _span.Length ? _span[Position++] : throw Truncated();

        public void Skip(int bytes)
        {
            if (bytes < 0 || bytes > _span.Length - Position) throw Truncated();
            Position += bytes;
        }

        /// <summary>A count of items of at least <paramref name="bytesEach"/> bytes: never more than the bytes left hold.</summary>
        public int Count(int bytesEach)
        {
            var n = Varint();
            return n <= (_span.Length - Position) / bytesEach ? n : throw new InvalidDataException("An evidence chunk counts more items than it holds.");
        }

        public int Varint()
        {
            var v = Varint64();
            return v <= int.MaxValue ? (int)v : throw new InvalidDataException("An evidence chunk has a count out of range.");
        }

        public ulong Varint64() => ReadVarint(_span, ref Position);

        public double Double()
        {
            if (_span.Length - Position < 8) throw Truncated();
            var v = BinaryPrimitives.ReadDoubleLittleEndian(_span[Position..]);
            Position += 8;
            return v;
        }

        public Guid Guid()
        {
            if (_span.Length - Position < 16) throw Truncated();
            var g = new Guid(_span.Slice(Position, 16));
            Position += 16;
            return g;
        }

        public string String()
        {
            var n = Varint();
            if (n > _span.Length - Position) throw Truncated();
            var s = Encoding.UTF8.GetString(_span.Slice(Position, n));
            Position += n;
            return s;
        }

        private static InvalidDataException Truncated() => new("An evidence chunk is truncated.");
    }

    /// <summary>Appends the index's primitives to a growing buffer.</summary>
    internal sealed class Writer(int capacity = 256)
    {
        private byte[] _buffer = new byte[capacity];
        public int Length { get; private set; }

        public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, Length);

        public void Clear() => Length = 0;

        private Span<byte> Take(int bytes)
        {
            if (Length + bytes > _buffer.Length) Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, Length + bytes));
            var span = _buffer.AsSpan(Length, bytes);
            Length += bytes;
            return span;
        }

        public void Byte(byte value) => Take(1)[0] = value;

        public void Varint(ulong value)
        {
            while (value >= 0x80)
            {
                Byte((byte)(value | 0x80));
                value >>= 7;
            }
            Byte((byte)value);
        }

        public void Varint(long value) => Varint(checked((ulong)value));

        public void Zigzag(long value) => Varint(Zig(value));

        public void Double(double value) => BinaryPrimitives.WriteDoubleLittleEndian(Take(8), value);

        public void Guid(Guid value) => value.TryWriteBytes(Take(16));

        public void String(string value)
        {
            var bytes = Encoding.UTF8.GetByteCount(value);
            Varint((ulong)bytes);
            Encoding.UTF8.GetBytes(value, Take(bytes));
        }

        public void Bytes(ReadOnlySpan<byte> bytes) => bytes.CopyTo(Take(bytes.Length));

        public void Int32(int value) => BinaryPrimitives.WriteInt32LittleEndian(Take(4), value);
    }

    /// <summary>
    /// A credit sink that forwards every row to the shard's accumulator and writes each credited (row, partner) into
    /// the partner's chunk: one tenant block per (partner, tenant), written when the walk leaves the tenant. A shard
    /// touches most partners, so what is kept per partner is only its bytes; the per-tenant scratch is shared.
    /// </summary>
    internal sealed class Builder(PreparedShard p, ICreditSink inner) : ICreditSink
    {
        private readonly Dictionary<int, PartnerChunk> _partners = [];
        private readonly List<PendingRow> _pending = [];
        private readonly List<Link> _links = [];
        private readonly Dictionary<string, int> _ingestions = new(StringComparer.Ordinal);
        private readonly List<string> _ingestionList = [];
        private readonly Dictionary<Guid, int> _subs = [];
        private readonly List<Guid> _subList = [];
        private readonly Dictionary<Link, int> _linkIndex = [];
        private readonly List<Link> _linkList = [];
        private TenantState? _tenant;

        public void OnRow(UsageRecord usage, int monthOffset, TenantState tenant, SubState subscription, ReadOnlySpan<Credited> credited)
        {
            inner.OnRow(usage, monthOffset, tenant, subscription, credited);
            if (credited.IsEmpty) return;
            if (!ReferenceEquals(tenant, _tenant)) FlushTenant(tenant);
            foreach (ref readonly var e in credited)
            {
                var linkStart = _links.Count;
                Behind(p, usage, tenant, subscription, e, _links);
                _pending.Add(new PendingRow(e.Partner, usage, subscription, e.DporDays, e.Share, e.Sources, linkStart, _links.Count - linkStart));
            }
        }

        /// <summary>Every credited partner's chunk, by partner id; call once the walk is over.</summary>
        public List<EvidenceChunk> ToChunks()
        {
            FlushTenant(null);
            var chunks = new List<EvidenceChunk>(_partners.Count);
            var header = new Writer();
            foreach (var chunk in _partners.Values.OrderBy(c => c.PartnerId))
            {
                header.Clear();
                header.Varint((ulong)Version);
                header.Varint((ulong)chunk.Ingestions.Count);
                foreach (var id in chunk.Ingestions) header.String(_ingestionList[id]);
                header.Varint((ulong)chunk.Tenants);
                var bytes = new byte[header.Length + chunk.Blocks.Length];
                header.Written.CopyTo(bytes);
                chunk.Blocks.Written.CopyTo(bytes.AsSpan(header.Length));
                chunks.Add(new EvidenceChunk(chunk.PartnerId, bytes, chunk.Rows));
            }
            _partners.Clear();
            return chunks;
        }

        private void FlushTenant(TenantState? next)
        {
            if (_tenant is { } tenant && _pending.Count > 0)
            {
                // The tenant's rows grouped by partner (stable: walk order within a partner).
                var rows = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_pending);
                var order = new int[rows.Length];
                for (var i = 0; i < order.Length; i++) order[i] = i;
                var keys = new long[rows.Length];
                for (var i = 0; i < keys.Length; i++) keys[i] = ((long)rows[i].Partner << 32) | (uint)i;
                Array.Sort(keys, order);
                for (var from = 0; from < order.Length;)
                {
                    var partner = _pending[order[from]].Partner;
                    var to = from;
                    while (to < order.Length && _pending[order[to]].Partner == partner) to++;
                    if (!_partners.TryGetValue(partner, out var chunk)) _partners.Add(partner, chunk = new PartnerChunk(p.PartnerIds[partner]));
                    WriteBlock(chunk, tenant.Id, order.AsSpan(from, to - from));
                    from = to;
                }
            }
            _pending.Clear();
            _links.Clear();
            _tenant = next;
        }

        private int Ingestion(PartnerChunk chunk, string id)
        {
            if (!_ingestions.TryGetValue(id, out var global))
            {
                _ingestions.Add(id, global = _ingestionList.Count);
                _ingestionList.Add(id);
            }
            // A partner's chunk names the few ingestions it uses, by its own index (a linear search: there are few).
            var local = chunk.Ingestions.IndexOf(global);
            if (local >= 0) return local;
            chunk.Ingestions.Add(global);
            return chunk.Ingestions.Count - 1;
        }

        private int Sub(Guid id)
        {
            if (_subs.TryGetValue(id, out var i)) return i;
            _subs.Add(id, i = _subList.Count);
            _subList.Add(id);
            return i;
        }

        private void WriteBlock(PartnerChunk chunk, Guid tenant, ReadOnlySpan<int> rows)
        {
            var associations = p.Input.Associations;
            _subs.Clear();
            _subList.Clear();
            _linkIndex.Clear();
            _linkList.Clear();
            foreach (var i in rows)
            {
                var row = _pending[i];
                Sub(row.Subscription.Id);
                for (var j = row.LinkStart; j < row.LinkStart + row.LinkCount; j++)
                {
                    var link = _links[j];
                    if (_linkIndex.ContainsKey(link)) continue;
                    _linkIndex.Add(link, _linkList.Count);
                    _linkList.Add(link);
                    if (link.Association >= 0 && associations[link.Association].SubscriptionId is { } s) Sub(s);
                }
            }
            var w = chunk.Blocks;
            w.Guid(tenant);
            w.Varint((ulong)_subList.Count);
            foreach (var s in _subList) w.Guid(s);
            w.Varint((ulong)_linkList.Count);
            foreach (var link in _linkList)
            {
                if (link.Association >= 0)
                {
                    var a = associations[link.Association];
                    w.Byte((byte)a.Source);
                    w.Varint((ulong)a.ValidFrom.DayNumber);
                    w.Varint(a.ValidTo is { } to ? (ulong)to.DayNumber + 1 : 0);
                    w.Varint(a.SubscriptionId is { } sub ? (ulong)Sub(sub) + 1 : 0);
                    w.Varint((ulong)a.Workloads.Bits);
                    w.Varint((ulong)Ingestion(chunk, a.Lineage.IngestionId));
                    w.Varint(a.Lineage.Line);
                }
                else
                {
                    var seg = link.Subscription!.Segments[link.Segment];
                    w.Byte((byte)AssociationSource.Dpor);
                    w.Varint((ulong)seg.From.DayNumber);
                    w.Varint(seg.To is { } to ? (ulong)to.DayNumber + 1 : 0);
                    w.Varint((ulong)Sub(link.Subscription.Id) + 1);
                    w.Varint(0UL);
                    w.Varint((ulong)Ingestion(chunk, seg.SetEvent.Lineage.IngestionId));
                    w.Varint(seg.SetEvent.Lineage.Line);
                }
            }
            w.Varint((ulong)rows.Length);
            foreach (var i in rows)
            {
                var row = _pending[i];
                var u = row.Usage;
                w.Varint((ulong)_subs[row.Subscription.Id]);
                w.Byte((byte)u.Workload);
                w.Varint((ulong)u.Month.Index);
                w.Byte((byte)((u.ConsumedRevenueUsd is null ? 0 : HasRevenue) | (u.ActiveUsers is null ? 0 : HasUsers)));
                if (u.ConsumedRevenueUsd is { } revenue) w.Double(revenue);
                if (u.ActiveUsers is { } users) w.Zigzag(users);
                // Shares are 1 or 1/k (split among k partners): k is exact and one byte.
                w.Varint((ulong)Math.Round(1 / row.Share));
                w.Byte((byte)row.DporDays);
                w.Byte(row.Sources);
                w.Varint((ulong)Ingestion(chunk, u.Lineage.IngestionId));
                w.Varint(u.Lineage.Line);
                w.Varint((ulong)row.LinkCount);
                for (var j = row.LinkStart; j < row.LinkStart + row.LinkCount; j++) w.Varint((ulong)_linkIndex[_links[j]]);
            }
            chunk.Tenants++;
            chunk.Rows += rows.Length;
        }
    }

    /// <summary>
    /// What credits partner <paramref name="e"/> on a row: each of its associations covering the row (none under
    /// dporOnly), in the tenant's order, then each of its DPOR periods of the subscription overlapping the row's month
    /// (when credited as DPOR). The one definition Explain's evidence and the index both list.
    /// </summary>
    internal static void Behind(PreparedShard p, UsageRecord usage, TenantState tenant, SubState subscription, in Credited e, List<Link> into)
    {
        if (p.Policy != CreditPolicy.DporOnly)
        {
            var workloadBit = 1 << (int)usage.Workload;
            var assocs = tenant.Assocs;
            for (var j = 0; j < assocs.Length; j++)
                if (assocs[j].Partner == e.Partner && assocs[j].Covers(usage.Month.Index, workloadBit, usage.SubscriptionId))
                    into.Add(new Link(assocs[j].InputIndex, null, 0));
        }
        if (e.DporDays > 0)
        {
            var partnerId = p.PartnerIds[e.Partner];
            var segments = subscription.Segments;
            for (var s = 0; s < segments.Length; s++)
                if (segments[s].PartnerId == partnerId && segments[s].DaysIn(usage.Month) > 0)
                    into.Add(new Link(-1, subscription, s));
        }
    }

    /// <summary>An association (its input index) or a DPOR period (a subscription's segment) behind a credited row.</summary>
    internal readonly record struct Link(int Association, SubState? Subscription, int Segment);

    private readonly record struct PendingRow(int Partner, UsageRecord Usage, SubState Subscription, int DporDays, double Share, byte Sources, int LinkStart, int LinkCount);

    /// <summary>What a shard keeps per partner: its tenant blocks' bytes and the ingestions they name.</summary>
    private sealed class PartnerChunk(long partnerId)
    {
        public readonly long PartnerId = partnerId;
        public readonly Writer Blocks = new(64);
        public readonly List<int> Ingestions = new(2);
        public int Tenants;
        public int Rows;
    }
}
