// Sidekick sidebar entry point. The CRM host page signs the rep's identity server-side and
// posts it here (sidekick:ready -> sidekick:context); the sidebar trades it for a 15-minute
// session token and keeps nothing longer-lived. Accepted field values go back to the host
// with postMessage (sidekick:fields), the way CRM widgets hand data back.
import { Api } from './api.js';
import { $, el, humanize, announce } from './dom.js';
import { addCitations, installSourcePanel, setCitations } from './citations.js';
import { buildForm } from './forms.js';
import { renderOutput } from './results.js';
import { flagList, reviewBar } from './review.js';
import { empty, loading, problem } from './states.js';

const params = new URLSearchParams(location.search);
const tenant = params.get('tenant') || 'demo';
const state = { record: params.get('record') || '', actions: [], current: {}, hostOrigin: null, host: null };
const api = new Api();
let pendingContext = null; // resolves with the next sidekick:context
let running = null; // AbortController of the action in flight

const host = () => (window.parent !== window ? window.parent : window.opener);

function requestContext() {
  const target = host();
  if (!target) return Promise.reject(new Error('no host page'));
  return new Promise((resolve) => {
    pendingContext = resolve;
    target.postMessage({ type: 'sidekick:ready', record: state.record }, state.hostOrigin || '*');
  });
}

api.onExpired = async () => {
  const message = await requestContext();
  await api.startSession(tenant, message.userContext);
};

function show(...nodes) {
  $('result').replaceChildren(...nodes.flat(Infinity).filter(Boolean));
}

function acceptField(field, res) {
  const payload = { type: 'sidekick:fields', record: state.record, request_id: res.id,
    fields: { [field.name]: field.value },
    evidence: { [field.name]: field.evidence ? { chunk_id: field.evidence.chunk_id, quote: field.evidence.quote } : null } };
  const target = host();
  if (target) target.postMessage(payload, state.hostOrigin || location.origin);
  announce(`${humanize(field.name)} sent to the CRM`);
}

function renderResult(action, res) {
  setCitations(res.citations);
  const body = el('div', { class: 'output' }, renderOutput(res, { current: state.current, acceptField }));
  const meta = el('p', { class: 'meta small muted' },
    `${res.model} · prompt ${res.prompt.name} v${res.prompt.version} · ${(res.latency_ms / 1000).toFixed(1)} s`
    + (res.cached ? ' · cached' : ''));
  show(el('h2', { class: 'result-title' }, humanize(action.name)), flagList(res.review_flags), body,
    reviewBar(api, res, body), meta);
}

async function runAction(action, input) {
  if (running) running.abort();
  const controller = new AbortController();
  running = controller;
  const form = action.form;
  // Keep the inputs at hand above the result: one-click actions show them as "Options",
  // typed ones (a draft, a question) folded so the rep can change them and run again.
  const inputs = !form ? null : (form.ready ? form.node
    : el('details', { class: 'options' }, el('summary', {}, 'Change the input and run again'), form.node));
  const spinner = loading(`${humanize(action.name)}: reading the record's notes, calls and documents…`,
    () => controller.abort());
  show(inputs, spinner);
  try {
    let res;
    if (action.streams) {
      const live = el('div', { class: 'stream', 'aria-live': 'polite', 'aria-busy': 'true' });
      res = await api.stream(`/v1/actions/${action.name}/stream`, input, (name, data) => {
        if (name === 'meta') addCitations(data.citations || []);
        if (name === 'token') {
          if (!live.isConnected) { spinner.stop(); show(el('h2', { class: 'result-title' }, humanize(action.name)), live); }
          live.textContent += data.text;
        }
      }, { signal: controller.signal });
    } else {
      res = await api.call(`/v1/actions/${action.name}`, { method: 'POST', body: input, signal: controller.signal });
    }
    spinner.stop();
    renderResult(action, res);
    if (inputs) $('result').prepend(inputs);
  } catch (err) {
    spinner.stop();
    if (err.name === 'AbortError') { show(empty('Cancelled', 'Nothing was changed.')); return; }
    if (inputs) inputs.open = true;
    show(inputs, problem(err, () => runAction(action, input)));
  } finally {
    if (running === controller) running = null;
  }
}

/** The record's contacts for the recipient picker, fetched once per record. */
function recordContacts() {
  if (!state.contacts || state.contacts.record !== state.record) {
    state.contacts = { record: state.record,
      list: api.call(`/v1/records/${encodeURIComponent(state.record)}/contacts`) };
    state.contacts.list.catch(() => { state.contacts = null; });
  }
  return state.contacts.list;
}

function selectAction(action, button) {
  document.querySelectorAll('#actions button').forEach((b) => b.setAttribute('aria-pressed', String(b === button)));
  action.form = buildForm(action, state.record, (input) => runAction(action, input), { contacts: recordContacts });
  if (action.form.ready) { runAction(action, action.form.collect()); return; }
  show(el('h2', { class: 'result-title' }, humanize(action.name)), action.form.node);
  const first = action.form.node.querySelector('[required]') || action.form.node.querySelector('input, textarea, select');
  if (first) first.focus();
}

function renderActions() {
  $('actions').replaceChildren(...state.actions.map((a) => {
    const button = el('button', { type: 'button', title: a.description, 'aria-pressed': 'false',
      'data-action': a.name }, humanize(a.name));
    button.addEventListener('click', () => selectAction(a, button));
    return button;
  }));
}

async function start(message) {
  if (message.record) state.record = message.record;
  state.current = message.current || {};
  show(loading('Connecting to Sidekick…'));
  try {
    await api.startSession(tenant, message.userContext);
    const [header, actions] = await Promise.all([
      api.call(`/v1/records/${encodeURIComponent(state.record)}`),
      api.call('/v1/actions'),
    ]);
    $('record-name').textContent = header.name;
    $('record-meta').replaceChildren(el('span', { class: 'badge' }, humanize(header.kind)),
      ...[header.stage && `Stage: ${header.stage}`, header.owner && `Owner: ${header.owner}`].filter(Boolean)
        .map((t) => el('span', {}, t)));
    state.actions = actions;
    renderActions();
    show(empty('Ready', 'Pick an action above. Results cite their sources; click a number to read the passage.'));
  } catch (err) {
    $('record-name').textContent = err.status === 403 ? 'Restricted record' : 'Sidekick';
    $('record-meta').textContent = state.record;
    $('actions').replaceChildren();
    show(problem(err, err.status === 403 ? null : () => start(message)));
  }
}

window.addEventListener('message', (e) => {
  // Only the page that embeds (or opened) us may hand over a user context.
  if (e.source !== host() || !e.data || e.data.type !== 'sidekick:context') return;
  state.hostOrigin = e.origin;
  if (pendingContext) { const resolve = pendingContext; pendingContext = null; resolve(e.data); return; }
  start(e.data);
});

installSourcePanel();
if (!state.record) {
  show(empty('No record selected', 'Open Sidekick from a CRM record page, or add ?record=account:ID to the address.'));
} else if (!host()) {
  show(empty('Open Sidekick from your CRM',
    'Sidekick needs your CRM sign-in, which the CRM record page passes to it. Open the record in your CRM '
    + 'and use the Sidekick panel there.'));
} else {
  $('record-meta').textContent = `${state.record} · waiting for the CRM page…`;
  host().postMessage({ type: 'sidekick:ready', record: state.record }, '*');
}
