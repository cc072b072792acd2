using System.Security.Cryptography;
using System.Text;

namespace Microscope.Viewer.Pages;

/// <summary>The viewer's only CSS and JavaScript (no front-end build). Served under a
/// content-hash query so browsers may cache them for a year.</summary>
public static class StaticAssets
{
    public const string Css = """
        :root { color-scheme: light dark; --fg: #1b1b1b; --bg: #fdfdfd; --muted: #666; --line: #ddd; --accent: #0b5cad; }
        @media (prefers-color-scheme: dark) { :root { --fg: #eee; --bg: #161616; --muted: #aaa; --line: #333; --accent: #6cb0ff; } }
        * { box-sizing: border-box; }
        body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: var(--fg); background: var(--bg); }
        a { color: var(--accent); }
        :focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
        .skip { position: absolute; left: -999px; } .skip:focus { left: 8px; top: 8px; background: var(--bg); padding: 4px; }
        header { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; justify-content: space-between; padding: 8px 16px; border-bottom: 1px solid var(--line); }
        header nav a { margin-right: 12px; } .brand { font-weight: 700; }
        .search input { width: 22em; max-width: 60vw; }
        .crumbs { padding: 6px 16px; color: var(--muted); }
        main { padding: 8px 16px 32px; }
        table { border-collapse: collapse; } th, td { text-align: left; padding: 3px 10px 3px 0; border-bottom: 1px solid var(--line); vertical-align: top; }
        td.num, th.num { text-align: right; }
        .muted { color: var(--muted); }
        /* Cells of a fixed 96 px (the thumbnails' size): the layout is known before any image loads. */
        .grid { display: grid; grid-template-columns: repeat(auto-fill, 96px); gap: 8px; list-style: none; padding: 0; }
        .grid li a { display: block; text-decoration: none; } .grid img, .grid .empty { width: 96px; height: 96px; display: block; background: #8883; border-radius: 3px; }
        .grid .label { font-size: 12px; }
        .grid li a:focus-visible { outline: 3px solid var(--accent); outline-offset: 1px; }
        .gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap: 16px; list-style: none; padding: 0; margin: 0 0 24px; }
        .gallery li { display: flex; flex-direction: column; gap: 2px; font-size: 13px; }
        .gallery .picture { display: block; aspect-ratio: 1; background: #8883; border-radius: 6px; overflow: hidden; }
        .gallery .picture img { width: 100%; height: 100%; object-fit: cover; display: block; }
        .gallery .name { font-weight: 600; font-size: 15px; }
        .results { display: flex; flex-wrap: wrap; gap: 14px; list-style: none; padding: 0; }
        figure { margin: 0; } figure img { width: 192px; height: auto; background: #8883; display: block; }
        figure img.wide { width: 384px; } figcaption { font-size: 12px; max-width: 384px; }
        .tabs a[aria-current] { font-weight: 700; text-decoration: none; }
        /* The unit page: location and lens bars, then the lens's images large. */
        nav.location, nav.lenses { display: flex; flex-wrap: wrap; gap: 6px 10px; align-items: baseline; margin: 4px 0; }
        nav.lenses a { padding: 3px 10px; border: 1px solid var(--line); border-radius: 999px; text-decoration: none; }
        nav.lenses a[aria-current] { background: var(--accent); border-color: var(--accent); color: var(--bg); font-weight: 600; }
        nav.lenses a.none:not([aria-current]) { color: var(--muted); border-style: dashed; }
        .lead { margin: 12px 0 20px; }
        .lead-images { display: flex; flex-wrap: wrap; gap: 12px; list-style: none; padding: 0; margin: 0; }
        .lead-images li { display: flex; flex-direction: column; gap: 2px; font-size: 12px; }
        .lead-images img { width: 448px; max-width: calc(100vw - 40px); height: auto; background: #8883; border-radius: 6px; display: block; }
        .lead-images.many img { width: 256px; }
        .graph svg .strip image { cursor: pointer; }
        .failed-tuples li { margin: 2px 0; }
        .graph { max-width: 100%; overflow: auto; border: 1px solid var(--line); }
        .graph svg a:focus rect { stroke: var(--accent); stroke-width: 3; }
        .bar { display: inline-block; width: 120px; height: 10px; background: #8884; vertical-align: middle; }
        .bar span { display: block; height: 100%; background: var(--accent); }
        .status { font-weight: 600; } .error { color: #c0392b; }
        fieldset { border: 1px solid var(--line); max-width: 640px; }
        fieldset label { display: inline-block; min-width: 10em; margin: 2px 0; }
        details.params pre { font-size: 12px; }
        kbd { border: 1px solid var(--line); border-radius: 3px; padding: 0 4px; }
        """;

