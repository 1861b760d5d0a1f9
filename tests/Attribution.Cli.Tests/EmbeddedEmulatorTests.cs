using System.Text.Json;
using Attribution.Pipeline.Storage;
using Attribution.Local;
using Attribution.Testing;

namespace Attribution.Cli.Tests;

/// <summary>Without --storage the CLI runs this checkout's own emulator: its own ports and data, never another's.</summary>
public sealed class EmbeddedEmulatorTests
{
    private readonly string _dir = TestPaths.NewTempDirectory();

    private static Dictionary<string, string?> Environment(string dataFolder) => new()
    {
        [CheckoutEmulator.DataFolderVariable] = dataFolder,
        ["ATTRIBUTION_STORAGE"] = null,
    };

    private static (int Blob, int Queue, int Table) RecordedPorts(string dataFolder)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dataFolder, "ports.json")));
        return (doc.RootElement.GetProperty("Blob").GetInt32(), doc.RootElement.GetProperty("Queue").GetInt32(), doc.RootElement.GetProperty("Table").GetInt32());
    }

    [Fact]
    public async Task The_emulator_keeps_its_ports_and_data_between_commands_and_says_which_storage_it_uses()
    {
        var data = Path.Combine(_dir, "emulator");
        var feed = Path.Combine(TestPaths.Samples, "partners", "partners.csv");

        var (first, _, firstError) = await CliRunner.RunProcessAsync(Environment(data), "ingest", feed);
        Assert.True(first == 0, firstError);
        var (blob, queue, table) = RecordedPorts(data);
        Assert.Contains($"storage: this checkout's embedded Azurite on 127.0.0.1 ports {blob} (blob), {queue} (queue), {table} (table) (data in {data})", firstError);

        // The second command finds the same data: the same content is a Duplicate.
        var (second, output, secondError) = await CliRunner.RunProcessAsync(Environment(data), "ingest", feed);
        Assert.True(second == 0, secondError);
        Assert.Equal((blob, queue, table), RecordedPorts(data));
        Assert.Contains("Duplicate", output);
    }

    [Fact]
    public async Task An_emulator_on_its_ports_that_it_did_not_start_is_left_alone()
    {
        // Another checkout's emulator sits on the ports this checkout recorded.
        await using var other = await AzuriteHost.StartAsync(new AzuriteHostOptions { InMemory = true });
        var data = Path.Combine(_dir, "emulator");
        Directory.CreateDirectory(data);
        await File.WriteAllTextAsync(Path.Combine(data, "ports.json"),
            JsonSerializer.Serialize(new { Blob = other.BlobPort, Queue = other.QueuePort, Table = other.TablePort, Token = "this-checkout" }));

        var (code, _, error) = await CliRunner.RunProcessAsync(Environment(data), "ingest", Path.Combine(TestPaths.Samples, "partners", "partners.csv"));

        Assert.True(code == 0, error);
        Assert.Contains($"127.0.0.1 ports {other.BlobPort} (blob), {other.QueuePort} (queue), {other.TablePort} (table) was taken by something else, so it moved", error);
        Assert.NotEqual(other.BlobPort, RecordedPorts(data).Blob);
        // Nothing was written into the other emulator.
        var foreign = StorageAccount.FromConnectionString(other.ConnectionString);
        await foreach (var _ in foreign.Tables.QueryAsync()) Assert.Fail("the other emulator was written to");
    }
}
