using System.Buffers.Binary;

namespace Attribution.Pipeline.Storage;

/// <summary>
/// The bucket of a customer tenant. The hash is part of the stored layout (records already written sit in the bucket
/// it chose), so it must never change: the GUID's 16 bytes as two little-endian 64-bit words, mixed with the
/// SplitMix64 finalizer, modulo the bucket count.
/// </summary>
public static class RecordBuckets
{
    public static int Of(Guid tenant, int bucketCount)
    {
        Span<byte> bytes = stackalloc byte[16];
        tenant.TryWriteBytes(bytes);
        var x = BinaryPrimitives.ReadUInt64LittleEndian(bytes) ^ Mix(BinaryPrimitives.ReadUInt64LittleEndian(bytes[8..]));
        return (int)(Mix(x) % (ulong)bucketCount);
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
