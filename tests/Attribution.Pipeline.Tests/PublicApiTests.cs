using Attribution.Pipeline.Ingestion;

namespace Attribution.Pipeline.Tests;

/// <summary>
/// The domain's public surface is a checked-in list (PublicApi.txt): widening it (a new public type, or plumbing made
/// public) changes that file in the same commit, so it is a visible decision in review rather than an accident.
/// </summary>
public sealed class PublicApiTests
{
    private static readonly string ListPath = Path.Combine(Testing.TestPaths.RepositoryRoot, "tests", "Attribution.Pipeline.Tests", "PublicApi.txt");

    [Fact]
    public void The_domains_public_types_are_exactly_the_checked_in_list()
    {
        var actual = typeof(FeedIngestor).Assembly.GetExportedTypes()
            .Select(t => t.FullName!.Replace('+', '.'))
            .Order(StringComparer.Ordinal)
            .ToList();
        var expected = File.ReadAllLines(ListPath).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();

        var added = actual.Except(expected, StringComparer.Ordinal).ToList();
        var removed = expected.Except(actual, StringComparer.Ordinal).ToList();
        Assert.True(added.Count == 0 && removed.Count == 0,
            $"Attribution.Pipeline's public types changed. Newly public: {string.Join(", ", added)}. No longer public: {string.Join(", ", removed)}. " +
            $"If that is intended, update {ListPath}; otherwise make the new plumbing internal.");
        Assert.True(actual.Count > 50, "the list is the real one");
    }
}
