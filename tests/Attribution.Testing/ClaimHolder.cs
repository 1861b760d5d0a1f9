using Attribution.Domain.Feeds;
using Attribution.Pipeline.Ingestion;
using Attribution.Domain.Rules;
using Attribution.Pipeline.Storage;

namespace Attribution.Testing;

/// <summary>Another ingestion attempt on the same content, for tests of what an attempt does while one holds the claim.</summary>
public static class ClaimHolder
{
    /// <summary>
    /// A real attempt that holds the claim on <paramref name="content"/> and stops once it has it, until
    /// <paramref name="release"/> completes; then it fails (as an attempt whose storage broke), which frees the claim.
    /// </summary>
    public static async Task<(Task<FeedIngestionResult> Attempt, string IngestionId)> HoldAsync(
        StorageAccount storage, string fileName, byte[] content, Task release, RecordStoreOptions? options = null)
    {
        var claimed = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        string? id = null;
        var holder = storage.Create<FeedIngestor>(CreditRulesLoader.Default).With(i =>
        {
            i.RecordOptions = options ?? RecordStoreOptions.Default;
            i.AfterPhase = async (phase, _) =>
            {
                if (phase != WritePhase.Claimed) return;
                claimed.SetResult("held");
                await release;
                throw new IOException("the holder's storage failed");
            };
        });
        var attempt = Task.Run(async () =>
        {
            try
            {
                return await holder.IngestAsync(FeedSource.Usage, fileName, _ => Task.FromResult<Stream>(new MemoryStream(content)), content.Length);
            }
            catch (IOException)
            {
                return null!;
            }
        });
        await Task.WhenAny(claimed.Task, attempt);
        if (!claimed.Task.IsCompleted) await attempt; // surfaces why it never got the claim
        await foreach (var row in storage.Get<IngestionStore>().ListAsync(FeedSource.Usage))
            if (row.FileName == fileName && row.Status == IngestionStatus.Running) id = row.IngestionId;
        return (attempt, id!);
    }

}
