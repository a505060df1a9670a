// One renderer per action output; unknown actions fall back to a readable JSON view.
// Editable text carries ``data-edit="path.in.output"`` so review.js can turn it into an edit.
import { el, humanize } from './dom.js';
import { citeButton, citeButtons, sourceList } from './citations.js';
import { empty } from './states.js';

const SECTIONS = [['key_facts', 'Key facts'], ['open_questions', 'Open questions'], ['risks', 'Risks'],
  ['next_steps', 'Next steps']];

function summary(res) {
  const out = res.output;
  const sections = SECTIONS.filter(([key]) => (out[key] || []).length);
  if (!sections.length) {
    return [empty('No evidence found', 'There are no notes, calls or documents you can see for this record yet, '
      + 'so there is nothing to summarise.')];
  }
  return [
    el('p', { class: 'headline' }, el('strong', { 'data-edit': 'headline' }, out.headline)),
    sections.map(([key, label]) => el('section', { class: `bullets ${key}` }, el('h3', {}, label),
      el('ul', {}, out[key].map((b, i) => el('li', {}, el('span', { 'data-edit': `${key}.${i}.text` }, b.text),
        ' ', citeButtons(b.citations)))))),
  ];
}

function formatValue(field) {
  const v = field.value;
  if (v === null || v === undefined) return '—';
  if (typeof v === 'object' && 'value' in v) {
    return new Intl.NumberFormat('en-US', { style: 'currency', currency: v.currency || 'USD', maximumFractionDigits: 0 })
      .format(v.value);
  }
  if (typeof v === 'boolean') return v ? 'Yes' : 'No';
  if (typeof v === 'number') return new Intl.NumberFormat('en-US').format(v);
  return String(v);
}

function fieldFill(res, ctx) {
  const fields = res.output.fields || [];
  if (!fields.some((f) => f.status === 'filled')) {
    return [empty('No values found', 'None of these fields is stated in the notes, calls or documents you can see. '
      + 'Nothing was guessed.'), sourceList()];
  }
  const current = ctx.current || {};
  return [el('ul', { class: 'field-list' }, fields.map((f) => {
    const filled = f.status === 'filled';
    const pct = Math.round((f.confidence || 0) * 100);
    const now = current[f.name];
    const accept = el('button', { class: 'primary small', type: 'button', disabled: !filled,
      'aria-label': `Accept ${humanize(f.name)}: ${formatValue(f)}`,
      onclick: (e) => {
        ctx.acceptField(f, res);
        e.currentTarget.textContent = 'Accepted';
        e.currentTarget.disabled = true;
        e.currentTarget.closest('li').classList.add('accepted');
      } }, filled ? 'Accept' : 'Unknown');
    return el('li', { class: `field-row ${f.status}`, 'data-field': f.name },
      el('div', { class: 'field-head' }, el('strong', {}, humanize(f.name)), accept),
      el('dl', { class: 'compare' },
        el('dt', {}, 'In CRM'), el('dd', { class: 'current' }, now === undefined || now === null ? 'empty' : String(now)),
        el('dt', {}, 'Proposed'), el('dd', { class: 'proposed' }, formatValue(f))),
      filled && el('div', { class: 'confidence' }, el('meter', { min: 0, max: 100, value: pct, low: 50, high: 80,
        optimum: 100, 'aria-label': `Confidence ${pct}%` }), el('span', { class: 'small muted' }, ` ${pct}% confident`)),
      f.evidence && el('blockquote', { class: 'quote' }, `“${f.evidence.quote}”`, ' ', citeButton(f.evidence.chunk_id)),
      f.note && el('p', { class: 'note small' }, f.note));
  })), sourceList()];
}

/** The checked text with each offending span wrapped in a focusable <mark>. */
function highlighted(text, verdicts) {
  const spans = verdicts.filter((v) => v.verdict !== 'pass' && v.span && v.start !== null && v.start !== undefined)
    .map((v) => ({ start: v.start, end: v.start + v.span.length, verdicts: [v] }))
    .sort((a, b) => a.start - b.start || b.end - a.end);
  const merged = [];
  for (const s of spans) {
    const last = merged[merged.length - 1];
    if (last && s.start < last.end) { last.end = Math.max(last.end, s.end); last.verdicts.push(...s.verdicts); }
    else merged.push(s);
  }
  const parts = [];
  let at = 0;
  for (const s of merged) {
    parts.push(text.slice(at, s.start));
    const worst = s.verdicts.some((v) => v.verdict === 'violation') ? 'violation' : 'needs_review';
    const why = s.verdicts.map((v) => `clause ${v.clause}: ${v.message || humanize(v.verdict)}`).join('; ');
    parts.push(el('mark', { class: worst, tabindex: '0', title: why, 'data-clauses': s.verdicts.map((v) => v.clause).join(' '),
      'aria-label': `${worst === 'violation' ? 'Policy violation' : 'Needs review'}: “${text.slice(s.start, s.end)}” (${why})` },
    text.slice(s.start, s.end)));
    at = s.end;
  }
  parts.push(text.slice(at));
  return parts;
}

