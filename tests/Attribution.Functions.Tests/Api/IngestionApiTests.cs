using Attribution.Domain.Feeds;
using Attribution.Pipeline.Ingestion;
using Attribution.Domain.Rules;
using Attribution.Functions.Api;
using Attribution.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using static Attribution.Functions.Tests.Api.ApiRequests;

namespace Attribution.Functions.Tests.Api;

/// <summary>GET /api/ingestions and /api/ingestions/{id}/rejects over real ingestions.</summary>
public sealed class IngestionApiTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private IngestionApi Api => azurite.Storage.Create<IngestionApi>();

    private static int Status(IActionResult result) => Assert.IsType<ObjectResult>(result).StatusCode ?? 0;

    private async Task<FeedIngestionResult> IngestAsync(string name, string content, FeedSource source)
    {
        var dir = TestPaths.NewTempDirectory();
        var path = Path.Combine(dir, name);
        await File.WriteAllTextAsync(path, content);
        return await azurite.Storage.Create<FeedIngestor>(CreditRulesLoader.Default).IngestFileAsync(path, source);
    }

    [Fact]
    public async Task Rejects_come_in_line_order_across_pages_with_reason_and_raw_row_and_tokens_bound_to_their_ingestion()
    {
        // Every other row has a bad partner id: 25 rejected rows on lines 3, 5, …, 51.
        var lines = Enumerable.Range(0, 50).Select(i => i % 2 == 0 ? $"{i + 1},Partner {i}" : $"bad{i},Partner {i}");
        var result = await IngestAsync("partners-api.csv", "partnerId,partnerName\n" + string.Join('\n', lines) + "\n", FeedSource.Partners);
        Assert.Equal(25, result.RowsRejected);

        var seen = new List<RejectedRow>();
        string? token = null;
        var pages = 0;
        do
        {
            var query = "pageSize=10" + (token is null ? "" : "&continuationToken=" + token);
            var page = Ok<RejectsPage>(await Api.RejectsAsync(Get($"/api/ingestions/{result.IngestionId}/rejects", query), result.IngestionId, default));
            Assert.Equal("partners-api.csv", page.FileName);
            Assert.Equal(25, page.RowsRejected);
            seen.AddRange(page.Rejects);
            token = page.ContinuationToken;
            pages++;
        }
        while (token is not null);

        Assert.Equal(3, pages);
        Assert.Equal(Enumerable.Range(0, 25).Select(i => (long)(2 * i + 3)), seen.Select(r => r.Line));
        Assert.All(seen, r => Assert.StartsWith("partnerId:", r.Reason));
        Assert.Equal("bad1,Partner 1", seen[0].Raw);

        // A token of this list is refused for another ingestion's list.
        var other = await IngestAsync("partners-api-2.csv", "partnerId\nx\ny\n", FeedSource.Partners);
        var first = Ok<RejectsPage>(await Api.RejectsAsync(Get($"/api/ingestions/{result.IngestionId}/rejects", "pageSize=1"), result.IngestionId, default));
        Assert.Equal(400, Status(await Api.RejectsAsync(Get($"/api/ingestions/{other.IngestionId}/rejects", "continuationToken=" + first.ContinuationToken), other.IngestionId, default)));
    }

    [Fact]
    public async Task Ingestions_list_every_attempt_with_its_counts_filtered_by_source_and_file_name()
    {
        var good = await IngestAsync("dap-api.jsonl", $"{{\"customerTenantId\":\"{Guid.NewGuid()}\",\"partnerId\":5,\"workloads\":\"Intune\",\"grantedOn\":\"2026-01-01\"}}\n", FeedSource.Dap);
        var again = await IngestAsync("dap-api.jsonl", $"{{\"customerTenantId\":\"{Guid.NewGuid()}\",\"partnerId\":6,\"workloads\":\"Intune\",\"grantedOn\":\"2026-01-01\"}}\n", FeedSource.Dap);

        var page = Ok<IngestionsPage>(await Api.IngestionsAsync(Get("/api/ingestions", "source=dap&fileName=dap-api.jsonl"), default));
        Assert.Equal([good.IngestionId, again.IngestionId], page.Ingestions.Select(i => i.IngestionId).Order(StringComparer.Ordinal));
        Assert.All(page.Ingestions, i => Assert.Equal(("dap", "Succeeded", 1L, 1L, 0L), (i.Source, i.Status, i.RowsTotal, i.RowsAccepted, i.RowsRejected)));

        // Paging one at a time returns each attempt once.
        var ids = new List<string>();
        string? token = null;
        do
        {
            var p = Ok<IngestionsPage>(await Api.IngestionsAsync(Get("/api/ingestions", "pageSize=1" + (token is null ? "" : "&continuationToken=" + token)), default));
            ids.AddRange(p.Ingestions.Select(i => i.IngestionId));
            token = p.ContinuationToken;
        }
        while (token is not null);
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Contains(good.IngestionId, ids);
        Assert.Contains(again.IngestionId, ids);
    }

    [Theory]
    [InlineData("/api/ingestions", "source=nope")]
    [InlineData("/api/ingestions", "pageSize=0")]
    [InlineData("/api/ingestions", "continuationToken=%%%")]
    public async Task Bad_list_input_is_a_400_problem(string path, string query) =>
        Assert.Equal(400, Status(await Api.IngestionsAsync(Get(path, query), default)));

    [Theory]
    [InlineData("ListIngestions", "ingestions")]
    [InlineData("GetIngestionRejects", "ingestions/{ingestionId}/rejects")]
    public void The_routes_are_declared_with_function_keys(string function, string route)
    {
        var binding = FunctionMetadata.Binding(function, "httpTrigger");
        Assert.Equal(route, binding.GetProperty("route").GetString());
        Assert.Equal(["get"], binding.GetProperty("methods").EnumerateArray().Select(m => m.GetString()));
        Assert.Equal("Function", binding.GetProperty("authLevel").GetString());
    }

    [Fact]
    public async Task Rejects_of_an_unknown_ingestion_are_a_404_problem() =>
        Assert.Equal(404, Status(await Api.RejectsAsync(Get("/api/ingestions/nope/rejects"), "nope", default)));

    [Fact]
    public async Task An_attempt_whose_process_is_gone_is_listed_as_failed_never_as_running()
    {
        // As a CLI killed during the validation pass leaves its row: Running, its last heartbeat minutes old.
        var lastBeat = DateTimeOffset.UtcNow - TimeSpan.FromMinutes(10);
        var dead = new FeedIngestionResult(IngestionStore.NewIngestionId(lastBeat), FeedSource.Usage, "killed.csv", null, IngestionStatus.Running, 0, 0, 0, lastBeat, null)
        {
            HeartbeatAt = lastBeat,
            HeartbeatTimeout = Pipeline.Storage.RecordStoreOptions.Default.ClaimLease,
        };
        await azurite.Storage.Get<IngestionStore>().SaveAsync(dead, default);

        var listed = Assert.Single(Ok<IngestionsPage>(await Api.IngestionsAsync(Get("/api/ingestions", "source=usage&fileName=killed.csv"), default)).Ingestions);
        Assert.Equal((dead.IngestionId, "Failed"), (listed.IngestionId, listed.Status));
        Assert.StartsWith("Abandoned: no heartbeat since ", listed.Error);
    }
}
