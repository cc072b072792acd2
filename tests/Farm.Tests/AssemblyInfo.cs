// Renders use every core: test classes running side by side would only slow each other
// past their timeouts on a 2-core CI machine.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
