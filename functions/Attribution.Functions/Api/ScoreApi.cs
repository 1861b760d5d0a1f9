using Attribution.Domain.Feeds;
using Attribution.Pipeline.Reading;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Attribution.Functions.Api;

/// <summary>
/// Capability scores (§7.4): a global partner's (or a location's global partner's) `PartnerCapabilityScore` rows of
/// the published run, each metric with its maximum and what the next point takes. Read like every other result.
/// </summary>
public sealed class ScoreApi(CreditReader reader, ScoreReader scores)
{
    [Function("GetPartnerScore")]
    public Task<IActionResult> PartnerScore(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "partners/{partnerId}/score")] HttpRequest request,
        string partnerId,
        CancellationToken cancellationToken) => PartnerScoreAsync(request, partnerId, cancellationToken);

    public async Task<IActionResult> PartnerScoreAsync(HttpRequest request, string partnerId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (ValueRules.ParsePartnerId(partnerId, out var id) is { } problem) return Problems.BadRequest($"partnerId {problem}.", request);
        if (!QueryValues.TryMonth(request, "asOf", out var asOf, out var bad)) return bad;
        var designation = request.Query["designation"].ToString();
        var run = await reader.ResolveRunAsync(asOf, null, cancellationToken);
        if (run is null)
            return Problems.NotFound(asOf is null ? "No recalculation has been published yet." : $"No recalculation has been published for {asOf}.", request);
        PartnerScoreView? view;
        try
        {
            view = await scores.ScoreAsync(id, run, designation.Length == 0 ? null : designation, cancellationToken);
        }
        catch (UnknownNameException e)
        {
            return Problems.BadRequest(e.Message, request);
        }
        catch (RunUnreadableException e)
        {
            return Problems.RunUnreadable(e.Message, request);
        }
        return view is null
            ? Problems.NotFound($"Partner {id} has no capability score as of {run.AsOf} (scores cover global partners with credit or a certification in force).", request)
            : new OkObjectResult(view);
    }
}
