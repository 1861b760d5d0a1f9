using Attribution.Pipeline.Storage;
using Attribution.Testing;

namespace Attribution.Cli.Tests;

public sealed class IngestCommandTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private readonly string _dir = TestPaths.NewTempDirectory();

    [Fact]
    public async Task Ingest_prints_per_file_counts_and_exits_0()
    {
        var t = Guid.NewGuid();
        var usage = TestPaths.WriteFeed(_dir, "usage", "jan.csv",
            $"customerTenantId,subscriptionId,workload,month,consumedRevenueUsd,activeUsers\n{t},{Guid.NewGuid()},Azure,2026-01,10,\n{t},x,Azure,2026-01,10,\n");
        var dap = TestPaths.WriteFeed(_dir, "misc", "dap_2026.jsonl",
            $"{{\"customerTenantId\":\"{t}\",\"partnerId\":123,\"workloads\":\"Intune\",\"grantedOn\":\"2026-01-01\"}}\n");

        var (code, output, error) = await CliRunner.RunAsync("ingest", usage, dap, "--storage", azurite.ConnectionString);

        Assert.Equal(0, code);
        Assert.Equal($"storage: {StorageAccount.FromConnectionString(azurite.ConnectionString).Endpoints}, given by --storage", error.Trim());
        var usageLine = output.Split('\n').Single(l => l.Contains("jan.csv", StringComparison.Ordinal) && l.Contains(" usage ", StringComparison.Ordinal));
        Assert.Contains("jan.csv line 3: subscriptionId", output);
        Assert.Matches(@"usage\s+CompletedWithRejections\s+2\s+1\s+1", usageLine);
        var dapLine = output.Split('\n').Single(l => l.Contains("dap_2026.jsonl", StringComparison.Ordinal));
        Assert.Matches(@"dap\s+Succeeded\s+1\s+1\s+0", dapLine);
        Assert.Contains((await azurite.Storage.TenantAsync(t)).Associations, a => a.Source == Attribution.Domain.AssociationSource.Dap && a.PartnerId == 123);
    }

    [Fact]
    public async Task Ingest_infers_pal_and_certifications_from_the_file_name_or_the_folder()
    {
        var t = Guid.NewGuid();
        var partner = 9_100_000_000L + Random.Shared.Next(1_000_000);
        var pal = TestPaths.WriteFeed(_dir, "inbox", "pal_2026-11.csv",
            $"customerTenantId,partnerId,linkedOn,unlinkedOn,subscriptionId,workloads\n{t},4567890,2026-02-10,,,Azure\n{t},4567890,2026-02-10,2026-02-09,,\n");
        var named = TestPaths.WriteFeed(_dir, "inbox", "certifications-2026-11.jsonl",
            $"{{\"partnerId\":{partner},\"personId\":\"p-1\",\"certification\":\"az-104\",\"earnedOn\":\"2026-01-05\"}}\n");
        var inFolder = TestPaths.WriteFeed(_dir, "certifications", "export.csv",
            $"partnerId,personId,certification,earnedOn,expiresOn\n{partner},p-2,SC-300,2026-03-01,2027-02-28\n");

        var (code, json, _) = await CliRunner.RunAsync("ingest", pal, named, inFolder, "--json", "--storage", azurite.ConnectionString);

        Assert.Equal(0, code);
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        var files = doc.RootElement.GetProperty("files").EnumerateArray().ToList();
        Assert.Equal(["pal CompletedWithRejections 2/1/1", "certifications Succeeded 1/1/0", "certifications Succeeded 1/1/0"], files.Select(f =>
            $"{f.GetProperty("source").GetString()} {f.GetProperty("status").GetString()} {f.GetProperty("rowsTotal").GetInt64()}/{f.GetProperty("rowsAccepted").GetInt64()}/{f.GetProperty("rowsRejected").GetInt64()}"));
        var reject = Assert.Single(files[0].GetProperty("rejects").EnumerateArray());
        Assert.Equal((3L, "unlinkedOn: 2026-02-09 is before linkedOn 2026-02-10"), (reject.GetProperty("line").GetInt64(), reject.GetProperty("reason").GetString()));

        var link = Assert.Single((await azurite.Storage.TenantAsync(t)).Associations);
        Assert.Equal((Attribution.Domain.AssociationSource.Pal, 4567890L, "Azure"), (link.Source, link.PartnerId, link.Workloads.ToString()));
        var stored = (await (await azurite.Storage.LatestRecordsAsync()).AllCertificationsAsync()).Where(c => c.PartnerId == partner);
        Assert.Equal(["p-1 AZ-104", "p-2 SC-300"], stored.Select(c => $"{c.PersonId} {c.Certification}"));
    }

    [Fact]
    public async Task A_file_that_fails_as_a_whole_exits_1_and_says_why()
    {
        var bad = TestPaths.WriteFeed(_dir, "sales", "sales.csv", "customerTenantId,partnerId\n");
        var (code, output, _) = await CliRunner.RunAsync("ingest", bad, "--storage", azurite.ConnectionString);
        Assert.Equal(1, code);
        Assert.Contains("Failed", output);
        Assert.Contains("program, validFrom", output);
    }

    [Fact]
    public async Task Source_override_applies_to_every_file()
    {
        var t = Guid.NewGuid();
        var file = TestPaths.WriteFeed(_dir, "inbox", "export.csv", $"partnerId,partnerName\n{Math.Abs(t.GetHashCode() % 100000) + 1},Northwind\n");
        var (code, output, _) = await CliRunner.RunAsync("ingest", file, "--source", "partners", "--storage", azurite.ConnectionString);
        Assert.Equal(0, code);
        Assert.Matches(@"partners\s+Succeeded\s+1\s+1\s+0", output);
    }

    [Theory]
    [InlineData("usage", "usage-2026.csv", "customerTenantId,subscriptionId,workload,month\n")]
    [InlineData("dap", "dap-2026.jsonl", "{\"customerTenantId\":\"00000000-0000-0000-0000-000000000001\",\"partnerId\":1}\n")]
    public async Task A_gzip_file_under_a_plain_name_exits_1_saying_it_is_compressed_and_how_to_rename_it(string source, string name, string text)
    {
        var path = Path.Combine(_dir, source, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await using (var file = File.Create(path))
        await using (var gz = new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionLevel.Fastest))
            await gz.WriteAsync(System.Text.Encoding.UTF8.GetBytes(text + new string(' ', 300)));

        var (code, output, error) = await CliRunner.RunAsync("ingest", path, "--storage", azurite.ConnectionString, "--width", "400");

        Assert.Equal(1, code);
        Assert.Contains($"{name}: The content is gzip-compressed (it starts with the gzip signature 1F 8B) but the name does not end in .gz: rename it to {name}.gz.", output);
        Assert.DoesNotContain('\uFFFD', output + error);
        Assert.DoesNotContain(output + error, c => char.IsControl(c) && c is not ('\n' or '\r'));
    }

    [Theory]
    [InlineData("ingest")]                                   // no file
    [InlineData("ingest", "{dir}/inbox/nothing-here.csv")]     // missing file
    [InlineData("ingest", "{unknown}")]                        // source cannot be inferred
    [InlineData("ingest", "{unknown}", "--source", "invoices")]
    [InlineData("frobnicate")]
    public async Task Bad_usage_exits_2_without_ingesting(params string[] args)
    {
        var unknown = TestPaths.WriteFeed(_dir, "inbox", "export.csv", "partnerId\n1\n");
        var before = (await azurite.Storage.AllAsync(TableNames.FeedIngestions)).Count;
        var resolved = args.Select(a => a.Replace("{dir}", _dir, StringComparison.Ordinal).Replace("{unknown}", unknown, StringComparison.Ordinal))
            .Concat(["--storage", azurite.ConnectionString]).ToArray();
        var (code, _, error) = await CliRunner.RunAsync(resolved);
        Assert.Equal(2, code);
        Assert.NotEqual("", error);
        Assert.Equal(before, (await azurite.Storage.AllAsync(TableNames.FeedIngestions)).Count);
    }
}

