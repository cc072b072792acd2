namespace Microscope.Worker;

/// <summary>One render at a time on the device. A priority packet (a researcher's
/// re-render) waiting for the gate goes before any sweep packet that also waits.</summary>
public sealed class DeviceGate
{
    private readonly SemaphoreSlim _device = new(1, 1);
    private int _priorityWaiting;

    public async Task<IDisposable> EnterAsync(bool priority, CancellationToken cancel)
    {
        if (priority) Interlocked.Increment(ref _priorityWaiting);
        try
        {
            while (true)
            {
                await _device.WaitAsync(cancel);
                if (priority || Volatile.Read(ref _priorityWaiting) == 0) return new Lease(_device);
                _device.Release();
                await Task.Delay(20, cancel);
            }
        }
        finally
        {
            if (priority) Interlocked.Decrement(ref _priorityWaiting);
        }
    }

    private sealed class Lease(SemaphoreSlim device) : IDisposable
    {
        private int _released;
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) device.Release();
        }
    }
}
