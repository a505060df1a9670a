// A small Jinja highlighter: {{ expressions }}, {% tags %} and {# comments #} in the
// template text, with variable names inside expressions marked known or unknown.
window.highlightJinja = function highlightJinja(text, known) {
  const escape = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const names = (inner) => escape(inner).replace(/\b([A-Za-z_][A-Za-z0-9_]*)\b/g, (m) => {
    if (known.has(m)) return `<span class="var">${m}</span>`;
    if (/^(if|else|elif|endif|for|endfor|in|not|and|or|is|set|endset|macro|endmacro|true|false|none|loop|range)$/i.test(m)) {
      return `<span class="kw">${m}</span>`;
    }
    return m;
  });
  let out = '';
  let last = 0;
  const re = /(\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}|\{#[\s\S]*?#\})/g;
  let m;
  while ((m = re.exec(text)) !== null) {
    out += escape(text.slice(last, m.index));
    const tok = m[0];
    const cls = tok.startsWith('{{') ? 'expr' : tok.startsWith('{%') ? 'tag' : 'comment';
    const body = cls === 'comment' ? escape(tok) : escape(tok.slice(0, 2)) + names(tok.slice(2, -2)) + escape(tok.slice(-2));
    out += `<span class="${cls}">${body}</span>`;
    last = m.index + tok.length;
  }
  // a trailing newline needs a character after it or the <pre> is one line short of the textarea
  return out + escape(text.slice(last)) + '\n';
};