    // Keyboard: [ and ] (or j / k) step through units on a unit page; "/" focuses the search;
    // on an op page the arrow keys (and Home / End) move through the grid, Enter opens a unit.
    // The re-render form and the sweep buttons send the token from sessionStorage.
    public const string Js = """
        (() => {
          const $ = (s, r = document) => r.querySelector(s);
          const grid = $('ul.grid');
          const arrows = ['ArrowRight', 'ArrowLeft', 'ArrowDown', 'ArrowUp', 'Home', 'End'];
          if (grid) grid.addEventListener('keydown', e => {
            if (!arrows.includes(e.key) || e.ctrlKey || e.metaKey || e.altKey) return;
            const links = [...grid.querySelectorAll(':scope > li > a')];
            const i = links.indexOf(document.activeElement);
            if (i < 0 || links.length === 0) return;
            // Columns: the cells on the first cell's row.
            const top = links[0].offsetTop;
            const cols = Math.max(1, links.filter(a => a.offsetTop === top).length);
            const next = { ArrowRight: i + 1, ArrowLeft: i - 1, ArrowDown: i + cols, ArrowUp: i - cols, Home: 0, End: links.length - 1 }[e.key];
            e.preventDefault();
            e.stopPropagation();
            if (next >= 0 && next < links.length) links[next].focus();
          });
          document.addEventListener('keydown', e => {
            const t = e.target;
            if (grid && !grid.contains(t) && arrows.includes(e.key) && !(t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT'))) {
              const first = grid.querySelector(':scope > li > a');
              if (first) { e.preventDefault(); first.focus(); return; }
            }
            if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable)) return;
            if (e.ctrlKey || e.metaKey || e.altKey) return;
            if (e.key === '/') { const q = $('#q'); if (q) { e.preventDefault(); q.focus(); } return; }
            const rel = (e.key === ']' || e.key === 'j' || e.key === 'ArrowRight') ? 'next' : (e.key === '[' || e.key === 'k' || e.key === 'ArrowLeft') ? 'prev' : null;
            if (!rel) return;
            const a = $('a[rel="' + rel + '"]');
            if (a) { e.preventDefault(); location.href = a.href; }
          });
          const copy = $('#copy-link');
          if (copy) copy.addEventListener('click', async () => {
            const url = new URL(copy.dataset.href, location.href).href;
            try { await navigator.clipboard.writeText(url); copy.textContent = 'Link copied'; }
            catch { const i = $('#permalink'); if (i) { i.hidden = false; i.select(); } copy.textContent = 'Copy the selected link'; }
          });
          const tokenInput = $('#token');
          if (tokenInput) {
            tokenInput.value = sessionStorage.getItem('microscope-token') || '';
            tokenInput.addEventListener('change', () => sessionStorage.setItem('microscope-token', tokenInput.value));
          }
          const headers = () => {
            const tok = (tokenInput && tokenInput.value) || sessionStorage.getItem('microscope-token') || '';
            const h = { 'Content-Type': 'application/json' };
            if (tok) h['Authorization'] = 'Bearer ' + tok;
            return h;
          };
          const problem = async r => { try { const p = await r.json(); return (p.title || r.status) + (p.detail ? ': ' + p.detail : ''); } catch { return 'HTTP ' + r.status; } };
          const form = $('#rerender');
          // Only the chosen technique's lens parameters are shown and sent.
          const chosenLens = () => {
            const t = $('#technique');
            if (form && t) form.querySelectorAll('fieldset.lens-parameters').forEach(g => { const on = g.dataset.lens === t.value; g.hidden = !on; g.disabled = !on; });
          };
          if (form) { chosenLens(); const t = $('#technique'); if (t) t.addEventListener('change', chosenLens); }
          if (form) form.addEventListener('submit', async e => {
            e.preventDefault();
            const status = $('#rerender-status');
            const f = new FormData(form);
            const objective = (f.get('objective') || '').trim() || null;
            const lensParameters = {};
            const group = form.querySelector('fieldset.lens-parameters:not([disabled])');
            if (group && !objective) group.querySelectorAll('input[data-lens-parameter]').forEach(i => { lensParameters[i.dataset.lensParameter] = i.value.trim(); });
            const body = {
              technique: f.get('technique'), steps: +f.get('steps'), size: +f.get('size'), seed: +f.get('seed'),
              learningRate: +f.get('learningRate'), transforms: f.get('transforms') === 'on', force: f.get('force') === 'on',
              precision: f.get('precision') || 'fp32', objective,
              lensParameters: Object.keys(lensParameters).length ? lensParameters : null
            };
            status.classList.remove('error');
            status.textContent = 'sending…';
            const r = await fetch(form.dataset.action, { method: 'POST', headers: headers(), body: JSON.stringify(body) });
            if (!r.ok) { status.classList.add('error'); status.textContent = await problem(r); return; }
            const accepted = await r.json();
            status.textContent = 'queued';
            for (let i = 0; i < 1800; i++) {
              await new Promise(res => setTimeout(res, 500));
              const s = await fetch(accepted.statusUrl, { headers: { 'Accept': 'application/json' } });
              if (!s.ok) { status.classList.add('error'); status.textContent = await problem(s); return; }
              const st = await s.json();
              status.textContent = st.state + (st.failure ? ': ' + st.failure : '');
              status.dataset.state = st.state;
              if (st.state === 'done' && st.imageUrl) {
                // Beside the technique's existing results when the page has them.
                const list = $('section.technique[data-technique="' + st.technique + '"] > ul.results') || $('#new-results');
                const fig = document.createElement('figure');
                fig.className = 'new-result';
                const img = document.createElement('img');
                img.src = st.imageUrl; img.alt = st.alt; img.width = 192;
                const cap = document.createElement('figcaption');
                cap.textContent = st.technique + ' · parameters ' + st.paramsHash + ' (new)';
                if (st.link) { const a = document.createElement('a'); a.href = st.link; a.className = 'objective-link'; a.textContent = ' · its page'; cap.append(a); }
                fig.append(img, cap);
                const li = document.createElement('li'); li.append(fig); list.prepend(li);
                list.hidden = false;
                return;
              }
              if (st.state === 'failed' || st.state === 'cancelled') { status.classList.add('error'); return; }
            }
          });
        """ + Fires.FiresSection.Script + """
          document.querySelectorAll('button[data-sweep-action]').forEach(b => b.addEventListener('click', async () => {
            const out = $('#sweep-action-status');
            const r = await fetch(b.dataset.sweepAction, { method: 'POST', headers: headers() });
            if (!r.ok) { out.classList.add('error'); out.textContent = await problem(r); return; }
            out.classList.remove('error');
            out.textContent = b.textContent + ': done';
            setTimeout(() => location.reload(), 300);
          }));
        })();
        """;

    public static readonly string Version = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Css + Js)))[..10];
}