function compliance(res) {
  const out = res.output;
  const issues = out.verdicts.filter((v) => v.verdict !== 'pass');
  const passed = out.verdicts.length - issues.length;
  const banner = out.compliant && !issues.length
    ? el('div', { class: 'banner ok', role: 'status' }, `No policy issues found (${passed} clauses checked).`)
    : el('div', { class: `banner ${out.compliant ? 'warn' : 'bad'}`, role: 'status' },
      out.compliant ? `${issues.length} passage(s) need a second look.`
        : `${issues.filter((v) => v.verdict === 'violation').length} policy violation(s) in this ${out.checked}.`);
  return [banner,
    el('div', { class: 'checked-text', 'aria-label': `Checked ${out.checked}` }, highlighted(out.text, out.verdicts)),
    issues.length && el('ol', { class: 'verdicts' }, issues.map((v) => el('li', { class: v.verdict },
      el('strong', {}, `Clause ${v.clause}`), ` · ${v.verdict === 'violation' ? 'violation' : 'needs review'}`,
      v.source === 'model' ? el('span', { class: 'muted small' }, ' (assistant\'s judgment)') : null,
      v.message && el('p', { class: 'small' }, v.message),
      v.span && el('p', { class: 'small' }, el('q', {}, v.span)),
      citeButton(v.policy_chunk_id)))),
    passed ? el('p', { class: 'muted small' }, `${passed} other clause(s) passed.`) : null];
}

function email(res) {
  const out = res.output;
  if (out.refused) return [empty('No draft written', out.refusal_reason || 'There is no evidence this contact allows outreach.')];
  return [
    el('p', { class: 'subject' }, el('span', { class: 'muted' }, 'Subject: '), el('strong', { 'data-edit': 'subject' }, out.subject)),
    el('div', { class: 'email-body', 'data-edit': 'body' }, out.body),
    out.placeholders.length ? el('p', { class: 'flag info small' }, `Fill in before sending: ${out.placeholders.join(', ')}`) : null,
    sourceList(),
  ];
}

function qa(res) {
  const out = res.output;
  if (!out.answerable) {
    return [empty('Not found in the sources', 'Nothing you can see answers this question. Try rephrasing it, or ask a colleague.')];
  }
  const byLabel = Object.fromEntries(out.sources.map((s) => [s.label.toUpperCase(), s.chunk_id]));
  const parts = out.answer.split(/(\[E\d+(?:\s*[,;]\s*E\d+)*\])/i).map((part) => {
    const labels = part.match(/^\[(.*)\]$/);
    if (!labels) return part;
    return labels[1].split(/[,;]/).map((l) => citeButton(byLabel[l.trim().toUpperCase()]));
  });
  return [el('div', { class: 'answer' }, el('p', { 'data-edit': 'answer', 'data-plain': out.answer }, parts)), sourceList()];
}

const RENDERERS = { summary, field_fill: fieldFill, compliance_check: compliance, email_draft: email, qa };

export function renderOutput(res, ctx) {
  const render = RENDERERS[res.action];
  if (render) return render(res, ctx);
  return [el('pre', { class: 'json' }, JSON.stringify(res.output, null, 2)), sourceList()];
}

/** Plain text of a result, for Copy. */
export function plainText(res) {
  const out = res.output;
  switch (res.action) {
    case 'summary':
      return [out.headline, ...SECTIONS.filter(([k]) => (out[k] || []).length)
        .map(([k, label]) => `\n${label}:\n${out[k].map((b) => `- ${b.text}`).join('\n')}`)].join('\n');
    case 'email_draft': return `Subject: ${out.subject}\n\n${out.body}`;
    case 'qa': return out.answer;
    case 'field_fill': return out.fields.map((f) => `${humanize(f.name)}: ${formatValue(f)}`).join('\n');
    case 'compliance_check':
      return out.verdicts.filter((v) => v.verdict !== 'pass')
        .map((v) => `Clause ${v.clause} ${v.verdict}: ${v.span || ''} ${v.message || ''}`.trim()).join('\n') || 'Compliant';
    default: return JSON.stringify(out, null, 2);
  }
}
