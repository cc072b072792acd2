using Microscope.Coordinator.Models;
using Microscope.Coordinator.Sweeps;
using Microscope.Farm.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;

namespace Microscope.Coordinator.Api;

/// <summary>Models added to a running farm (docs/farm.md, "Adding a model"): <c>POST
/// /api/models</c> takes a multipart form with the model file (<c>file</c>: <c>.onnx</c> or
/// <c>.model.json</c>), an optional <c>name</c>, and an ONNX model's <c>sidecar</c> or a
/// spec's <c>weights</c>. 201: added; 200: the same files were added before; 413: a file over
/// Coordinator:MaxModelBytes; 415: not a multipart form; 400: unknown parts; 422: the file
/// cannot be built (not the format, truncated, unsupported op, no image input) or a bad name.</summary>
public static class ModelsApi
{
    private static readonly HashSet<string> FileParts = ["file", "sidecar", "weights"];
    private static readonly HashSet<string> FieldParts = ["name"];

    public static void Map(IEndpointRouteBuilder app)
    {
        // Adding a model starts work on every worker that sweeps it: operators only (as sweeps).
        app.MapGroup("/api").MapPost("/models", (HttpContext http, ModelIntake intake, CoordinatorOptions options, CancellationToken cancel) => FarmApi.Guard(async () =>
        {
            var form = await ReadFormAsync(http, options.MaxModelBytes, cancel);
            UploadedFile? Part(string part)
            {
                var f = form.Files.GetFile(part);
                if (f is null) return null;
                if (f.Length > options.MaxModelBytes)
                    throw new ApiProblem(413, "model file too large", new Dictionary<string, string[]>
                    {
                        [part] = [$"'{f.FileName}' has {f.Length} bytes; this farm takes model files up to {options.MaxModelBytes} bytes (Coordinator:MaxModelBytes)"],
                    });
                using var s = new MemoryStream((int)f.Length);
                f.CopyTo(s);
                return new UploadedFile(f.FileName, s.ToArray());
            }
            var file = Part("file") ?? throw ApiProblem.Invalid("file", "the model file is required (a multipart part named 'file': .onnx or .model.json)");
            var name = form.TryGetValue("name", out var n) && !string.IsNullOrWhiteSpace(n) ? n.ToString() : null;
            var result = await intake.AddAsync(name, file, Part("sidecar"), Part("weights"), cancel);
            var body = new
            {
                result.Model.Name, result.Model.Version, result.Created, Format = result.Model.Format.ToString().ToLowerInvariant(),
                Ops = result.Descriptor.Ops.Count, Units = result.Descriptor.UnitCount,
                FileKey = result.Model.File.Key, CompanionKey = result.Model.Companion?.Key,
            };
            var location = $"/api/models/{result.Model.Name}?version={result.Model.Version}";
            return result.Created ? Results.Created(location, body) : Results.Ok(body);
        })).RequireRole(Role.Operator);
    }

    /// <summary>The multipart form, read within the model size limit (this route's own limit,
    /// not the API's small JSON limit); anything but the known parts is a 400.</summary>
    private static async Task<IFormCollection> ReadFormAsync(HttpContext http, long maxModelBytes, CancellationToken cancel)
    {
        if (!http.Request.HasFormContentType || !http.Request.ContentType!.StartsWith("multipart/form-data", StringComparison.OrdinalIgnoreCase))
            throw new ApiProblem(415, "unsupported media type", new Dictionary<string, string[]>
            {
                ["body"] = ["a multipart/form-data body is required: parts 'file' (.onnx or .model.json), optional 'name', 'sidecar' (ONNX) or 'weights' (spec)"],
            });
        // Room for the model file, its sidecar or weights, and the form's framing.
        var limit = 2 * maxModelBytes + 1024 * 1024;
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size) size.MaxRequestBodySize = limit;
        http.Features.Set<IFormFeature>(new FormFeature(http.Request, new FormOptions
        {
            MultipartBodyLengthLimit = limit,
            BufferBodyLengthLimit = limit,
        }));
        IFormCollection form;
        try { form = await http.Request.ReadFormAsync(cancel); }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw new ApiProblem(413, "request body too large", new Dictionary<string, string[]> { ["body"] = [$"{e.Message} (Coordinator:MaxModelBytes is {maxModelBytes})"] });
        }
        catch (InvalidDataException e)
        {
            // The form reader's own limits and malformed multipart framing.
            throw new ApiProblem(e.Message.Contains("limit", StringComparison.OrdinalIgnoreCase) ? 413 : 400, "malformed request",
                new Dictionary<string, string[]> { ["body"] = [e.Message] });
        }
        var unknown = form.Files.Select(f => f.Name).Where(p => !FileParts.Contains(p))
            .Concat(form.Keys.Where(k => !FieldParts.Contains(k))).Distinct().ToList();
        var twice = form.Files.GroupBy(f => f.Name).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (unknown.Count > 0 || twice.Count > 0)
            throw new ApiProblem(400, "malformed request", new Dictionary<string, string[]>
            {
                ["body"] = [.. unknown.Select(p => $"unknown part '{p}'; the parts are file, name, sidecar, weights"), .. twice.Select(p => $"part '{p}' is given twice")],
            });
        return form;
    }
}
