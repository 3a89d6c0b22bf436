// api.js - the public API, as any client uses it: FHIR under /fhir, the
// session endpoints under /auth, the inbox under /notifications.  The session
// is the HttpOnly cookie; writes carry the CSRF token from login/whoami.
let csrf = null;

export class ApiError extends Error {
  constructor(status, outcome, text) {
    const issues = outcome?.issue || [];
    super(issues.map((i) => i.diagnostics || i.details?.text || i.code).join('; ') || text || `HTTP ${status}`);
    this.status = status;
    this.issues = issues;
  }
}

export function setCsrf(token) {
  csrf = token || null;
}

export async function call(method, path, body, headers = {}) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/fhir+json, application/json', ...headers } };
  if (method !== 'GET' && method !== 'HEAD' && csrf) init.headers['X-CSRF-Token'] = csrf;
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    if (!init.headers['Content-Type']) init.headers['Content-Type'] = path.startsWith('/fhir') ? 'application/fhir+json' : 'application/json';
  }
  const res = await fetch(path, init);
  const text = res.status === 204 ? '' : await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    if (res.status === 401 && onUnauthorized && !path.startsWith('/auth/')) onUnauthorized();
    throw new ApiError(res.status, json?.resourceType === 'OperationOutcome' ? json : null, text.slice(0, 200));
  }
  return { status: res.status, json, etag: res.headers.get('ETag') };
}

let onUnauthorized = null;
export function whenUnauthorized(fn) {
  onUnauthorized = fn;
}

export const get = async (path) => (await call('GET', path)).json;
export const post = async (path, body) => (await call('POST', path, body)).json;
export const put = async (path, body) => (await call('PUT', path, body)).json;
export const patch = async (path, ops, etag) =>
  (await call('PATCH', path, JSON.stringify(ops), { 'Content-Type': 'application/json-patch+json', ...(etag ? { 'If-Match': etag } : {}) })).json;

// The resources of a searchset Bundle: matches, and those it included by type/id.
export async function search(path) {
  const b = await get(path);
  const matches = [];
  const included = new Map();
  for (const e of b.entry || []) {
    const r = e.resource;
    if (!r) continue;
    if (e.search?.mode === 'include') included.set(`${r.resourceType}/${r.id}`, r);
    else if (e.search?.mode !== 'outcome') matches.push(r);
  }
  return { matches, included, total: b.total };
}

export async function login(username, password) {
  const j = await post('/auth/login', { username, password });
  setCsrf(j.csrf_token);
  return j;
}

export async function whoami() {
  try {
    const j = await get('/auth/whoami');
    setCsrf(j.csrf_token);
    return j;
  } catch (e) {
    if (e.status === 401) return null;
    throw e;
  }
}

export async function logout() {
  try {
    await call('POST', '/auth/logout');
  } finally {
    setCsrf(null);
  }
}
