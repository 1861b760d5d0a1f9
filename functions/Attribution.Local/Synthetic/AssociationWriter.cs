using Attribution.Domain;

namespace Attribution.Local.Synthetic;

/// <summary>
/// Writes a tenant's associations: DPOR events, sales (EA / Open), csp, fasttrack, dap and pal. Shapes follow
/// how the upstream systems behave: most subscriptions have one DPOR set before the window, some change
/// DPOR mid-window and a few remove it; large tenants tend to be on an EA (tenant-wide or per
/// subscription), the rest buy through CSP (direct, or a distributor plus reseller), Open or directly.
/// Every start or event date lies on or before the last day of the last month; end dates may lie beyond it.
/// </summary>
internal sealed class AssociationWriter(
    SyntheticPartners partners,
    YearMonth firstMonth,
    YearMonth lastMonth,
    CsvOut dpor,
    CsvOut sales,
    CsvOut csp,
    CsvOut fastTrack,
    CsvOut dap,
    CsvOut pal)
{
    private readonly DateOnly _firstDay = firstMonth.FirstDay;
    private readonly DateOnly _lastDay = lastMonth.LastDay;
    private readonly int _months = lastMonth.Index - firstMonth.Index + 1;

    public void Write(SyntheticTenant tenant, Random rng)
    {
        var primary = partners.Pick(rng);
        foreach (var sub in tenant.Subscriptions) WriteDpor(tenant, sub, primary, rng);
        WriteChannel(tenant, primary, rng);
        WriteFastTrack(tenant, primary, rng);
        WriteDap(tenant, primary, rng);
        WritePal(tenant, primary, rng);
    }

    private static DateOnly RandomDate(Random rng, DateOnly min, DateOnly max) => SyntheticTenant.RandomDate(rng, min, max);

    private void WriteDpor(SyntheticTenant tenant, SyntheticSubscription sub, int primary, Random rng)
    {
        if (rng.NextDouble() < 0.08) return; // no DPOR designated
        var partner = rng.NextDouble() < 0.75 ? primary : partners.PickOther(rng, primary);
        var setOn = sub.FirstUsageMonth > firstMonth
            ? RandomDate(rng, sub.Start, Min(sub.Start.AddDays(10), _lastDay))
            : RandomDate(rng, sub.Start, _firstDay.AddDays(-1));
        DporRow(tenant, sub, partner, setOn, "set");
        var last = setOn;

        if (_months > 1 && rng.NextDouble() < 0.10)
        {
            // Mid-window change to another partner, on a day other than the 1st so the month is split.
            var month = firstMonth.AddMonths(1 + rng.Next(_months - 1));
            var changeOn = month.FirstDay.AddDays(1 + rng.Next(27));
            if (changeOn > last && changeOn <= _lastDay)
            {
                partner = partners.PickOther(rng, partner);
                DporRow(tenant, sub, partner, changeOn, "set");
                last = changeOn;
            }
        }
        if (rng.NextDouble() < 0.03 && last < _lastDay)
        {
            var removeOn = RandomDate(rng, last.AddDays(1), _lastDay);
            DporRow(tenant, sub, partner, removeOn, "remove");
        }
    }

    private void DporRow(SyntheticTenant tenant, SyntheticSubscription sub, int partner, DateOnly on, string action)
    {
        dpor.Guid(sub.Id);
        dpor.Guid(tenant.TenantId);
        dpor.Int(partners.Id(partner));
        dpor.Date(on);
        // About half the set events leave the action to its default, as upstream exports do.
        if (action == "set" && (on.Day & 1) == 0) dpor.Empty();
        else dpor.Raw(action);
        dpor.EndRow();
    }

    private void WriteChannel(SyntheticTenant tenant, int primary, Random rng)
    {
        var eaChance = tenant.Users >= 250 ? 0.6 : 0.12;
        if (rng.NextDouble() < eaChance)
        {
            WriteEa(tenant, primary, rng);
            return;
        }
        foreach (var sub in tenant.Subscriptions)
        {
            var r = rng.NextDouble();
            if (r < 0.55) WriteCsp(tenant, sub, primary, rng);
            else if (r < 0.67) WriteOpen(tenant, sub, primary, rng);
            // else: bought directly, no transacting partner
        }
    }

    private void WriteEa(SyntheticTenant tenant, int primary, Random rng)
    {
        // Licensing solution partners are the big ones: a stronger skew than Pick.
        var partner = rng.NextDouble() < 0.5 ? primary : Math.Min(partners.Pick(rng), partners.Pick(rng));
        var perSubscription = rng.NextDouble() < 0.3;
        var from = RandomDate(rng, _firstDay.AddDays(30 - (3 * 365)), Min(_firstDay.AddDays(60), _lastDay));
        var to = from.AddYears(3).AddDays(-1);
        EaRows(tenant, partner, from, to, Agreement(rng), perSubscription);
        if (to < _lastDay && rng.NextDouble() < 0.5)
        {
            // Renewed, half the time with another partner.
            if (rng.NextDouble() < 0.5) partner = partners.PickOther(rng, partner);
            EaRows(tenant, partner, to.AddDays(1), to.AddYears(3), Agreement(rng), perSubscription);
        }
    }

    private static string Agreement(Random rng) => (10_000_000 + rng.Next(90_000_000)).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private void EaRows(SyntheticTenant tenant, int partner, DateOnly from, DateOnly to, string agreementId, bool perSubscription)
    {
        if (!perSubscription)
        {
            SalesRow(tenant.TenantId, partner, "EA", from, to, null, agreementId);
            return;
        }
        foreach (var sub in tenant.Subscriptions)
        {
            var subFrom = Max(from, sub.Start);
            if (subFrom <= to) SalesRow(tenant.TenantId, partner, "EA", subFrom, to, sub.Id, agreementId);
        }
    }

    private void WriteOpen(SyntheticTenant tenant, SyntheticSubscription sub, int primary, Random rng)
    {
        var partner = rng.NextDouble() < 0.6 ? primary : partners.PickOther(rng, primary);
        var from = RandomDate(rng, Max(sub.Start, _firstDay.AddYears(-2)), Max(sub.Start, _lastDay.AddDays(-30)));
        if (from > _lastDay) from = _lastDay;
        var to = from.AddYears(rng.NextDouble() < 0.5 ? 1 : 3).AddDays(-1);
        var agreement = "V" + (1_000_000 + rng.Next(9_000_000)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        SalesRow(tenant.TenantId, partner, "Open", from, to, sub.Id, agreement);
    }

    private void SalesRow(Guid tenantId, int partner, string program, DateOnly from, DateOnly? to, Guid? subscriptionId, string agreementId)
    {
        sales.Guid(tenantId);
        sales.Int(partners.Id(partner));
        sales.Raw(program);
        sales.Date(from);
        sales.Date(to);
        if (subscriptionId is { } s) sales.Guid(s);
        else sales.Empty();
        sales.Raw(agreementId);
        sales.EndRow();
    }

    private void WriteCsp(SyntheticTenant tenant, SyntheticSubscription sub, int primary, Random rng)
    {
        var reseller = rng.NextDouble() < 0.8 ? primary : partners.PickOther(rng, primary);
        int provider;
        int? indirectReseller;
        var distributor = partners.PickDistributor(rng);
        if (rng.NextDouble() < 0.6 && distributor != reseller)
        {
            provider = distributor; // indirect provider + indirect reseller
            indirectReseller = reseller;
        }
        else
        {
            provider = reseller; // direct-bill partner
            indirectReseller = null;
        }
        var scoped = rng.NextDouble() < 0.3;
        var from = sub.Start;
        DateOnly? to = null;
        int? nextReseller = null;
        if (_months > 1 && rng.NextDouble() < 0.08)
        {
            // The CSP relationship ended in the window; half the time another reseller took over the next day.
            to = RandomDate(rng, Max(from, _firstDay), _lastDay.AddDays(-1));
            if (indirectReseller is not null && rng.NextDouble() < 0.5) nextReseller = partners.PickOther(rng, indirectReseller.Value);
        }
        CspRow(tenant, sub, provider, from, to, indirectReseller, scoped);
        if (nextReseller is { } next && to is { } end && end < _lastDay && next != provider)
            CspRow(tenant, sub, provider, end.AddDays(1), null, next, scoped);
    }

    private void CspRow(SyntheticTenant tenant, SyntheticSubscription sub, int provider, DateOnly from, DateOnly? to, int? reseller, bool scoped)
    {
        csp.Guid(tenant.TenantId);
        csp.Guid(sub.Id);
        csp.Int(partners.Id(provider));
        csp.Date(from);
        csp.Date(to);
        if (reseller is { } r) csp.Int(partners.Id(r));
        else csp.Empty();
        if (scoped) csp.Raw(WorkloadSet.Of(sub.Workloads.Select(p => p.Workload)).ToString());
        else csp.Empty();
        csp.EndRow();
    }

    private void WriteFastTrack(SyntheticTenant tenant, int primary, Random rng)
    {
        var m365 = tenant.Workloads.Members()
            .Where(w => w is not (Workload.Azure or Workload.Dynamics365 or Workload.PowerPlatform))
            .ToList();
        if (m365.Count == 0 || rng.NextDouble() >= 0.2) return;
        var partner = rng.NextDouble() < 0.3 ? primary : partners.PickOther(rng, primary);
        var separator = rng.NextDouble() < 0.5 ? ";" : "|";
        var names = m365.Select(w => rng.NextDouble() < 0.5 ? SyntheticTenant.WorkloadName(w) : SyntheticTenant.ProductName(w)).ToList();
        var start = RandomDate(rng, _firstDay.AddYears(-1), Max(_firstDay, _lastDay.AddDays(-60)));
        DateOnly? end = rng.NextDouble() < 0.3 ? null : start.AddDays(60 + rng.Next(211));
        fastTrack.Guid(tenant.TenantId);
        fastTrack.Int(partners.Id(partner));
        fastTrack.Raw(string.Join(separator, names));
        fastTrack.Date(start);
        fastTrack.Date(end);
        fastTrack.EndRow();
    }

    private void WriteDap(SyntheticTenant tenant, int primary, Random rng)
    {
        if (rng.NextDouble() >= 0.35) return;
        var used = tenant.Workloads.Members().ToList();
        var grants = rng.NextDouble() < 0.2 ? 2 : 1;
        var partner = rng.NextDouble() < 0.6 ? primary : partners.PickOther(rng, primary);
        for (var g = 0; g < grants; g++)
        {
            if (g > 0) partner = partners.PickOther(rng, partner);
            var count = 1 + rng.Next(Math.Min(3, used.Count));
            var set = WorkloadSet.Empty;
            for (var i = 0; i < count; i++) set = set.Union(WorkloadSet.Of(used[rng.Next(used.Count)]));
            var granted = RandomDate(rng, _firstDay.AddYears(-2), _lastDay.AddDays(-14));
            DateOnly? revoked = rng.NextDouble() < 0.15 ? RandomDate(rng, granted.AddDays(14), _lastDay) : null;
            dap.Guid(tenant.TenantId);
            dap.Int(partners.Id(partner));
            dap.Raw(set.ToString());
            dap.Date(granted);
            dap.Date(revoked);
            dap.EndRow();
        }
    }

    /// <summary>
    /// Partner Admin Links: a partner's user linked to the tenant, usually tenant-wide for every workload, sometimes
    /// scoped to one subscription or to the workloads the partner manages; a few were unlinked since.
    /// </summary>
    private void WritePal(SyntheticTenant tenant, int primary, Random rng)
    {
        if (rng.NextDouble() >= 0.3) return;
        var partner = rng.NextDouble() < 0.5 ? primary : partners.PickOther(rng, primary);
        var sub = rng.NextDouble() < 0.4 ? tenant.Subscriptions[rng.Next(tenant.Subscriptions.Count)] : null;
        var set = WorkloadSet.Empty;
        if (rng.NextDouble() < 0.35)
        {
            var used = (sub is null ? tenant.Workloads : WorkloadSet.Of(sub.Workloads.Select(p => p.Workload))).Members().ToList();
            set = WorkloadSet.Of(used[rng.Next(used.Count)]);
        }
        var linked = RandomDate(rng, Max(sub?.Start ?? _firstDay.AddYears(-2), _firstDay.AddYears(-2)), _lastDay.AddDays(-7));
        if (linked > _lastDay) linked = _lastDay;
        DateOnly? unlinked = rng.NextDouble() < 0.2 ? RandomDate(rng, linked, _lastDay) : null;
        pal.Guid(tenant.TenantId);
        pal.Int(partners.Id(partner));
        pal.Date(linked);
        pal.Date(unlinked);
        if (sub is not null) pal.Guid(sub.Id);
        else pal.Empty();
        if (set.IsEmpty) pal.Empty();
        else pal.Raw(rng.NextDouble() < 0.5 ? set.ToString() : SyntheticTenant.ProductName(set.Members().First()));
        pal.EndRow();
    }

    private static DateOnly Min(DateOnly a, DateOnly b) => a <= b ? a : b;

    private static DateOnly Max(DateOnly a, DateOnly b) => a >= b ? a : b;
}
