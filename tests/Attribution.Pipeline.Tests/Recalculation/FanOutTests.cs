using Attribution.Pipeline.Recalculation;

namespace Attribution.Pipeline.Tests.Recalculation;

/// <summary>The fan-out grows with the records so one activity holds about the same however large the program is.</summary>
public sealed class FanOutTests
{
    [Theory]
    // rows, buckets → shards, reduce ranges, publish ranges (worked by hand: ceil(rows / 250,000), next power of two, 8..buckets)
    [InlineData(0L, 256, 8, 8, 16)]
    [InlineData(2_000_000L, 256, 8, 8, 16)]
    [InlineData(2_000_001L, 256, 16, 16, 32)]
    [InlineData(4_500_000L, 256, 32, 32, 64)]
    [InlineData(16_000_001L, 256, 128, 128, 256)]
    [InlineData(100_000_000L, 256, 256, 256, 512)]
    [InlineData(10_000_000L, 4, 8, 8, 16)]
    public void Shards_follow_the_rows_in_powers_of_two_within_the_buckets(long rows, int buckets, int shards, int reduce, int publish) =>
        Assert.Equal((shards, reduce, publish), RecalculationSettings.FanOutFor(rows, buckets));

    [Fact]
    public void Unset_settings_leave_the_fan_out_to_the_data_and_set_ones_are_kept()
    {
        var unset = RecalculationSettings.FromSettings(_ => null);
        Assert.Equal((0, 0, 0), (unset.Shards, unset.ReduceRanges, unset.PublishRanges));
        var set = RecalculationSettings.FromSettings(name => name == RecalculationSettings.ShardsSetting ? "12" : null);
        Assert.Equal(12, set.Shards);
        Assert.Throws<InvalidOperationException>(() => RecalculationSettings.FromSettings(name => name == RecalculationSettings.ShardsSetting ? "0" : null));
    }
}
