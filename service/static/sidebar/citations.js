// Inline citations: numbered buttons that open the source snippet (title, speaker and
// timestamp for transcripts, section for documents) in a panel; Escape closes it and
// focus returns to the citation that opened it.
import { $, el } from './dom.js';

let sources = new Map(); // chunk id -> {citation, n}
let opener = null;

/** Register the citations of one result; numbering follows their order. */
export function setCitations(citations) {
  sources = new Map();
  citations.forEach((c) => sources.set(c.chunk_id, { citation: c, n: sources.size + 1 }));
}

export function addCitations(citations) {
  citations.forEach((c) => { if (!sources.has(c.chunk_id)) sources.set(c.chunk_id, { citation: c, n: sources.size + 1 }); });
}

const TYPE_WORDS = { transcript: 'Call transcript', note: 'CRM note', email: 'Email', policy: 'Policy',
  contract: 'Contract', product_doc: 'Product doc', activity: 'CRM activity', account: 'Account record',
  opportunity: 'Opportunity record', contact: 'Contact record', document: 'Document' };

function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const hh = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return hh ? `${hh}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** Where in the document the snippet is: speaker + timestamp, or section path. */
export function locate(c) {
  const where = [];
  if (c.speaker) where.push(c.speaker);
  if (c.start_s !== null && c.start_s !== undefined) where.push(`at ${clock(c.start_s)}`);
  if (c.section && c.section.length) where.push(`§ ${c.section.join(' › ')}`);
  return where;
}

export function citeButton(chunkId) {
  const entry = sources.get(chunkId);
  if (!entry) return null;
  const c = entry.citation;
  return el('button', { class: 'cite', type: 'button', 'data-chunk': chunkId,
    'aria-label': `Source ${entry.n}: ${c.title || c.document_id}`, title: c.title || c.document_id,
    onclick: (e) => openSource(chunkId, e.currentTarget) }, String(entry.n));
}

export function citeButtons(chunkIds) {
  return (chunkIds || []).map(citeButton).filter(Boolean);
}

export function openSource(chunkId, from) {
  const entry = sources.get(chunkId);
  if (!entry) return;
  const c = entry.citation;
  opener = from || document.activeElement;
  $('source-title').textContent = `[${entry.n}] ${c.title || c.document_id}`;
  $('source-meta').replaceChildren(
    el('span', { class: 'badge' }, TYPE_WORDS[c.doc_type] || c.doc_type || 'Source'),
    ...locate(c).map((w) => el('span', { class: 'where' }, w)));
  $('source-text').textContent = c.snippet;
  $('source-id').textContent = c.document_id;
  $('source').hidden = false;
  $('source-close').focus();
}

export function closeSource() {
  $('source').hidden = true;
  if (opener && document.contains(opener)) opener.focus();
  opener = null;
}

export function installSourcePanel() {
  $('source-close').addEventListener('click', closeSource);
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !$('source').hidden) closeSource();
  });
}

/** A "Sources" list: every citation of the result, for outputs without per-sentence links. */
export function sourceList() {
  if (!sources.size) return null;
  return el('details', { class: 'sources' }, el('summary', {}, `Sources (${sources.size})`),
    el('ul', {}, [...sources.values()].map(({ citation: c }) => el('li', {}, citeButton(c.chunk_id), ' ',
      c.title || c.document_id, el('span', { class: 'muted small' }, locate(c).length ? ` · ${locate(c).join(' · ')}` : '')))));
}
