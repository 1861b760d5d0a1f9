using Attribution.Domain;

namespace Attribution.Domain.Feeds;

/// <summary>The nine feeds. Names (lower-case) are fixed by the contract: blob folders, CLI, message property.</summary>
public enum FeedSource : byte
{
    Partners,
    Dpor,
    Sales,
    Csp,
    FastTrack,
    Dap,
    Pal,
    Certifications,
    Usage,
}

public static class FeedSources
{
    public static readonly IReadOnlyList<FeedSource> All = Enum.GetValues<FeedSource>();

    public static string Name(this FeedSource source) => source switch
    {
        FeedSource.Partners => "partners",
        FeedSource.Dpor => "dpor",
        FeedSource.Sales => "sales",
        FeedSource.Csp => "csp",
        FeedSource.FastTrack => "fasttrack",
        FeedSource.Dap => "dap",
        FeedSource.Pal => "pal",
        FeedSource.Certifications => "certifications",
        FeedSource.Usage => "usage",
        _ => throw new ArgumentOutOfRangeException(nameof(source)),
    };

    public static bool TryParse(ReadOnlySpan<char> name, out FeedSource source)
    {
        foreach (var s in All)
        {
            if (name.Trim().Equals(s.Name(), StringComparison.OrdinalIgnoreCase))
            {
                source = s;
                return true;
            }
        }
        source = default;
        return false;
    }

    public static string AllNames => string.Join(' ', All.Select(s => s.Name()));

    /// <summary>
    /// Infers the source from a path the way the CLI does: the parent folder's name, else a file name
    /// starting with `{source}` followed by `_`, `-` or `.`.
    /// </summary>
    public static bool TryInferFromPath(string path, out FeedSource source)
    {
        var parent = Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(path)));
        if (parent is not null && TryParse(parent, out source)) return true;
        var file = Path.GetFileName(path);
        foreach (var s in All)
        {
            var name = s.Name();
            if (file.Length > name.Length
                && file.StartsWith(name, StringComparison.OrdinalIgnoreCase)
                && file[name.Length] is '_' or '-' or '.')
            {
                source = s;
                return true;
            }
        }
        source = default;
        return false;
    }
}
