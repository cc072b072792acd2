using System.CommandLine;
using Microscope.Cli.Commands;

var root = new RootCommand("Microscope Farm: feature visualisations of vision models, rendered locally or by a farm.");
root.Subcommands.Add(ModelsCommand.Create());
root.Subcommands.Add(DescribeCommand.Create());
root.Subcommands.Add(RenderCommand.Create());
root.Subcommands.Add(TrainDemoCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
root.Subcommands.Add(DemoCommand.Create());
root.Subcommands.Add(CoordinatorCommand.Create());
root.Subcommands.Add(WorkerCommand.Create());
root.Subcommands.Add(MigrateCommand.Create());
root.Subcommands.Add(SweepCommand.Create());
root.Subcommands.Add(SweepsCommand.Create());
root.Subcommands.Add(ViewerCommand.Create());
root.Subcommands.Add(ExportCommand.Create());
root.Subcommands.Add(ExportCommand.CreateImport());
return root.Parse(args).Invoke();
