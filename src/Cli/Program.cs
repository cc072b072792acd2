using System.CommandLine;
using Microscope.Cli.Commands;

var root = new RootCommand("Microscope Farm: feature visualisations of vision models, rendered locally or by a farm.");
root.Subcommands.Add(ModelsCommand.Create());
root.Subcommands.Add(DescribeCommand.Create());
root.Subcommands.Add(RenderCommand.Create());
root.Subcommands.Add(TrainDemoCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
return root.Parse(args).Invoke();
