using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Microscope.Contracts;
using Microscope.Engine.Lenses;
using Microscope.Engine.Imaging;
using Microsoft.Data.Sqlite;
using Npgsql;
using Xunit.Abstractions;

namespace Microscope.Farm.IntegrationTests;

/// <summary>The distributed farm through the real parts: PostgreSQL, RabbitMQ and s3rver on
/// 127.0.0.1; the coordinator and workers as separate `microscope` processes.</summary>
[Collection(RealServersCollection.Name)]
public sealed class DistributedFarmTests(RealServers servers, ITestOutputHelper output) : IDisposable
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(5);
    private readonly List<FarmProcess> _processes = [];

    public void Dispose()
    {
        foreach (var p in _processes) p.Dispose();
    }

    private string Logs => string.Join("\n", _processes.Select(p => p.Output));

    private async Task<(HttpClient Http, Isolation Iso, Dictionary<string, string> Env)> CoordinatorAsync(string name, Dictionary<string, string>? extra = null)
    {
        var iso = await servers.IsolateAsync(name);
        var env = new Dictionary<string, string>(servers.Environment(iso));
        foreach (var (k, v) in extra ?? []) env[k] = v;
        var (process, url) = await FarmProcess.StartCoordinatorAsync(env);
        _processes.Add(process);
        var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromMinutes(2) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", RealServers.OperatorToken);
        return (http, iso, env);
    }

    private async Task<FarmProcess> WorkerAsync(string name, Dictionary<string, string> env, Dictionary<string, string>? extra = null)
    {
        var e = new Dictionary<string, string>(env);
        foreach (var (k, v) in extra ?? []) e[k] = v;
        var w = await FarmProcess.StartWorkerAsync(name, e);
        lock (_processes) _processes.Add(w);   // workers start two at once
        return w;
    }

    private static async Task<Guid> PostAsync(HttpClient http, string path, object body)
    {
        using var r = await http.PostAsJsonAsync(path, body, Web);
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == HttpStatusCode.Accepted, $"{(int)r.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.GetProperty("id").GetGuid();
    }

    private async Task<SweepStatus> WaitAsync(HttpClient http, Guid id, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var s = (await http.GetFromJsonAsync<SweepStatus>($"/api/sweeps/{id}", Web))!;
            if (s.State is "done" or "failed" or "cancelled") return s;
            Assert.True(DateTime.UtcNow < deadline, $"sweep not finished after {timeout}: {JsonSerializer.Serialize(s)}\n{Logs}");
            await Task.Delay(300);
        }
    }

    private static async Task<List<TupleView>> TuplesAsync(HttpClient http, Guid id) =>
        (await http.GetFromJsonAsync<List<TupleView>>($"/api/sweeps/{id}/tuples", Web))!;

    public sealed record TupleView(Guid Id, Guid? PacketId, string Version, string Op, int Unit, string Technique, string ParamsHash, string State,
        int Attempts, string? Failure, string? ImageKey, string? RecordKey, string? WorkerId);

    private AmazonS3Client S3() => servers.S3Client();

    /// <summary>Every key of the bucket: ListObjects v1 paged by marker, as S3ObjectStore lists
    /// (s3rver answers ListObjectsV2 past 1,000 keys with InternalError; a demo sweep's images,
    /// thumbnails and records are 1,404).</summary>
    private async Task<List<string>> KeysAsync(string bucket)
    {
        using var s3 = S3();
        var keys = new List<string>();
        var request = new ListObjectsRequest { BucketName = bucket };
        while (true)
        {
            var page = await s3.ListObjectsAsync(request);
            keys.AddRange((page.S3Objects ?? []).Select(o => o.Key));
            if (page.IsTruncated != true || page.S3Objects is not { Count: > 0 }) return keys;
            request.Marker = page.NextMarker ?? page.S3Objects[^1].Key;
        }
    }

    private async Task<byte[]> GetObjectAsync(string bucket, string key)
    {
        using var s3 = S3();
        using var r = await s3.GetObjectAsync(bucket, key);
        using var m = new MemoryStream();
        await r.ResponseStream.CopyToAsync(m);
        return m.ToArray();
    }

    [Fact]
    public async Task TwoWorkersRenderEveryTupleOnceAndTheSingleMachineModeGivesTheSameTuples()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (http, iso, env) = await CoordinatorAsync("twoworkers", new() { ["MICROSCOPE_COORDINATOR__PACKETSIZE"] = "16" });
        await Task.WhenAll(WorkerAsync("worker-a", env), WorkerAsync("worker-b", env));
        var id = await PostAsync(http, "/api/sweeps", new { model = "demo", techniques = new[] { "channel", "neuron" }, parameters = new { steps = 8, size = 32 } });
        var status = await WaitAsync(http, id, Patience);
        output.WriteLine($"distributed sweep: {status.Total} tuples, {status.UnitsPerMinute} units/min, {(status.FinishedAt!.Value - status.CreatedAt).TotalSeconds:F1} s");

        Assert.True(status.State == "done", JsonSerializer.Serialize(status) + Logs);
        Assert.Equal(468, status.Total);
        Assert.Equal(468, status.Counts["done"]);
        Assert.Equal(status.Total, status.Counts.Values.Sum());
        var tuples = await TuplesAsync(http, id);
        Assert.Equal(468, tuples.Count);
        Assert.Equal(468, tuples.Select(t => (t.Op, t.Unit, t.Technique)).Distinct().Count());
        Assert.Equal(["worker-a", "worker-b"], tuples.Select(t => t.WorkerId!).Distinct().Order());

        // Per tuple: its image, the image's thumbnail and its record.
        var keys = await KeysAsync(iso.Bucket);
        Assert.Equal(468 * 3, keys.Count);
        Assert.Equal(tuples.Select(t => t.ImageKey!).Concat(tuples.Select(t => ObjectKeys.Thumbnail(t.ImageKey!)!)).Concat(tuples.Select(t => t.RecordKey!)).Order(StringComparer.Ordinal),
            keys.Order(StringComparer.Ordinal));
        foreach (var t in tuples)
        {
            var image = ImageFile.Decode(await GetObjectAsync(iso.Bucket, t.ImageKey!));
            Assert.Equal((32, 32), (image.Width, image.Height));
        }
        await using (var pg = new NpgsqlConnection(iso.Postgres))
        {
            await pg.OpenAsync();
            await using var cmd = new NpgsqlCommand("SELECT count(*) FROM results", pg);
            Assert.Equal(468L, (long)(await cmd.ExecuteScalarAsync())!);
        }

        // The single-machine mode (in-memory transport, SQLite, folder) on the same sweep.
        var folder = Path.Combine(servers.Root, "demo-" + Guid.NewGuid().ToString("N")[..6]);
        // The same techniques as the sweep above (the demo's default also makes circuit tables).
        var demo = FarmProcess.Start("demo", new Dictionary<string, string>(), "demo", "--technique", "channel", "--technique", "neuron",
            "--steps", "8", "--size", "32", "--port", "0", "--out", folder, "--exit", "--set", "Coordinator:PacketSize=16");
        _processes.Add(demo);
        Assert.True(await demo.WaitForExitAsync(Patience) == 0, demo.Output);
        var local = new List<(string, int, string, string, string, string)>();
        await using (var db = new SqliteConnection($"Data Source={Path.Combine(folder, "farm.db")};Mode=ReadOnly;Pooling=False"))
        {
            await db.OpenAsync();
            await using var cmd = db.CreateCommand();
            cmd.CommandText = "SELECT op, unit, technique, params_hash, state, image_key FROM tuples";
            await using var reader = await cmd.ExecuteReaderAsync();
            while (await reader.ReadAsync()) local.Add((reader.GetString(0), reader.GetInt32(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetString(5)));
        }
        var distributed = tuples.Select(t => (t.Op, t.Unit, t.Technique, t.ParamsHash, t.State, t.ImageKey!)).ToList();
        Assert.Equal(distributed.Order(), local.Order());
        Assert.Equal(468 * 3, Directory.EnumerateFiles(Path.Combine(folder, "objects"), "*", SearchOption.AllDirectories).Count());
        output.WriteLine($"test took {clock.Elapsed.TotalSeconds:F0} s");
    }

    [Fact]
    public async Task EveryTechniqueRendersThroughTheRealPartsIntoReadableObjects()
    {
        var (http, iso, env) = await CoordinatorAsync("techniques");
        await WorkerAsync("worker-t", env, new() { ["MICROSCOPE_WORKER__DATASETIMAGES"] = "64" });
        var id = await PostAsync(http, "/api/sweeps", new { model = "demo", ops = new[] { "conv1" }, techniques = new[] { "everything" }, parameters = new { steps = 4, size = 32 } });
        var status = await WaitAsync(http, id, Patience);
        Assert.True(status.State == "done", JsonSerializer.Serialize(status) + Logs);

        // conv1 has 16 units: five per-unit techniques, DeepDream, caricature and circuits once per op.
        var tuples = await TuplesAsync(http, id);
        Assert.Equal(5 * 16 + 3, tuples.Count);
        Assert.All(tuples, t => Assert.Equal("done", t.State));
        Assert.Equal(LensRegistry.Sweepable.Select(l => l.Name).Order(), tuples.Select(t => t.Technique).Distinct().Order());
        // Files per result: image + record; four diversity images or caricatures; two
        // dataset-example sprites; four tuning-curve plots.
        var filesPerResult = new Dictionary<string, int>
        {
            ["channel"] = 2, ["neuron"] = 2, ["deepdream"] = 2, ["diversity"] = 5, ["caricature"] = 5, ["dataset_examples"] = 4, ["tuning_curves"] = 5,
            ["circuits"] = 1,   // conv1 reads the image: no weight tables, its record only
        };
        // Every PNG has its thumbnail beside it (ObjectKeys.Thumbnail); the rest are the results' files.
        var all = await KeysAsync(iso.Bucket);
        var keys = all.Where(k => !ObjectKeys.IsThumbnail(k)).ToList();
        Assert.Equal(keys.Where(k => k.EndsWith(".png", StringComparison.Ordinal)).Select(k => ObjectKeys.Thumbnail(k)!).Order(StringComparer.Ordinal),
            all.Where(ObjectKeys.IsThumbnail).Order(StringComparer.Ordinal));
        Assert.Equal(tuples.Sum(t => filesPerResult[t.Technique]), keys.Count);
        foreach (var t in tuples)
        {
            var stem = t.RecordKey![..^".json".Length];
            var mine = keys.Where(k => k.StartsWith(stem, StringComparison.Ordinal)).ToList();
            Assert.True(mine.Count == filesPerResult[t.Technique], $"{t.Technique} {t.Unit}: {string.Join(", ", mine)}");
            Assert.Contains(t.ImageKey!, mine);
            foreach (var key in mine)
            {
                var bytes = await GetObjectAsync(iso.Bucket, key);
                if (key.EndsWith(".png", StringComparison.Ordinal)) Assert.True(ImageFile.Decode(bytes).Width >= 32, key);
                else if (key.EndsWith(".svg", StringComparison.Ordinal)) Assert.StartsWith("<svg", Encoding.UTF8.GetString(bytes).TrimStart(), StringComparison.Ordinal);
                else Assert.Equal(t.Technique, JsonDocument.Parse(bytes).RootElement.GetProperty("technique").GetString());
            }
        }
        await using var pg = new NpgsqlConnection(iso.Postgres);
        await pg.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT count(*) FROM results", pg);
        Assert.Equal((long)tuples.Count, (long)(await cmd.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task AWorkerKilledInTheMiddleOfAPacketLosesAndDuplicatesNothing()
    {
        var (http, iso, env) = await CoordinatorAsync("killed", new() { ["MICROSCOPE_COORDINATOR__PACKETSIZE"] = "16" });
        var a = await WorkerAsync("worker-a", env);
        var id = await PostAsync(http, "/api/sweeps", new { model = "demo", ops = new[] { "conv3" }, techniques = new[] { "channel" }, parameters = new { steps = 300, size = 32 } });

        // Wait until worker A is rendering a packet and has reported progress, then kill it.
        // 300 steps: a packet takes seconds (about 4 s on the 2-core CI machine), well past
        // the half second between seeing it run and the kill.
        var deadline = DateTime.UtcNow.AddMinutes(2);
        Guid victim;
        while (true)
        {
            var packets = await http.GetFromJsonAsync<List<JsonElement>>($"/api/sweeps/{id}/packets", Web);
            var running = packets!.FirstOrDefault(p => p.GetProperty("state").GetString() == "running" && p.GetProperty("workerId").GetString() == "worker-a");
            if (running.ValueKind != JsonValueKind.Undefined)
            {
                victim = running.GetProperty("id").GetGuid();
                break;
            }
            Assert.True(DateTime.UtcNow < deadline, "worker A never started a packet\n" + Logs);
            await Task.Delay(100);
        }
        await Task.Delay(500);
        a.Kill();
        var before = await TuplesAsync(http, id);
        Assert.Contains(before, t => t.PacketId == victim && t.State == "running");

        await WorkerAsync("worker-b", env);
        var status = await WaitAsync(http, id, Patience);
        Assert.True(status.State == "done", JsonSerializer.Serialize(status) + Logs);
        var tuples = await TuplesAsync(http, id);
        Assert.Equal(48, tuples.Count);
        Assert.All(tuples, t => Assert.Equal("done", t.State));
        Assert.All(tuples.Where(t => t.PacketId == victim), t =>
        {
            Assert.Equal("worker-b", t.WorkerId);
            Assert.True(t.Attempts >= 2, $"tuple {t.Unit} attempts {t.Attempts}");
        });
        var keys = await KeysAsync(iso.Bucket);
        Assert.Equal(48 * 3, keys.Count);   // image, thumbnail, record
        Assert.Equal(48 * 3, keys.Distinct().Count());
        await using var pg = new NpgsqlConnection(iso.Postgres);
        await pg.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT count(*), count(DISTINCT (op, unit, technique)) FROM results", pg);
        await using var reader = await cmd.ExecuteReaderAsync();
        await reader.ReadAsync();
        Assert.Equal((48L, 48L), (reader.GetInt64(0), reader.GetInt64(1)));
    }

    [Fact]
    public async Task AWorkerStoppedWithSigtermFinishesOrHandsBackItsPacket()
    {
        var (http, iso, env) = await CoordinatorAsync("sigterm", new() { ["MICROSCOPE_COORDINATOR__PACKETSIZE"] = "16" });
        var a = await WorkerAsync("worker-a", env);
        var id = await PostAsync(http, "/api/sweeps", new { model = "demo", ops = new[] { "conv2" }, techniques = new[] { "channel" }, parameters = new { steps = 100, size = 32 } });
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while ((await TuplesAsync(http, id)).All(t => t.State != "running"))
        {
            Assert.True(DateTime.UtcNow < deadline, "worker A never started a packet\n" + Logs);
            await Task.Delay(100);
        }
        using (var term = System.Diagnostics.Process.Start("kill", ["-TERM", a.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) await term.WaitForExitAsync();
        var exit = await a.WaitForExitAsync(TimeSpan.FromMinutes(3));
        Assert.True(exit == 0, a.Output);

        // Whatever A did not finish is still owed, and another worker completes it once.
        await WorkerAsync("worker-b", env);
        var status = await WaitAsync(http, id, Patience);
        Assert.True(status.State == "done", JsonSerializer.Serialize(status) + Logs);
        var tuples = await TuplesAsync(http, id);
        Assert.Equal(32, tuples.Count(t => t.State == "done"));
        Assert.Equal(32 * 3, (await KeysAsync(iso.Bucket)).Count);   // image, thumbnail, record
        output.WriteLine($"worker A finished {tuples.Count(t => t.WorkerId == "worker-a")} tuples before exiting; worker B {tuples.Count(t => t.WorkerId == "worker-b")}");
    }

    [Fact]
    public async Task AWorkerWhoseRenderIsStuckKillsItselfAndAnotherRendersThePacket()
    {
        var (http, iso, env) = await CoordinatorAsync("stuck");
        // Worker A's first packet hangs without a step, as in a stuck GPU call.
        var a = await WorkerAsync("worker-a", env, new() { ["MICROSCOPE_WORKER__INJECTSTALLS"] = "1", ["MICROSCOPE_WORKER__STALLSECONDS"] = "3", ["MICROSCOPE_WORKER__HEARTBEATSECONDS"] = "1" });
        var id = await PostAsync(http, "/api/sweeps", new { model = "demo", ops = new[] { "conv1" }, techniques = new[] { "channel" }, parameters = new { steps = 4, size = 32 } });
        var exit = await a.WaitForExitAsync(TimeSpan.FromMinutes(2));
        Assert.True(exit == 137, $"worker A exited with {exit}\n{a.Output}");   // SIGKILL, by itself
        Assert.Contains("stuck at step 0", a.Output, StringComparison.Ordinal);

        // RabbitMQ requeued the unacknowledged packet: worker B renders it, once.
        await WorkerAsync("worker-b", env);
        var status = await WaitAsync(http, id, Patience);
        Assert.True(status.State == "done", JsonSerializer.Serialize(status) + Logs);
        var tuples = await TuplesAsync(http, id);
        Assert.Equal(16, tuples.Count(t => t.State == "done" && t.WorkerId == "worker-b"));
        Assert.Equal(16 * 3, (await KeysAsync(iso.Bucket)).Count);   // image, thumbnail, record
    }

    [Fact]
    public async Task InjectedFailuresAreRetriedBadParametersAreNotAndBadInputChangesNothing()
    {
        var (http, iso, env) = await CoordinatorAsync("failures");
        await WorkerAsync("worker-a", env, new() { ["MICROSCOPE_WORKER__INJECTTRANSIENTFAILURES"] = "1", ["MICROSCOPE_WORKER__MAXIMAGESIZE"] = "48" });

        // Bad API input: 4xx problem details, nothing written.
        foreach (var (path, body, status) in new[]
        {
            ("/api/sweeps", """{"model":"nosuch"}""", 422), ("/api/sweeps", """{"model":"demo","ops":["conv9"]}""", 422),
            ("/api/renders", """{"model":"demo","op":"conv1","unit":99}""", 422), ("/api/sweeps", """{"model":"demo","parameters":{"steps":"x"}}""", 400),
            ("/api/sweeps", """{"model":"demo","parameters":{"size":100000}}""", 422),
            ("/api/sweeps", "{\"model\":\"demo\",\"ops\":[" + string.Join(",", Enumerable.Repeat("\"conv1\"", 20000)) + "]}", 413),
        })
        {
            using var r = await http.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
            Assert.Equal(status, (int)r.StatusCode);
            Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
        }
        await using (var pg = new NpgsqlConnection(iso.Postgres))
        {
            await pg.OpenAsync();
            await using var cmd = new NpgsqlCommand("SELECT (SELECT count(*) FROM sweeps) + (SELECT count(*) FROM tuples) + (SELECT count(*) FROM packets)", pg);
            Assert.Equal(0L, (long)(await cmd.ExecuteScalarAsync())!);
        }

        // The first attempt fails (injected), the retry succeeds.
        var sweep = await PostAsync(http, "/api/sweeps", new { model = "demo", ops = new[] { "conv1" }, techniques = new[] { "channel" }, parameters = new { steps = 4, size = 32 } });
        var status1 = await WaitAsync(http, sweep, Patience);
        Assert.True(status1.State == "done", JsonSerializer.Serialize(status1) + Logs);
        Assert.All(await TuplesAsync(http, sweep), t => Assert.Equal(2, t.Attempts));

        // Bad parameters for this worker: failed with the reason, never started, not retried.
        var render = await PostAsync(http, "/api/renders", new { model = "demo", op = "conv2", unit = 3, parameters = new { steps = 4, size = 64 } });
        var status2 = await WaitAsync(http, render, Patience);
        Assert.Equal("failed", status2.State);
        var view = await http.GetFromJsonAsync<JsonElement>($"/api/renders/{render}", Web);
        Assert.Contains("exceeds this worker's limit of 48", view.GetProperty("failure").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, view.GetProperty("attempts").GetInt32());
        // The sweep's 16 images, thumbnails and records, and the failed render's worker log, whose
        // lines (stored in s3rver by the worker process) carry the failure reason and the ids.
        var keys = await KeysAsync(iso.Bucket);
        Assert.Equal(16 * 3 + 1, keys.Count);
        var logKey = keys.Single(k => k.EndsWith(".log.txt", StringComparison.Ordinal));
        Assert.Matches(@"^demo/\w+/conv2/3/channel/\w+\.log\.txt$", logKey);
        var log = Encoding.UTF8.GetString(await GetObjectAsync(iso.Bucket, logKey));
        Assert.Contains("WRN packet cannot be rendered: size 64 exceeds this worker's limit of 48", log, StringComparison.Ordinal);
        Assert.Contains($"SweepId={render}", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task APoisonPacketEndsInTheErrorQueueAndItsTuplesShowAsFailed()
    {
        var (http, iso, env) = await CoordinatorAsync("poison");
        await WorkerAsync("worker-a", env, new() { ["MICROSCOPE_WORKER__INJECTTRANSIENTFAILURES"] = "100", ["MICROSCOPE_WORKER__RETRYLIMIT"] = "1" });
        var id = await PostAsync(http, "/api/sweeps", new { model = "demo", ops = new[] { "conv1" }, techniques = new[] { "neuron" }, parameters = new { steps = 4, size = 32 } });
        var status = await WaitAsync(http, id, Patience);
        Assert.Equal("failed", status.State);
        Assert.Equal(16, status.Counts["failed"]);
        Assert.Contains("injected transient failure", Assert.Single(status.Failures).Reason, StringComparison.Ordinal);
        var queues = servers.QueuesUntil(iso.Bucket, @"render-work_error\s+1");
        Assert.Matches(@"render-work_error\s+1", queues);
    }

    [Fact]
    public async Task A20000UnitSweepExpandsInBulkOnPostgres()
    {
        var (http, iso, _) = await CoordinatorAsync("bulk");
        // A synthetic model version of 40 ops x 500 units, registered straight in the catalogue.
        var ops = Enumerable.Range(0, 40).Select(i => new Microscope.Engine.Models.OpInfo($"layer{i}", 500, 7, 7, [])).ToList();
        var descriptor = new Microscope.Engine.Models.ModelDescriptor("synthetic", "none", 224, "none", ops, 0, "0123456789ab", false);
        await using (var pg = new NpgsqlConnection(iso.Postgres))
        {
            await pg.OpenAsync();
            await using var cmd = new NpgsqlCommand("INSERT INTO models VALUES ('synthetic', '0123456789ab', @d, 20000, 0)", pg);
            cmd.Parameters.AddWithValue("d", JsonSerializer.Serialize(descriptor));
            await cmd.ExecuteNonQueryAsync();
        }
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var id = await PostAsync(http, "/api/sweeps", new { model = "synthetic", version = "0123456789ab", techniques = new[] { "channel" } });
        var ms = clock.ElapsedMilliseconds;
        output.WriteLine($"20,000-unit sweep expanded and answered in {ms} ms (PostgreSQL)");
        output.WriteLine("coordinator: " + await _processes[0].WaitForLineAsync(new(@"(expanded in \d+ ms)"), TimeSpan.FromSeconds(10)));
        var status = (await http.GetFromJsonAsync<SweepStatus>($"/api/sweeps/{id}", Web))!;
        Assert.Equal(20_000, status.Total);
        Assert.Equal(20_000, status.Counts.Values.Sum());
        Assert.True(ms < 15_000, $"expansion took {ms} ms");
    }

    [Fact]
    public async Task MigrationsApplyOnceAndKeepData()
    {
        var iso = await servers.IsolateAsync("migrate");
        var env = new Dictionary<string, string>(servers.Environment(iso));
        // A farm's database from before the later migrations: schema 1 of the hand-written
        // ones (before EF Core migrations), with rows in it.
        var legacy = Microscope.Coordinator.Data.Migrations.Legacy;
        await using (var pg = new NpgsqlConnection(iso.Postgres))
        {
            await pg.OpenAsync();
            await using var cmd = new NpgsqlCommand($"""
                CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL);
                {legacy[0].Sql}
                INSERT INTO schema_migrations VALUES ({legacy[0].Version}, 'initial schema', 0);
                INSERT INTO models VALUES ('kept', 'v1', '[]', 1, 0);
                INSERT INTO packets (id, sweep_id, op, technique, priority, seq, state, unit_count, dispatches, created_at)
                    VALUES ('old-packet', 'old-sweep', 'conv1', 'channel', 0, 0, 'pending', 4, 0, 0);
                """, pg);
            await cmd.ExecuteNonQueryAsync();
        }
        string[] ef;
        using (var design = new Microscope.Coordinator.Data.DesignTimeFarmDb().CreateDbContext([]))
            ef = [.. Microsoft.EntityFrameworkCore.RelationalDatabaseFacadeExtensions.GetMigrations(design.Database)];
        // Legacy 2-5, then every EF migration after the baseline (which schema 5 is).
        var later = legacy.Count - 1 + ef.Length - 1;
        using (var first = FarmProcess.Start("migrate-1", env, "migrate"))
        {
            Assert.Equal(0, await first.WaitForExitAsync(TimeSpan.FromMinutes(2)));
            await first.WaitForLineAsync(new($"applied {later} migration"), TimeSpan.FromSeconds(5));
        }
        using (var second = FarmProcess.Start("migrate-2", env, "migrate"))
        {
            Assert.Equal(0, await second.WaitForExitAsync(TimeSpan.FromMinutes(2)));
            await second.WaitForLineAsync(new("database is up to date"), TimeSpan.FromSeconds(5));
        }
        await using (var pg = new NpgsqlConnection(iso.Postgres))
        {
            await pg.OpenAsync();
            await using var cmd = new NpgsqlCommand("SELECT (SELECT count(*) FROM models WHERE name = 'kept'), (SELECT steps_done FROM packets WHERE id = 'old-packet'), (SELECT count(*) FROM schema_migrations), (SELECT string_agg(\"MigrationId\", ',' ORDER BY \"MigrationId\") FROM \"__EFMigrationsHistory\")", pg);
            await using var reader = await cmd.ExecuteReaderAsync();
            await reader.ReadAsync();
            Assert.Equal((1L, 0, (long)legacy.Count, string.Join(',', ef)), (reader.GetInt64(0), reader.GetInt32(1), reader.GetInt64(2), reader.GetString(3)));
        }

        // A new database gets, from the EF migrations alone, the schema the upgraded one has.
        var fresh = iso.Postgres.Replace($"Database={iso.Bucket}", $"Database={iso.Bucket}_fresh", StringComparison.Ordinal);
        await using (var pg = new NpgsqlConnection(iso.Postgres))
        {
            await pg.OpenAsync();
            await using var cmd = new NpgsqlCommand($"CREATE DATABASE {iso.Bucket}_fresh", pg);
            await cmd.ExecuteNonQueryAsync();
        }
        env["MICROSCOPE_DATABASE__CONNECTIONSTRING"] = fresh;
        using (var third = FarmProcess.Start("migrate-fresh", env, "migrate"))
            Assert.Equal(0, await third.WaitForExitAsync(TimeSpan.FromMinutes(2)));
        Assert.Equal(await PostgresSchemaAsync(fresh), await PostgresSchemaAsync(iso.Postgres));
    }

    /// <summary>The farm's tables: columns (type, nullability, default) and index definitions.</summary>
    private static async Task<string> PostgresSchemaAsync(string connectionString)
    {
        await using var pg = new NpgsqlConnection(connectionString);
        await pg.OpenAsync();
        await using var cmd = new NpgsqlCommand("""
            SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '-')
              FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name NOT IN ('schema_migrations', '__EFMigrationsHistory', '__EFMigrationsLock')
            UNION ALL
            SELECT indexdef FROM pg_indexes
             WHERE schemaname = 'public' AND tablename NOT IN ('schema_migrations', '__EFMigrationsHistory', '__EFMigrationsLock')
            ORDER BY 1
            """, pg);
        var lines = new List<string>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync()) lines.Add(reader.GetString(0));
        Assert.Contains(lines, l => l.Contains("tuples_identity", StringComparison.Ordinal));
        return string.Join("\n", lines);
    }
}
