using System.Reflection;
using System.Runtime.CompilerServices;
using Attribution.Domain.Credit;

namespace Attribution.Domain.Tests;

/// <summary>
/// The domain is pure: records, feeds and value rules, rules and the engine, with no Azure SDK, no Durable Task, no
/// storage format and no project of ours above it. Read from the compiled assembly's references, so a wrong-way
/// dependency fails here whichever file brings it in.
/// </summary>
public sealed class DomainAssemblyTests
{
    private static readonly Assembly Domain = typeof(CreditEngine).Assembly;

    // What the domain may stand on: the runtime, the CSV reader and the gzip reader.
    private static bool Allowed(string name) =>
        name is "System.Runtime" or "netstandard" or "Sep" or "ICSharpCode.SharpZipLib"
        || name.StartsWith("System.", StringComparison.Ordinal) || name.StartsWith("Microsoft.Win32.", StringComparison.Ordinal);

    [Fact]
    public void The_domain_references_nothing_but_the_runtime_and_its_two_parsers()
    {
        var referenced = Domain.GetReferencedAssemblies().Select(a => a.Name!).ToList();

        Assert.Contains("Sep", referenced); // the list is the real one
        var wrong = referenced.Where(name => !Allowed(name)).ToList();
        Assert.True(wrong.Count == 0, $"Attribution.Domain references {string.Join(", ", wrong)}: the domain stays free of I/O SDKs and of the projects that build on it.");
    }

    [Theory]
    [InlineData("Azure.Data.Tables")]
    [InlineData("Azure.Storage.Blobs")]
    [InlineData("Microsoft.DurableTask.Abstractions")]
    [InlineData("Parquet")]
    [InlineData("Attribution.Pipeline")]
    public void The_check_refuses_what_the_pipeline_stands_on(string name) => Assert.False(Allowed(name));

    [Fact]
    public void The_domains_public_types_are_exactly_the_checked_in_list()
    {
        var listPath = Path.Combine(SourceDirectory(), "PublicApi.txt");
        var actual = Domain.GetExportedTypes().Select(t => t.FullName!.Replace('+', '.')).Order(StringComparer.Ordinal).ToList();
        var expected = File.ReadAllLines(listPath).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();

        var added = actual.Except(expected, StringComparer.Ordinal).ToList();
        var removed = expected.Except(actual, StringComparer.Ordinal).ToList();
        Assert.True(added.Count == 0 && removed.Count == 0,
            $"Attribution.Domain's public types changed. Newly public: {string.Join(", ", added)}. No longer public: {string.Join(", ", removed)}. " +
            $"If that is intended, update {listPath}; otherwise make the new type internal.");
        Assert.True(actual.Count > 20, "the list is the real one");
    }

    private static string SourceDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}
