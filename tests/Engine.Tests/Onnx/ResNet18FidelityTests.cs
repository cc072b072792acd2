using Microscope.Engine.Models;
using Microscope.Engine.Render;
using Microscope.Engine.Render.Objectives;
using Microscope.Engine.Techniques;
using Microscope.Engine.Tests.Zoo;
using Microscope.Engine.Torch;
using Xunit.Abstractions;

namespace Microscope.Engine.Tests.Onnx;

/// <summary>The first trained organism renders what it learned: for three channels of
/// resnet18's last block output, the rendered image (64 steps, 128 px upsampled to 224) excites
/// its channel more than every photograph of the real photo folder (scripts/photos.sh) does.</summary>
public class ResNet18FidelityTests(ITestOutputHelper output)
{
    [Fact]
    public void A_rendered_channel_beats_every_real_photo()
    {
        const string op = "ReLU393";
        int[] channels = [7, 100, 300];
        var photos = Directory.CreateTempSubdirectory("ms-photos-").FullName;
        try
        {
            var script = new System.Diagnostics.ProcessStartInfo("bash", [Path.Combine(ZooConverterTests.Root(), "scripts", "photos.sh"), photos]) { RedirectStandardError = true };
            using (var process = System.Diagnostics.Process.Start(script)!)
            {
                var errors = process.StandardError.ReadToEnd();
                process.WaitForExit();
                Assert.True(process.ExitCode == 0, $"scripts/photos.sh failed: {errors}");
            }
            using var model = ModelZoo.Load("resnet18", new WeightsSource.Shipped(), Device.CPU);
            var images = new FolderImageSource(photos).Read().ToList();
            Assert.True(images.Count >= 20, $"only {images.Count} photos");
            var (scores, _, units, _) = DatasetExamples.Score(model, op, images, model.ReceptiveFieldOf(op));

            var result = Renderer.Render(model, new ChannelObjective(op, channels), channels.Length, new RenderParameters { Steps = 64, Size = 128, Seed = 0 });
            for (var i = 0; i < channels.Length; i++)
            {
                var c = channels[i];
                var (best, photo) = images.Select((img, p) => (scores[p * units + c], img.Id)).Max();
                output.WriteLine($"{op}:{c}: render {result.Images[i].ObjectiveEnd:F2}, best photo {photo} {best:F2}");
                Assert.True(best > 0, $"{op}:{c} is dead on every photo (a useless comparison)");
                Assert.True(result.Images[i].ObjectiveEnd > best, $"{op}:{c}: the render reaches {result.Images[i].ObjectiveEnd:F2}, the photo {photo} {best:F2}");
            }
        }
        finally { Directory.Delete(photos, recursive: true); }
    }
}
