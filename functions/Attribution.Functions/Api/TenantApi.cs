using Attribution.Domain;
using Attribution.Domain.Feeds;
using Attribution.Pipeline.Reading;
using Attribution.Pipeline.Recalculation;
using Attribution.Pipeline.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Attribution.Functions.Api;

/// <summary>
/// A customer's view (function-key auth): what is stored and in force for one customer tenant and which partners it
/// credits, and why or why not. Read from the published run of the asOf (its records and rules); with nothing
/// published for it, from the latest records with the shipped rules, and the view says so.
/// </summary>
public sealed class TenantApi(TenantReader tenants)
{
    [Function("GetTenant")]
    public Task<IActionResult> Tenant(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "tenants/{tenantId}")] HttpRequest request,
        string tenantId,
        CancellationToken cancellationToken) => TenantAsync(request, tenantId, cancellationToken);

    public async Task<IActionResult> TenantAsync(HttpRequest request, string tenantId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (ValueRules.ParseGuid(tenantId, out var id) is { } problem) return Problems.BadRequest($"tenantId {problem}.", request);
        if (!QueryValues.TryMonth(request, "asOf", out var asOf, out var badMonth)) return badMonth;
        if (asOf is { } m && RecalculationStarter.AsOfProblem(m) is { } range) return Problems.BadRequest(range, request);
        PartnerId? partnerId = null;
        var partner = request.Query["partnerId"].ToString();
        if (partner.Length > 0)
        {
            if (ValueRules.ParsePartnerId(partner, out var p) is { } bad) return Problems.BadRequest($"partnerId {bad}.", request);
            partnerId = p;
        }
        TenantView? view;
        try
        {
            view = await tenants.ReadAsync(id, asOf, partnerId, cancellationToken);
        }
        catch (RunUnreadableException e)
        {
            return Problems.RunUnreadable(e.Message, request);
        }
        catch (RecordsUnavailableException e)
        {
            // The run's records version was compacted away: the view cannot be read as the run computed it.
            return Problems.RunUnreadable(e.Message, request);
        }
        return view is null
            ? Problems.NotFound($"Customer tenant {id} has no stored records (usage in the window, associations or DPOR events).", request)
            : new OkObjectResult(view);
    }
}
