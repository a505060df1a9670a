// Designed states: loading (then slow), empty, and errors in plain words with a way forward.
import { el } from './dom.js';

const SLOW_AFTER_MS = 6000;

/** A loading panel; after a few seconds it says why it is slow and offers Cancel. */
export function loading(label, onCancel) {
  const slow = el('p', { class: 'muted slow', hidden: true },
    'Still working. The assistant runs on your company\'s own server and can take up to a minute when it is busy.');
  const cancel = el('button', { class: 'secondary', hidden: true, onclick: onCancel }, 'Cancel');
  const node = el('div', { class: 'state loading', role: 'status', 'aria-live': 'polite' },
    el('span', { class: 'spinner', 'aria-hidden': 'true' }), el('span', {}, label), slow, cancel);
  const timer = setTimeout(() => { slow.hidden = false; cancel.hidden = !onCancel; node.classList.add('is-slow'); },
    SLOW_AFTER_MS);
  node.stop = () => clearTimeout(timer);
  return node;
}

export function empty(title, text) {
  return el('div', { class: 'state empty', role: 'status' }, el('strong', {}, title), el('p', {}, text));
}

const ERRORS = {
  unauthorized: ['Your session has ended', 'Reload the CRM record page to sign in to Sidekick again.'],
  forbidden: ['You don\'t have access to this record',
    'It belongs to a team you are not part of. Ask the record owner or your CRM admin for access.'],
  'not-found': ['Not found', 'This record does not exist in Sidekick yet, or it was removed.'],
  'document-not-found': ['Nothing to check', 'This document has no text you are allowed to see.'],
  'model-unavailable': ['The assistant is unavailable',
    'Its language model is not answering right now. Your CRM is not affected; try again in a minute.'],
  'store-unavailable': ['Search is unavailable', 'The knowledge base is not answering right now. Try again in a minute.'],
  'model-error': ['The assistant failed', 'The language model returned an error. Try again.'],
  'model-output-invalid': ['The answer was unusable', 'The model\'s answer was malformed, so it is not shown. Try again.'],
  'context-overflow': ['Too much to read at once', 'Shorten the text or pick fewer fields and try again.'],
  'input-blocked': ['The request was blocked', 'A safety check stopped this request.'],
  'bad-request': ['Something is wrong with the request', ''],
  'validation-error': ['Please check the form', ''],
};

/** The error panel for an ApiError (or any Error), with optional retry. */
export function problem(err, onRetry) {
  const status = err.status ?? 0;
  let [title, text] = ERRORS[err.slug] || [];
  if (!title && status === 0) [title, text] = ['Can\'t reach Sidekick', 'Check your network connection and try again.'];
  if (!title && status === 401) [title, text] = ERRORS.unauthorized;
  if (!title && status === 403) [title, text] = ERRORS.forbidden;
  if (!title && status === 422) [title, text] = ERRORS['validation-error'];
  if (!title && status === 503) [title, text] = ERRORS['model-unavailable'];
  if (!title) [title, text] = ['Something went wrong', 'Try again. If it keeps happening, tell your admin.'];
  const detail = err.problem && err.problem.detail;
  const fieldErrors = (err.problem && err.problem.errors) || [];
  const details = fieldErrors.length
    ? fieldErrors.map((e) => `${(e.loc || []).slice(1).join('.')}: ${e.msg}`).join('; ')
    : (typeof detail === 'string' ? detail : '');
  return el('div', { class: `state error error-${err.slug || status}`, role: 'alert' },
    el('strong', {}, title),
    text && el('p', {}, text),
    details && el('p', { class: 'muted small' }, details),
    onRetry && status !== 403 && el('button', { class: 'secondary', onclick: onRetry }, 'Try again'));
}
