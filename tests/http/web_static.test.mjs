// web_static.test.mjs - the web app's files at "/" (src/api/static_files.c):
// content types, revalidation by ETag, the security headers, and that nothing
// outside web/ (or hidden, or of an unknown type) is ever served.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from './lib/server.mjs';
import { rawExchange } from './lib/raw.mjs';

let srv;
const web = mkdtempSync(join(tmpdir(), 'samverka-web-'));
const secret = join(web, '..', `secret-${process.pid}.json`);

before(async () => {
  mkdirSync(join(web, 'js'));
  mkdirSync(join(web, 'i18n'));
  writeFileSync(join(web, 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(join(web, 'app.css'), 'body{}');
  writeFileSync(join(web, 'js', 'app.js'), 'export const x = 1;\n');
  writeFileSync(join(web, 'i18n', 'da.json'), '{"a":"b"}');
  writeFileSync(join(web, 'icon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(web, '.hidden.json'), '{"hidden":true}');
  writeFileSync(join(web, 'notes.md'), '# not served');
  writeFileSync(secret, '{"secret":true}');
  symlinkSync(secret, join(web, 'link.json'));
  srv = await startServer({ args: ['--web', web] });
});
after(async () => {
  const exit = await srv.stop();
  assert.deepEqual(exit, { code: 0, signal: null });
  srv.cleanup();
});

test('/ serves index.html as HTML with a strict CSP and revalidation', async () => {
  const res = await srv.fetch('/');
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.equal(res.text, readFileSync(join(web, 'index.html'), 'utf8'));
  const csp = res.headers.get('content-security-policy');
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /script-src 'self'(;|$)/, 'no inline or eval script');
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(res.headers.get('cache-control'), 'no-cache');
  assert.match(res.headers.get('etag'), /^"[0-9a-f-]+"$/);
});

test('each file gets the content type of its extension', async () => {
  const cases = [
    ['/app.css', 'text/css; charset=utf-8'],
    ['/js/app.js', 'text/javascript; charset=utf-8'],
    ['/i18n/da.json', 'application/json; charset=utf-8'],
    ['/icon.svg', 'image/svg+xml'],
  ];
  for (const [path, type] of cases) {
    const res = await srv.fetch(path);
    assert.equal(res.status, 200, path);
    assert.equal(res.headers.get('content-type'), type, path);
  }
});

test('If-None-Match with the current ETag answers 304 without a body; a stale one 200', async () => {
  const first = await srv.fetch('/js/app.js');
  const etag = first.headers.get('etag');
  const again = await srv.fetch('/js/app.js', { headers: { 'If-None-Match': etag } });
  assert.equal(again.status, 304);
  assert.equal(again.text, '');
  const stale = await srv.fetch('/js/app.js', { headers: { 'If-None-Match': '"0-0-0"' } });
  assert.equal(stale.status, 200);
  assert.equal(stale.text, 'export const x = 1;\n');
});

test('HEAD gives the headers of GET', async () => {
  const res = await srv.fetch('/app.css', { method: 'HEAD' });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/css; charset=utf-8');
  assert.equal(res.text, '');
});

test('nothing outside web/, hidden, symlinked, of unknown type or missing is served', async () => {
  const name = `secret-${process.pid}.json`;
  const paths = [
    `/../${name}`, `/%2e%2e/${name}`, `/js/%2e%2e/%2e%2e/${name}`, `/js%2f..%2f..%2f${name}`,
    `/..%2f${name}`, '/.hidden.json', '/link.json', '/notes.md', '/missing.js', '/js', '/js/',
    '/i18n/da.json%00.js', '/%5c..%5cetc%5cpasswd.json',
  ];
  for (const path of paths) {
    const res = await rawExchange(new URL(srv.base).port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.equal(res.kind, 'response', path);
    assert.notEqual(res.status, 200, `${path} must not be served`);
    assert.doesNotMatch(res.body.toString('utf8'), /secret|hidden|not served/, path);
  }
});

test('a 404 is an OperationOutcome; other methods are 405 with Allow', async () => {
  const res = await srv.fetch('/missing.js');
  assert.equal(res.status, 404);
  assert.equal(res.json.resourceType, 'OperationOutcome');
  const post = await srv.fetch('/index.html', { method: 'POST', body: 'x' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET, HEAD');
  assert.equal(post.json.resourceType, 'OperationOutcome');
});

test('the api is unaffected: /fhir/metadata and an unknown /fhir path', async () => {
  assert.equal((await srv.fetch('/fhir/metadata')).status, 200);
  const res = await srv.fetch('/fhir/Nope');
  assert.equal(res.status, 404);
  assert.equal(res.json.resourceType, 'OperationOutcome');
});
