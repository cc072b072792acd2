using Microscope.Viewer.Catalogue;
using static Microscope.Viewer.Pages.Html;

namespace Microscope.Viewer.Fires;

/// <summary>The unit page's "where it fires" section: upload a PNG or JPEG (researcher token,
/// the re-render form's), the coordinator runs the model to the op, and the page shows the
/// unit's activation map over the image, its channel activation and peak.</summary>
public static class FiresSection
{
    public static string Render(string model, string version, string op, int unit, bool writesEnabled)
    {
        var action = $"{LinkResolver.Href(new Target(model, op, unit), null)}/fires?v={Uri.EscapeDataString(version)}";
        return $"<section aria-labelledby=\"fires-heading\" class=\"fires\"><h2 id=\"fires-heading\">Where it fires on your image</h2>" +
            $"<form id=\"fires\" data-action=\"{E(action)}\"><fieldset{(writesEnabled ? "" : " disabled")}><legend>Upload a PNG or JPEG (at most 8 MiB; researchers: the token of the form below)</legend>" +
            "<label for=\"fires-image\">image</label> <input id=\"fires-image\" name=\"image\" type=\"file\" accept=\"image/png,image/jpeg\" required> " +
            "<button type=\"submit\">Show where it fires</button> <output id=\"fires-status\" class=\"status\" aria-live=\"polite\"></output></fieldset></form>" +
            "<figure id=\"fires-result\" hidden><img id=\"fires-overlay\" alt=\"activation map over the uploaded image\" width=\"256\"><figcaption id=\"fires-caption\"></figcaption></figure>" +
            "<p class=\"muted\">The dataset examples' maps are the sprite \"where the unit fires on its top images\" above.</p></section>";
    }

    /// <summary>The section's script (appended to the viewer's one script; uses its helpers).</summary>
    public const string Script = """
          const firesForm = $('#fires');
          if (firesForm) firesForm.addEventListener('submit', async e => {
            e.preventDefault();
            const status = $('#fires-status');
            const file = $('#fires-image').files[0];
            if (!file) return;
            status.classList.remove('error');
            status.textContent = 'computing…';
            const h = headers();
            h['Content-Type'] = file.type || 'application/octet-stream';
            const r = await fetch(firesForm.dataset.action, { method: 'POST', headers: h, body: file });
            if (!r.ok) { status.classList.add('error'); status.textContent = await problem(r); return; }
            const f = await r.json();
            const img = $('#fires-overlay');
            img.src = f.overlay;
            img.alt = 'activation map of ' + f.model + ' ' + f.op + ' unit ' + f.unit + ' over ' + file.name;
            $('#fires-caption').textContent = 'activation ' + f.activation.toFixed(4) + ' (spatial mean), max ' + f.max.toFixed(4) +
              ' at (' + f.peak.x + ', ' + f.peak.y + ') of ' + f.width + ' x ' + f.height + ' px; map ' + f.map.width + ' x ' + f.map.height;
            $('#fires-result').hidden = false;
            status.textContent = 'done';
          });
""";
}
