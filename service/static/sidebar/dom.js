// Tiny DOM helpers: build nodes without innerHTML (nothing from the server is parsed as HTML).
export const $ = (id) => document.getElementById(id);

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key === 'text') node.textContent = value;
    else node.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child !== undefined && child !== null && child !== false) node.append(child);
  }
  return node;
}

const WORDS = { qa: 'Q&A' };
export const humanize = (name) => WORDS[name] || name.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());

/** Announce a short status to screen readers (and show it briefly). */
export function announce(text) {
  const live = $('status');
  live.textContent = text;
  clearTimeout(announce.timer);
  announce.timer = setTimeout(() => { live.textContent = ''; }, 4000);
}
