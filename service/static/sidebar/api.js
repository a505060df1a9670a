// The service API as the sidebar sees it: a 15-minute session token (never an API key),
// JSON calls that throw ApiError with the problem+json body, and server-sent-event streams.
export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    this.slug = (this.problem.type || '').split('/').pop();
  }
}

export class Api {
  constructor() {
    this.token = null;
    this.onExpired = null; // async () => void: fetch a fresh session (set by main.js)
  }

  headers(extra = {}) {
    const headers = { 'Content-Type': 'application/json', ...extra };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    return headers;
  }

  async startSession(tenant, userContext) {
    this.token = null;
    const session = await this.call('/v1/sessions', { method: 'POST', body: { tenant },
      headers: { 'X-Sidekick-User': userContext }, retry: false });
    this.token = session.token;
    return session;
  }

  async call(path, { method = 'GET', body, headers = {}, signal, retry = true } = {}) {
    let res;
    try {
      res = await fetch(path, { method, signal, headers: this.headers(headers),
        body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (err) {
      if (err.name === 'AbortError') throw err;
      throw new ApiError(0, { title: 'Network error', detail: String(err.message || err) });
    }
    if (res.status === 401 && retry && this.onExpired) {
      await this.onExpired();
      return this.call(path, { method, body, headers, signal, retry: false });
    }
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new ApiError(res.status, data);
    return data;
  }

  /** POST and read server-sent events; ``onEvent(name, data)`` for each. Resolves on ``done``. */
  async stream(path, body, onEvent, { signal, retry = true } = {}) {
    let res;
    try {
      res = await fetch(path, { method: 'POST', signal, headers: this.headers({ Accept: 'text/event-stream' }),
        body: JSON.stringify(body) });
    } catch (err) {
      if (err.name === 'AbortError') throw err;
      throw new ApiError(0, { title: 'Network error', detail: String(err.message || err) });
    }
    if (res.status === 401 && retry && this.onExpired) {
      await this.onExpired();
      return this.stream(path, body, onEvent, { signal, retry: false });
    }
    if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => ({})));
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    let final = null;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const name = (block.match(/^event: (.*)$/m) || [])[1] || 'message';
        const data = JSON.parse(block.split('\n').filter((l) => l.startsWith('data: '))
          .map((l) => l.slice(6)).join('\n') || '{}');
        if (name === 'error') throw new ApiError(data.status || 500, data);
        if (name === 'done') final = data;
        onEvent(name, data);
      }
    }
    if (!final) throw new ApiError(502, { title: 'The answer stopped before it was complete' });
    return final;
  }
}
