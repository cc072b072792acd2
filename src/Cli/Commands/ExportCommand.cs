using System.CommandLine;
using Microscope.Coordinator;
using Microscope.Coordinator.Catalogue;
using Microscope.Coordinator.Data;
using Microscope.Farm.Hosting;
using Microscope.Farm.Storage;
using Microsoft.EntityFrameworkCore;

namespace Microscope.Cli.Commands;

/// <summary>`microscope export MODEL DIR` and `microscope import DIR`: a model's catalogue as a
/// folder (CatalogueArchive), read from and written to the farm the MICROSCOPE_* settings name
/// (its database and object store, like `microscope migrate`).</summary>
public static class ExportCommand
{
    public static Command Create()
    {
        var settings = new FarmSettings();
        var model = new Argument<string>("model") { Description = "the model whose catalogue to export" };
        var dir = new Argument<string>("dir") { Description = "a new or empty folder" };
        var version = new Option<string?>("--version") { Description = "only this version (default: every version in the catalogue)" };
        var command = new Command("export", "Export a model's catalogue (a JSON index plus every image and record) from the farm's database and object store.");
        command.Arguments.Add(model);
        command.Arguments.Add(dir);
        command.Options.Add(version);
        settings.AddTo(command);
        command.SetAction(r => ServiceErrors.Run(() =>
        {
            var (db, store) = Open(settings.Build(r));
            using (db)
            {
                var name = r.GetValue(model)!;
                var folder = r.GetValue(dir)!;
                var summary = CliProgress.Run($"export {name}", p => Archive(p, (report, cancel) => CatalogueArchive.ExportAsync(db, store, name, r.GetValue(version), folder, report, cancel)));
                Console.WriteLine($"exported {name}: {summary.Versions} version(s), {summary.Results} results, {summary.Objects} files to {folder}");
                return 0;
            }
        }));
        return command;
    }

    public static Command CreateImport()
    {
        var settings = new FarmSettings();
        var dir = new Argument<string>("dir") { Description = "a folder written by `microscope export`" };
        var command = new Command("import", "Import an exported catalogue into the farm's database and object store (the schema is created when missing; results already there are kept).");
        command.Arguments.Add(dir);
        settings.AddTo(command);
        command.SetAction(r => ServiceErrors.Run(() =>
        {
            var (db, store) = Open(settings.Build(r));
            using (db)
            {
                var folder = r.GetValue(dir)!;
                var summary = CliProgress.Run("import", p => Archive(p, (report, cancel) => CatalogueArchive.ImportAsync(db, store, folder, report, cancel)));
                Console.WriteLine($"imported {folder}: {summary.Versions} new version(s), {summary.Results} results ({summary.SkippedResults} already there), {summary.Objects} files");
                return 0;
            }
        }));
        return command;
    }

    private static (FarmDb Db, IObjectStore Store) Open(Microsoft.Extensions.Configuration.IConfiguration config)
    {
        var database = FarmConfiguration.Bind<DatabaseOptions>(config, DatabaseOptions.Section);
        var storage = FarmConfiguration.Bind<StorageOptions>(config, StorageOptions.Section);
        CoordinatorHost.EnsureSqliteFolder(database);
        var options = new DbContextOptionsBuilder<FarmDb>();
        CoordinatorHost.Configure(options, database);
        return (new FarmDb(options.Options), storage.Create());
    }

    /// <summary>Runs the archive step with a progress bar over its files (the total is known once listed).</summary>
    private static CatalogueArchive.Summary Archive(IProgress<(int, int)> bar, Func<Action<int, int>, CancellationToken, Task<CatalogueArchive.Summary>> step) =>
        step((done, total) => bar.Report((done, total)), CancellationToken.None).GetAwaiter().GetResult();
}
