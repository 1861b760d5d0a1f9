using System.Runtime.CompilerServices;
using Attribution.Pipeline.Hosting;
using Attribution.Pipeline.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Attribution.Testing;

/// <summary>
/// The composition root the app and the CLI use (<see cref="AttributionServices.AddAttribution"/>), over a test's storage
/// account: one provider per account object, so a test gets the same registered stores and readers a host would,
/// and a "fresh client" (<c>NewStorage()</c>) gets its own, as another process would.
/// </summary>
public static class TestServices
{
    private static readonly ConditionalWeakTable<StorageAccount, ServiceProvider> Providers = [];

    public static IServiceProvider Services(this StorageAccount storage) => Providers.GetValue(storage, s => Compose(s));

    /// <summary>A registered service (a store, a reader) over this account.</summary>
    public static T Get<T>(this StorageAccount storage) where T : notnull => storage.Services().GetRequiredService<T>();

    /// <summary>An object built over the registered services, with the given arguments first (rules, a clock, …).</summary>
    public static T Create<T>(this StorageAccount storage, params object[] arguments) =>
        ActivatorUtilities.CreateInstance<T>(storage.Services(), arguments);

    /// <summary>The root over an account, with registrations of the test's own first (a clock, a logger factory).</summary>
    public static ServiceProvider Compose(StorageAccount storage, Action<IServiceCollection>? first = null)
    {
        ArgumentNullException.ThrowIfNull(storage);
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [AttributionServices.StorageConnection] = storage.ConnectionString })
            .Build();
        var services = new ServiceCollection().AddSingleton(storage);
        first?.Invoke(services);
        var provider = services.AddAttribution(configuration).BuildServiceProvider();
        provider.ValidateOnStart();
        return provider;
    }
}

/// <summary>Starts recalculations as the hosts do, over a test's account.</summary>
public static class TestStarts
{
    /// <summary>The one start contract, with the account's registered clock, records and (unless given) fan-out settings.</summary>
    public static Attribution.Pipeline.Recalculation.RecalculationStarter Starter(this StorageAccount storage, Attribution.Pipeline.Recalculation.IRecalculationInstances instances,
        Attribution.Pipeline.Recalculation.RecalculationSettings? settings = null, TimeProvider? time = null) =>
        new(instances, time ?? storage.Get<TimeProvider>(), settings ?? storage.Get<Attribution.Pipeline.Recalculation.RecalculationSettings>(),
            storage.Get<RecordStore>());
}

/// <summary>Sets a test's options and hooks on an object the composition root built.</summary>
public static class TestSetup
{
    public static T With<T>(this T value, Action<T> set)
    {
        ArgumentNullException.ThrowIfNull(set);
        set(value);
        return value;
    }
}

/// <summary>A clock that always says the same time: a test's "now" (the default month, a timer's tick).</summary>
public sealed class FixedTime(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
