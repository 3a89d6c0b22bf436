// expect.mjs - a checking client for the REST tests: every FHIR body the
// server returns is run through the independent validator, every error must
// be an OperationOutcome, and a few assertion helpers state the usual checks.
//
//   const api = client(srv);
//   const res = await api.post('/fhir/Patient', patient);       // validated
//   assertOutcome(res, 422, { code: 'structure', expression: 'Patient.foo' });
import assert from 'node:assert/strict';
import { assertValidFhir } from './validate.mjs';

export const FHIR_JSON_RE = /^application\/fhir\+json(;|$)/;

// Validates a response's body when it has one; throws on anything that is
// not FHIR JSON (a FHIR server answers every FHIR call in FHIR JSON).
export function checkBody(res) {
  if (res.text === '') return res;
  const ct = res.headers.get('content-type') || '';
  assert.match(ct, FHIR_JSON_RE, `content-type of a ${res.status} answer`);
  assert.ok(res.json !== undefined, `the body is not JSON: ${res.text.slice(0, 200)}`);
  assertValidFhir(res.json);
  if (res.status >= 400) assert.equal(res.json.resourceType, 'OperationOutcome', `a ${res.status} must carry an OperationOutcome`);
  return res;
}

export function client(srv) {
  const call = async (method, path, body, headers = {}) => {
    const init = { method, headers: { ...headers } };
    if (body !== undefined) {
      if (typeof body === 'string' || body instanceof Uint8Array) init.body = body;
      else init.json = body;
    }
    return checkBody(await srv.fetch(path, init));
  };
  return {
    get: (path, headers) => call('GET', path, undefined, headers),
    post: (path, body, headers) => call('POST', path, body, headers),
    put: (path, body, headers) => call('PUT', path, body, headers),
    patch: (path, ops, headers = {}) =>
      call('PATCH', path, JSON.stringify(ops), { 'Content-Type': 'application/json-patch+json', ...headers }),
    delete: (path, headers) => call('DELETE', path, undefined, headers),
    call,
  };
}

// Asserts status and an OperationOutcome whose first error issue has the
// given code, and (when given) the expression and a diagnostics pattern.
export function assertOutcome(res, status, { code, expression, diagnostics } = {}) {
  assert.equal(res.status, status, `status (body: ${res.text.slice(0, 300)})`);
  assert.equal(res.json?.resourceType, 'OperationOutcome', `body: ${res.text.slice(0, 300)}`);
  const issue = res.json.issue.find((i) => i.severity === 'error' || i.severity === 'fatal');
  assert.ok(issue, `no error issue in ${res.text}`);
  assert.ok(issue.code, 'the issue has a code');
  if (code) assert.equal(issue.code, code, `issue code in ${res.text}`);
  if (expression instanceof RegExp) {
    assert.ok((issue.expression || []).some((e) => expression.test(e)), `expression ${expression} in ${res.text}`);
  } else if (expression) {
    assert.deepEqual(issue.expression, [expression], `expression in ${res.text}`);
  }
  if (diagnostics) assert.match(issue.diagnostics || '', diagnostics);
  return issue;
}

// The FHIR id, version and history Location of a create/update answer.
export function locationOf(res) {
  const loc = res.headers.get('location') || res.headers.get('content-location');
  assert.ok(loc, 'a Location header');
  const m = loc.match(/\/fhir\/([A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})\/_history\/(\d+)$/);
  assert.ok(m, `Location ${loc} is [base]/Type/id/_history/vid`);
  return { type: m[1], id: m[2], version: m[3], url: loc };
}

// Follows next links from a first Bundle page, returning every page.
export async function walkPages(api, srv, first, maxPages = 1000) {
  const pages = [first];
  let page = first;
  for (let i = 0; i < maxPages; i++) {
    const next = (page.link || []).find((l) => l.relation === 'next');
    if (!next) return pages;
    assert.ok(next.url.startsWith(srv.fhirBase), `next link ${next.url} is under the server's base`);
    const res = await api.get(next.url.slice(srv.base.length));
    assert.equal(res.status, 200, `following ${next.url}: ${res.text.slice(0, 300)}`);
    page = res.json;
    pages.push(page);
  }
  throw new Error('next links do not end');
}

export const entriesOf = (bundle) => bundle.entry || [];

// Stops the server with SIGTERM and asserts a clean exit (0) within a bound:
// under the ASan build a leak or a sanitizer report at shutdown fails the
// suite here, and a shutdown that hangs fails instead of hanging the run.
export async function stopClean(srv, ms = 20000) {
  let timer;
  try {
    const exit = await Promise.race([
      srv.stop(),
      new Promise((resolve) => { timer = setTimeout(() => resolve('timeout'), ms); }),
    ]);
    if (exit === 'timeout') {
      process.kill(srv.pid, 'SIGKILL');
      assert.fail(`the server did not exit within ${ms} ms of SIGTERM`);
    }
    assert.deepEqual(exit, { code: 0, signal: null }, `server exit; stderr:\n${srv.stderr().slice(-3000)}`);
  } finally {
    clearTimeout(timer);
    srv.cleanup();
  }
}
