// Per-action forms built from each action's ``input_schema`` (GET /v1/actions), so a new
// action gets a working form without page changes. ``record`` comes from the CRM page;
// other inputs get sensible defaults (for field fill, a default field set per record kind).
import { el, humanize } from './dom.js';

const COMPETITORS = ['Samsara', 'Motive', 'Geotab', 'Verizon Connect', 'None'];
const DEAL_FIELDS = [
  { name: 'budget', type: 'currency', description: 'Customer\'s stated annual budget' },
  { name: 'competitor', type: 'picklist', description: 'Main competitor in the deal', allowed_values: COMPETITORS },
  { name: 'fleet_size', type: 'number', description: 'Number of vehicles in scope' },
  { name: 'next_meeting', type: 'date', description: 'Date of the next scheduled meeting' },
  { name: 'decision_maker', type: 'text', description: 'Person who owns the buying decision' },
  { name: 'needs_sso', type: 'boolean', description: 'Customer requires single sign-on' },
];
export const DEFAULT_FIELDS = {
  account: DEAL_FIELDS,
  opportunity: DEAL_FIELDS,
  document: DEAL_FIELDS,
  contact: [
    { name: 'job_title', type: 'text', description: 'The contact\'s job title' },
    { name: 'is_decision_maker', type: 'boolean', description: 'Contact owns or signs off the buying decision' },
    { name: 'next_meeting', type: 'date', description: 'Date of the next scheduled meeting with the contact' },
    { name: 'preferred_channel', type: 'picklist', description: 'How the contact prefers to be reached',
      allowed_values: ['Email', 'Phone', 'Meeting'] },
  ],
};
const LONG_TEXT = new Set(['draft', 'question', 'context', 'focus']);
const HIDDEN = new Set(['record', 'history']);
/** Inputs the schema leaves optional that the rep must still type (the action's own validator wants them). */
const MUST_TYPE = { draft: (record) => !record.startsWith('document:') };

function resolve(schema, node) {
  let out = node || {};
  while (out.$ref) out = { ...schema.$defs[out.$ref.split('/').pop()], ...out, $ref: undefined };
  const options = (out.anyOf || []).filter((o) => o.type !== 'null');
  if (options.length === 1) out = { ...resolve(schema, options[0]), ...out, anyOf: undefined, nullable: true };
  return out;
}

const isFieldSpecs = (schema, prop) => prop.type === 'array' && 'allowed_values' in (resolve(schema, prop.items).properties || {});

/** Default value of an input given the record in focus, or undefined. */
function defaultFor(name, prop, record) {
  const [kind, id] = record.split(/:(.*)/s);
  if (name === 'contact_id' && kind === 'contact') return id;
  if (name === 'fields') return DEFAULT_FIELDS[kind] || DEAL_FIELDS;
  return prop.default ?? undefined;
}

/**
 * A recipient picker filled from the record's contacts (GET /v1/records/{ref}/contacts);
 * contacts without outreach consent are listed but cannot be chosen. If the list cannot be
 * loaded the picker becomes a plain text box for the contact id.
 */
function contactPicker(id, contacts) {
  const select = el('select', { id }, el('option', { value: '' }, 'Loading contacts…'));
  contacts().then((list) => {
    const options = list.map((c) => el('option', { value: c.id, disabled: !c.outreach },
      `${c.name}${c.title ? `, ${c.title}` : ''}${c.outreach ? '' : ' (no outreach consent)'}`));
    select.replaceChildren(el('option', { value: '' }, list.length ? 'Choose a contact…' : 'No contacts on this record'),
      ...options);
  }).catch(() => {
    const text = el('input', { id, type: 'text', placeholder: 'Contact id, e.g. C-104', required: select.required });
    select.replaceWith(text);
  });
  return select;
}

/**
 * The form of one action: ``{node, ready, collect()}``. ``ready`` is true when every required
 * input has a value already (the action runs on one click; the form is then "Options").
 */
export function buildForm(action, record, onSubmit, { contacts } = {}) {
  const schema = action.input_schema;
  const props = schema.properties || {};
  const required = new Set(schema.required || []);
  const readers = [];
  const controls = [];
  let ready = true;
  for (const [name, raw] of Object.entries(props)) {
    if (HIDDEN.has(name)) continue;
    const prop = resolve(schema, raw);
    const id = `in-${action.name}-${name}`;
    const value = defaultFor(name, prop, record);
    const needed = required.has(name) || (MUST_TYPE[name] && MUST_TYPE[name](record));
    if (needed && (value === undefined || value === '')) ready = false;
    const hint = prop.description ? el('span', { class: 'hint' }, prop.description) : null;
    if (isFieldSpecs(schema, prop)) {
      const boxes = (value || []).map((spec) => {
        const box = el('input', { type: 'checkbox', checked: true, id: `${id}-${spec.name}` });
        return { spec, box, node: el('label', { class: 'check', for: `${id}-${spec.name}` }, box, ` ${humanize(spec.name)}`,
          el('span', { class: 'hint' }, ` (${spec.type})`)) };
      });
      controls.push(el('fieldset', { class: 'fields' }, el('legend', {}, 'Fields to fill'), boxes.map((b) => b.node)));
      readers.push(() => [name, boxes.filter((b) => b.box.checked).map((b) => b.spec)]);
      continue;
    }
    let input;
    if (name === 'contact_id' && value === undefined && contacts) {
      input = contactPicker(id, contacts);
    } else if (prop.enum) {
      input = el('select', { id }, prop.enum.map((v) => el('option', { value: v, selected: v === value }, humanize(String(v)))));
    } else if (prop.type === 'boolean') {
      input = el('input', { id, type: 'checkbox', checked: Boolean(value) });
    } else if (prop.type === 'integer' || prop.type === 'number') {
      input = el('input', { id, type: 'number', value: value ?? '', min: prop.minimum, max: prop.maximum });
    } else if (LONG_TEXT.has(name) || (prop.maxLength || 0) > 1000) {
      input = el('textarea', { id, rows: name === 'draft' ? 8 : 3, maxlength: prop.maxLength }, value ?? '');
    } else {
      input = el('input', { id, type: 'text', value: value ?? '', maxlength: prop.maxLength, pattern: prop.pattern });
    }
    if (needed) input.required = true;
    controls.push(el('label', { class: 'field', for: id }, el('span', { class: 'label' }, humanize(name),
      needed ? el('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null), input, hint));
    readers.push(() => {
      const node = input.isConnected ? input : (document.getElementById(id) || input); // the picker may fall back
      if (node.type === 'checkbox') return [name, node.checked];
      if (node.value === '') return [name, undefined];
      return [name, node.type === 'number' ? Number(node.value) : node.value];
    });
  }
  const form = el('form', { class: 'action-form', 'aria-label': `${humanize(action.name)} options` },
    controls, el('button', { type: 'submit', class: 'primary' }, `Run ${humanize(action.name).toLowerCase()}`));
  const collect = () => {
    const body = 'record' in props ? { record } : {};
    for (const read of readers) {
      const [name, value] = read();
      if (value !== undefined) body[name] = value;
    }
    return body;
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); onSubmit(collect()); });
  const node = controls.length && ready
    ? el('details', { class: 'options' }, el('summary', {}, 'Options'), form)
    : form;
  return { node, ready, collect, hasInputs: controls.length > 0 };
}
