// One farm and one browser for every test class: they run one after another (the
// timings of the performance test must not compete with a browser test).
[assembly: CollectionBehavior(DisableTestParallelization = true)]
