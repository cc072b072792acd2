// Tests compare the process-wide live-handle count before and after; libtorch already
// uses every core, so running test classes in parallel would only blur those counts.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
