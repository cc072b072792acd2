using Microscope.Engine.Models;
using Microscope.Engine.Torch;

namespace Microscope.Cli.Commands;

/// <summary>Turns the errors a user can cause into one clear line on stderr and exit code 2
/// (parse errors exit 1 from System.CommandLine); anything else is a bug and keeps its trace.</summary>
public static class CommandErrors
{
    public const int UsageError = 2;

    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or IOException or TorchException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return UsageError;
        }
        catch (HttpRequestException e)
        {
            // A coordinator that is down or mistyped (sweep): the message names host and port.
            Console.Error.WriteLine($"error: cannot reach the coordinator: {e.Message}");
            return UsageError;
        }
        catch (TaskCanceledException e) when (e.InnerException is TimeoutException)
        {
            Console.Error.WriteLine($"error: the coordinator did not answer in time: {e.Message}");
            return UsageError;
        }
    }
}
