using System.Diagnostics;

namespace Microscope.Farm.IntegrationTests;

/// <summary>s3rver (scripts/servers/s3rver.sh) on 127.0.0.1, a free port and the given folder:
/// part of <see cref="RealServers"/>, and alone for the object store's tests, which need
/// neither PostgreSQL nor RabbitMQ (and so start in a second).</summary>
public sealed class S3Server : IAsyncLifetime
{
    private readonly string _folder;
    private readonly bool _ownsFolder;
    private Process? _process;

    public int Port { get; } = RealServers.FreePort();
    public string Url => $"http://127.0.0.1:{Port}";

    /// <summary>For the object store's test collection: its own folder under /tmp.</summary>
    public S3Server()
    {
        _folder = Path.Combine(Path.GetTempPath(), "farm-s3-" + Guid.NewGuid().ToString("N")[..10]);
        _ownsFolder = true;
    }

    internal S3Server(string folder) => _folder = folder;

    public async Task InitializeAsync()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Stop();
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(RealServers.Script("s3rver.sh"));
        psi.ArgumentList.Add(_folder);
        psi.ArgumentList.Add(Port.ToString());
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await RealServers.WaitForPort(Port, TimeSpan.FromSeconds(30));
    }

    public Task DisposeAsync()
    {
        Stop();
        return Task.CompletedTask;
    }

    public void Stop()
    {
        try { if (_process is { HasExited: false }) _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        if (_ownsFolder) try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }
}

[CollectionDefinition(Name)]
public sealed class S3ServerCollection : ICollectionFixture<S3Server>
{
    public const string Name = "s3rver";
}
