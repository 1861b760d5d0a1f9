using System.Collections.Frozen;

namespace Attribution.Domain;

/// <summary>The canonical workloads usage is reported on and associations are scoped to.</summary>
public enum Workload : byte
{
    Azure = 0,
    Exchange = 1,
    SharePoint = 2,
    Teams = 3,
    OneDrive = 4,
    Intune = 5,
    EntraID = 6,
    Dynamics365 = 7,
    PowerPlatform = 8,
}

/// <summary>
/// A set of workloads as a bit mask, so coverage checks in the credit engine are one AND.
/// For associations an empty set means "every workload".
/// </summary>
public readonly record struct WorkloadSet(ushort Bits)
{
    public const int Count = 9;
    public static readonly WorkloadSet Empty = new(0);
    public static readonly WorkloadSet All = new((ushort)((1 << Count) - 1));

    public bool IsEmpty => Bits == 0;

    public static WorkloadSet Of(Workload workload) => new((ushort)(1 << (int)workload));

    public static WorkloadSet Of(IEnumerable<Workload> workloads)
    {
        ushort bits = 0;
        foreach (var w in workloads) bits |= (ushort)(1 << (int)w);
        return new WorkloadSet(bits);
    }

    public bool Contains(Workload workload) => (Bits & (1 << (int)workload)) != 0;

    /// <summary>Association scope check: an empty set covers every workload.</summary>
    public bool Covers(Workload workload) => Bits == 0 || Contains(workload);

    public WorkloadSet Union(WorkloadSet other) => new((ushort)(Bits | other.Bits));

    public IEnumerable<Workload> Members()
    {
        for (var i = 0; i < Count; i++)
            if ((Bits & (1 << i)) != 0) yield return (Workload)i;
    }

    /// <summary>Sorted, `;`-separated canonical names (empty string for the empty set).</summary>
    public override string ToString() =>
        string.Join(';', Members().Select(w => w.ToString()).Order(StringComparer.Ordinal));
}

/// <summary>Maps workload names as they appear in feeds (canonical or common product names) to <see cref="Workload"/>.</summary>
public static class WorkloadNames
{
    // Case-insensitive, queried with spans so the per-row lookup allocates nothing. Keys hold every name as
    // written and with its white space removed, so "Exchange  Online" and "exchangeonline" match too.
    private static readonly FrozenDictionary<string, Workload> ByName = Build();
    private static readonly FrozenDictionary<string, Workload>.AlternateLookup<ReadOnlySpan<char>> BySpan =
        ByName.GetAlternateLookup<ReadOnlySpan<char>>();

    private static FrozenDictionary<string, Workload> Build()
    {
        var map = new Dictionary<string, Workload>(StringComparer.OrdinalIgnoreCase);
        void Add(string name, Workload w)
        {
            map[name] = w;
            map[string.Concat(name.Where(c => !char.IsWhiteSpace(c)))] = w;
        }
        foreach (var w in Enum.GetValues<Workload>()) Add(w.ToString(), w);
        Add("Exchange Online", Workload.Exchange);
        Add("SharePoint Online", Workload.SharePoint);
        Add("Microsoft Teams", Workload.Teams);
        Add("OneDrive for Business", Workload.OneDrive);
        Add("Microsoft Intune", Workload.Intune);
        Add("EMS", Workload.Intune);
        Add("Azure AD Premium", Workload.EntraID);
        Add("Entra ID P1", Workload.EntraID);
        Add("Entra ID", Workload.EntraID);
        Add("Dynamics 365", Workload.Dynamics365);
        Add("Power Apps", Workload.PowerPlatform);
        Add("Power Automate", Workload.PowerPlatform);
        Add("Power BI", Workload.PowerPlatform);
        Add("Microsoft Azure", Workload.Azure);
        return map.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }

    public static bool TryParse(ReadOnlySpan<char> name, out Workload workload)
    {
        name = name.Trim();
        if (BySpan.TryGetValue(name, out workload)) return true;
        // Rare: irregular inner spacing. Fold white space away on the stack and look again.
        if (name.Length > 128) return false;
        Span<char> buffer = stackalloc char[name.Length];
        var n = 0;
        foreach (var c in name)
            if (!char.IsWhiteSpace(c)) buffer[n++] = c;
        return BySpan.TryGetValue(buffer[..n], out workload);
    }

    /// <summary>Parses a `;`- or `|`-separated list. Returns the first unknown name on failure.</summary>
    public static bool TryParseList(ReadOnlySpan<char> list, out WorkloadSet set, out string? unknown)
    {
        ushort bits = 0;
        unknown = null;
        foreach (var range in list.SplitAny(';', '|'))
        {
            var part = list[range].Trim();
            if (part.IsEmpty) continue;
            if (!TryParse(part, out var w))
            {
                unknown = part.ToString();
                set = default;
                return false;
            }
            bits |= (ushort)(1 << (int)w);
        }
        set = new WorkloadSet(bits);
        return true;
    }
}
