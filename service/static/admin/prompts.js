// Sidekick prompt builder. The admin API key lives in a closure variable only: never in
// localStorage, sessionStorage or a cookie, so it is gone when the tab is closed or reloaded.
(() => {
  let apiKey = null;
  let prompts = [];
  let current = null; // { name, action, variables (hints) }
  let versions = [];
  let selected = null; // the version shown in the editor

  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k.startsWith('on')) node[k] = v; else node.setAttribute(k, v);
    }
    children.forEach((c) => node.append(c));
    return node;
  };

  async function api(path, options = {}) {
    const headers = { 'Content-Type': 'application/json', Authorization: `Bearer ${apiKey}` };
    const res = await fetch(path, { ...options, headers });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw Object.assign(new Error(body.detail || res.statusText), { status: res.status, problem: body });
    return body;
  }

  const status = (text) => { $('status').textContent = text; };
  function clearErrors() { $('errors').hidden = true; $('errors').replaceChildren(); }
  function showError(err) {
    const p = err.problem || {};
    const items = p.problems || (p.errors ? p.errors.map((e) => `${e.loc.join('.')}: ${e.msg}`) : []);
    const title = err.status === 401 ? 'The API key was not accepted.' : (p.title || 'Request failed');
    $('errors').replaceChildren(el('strong', {}, title),
      items.length ? el('ul', {}, ...items.map((t) => el('li', {}, t))) : el('p', {}, err.message));
    $('errors').hidden = false;
    status('');
  }
  async function guarded(label, fn) {
    clearErrors();
    status(`${label}…`);
    try { await fn(); } catch (err) { showError(err); }
  }

  // -- login -------------------------------------------------------------------------------
  $('login').onsubmit = (e) => {
    e.preventDefault();
    apiKey = $('api-key').value.trim();
    $('api-key').value = '';
    guarded('Loading prompts', async () => {
      prompts = await api('/v1/admin/prompts');
      const records = await api('/v1/admin/prompt-records');
      $('record').replaceChildren(...records.map((r) => el('option', { value: r.ref }, `${r.ref} · ${r.name}`)));
      $('app').hidden = false;
      $('who').hidden = false;
      $('who').textContent = 'Connected. Shortcuts: Ctrl+S save, Ctrl+Enter preview.';
      renderPrompts();
      status(`${prompts.length} prompts`);
      const first = $('prompt-list').querySelector('button');
      if (first) first.focus();
    });
  };

  function renderPrompts() {
    $('prompt-list').replaceChildren(...prompts.map((p) => el('li', {},
      el('button', { class: 'link', 'data-prompt': p.name, onclick: () => openPrompt(p.name) },
        `${p.name} `, el('span', { class: 'muted small' }, `v${p.published_version}${p.drafts.length ? ` · ${p.drafts.length} draft` : ''}`)))));
  }

  async function openPrompt(name, version) {
    await guarded(`Opening ${name}`, async () => {
      prompts = await api('/v1/admin/prompts');
      renderPrompts();
      current = prompts.find((p) => p.name === name);
      versions = await api(`/v1/admin/prompts/${name}/versions`);
      const pick = versions.find((v) => v.version === version) || versions.find((v) => v.state === 'draft')
        || versions.find((v) => v.state === 'published');
      renderVersions();
      showVersion(pick);
      status(`${name}: ${versions.length} versions`);
    });
  }

  function renderVersions() {
    $('version-list').replaceChildren(...versions.map((v) => el('li', {},
      el('button', { class: 'link', 'data-version': String(v.version), onclick: () => showVersion(v) },
        `v${v.version} `, el('span', { class: `badge ${v.state}` }, v.state),
        el('span', { class: 'muted small' }, ` ${v.author} · ${v.note}`)))));
    const opts = () => versions.map((v) => el('option', { value: String(v.version) }, `v${v.version} (${v.state})`));
    $('diff-from').replaceChildren(...opts());
    $('diff-to').replaceChildren(...opts());
    const pub = versions.find((v) => v.state === 'published');
    if (pub) $('diff-from').value = String(pub.version);
    $('diff-to').value = String(versions[0].version);
  }

  function showVersion(v) {
    selected = v;
    const t = v.template;
    const draft = v.state === 'draft';
    $('editor').hidden = false;
    $('runs').hidden = false;
    $('editing-title').textContent = `${v.name} v${v.version}`;
    $('editing-state').textContent = v.state;
    $('editing-state').className = `badge ${v.state}`;
    $('editing-note').textContent = `${v.author} · ${new Date(v.created_at).toLocaleString()} · ${v.note}`;
    $('system').value = t.system;
    $('user').value = t.user;
    $('variables').value = JSON.stringify(t.variables, null, 1);
    $('temperature').value = t.params.temperature;
    $('max-tokens').value = t.params.max_tokens;
    $('model').value = t.params.model || '';
    $('note').value = draft ? v.note : '';
    for (const id of ['system', 'user', 'variables', 'temperature', 'max-tokens', 'model', 'note']) $(id).readOnly = !draft;
    $('save').disabled = !draft;
    $('publish').disabled = !draft;
    $('discard').disabled = !draft;
    $('rollback').disabled = v.state !== 'archived';
    $('hints').replaceChildren(...current.variables.map((h) => {
      const button = el('button', { class: 'hint', 'data-var': h.name, onclick: () => insertVar(h.name) }, `{{ ${h.name} }}`);
      button.disabled = !draft;
      return el('li', {}, button, el('span', { class: 'small' }, ` ${h.type}${h.required ? '' : ', optional'} — ${h.description}`));
    }));
    highlight();
    document.querySelectorAll('#version-list button').forEach((b) =>
      b.setAttribute('aria-current', b.dataset.version === String(v.version) ? 'true' : 'false'));
  }

  // -- editing -----------------------------------------------------------------------------
  let lastFocused = 'user';
  for (const id of ['system', 'user']) {
    $(id).addEventListener('input', highlight);
    $(id).addEventListener('focus', () => { lastFocused = id; });
    $(id).addEventListener('scroll', () => { $(`${id}-hl`).scrollTop = $(id).scrollTop; $(`${id}-hl`).scrollLeft = $(id).scrollLeft; });
  }
  function highlight() {
    const known = new Set(current ? current.variables.map((v) => v.name) : []);
    for (const id of ['system', 'user']) $(`${id}-hl`).innerHTML = window.highlightJinja($(id).value, known);
  }
  function insertVar(name) {
    const area = $(lastFocused);
    const text = `{{ ${name} }}`;
    const at = area.selectionStart ?? area.value.length;
    area.value = area.value.slice(0, at) + text + area.value.slice(area.selectionEnd ?? at);
    area.focus();
    area.selectionStart = area.selectionEnd = at + text.length;
    highlight();
  }

  function draftBody() {
    let variables;
    try { variables = JSON.parse($('variables').value); } catch (e) {
      throw Object.assign(new Error(`declared variables are not valid JSON: ${e.message}`), { status: 0, problem: {} });
    }
    return {
      system: $('system').value, user: $('user').value, variables,
      params: { temperature: Number($('temperature').value), max_tokens: Number($('max-tokens').value),
                model: $('model').value.trim() || null },
      note: $('note').value,
    };
  }

  const base = () => `/v1/admin/prompts/${selected.name}/versions/${selected.version}`;
  $('save').onclick = () => guarded('Saving', async () => {
    const saved = await api(base(), { method: 'PUT', body: JSON.stringify(draftBody()) });
    await openPrompt(saved.name, saved.version);
    status(`Saved ${saved.name} v${saved.version}`);
  });
  $('new-draft').onclick = () => guarded('Creating a draft', async () => {
    const draft = await api(`/v1/admin/prompts/${selected.name}/drafts`, {
      method: 'POST', body: JSON.stringify({ from_version: selected.version }) });
    await openPrompt(draft.name, draft.version);
    status(`Created draft v${draft.version}`);
  });
  $('publish').onclick = () => guarded('Publishing', async () => {
    if (!window.confirm(`Publish ${selected.name} v${selected.version}? Actions will use it at once.`)) return;
    const body = { require_gate: $('require-gate').checked, note: $('note').value };
    const res = await api(`${base()}/publish`, { method: 'POST', body: JSON.stringify(body) });
    await openPrompt(res.published.name, res.published.version);
    status(`Published v${res.published.version} (replaced v${res.replaced_version})`);
  });
  $('rollback').onclick = () => guarded('Rolling back', async () => {
    if (!window.confirm(`Roll ${selected.name} back to v${selected.version}?`)) return;
    const res = await api(`${base()}/rollback`, { method: 'POST' });
    await openPrompt(res.published.name, res.published.version);
    status(`Rolled back to v${res.published.version} (replaced v${res.replaced_version})`);
  });
  $('discard').onclick = () => guarded('Discarding', async () => {
    await api(`${base()}/archive`, { method: 'POST' });
    await openPrompt(selected.name);
  });

  // -- running -----------------------------------------------------------------------------
  function runBody() {
    let inputs;
    try { inputs = JSON.parse($('extra').value || '{}'); } catch (e) {
      throw Object.assign(new Error(`other inputs are not valid JSON: ${e.message}`), { status: 0, problem: {} });
    }
    return JSON.stringify({ record: $('record').value || null, inputs });
  }
  const out = (...nodes) => $('output').replaceChildren(...nodes);

  $('preview').onclick = () => guarded('Rendering the preview', async () => {
    const res = await api(`${base()}/preview`, { method: 'POST', body: runBody() });
    const head = el('h3', {}, `Preview of v${selected.version} as ${res.acting_as.user_id}`);
    if (!res.called_model) {
      out(head, el('p', {}, 'The action answered without calling the model:'), el('pre', {}, JSON.stringify(res.output, null, 1)));
    } else {
      out(head, el('p', { class: 'small' }, `${res.prompt_tokens} prompt tokens · max ${res.request.max_tokens} reply tokens · temperature ${res.request.temperature} · ${res.retrieved_chunk_ids.length} chunks retrieved`),
        ...res.messages.map((m) => el('div', { class: 'message' },
          el('div', { class: 'role' }, `${m.role} · ${m.tokens} tokens`), el('pre', { class: 'rendered' }, m.content))));
    }
    status('Preview ready');
  });

  $('dry-run').onclick = () => guarded('Running the action (dry run)', async () => {
    const res = await api(`${base()}/dry-run`, { method: 'POST', body: runBody() });
    const env = res.envelope;
    out(el('h3', {}, `Dry run: ${env.action} with prompt ${env.prompt.name} v${env.prompt.version} · ${env.model} · ${Math.round(env.latency_ms)} ms`),
      el('pre', { class: 'rendered' }, JSON.stringify(env.output, null, 1)),
      el('h3', {}, `Citations (${env.citations.length})`),
      el('ul', {}, ...env.citations.map((c) => el('li', { class: 'small' }, `${c.document_id}: ${c.snippet.slice(0, 160)}`))),
      el('h3', {}, `Review flags (${env.review_flags.length})`),
      el('ul', {}, ...env.review_flags.map((f) => el('li', { class: 'flag' }, `${f.code}: ${f.message}`))));
    status('Dry run done; nothing was published');
  });

  $('evaluate').onclick = () => guarded('Evaluating on the golden set (this can take a while)', async () => {
    const limit = Number($('eval-limit').value) || null;
    const res = await api(`${base()}/evaluate`, { method: 'POST', body: JSON.stringify({ limit }) });
    const fmt = (v) => (v == null ? '–' : Number(v).toFixed(3));
    out(el('h3', {}, `v${res.draft_version} vs published v${res.published_version} on ${res.cases} cases`),
      el('table', { class: 'eval' },
        el('thead', {}, el('tr', {}, ...['metric', `v${res.draft_version}`, `v${res.published_version}`, 'delta'].map((h) => el('th', {}, h)))),
        el('tbody', {}, ...res.metrics.map((r) => el('tr', { class: r.better == null ? '' : (r.better ? 'better' : 'worse') },
          el('td', {}, r.metric), el('td', {}, fmt(r.draft)), el('td', {}, fmt(r.published)), el('td', {}, fmt(r.delta)))))),
      el('p', { class: 'muted small' }, `runs ${res.draft_run} and ${res.published_run}`));
    status('Evaluation done');
  });

  $('diff').onclick = () => guarded('Computing the diff', async () => {
    const res = await api(`/v1/admin/prompts/${selected.name}/diff?from=${$('diff-from').value}&to=${$('diff-to').value}`);
    const parts = res.parts.filter((p) => p.changed);
    out(el('h3', {}, `v${res.from_version} → v${res.to_version}: ${parts.length ? parts.map((p) => p.part).join(', ') + ' changed' : 'no changes'}`),
      ...parts.map((p) => el('table', { class: 'diff' },
        el('caption', {}, p.part),
        el('tbody', {}, ...p.rows.map((r) => el('tr', { class: r.op },
          el('td', { class: 'no' }, r.left_no == null ? '' : String(r.left_no)), el('td', { class: 'left' }, r.left ?? ''),
          el('td', { class: 'no' }, r.right_no == null ? '' : String(r.right_no)), el('td', { class: 'right' }, r.right ?? '')))))));
    status('Diff ready');
  });

  document.addEventListener('keydown', (e) => {
    if (!(e.ctrlKey || e.metaKey) || !selected) return;
    if (e.key === 's') { e.preventDefault(); if (!$('save').disabled) $('save').click(); }
    if (e.key === 'Enter') { e.preventDefault(); $('preview').click(); }
  });
})();
