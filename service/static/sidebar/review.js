// Review flags in plain words, and the rep's tools on a result: copy, edit, approve, reject.
// Decisions go to the review queue (POST /v1/reviews/{id}), which writes the audit trail.
import { el, announce } from './dom.js';
import { plainText } from './results.js';

const REASONS = {
  low_grounding: 'Part of this is not clearly backed by the sources. Check the cited passages before using it.',
  uncited_claim: 'A statement has no source behind it. Verify it or remove it.',
  unknown_citation: 'It cites a source that was not among the evidence, so that citation cannot be trusted.',
  no_evidence: 'No notes, calls or documents you can see mention this.',
  pii_detected: 'It contains personal data such as a phone number or email address.',
  injection_suspected: 'A source contains text that tries to give the assistant instructions. It was treated as data; '
    + 'read that source with care.',
  policy_violation: 'It may break the sales policy.',
  low_confidence_field: 'A proposed value is uncertain, or its quote could not be found in the source.',
  invalid_output: 'The model\'s answer was malformed and was partly discarded.',
  unprofessional_tone: 'The tone may not be professional enough to send.',
};

export function flagList(flags) {
  if (!flags.length) return null;
  return el('section', { class: 'flags', 'aria-label': 'Review flags' },
    el('h3', {}, flags.length === 1 ? 'Check before using' : `Check before using (${flags.length})`),
    el('ul', {}, flags.map((f) => el('li', { class: `flag ${f.severity}`, 'data-code': f.code },
      el('strong', {}, REASONS[f.code] || 'Needs a second look.'),
      f.message && el('span', { class: 'small muted' }, ` ${f.message}`)))));
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Non-secure contexts (plain http inside some CRMs) have no async clipboard.
    const area = el('textarea', { class: 'offscreen', 'aria-hidden': 'true' }, text);
    document.body.append(area);
    area.select();
    document.execCommand('copy');
    area.remove();
  }
}

function setPath(obj, path, value) {
  const keys = path.split('.');
  let node = obj;
  keys.slice(0, -1).forEach((k) => { node = node[k]; });
  node[keys[keys.length - 1]] = value;
}

/** Copy / Edit / Approve / Reject for one result; ``root`` holds its rendered output. */
export function reviewBar(api, res, root) {
  const note = el('p', { class: 'small muted review-note', role: 'status' });
  const edited = structuredClone(res.output);
  // Flagged results enter the review queue as they are produced; the envelope names the item.
  const item = res.review_item_id ? { id: res.review_item_id } : null;
  let editing = false;

  const copy = el('button', { type: 'button', class: 'secondary', onclick: async () => {
    await copyText(editing || root.dataset.edited ? currentText() : plainText(res));
    announce('Copied to the clipboard');
    note.textContent = 'Copied.';
  } }, 'Copy');
  const editables = () => [...root.querySelectorAll('[data-edit]')];
  const currentText = () => plainText({ ...res, output: collectEdits() });
  const collectEdits = () => {
    editables().forEach((n) => setPath(edited, n.dataset.edit, n.innerText.trim()));
    if (res.action === 'qa') edited.answerable = true;
    return edited;
  };
  const edit = el('button', { type: 'button', class: 'secondary',
    disabled: true, onclick: async () => {
      editing = !editing;
      editables().forEach((n) => {
        if (editing && n.dataset.plain) n.textContent = n.dataset.plain;
        n.contentEditable = editing ? 'true' : 'false';
        n.classList.toggle('editing', editing);
      });
      edit.textContent = editing ? 'Save edit' : 'Edit';
      if (editing) { editables()[0]?.focus(); return; }
      root.dataset.edited = 'true';
      if (!item) { note.textContent = 'Edited here only (this result is not in the review queue).'; return; }
      await decide('edit', { edited_output: collectEdits() });
    } }, 'Edit');
  const approve = el('button', { type: 'button', class: 'primary', disabled: true,
    onclick: () => decide('approve', {}) }, 'Approve');
  const reason = el('input', { type: 'text', id: `reject-${res.id}`, placeholder: 'What is wrong?' });
  const rejectForm = el('form', { class: 'reject-form', hidden: true },
    el('label', { for: `reject-${res.id}`, class: 'small' }, 'Why reject it?'), reason,
    el('button', { type: 'submit', class: 'danger' }, 'Reject'));
  rejectForm.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!reason.value.trim()) { reason.focus(); note.textContent = 'Say what is wrong so the team can fix it.'; return; }
    decide('reject', { comment: reason.value.trim() });
  });
  const reject = el('button', { type: 'button', class: 'secondary', disabled: true,
    onclick: () => { rejectForm.hidden = false; reason.focus(); } }, 'Reject…');

  async function decide(decision, extra) {
    [edit, approve, reject].forEach((b) => { b.disabled = true; });
    try {
      await api.call(`/v1/reviews/${item.id}`, { method: 'POST', body: { decision, ...extra } });
      const words = { approve: 'Approved', edit: 'Edit saved', reject: 'Rejected' }[decision];
      note.textContent = `${words}: recorded in the review queue and the audit trail.`;
      rejectForm.hidden = true;
      announce(words);
    } catch (err) {
      note.textContent = `Could not record the decision: ${err.message}`;
      [edit, approve, reject].forEach((b) => { b.disabled = false; });
    }
  }

  const bar = el('div', { class: 'review-bar', role: 'group', 'aria-label': 'Review this result' },
    copy, edit, approve, reject, rejectForm, note);
  edit.disabled = !root.querySelector('[data-edit]');
  approve.disabled = reject.disabled = !item;
  if (item) note.textContent = 'Flagged for review: approve, edit or reject it.';
  else if (res.review_flags.length) note.textContent = 'Not in the review queue.';
  return bar;
}
