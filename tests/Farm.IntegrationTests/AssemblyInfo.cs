// One set of servers for all tests, and renders that use every core: one test at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
