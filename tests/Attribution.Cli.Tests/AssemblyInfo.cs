// Four classes at a time rather than one per core: these tests mostly wait (on storage timeouts, the emulator, the
// Durable worker's polling), so two left the cores half idle and the longest classes ran alone at the end.
[assembly: CollectionBehavior(MaxParallelThreads = 4)]