public sealed class RejectsCommandTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private readonly string _dir = TestPaths.NewTempDirectory();

    [Fact]
    public async Task Ingest_shows_the_first_reasons_and_rejects_lists_every_rejected_row_with_line_reason_and_raw_text()
    {
        // 3 of 4 rows rejected, each for another reason.
        var file = TestPaths.WriteFeed(_dir, "partners", "partners-bad.csv", "partnerId,partnerName\n1,Contoso\nx,Bad id\n12345678901,Too long\n,Empty\n");

        var (code, output, _) = await CliRunner.RunAsync("ingest", file, "--storage", azurite.ConnectionString);
        Assert.Equal(0, code);
        Assert.Contains("partners-bad.csv line 3: partnerId", output);
        Assert.Contains("partners-bad.csv line 4: partnerId", output);
        Assert.Contains("partners-bad.csv line 5: partnerId", output);

        var (listed, json, error) = await CliRunner.RunAsync("rejects", "--file", "partners-bad.csv", "--json", "--storage", azurite.ConnectionString);
        Assert.True(listed == 0, error);
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        var ingestion = Assert.Single(doc.RootElement.GetProperty("ingestions").EnumerateArray());
        Assert.Equal("partners-bad.csv", ingestion.GetProperty("fileName").GetString());
        Assert.Equal(3, ingestion.GetProperty("rowsRejected").GetInt64());
        var rejects = ingestion.GetProperty("rejects").EnumerateArray().ToList();
        Assert.Equal([3L, 4L, 5L], rejects.Select(r => r.GetProperty("line").GetInt64()));
        Assert.Equal(["x,Bad id", "12345678901,Too long", ",Empty"], rejects.Select(r => r.GetProperty("raw").GetString()));
        Assert.All(rejects, r => Assert.StartsWith("partnerId", r.GetProperty("reason").GetString()));

        // The same rows by ingestion id, as a table.
        var id = ingestion.GetProperty("ingestionId").GetString()!;
        // Wide enough that the raw text is on one line (at 80 columns it wraps between its words).
        var (byId, text, _) = await CliRunner.RunAsync("rejects", id, "--storage", azurite.ConnectionString, "--width", "200");
        Assert.Equal(0, byId);
        Assert.Contains("3 of 4 row(s) rejected", text);
        Assert.Contains("12345678901,Too long", text);
    }

    [Fact]
    public async Task Ingest_json_is_one_document_with_each_files_outcome()
    {
        var t = Guid.NewGuid();
        var usage = TestPaths.WriteFeed(_dir, "usage", "u.csv", $"customerTenantId,subscriptionId,workload,month,consumedRevenueUsd\n{t},{Guid.NewGuid()},Azure,2026-01,10\n{t},nope,Azure,2026-01,10\n");
        var (code, json, _) = await CliRunner.RunAsync("ingest", usage, "--json", "--storage", azurite.ConnectionString);
        Assert.Equal(0, code);
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        var file = Assert.Single(doc.RootElement.GetProperty("files").EnumerateArray());
        Assert.Equal("usage", file.GetProperty("source").GetString());
        Assert.Equal("CompletedWithRejections", file.GetProperty("status").GetString());
        Assert.Equal((2L, 1L, 1L), (file.GetProperty("rowsTotal").GetInt64(), file.GetProperty("rowsAccepted").GetInt64(), file.GetProperty("rowsRejected").GetInt64()));
        var reject = Assert.Single(file.GetProperty("rejects").EnumerateArray());
        Assert.Equal(3, reject.GetProperty("line").GetInt64());
        Assert.Contains("subscriptionId", reject.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Rejects_takes_one_selector_and_names_an_unknown_ingestion()
    {
        var (both, _, _) = await CliRunner.RunAsync("rejects", "some-id", "--source", "usage", "--storage", azurite.ConnectionString);
        Assert.Equal(2, both);
        var (unknown, _, error) = await CliRunner.RunAsync("rejects", "no-such-ingestion", "--storage", azurite.ConnectionString);
        Assert.Equal(1, unknown);
        Assert.Contains("No ingestion 'no-such-ingestion'", error);
    }
}

public sealed class IngestWaitTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private readonly string _dir = TestPaths.NewTempDirectory();

    [Fact]
    public async Task Ingest_says_on_redirected_stderr_which_attempt_it_waits_for_since_when_and_until_when()
    {
        var t = Guid.NewGuid();
        var text = $"customerTenantId,subscriptionId,workload,month,consumedRevenueUsd,activeUsers\n{t},{Guid.NewGuid()},Azure,2026-01,10,\n";
        var file = TestPaths.WriteFeed(_dir, "usage", "waits.csv", text);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var (holder, holderId) = await ClaimHolder.HoldAsync(azurite.Storage, "first-upload.csv", System.Text.Encoding.UTF8.GetBytes(text), release.Task);

        // stderr is a plain writer (redirected, not a terminal, no --verbose); the holder lets go once the wait is said.
        using var stdout = new StringWriter();
        await using var stderr = new SignallingWriter("waiting since", release);
        var code = await Program.RunAsync(["ingest", file, "--storage", azurite.ConnectionString], stdout, stderr);
        await holder;

        Assert.Equal(0, code);
        Assert.Matches(@"waits\.csv\s+usage\s+Succeeded\s+1\s+1\s+0", stdout.ToString());
        var line = Assert.Single(stderr.ToString().Split('\n'), l => l.Contains("waiting since", StringComparison.Ordinal));
        Assert.StartsWith("waits.csv: waiting since ", line);
        Assert.Contains($"for ingestion {holderId} (first-upload.csv, started ", line);
        Assert.Matches(@"at most until \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\.", line);
    }

    /// <summary>Captures what is written and completes <paramref name="signal"/> once a line contains <paramref name="text"/>.</summary>
    private sealed class SignallingWriter(string text, TaskCompletionSource signal) : StringWriter
    {
        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            if (value?.Contains(text, StringComparison.Ordinal) == true) signal.TrySetResult();
        }
    }
}
