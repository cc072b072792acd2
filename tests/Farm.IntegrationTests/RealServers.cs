using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Microscope.Farm.IntegrationTests;

/// <summary>PostgreSQL, RabbitMQ and s3rver started for real on 127.0.0.1 (free ports, a
/// temporary folder) by scripts/servers/*.sh, once for the test collection, and always
/// stopped: on dispose and, should the test host die first, on process exit.</summary>
public sealed class RealServers : IAsyncLifetime
{
    public string Root { get; } = Path.Combine(Path.GetTempPath(), "farm-it-" + Guid.NewGuid().ToString("N")[..10]);
    public int PostgresPort { get; private set; }
    public int RabbitPort { get; private set; }
    public int S3Port => _s3.Port;
    public string S3Url => _s3.Url;

    /// <summary>An S3 client of s3rver as the tests read it (path-style; checksums only where required).</summary>
    public Amazon.S3.AmazonS3Client S3Client() => new(new Amazon.Runtime.BasicAWSCredentials("S3RVER", "S3RVER"), new Amazon.S3.AmazonS3Config
    {
        ServiceURL = S3Url, ForcePathStyle = true,
        RequestChecksumCalculation = Amazon.Runtime.RequestChecksumCalculation.WHEN_REQUIRED, ResponseChecksumValidation = Amazon.Runtime.ResponseChecksumValidation.WHEN_REQUIRED,
    });

    private readonly S3Server _s3;
    private int _stopped;

    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Microscope.Farm.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
        }
    }

    public RealServers() => _s3 = new S3Server(Path.Combine(Root, "s3"));

    internal static string Script(string name) => Path.Combine(RepoRoot, "scripts", "servers", name);

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Root);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Stop();
        PostgresPort = FreePort();
        RabbitPort = FreePort(avoidAbove: 44000);
        var postgres = Task.Run(() => Run(Script("postgres.sh"), TimeSpan.FromSeconds(90), "start", Path.Combine(Root, "pg"), PostgresPort.ToString()));
        var rabbit = Task.Run(() => Run(Script("rabbitmq.sh"), TimeSpan.FromSeconds(120), "start", Path.Combine(Root, "rabbit"), RabbitPort.ToString()));
        await _s3.InitializeAsync();
        await postgres;
        await rabbit;
    }

    public Task DisposeAsync()
    {
        Stop();
        return Task.CompletedTask;
    }

    private void Stop()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1) return;
        _s3.Stop();
        try { Run(Script("postgres.sh"), TimeSpan.FromSeconds(60), "stop", Path.Combine(Root, "pg")); } catch (Exception) { }
        try { Run(Script("rabbitmq.sh"), TimeSpan.FromSeconds(90), "stop", Path.Combine(Root, "rabbit")); } catch (Exception) { }
        try { Directory.Delete(Root, recursive: true); } catch (Exception) { }
    }

    /// <summary>Stops PostgreSQL (immediate shutdown, as a crash); <see cref="StartPostgres"/>
    /// brings the same cluster back with its data.</summary>
    public void StopPostgres() => Run(Script("postgres.sh"), TimeSpan.FromSeconds(60), "stop", Path.Combine(Root, "pg"));

    public void StartPostgres()
    {
        Run(Script("postgres.sh"), TimeSpan.FromSeconds(90), "start", Path.Combine(Root, "pg"), PostgresPort.ToString());
        // This process's pooled connections died with the old server: a later test would get one.
        NpgsqlConnection.ClearAllPools();
    }

    /// <summary>Stops the broker; <see cref="StartRabbit"/> starts it again with its state
    /// (virtual hosts, durable queues and their messages).</summary>
    public void StopRabbit() => Run(Script("rabbitmq.sh"), TimeSpan.FromSeconds(90), "stop", Path.Combine(Root, "rabbit"));

    public void StartRabbit() => Run(Script("rabbitmq.sh"), TimeSpan.FromSeconds(120), "start", Path.Combine(Root, "rabbit"), RabbitPort.ToString());

    /// <summary>A fresh database, RabbitMQ virtual host and bucket name for one test, so
    /// nothing a test leaves behind (a queued packet, a row) reaches another.</summary>
    public async Task<Isolation> IsolateAsync(string name)
    {
        var suffix = name.ToLowerInvariant() + Guid.NewGuid().ToString("N")[..6];
        await using (var conn = new NpgsqlConnection($"Host=127.0.0.1;Port={PostgresPort};Username=postgres;Database=postgres"))
        {
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand($"CREATE DATABASE {suffix}", conn);
            await cmd.ExecuteNonQueryAsync();
        }
        Run(Script("rabbitmq.sh"), TimeSpan.FromSeconds(60), "ctl", Path.Combine(Root, "rabbit"), "add_vhost", suffix);
        Run(Script("rabbitmq.sh"), TimeSpan.FromSeconds(60), "ctl", Path.Combine(Root, "rabbit"), "set_permissions", "-p", suffix, "guest", ".*", ".*", ".*");
        return new Isolation(
            $"Host=127.0.0.1;Port={PostgresPort};Username=postgres;Database={suffix}",
            $"amqp://guest:guest@127.0.0.1:{RabbitPort}/{suffix}",
            suffix);
    }

    public IReadOnlyDictionary<string, string> Environment(Isolation iso) => new Dictionary<string, string>
    {
        ["MICROSCOPE_TRANSPORT__KIND"] = "RabbitMq",
        ["MICROSCOPE_TRANSPORT__RABBITMQURL"] = iso.RabbitUrl,
        ["MICROSCOPE_DATABASE__PROVIDER"] = "Postgres",
        ["MICROSCOPE_DATABASE__CONNECTIONSTRING"] = iso.Postgres,
        ["MICROSCOPE_STORAGE__KIND"] = "S3",
        ["MICROSCOPE_STORAGE__SERVICEURL"] = S3Url,
        ["MICROSCOPE_STORAGE__BUCKET"] = iso.Bucket,
        ["MICROSCOPE_STORAGE__ACCESSKEY"] = "S3RVER",
        ["MICROSCOPE_STORAGE__SECRETKEY"] = "S3RVER",
        ["MICROSCOPE_COORDINATOR__URLS"] = "http://127.0.0.1:0",
        ["MICROSCOPE_COORDINATOR__DISPATCHINTERVALMS"] = "200",
        ["MICROSCOPE_WORKER__HEARTBEATSECONDS"] = "1",
        ["MICROSCOPE_WORKER__RETRYINTERVALMS"] = "100",
        ["MICROSCOPE_COORDINATOR__OPERATORTOKENS"] = OperatorToken,
    };

    /// <summary>The operator token the test coordinators take (and the tests send).</summary>
    public const string OperatorToken = "integration-operator-token";

    public static string Run(string script, TimeSpan timeout, params string[] args)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(script);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Path.GetFileName(script)} {string.Join(' ', args)} took more than {timeout}");
        }
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{Path.GetFileName(script)} {string.Join(' ', args)} failed ({p.ExitCode}): {stdout.Result}{stderr.Result}");
        return stdout.Result;
    }

    /// <summary>`rabbitmqctl list_queues name messages` of a vhost, asked again (for up to 30 s)
    /// until <paramref name="settled"/> holds: a quorum queue's count reaches list_queues a few
    /// seconds late. Returns the last answer, so the caller's assertion shows it.</summary>
    public string QueuesUntil(string vhost, Func<string, bool> settled)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        string queues;
        do queues = Run(Path.Combine(RepoRoot, "scripts", "servers", "rabbitmq.sh"), TimeSpan.FromSeconds(60),
            "ctl", Path.Combine(Root, "rabbit"), "list_queues", "-p", vhost, "name", "messages");
        while (!settled(queues) && DateTime.UtcNow < deadline);
        return queues;
    }

    public string QueuesUntil(string vhost, string pattern) => QueuesUntil(vhost, q => System.Text.RegularExpressions.Regex.IsMatch(q, pattern));

    /// <summary>A port nobody listens on now. (RabbitMQ derives two more ports from its own,
    /// +20000 and +21000, hence the upper bound for it.)</summary>
    public static int FreePort(int avoidAbove = 65535)
    {
        while (true)
        {
            using var l = new TcpListener(IPAddress.Loopback, 0);
            l.Start();
            var port = ((IPEndPoint)l.LocalEndpoint).Port;
            if (port <= avoidAbove) return port;
        }
    }

    internal static async Task WaitForPort(int port, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                using var c = new TcpClient();
                await c.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
        }
    }
}

public sealed record Isolation(string Postgres, string RabbitUrl, string Bucket);

[CollectionDefinition(Name)]
public sealed class RealServersCollection : ICollectionFixture<RealServers>
{
    public const string Name = "real servers";
}
