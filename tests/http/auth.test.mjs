// auth.test.mjs - identity over HTTP with `auth = on` (issue 4, must-show 4):
// wrong password, lockout after repeated failures, expired and revoked sessions,
// CSRF refused, token scopes enforced; and the cookie's attributes, whoami,
// client credentials, metadata staying public.  Users and tokens are made with
// the CLI against the test's database before the server starts.  Expiry is
// shown without sleeping: the session's stored times are moved back with the
// backend's own client (the server reads them on every request).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, BIN, newDatabase, sqlExec, sqlRows } from './lib/server.mjs';

const FAILED = 'invalid username or password';
let srv;
let dir;
let dbPath;
let readToken; // system/Patient.read
let writeToken; // system/Patient.read system/Patient.write

function cli(args, input) {
  return execFileSync(BIN, [...args, '--db', dbPath], { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}
function sql(query) {
  sqlExec(dbPath, query);
}
function addUser(username, password, extra = []) {
  cli(['user', 'add', '--username', username, '--kind', 'practitioner', '--password-stdin', ...extra], `${password}\n`);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'samverka-auth-'));
  dbPath = newDatabase(dir);
  addUser('anna', 'anna-pw-1', ['--practitioner-role', 'role-anna']);
  addUser('bert', 'bert-pw-1');
  addUser('cissi', 'cissi-pw-1');
  addUser('dora', 'dora-pw-1');
  cli(['user', 'add', '--username', 'eva', '--kind', 'citizen', '--patient', 'pat-eva', '--password-stdin'], 'eva-pw-1\n');
  readToken = cli(['token', 'create', '--client', 'reader', '--scope', 'system/Patient.read']).trim();
  writeToken = cli(['token', 'create', '--client', 'writer', '--scope', 'system/Patient.read system/Patient.write']).trim();
  srv = await startServer({ dir, db: dbPath, args: ['--auth', 'on'] });
});
after(async () => {
  await srv.stop();
  srv.cleanup();
});

const form = (fields) => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
});

async function login(username, password) {
  return srv.fetch('/auth/login', { method: 'POST', json: { username, password }, headers: { 'Content-Type': 'application/json' } });
}

// Logs in and returns {cookie, csrf}.
async function session(username, password) {
  const res = await login(username, password);
  assert.equal(res.status, 200, res.text);
  const setCookie = res.headers.get('set-cookie');
  const m = setCookie.match(/samverka_session=([^;]+)/);
  assert.ok(m, setCookie);
  return { cookie: `samverka_session=${m[1]}`, csrf: res.json.csrf_token, setCookie, body: res.json };
}

const patient = { resourceType: 'Patient', name: [{ family: 'Authtest' }] };

function assertOutcome(res, status, code) {
  assert.equal(res.status, status, res.text);
  assert.equal(res.json.resourceType, 'OperationOutcome');
  assert.equal(res.json.issue[0].code, code);
}

test('without credentials /fhir is 401 with an OperationOutcome; metadata stays public', async () => {
  const res = await srv.fetch('/fhir/Patient');
  assertOutcome(res, 401, 'login');
  assert.match(res.headers.get('www-authenticate'), /^Bearer realm="samverka"/);
  const meta = await srv.fetch('/fhir/metadata');
  assert.equal(meta.status, 200);
  assert.equal(meta.json.resourceType, 'CapabilityStatement');
  assert.equal((await srv.fetch('/auth/whoami')).status, 401);
});

test('wrong password, unknown user and disabled user all answer the same 401', async () => {
  const wrong = await login('anna', 'not-her-password');
  const unknown = await login('nobody', 'whatever');
  cli(['user', 'disable', 'dora']);
  const disabled = await login('dora', 'dora-pw-1');
  for (const res of [wrong, unknown, disabled]) {
    assertOutcome(res, 401, 'login');
    assert.equal(res.json.issue[0].diagnostics, FAILED);
    assert.equal(res.headers.get('set-cookie'), null);
  }
  assert.equal(wrong.text, unknown.text);
  assert.equal(wrong.text, disabled.text);
});

test('login sets a HttpOnly SameSite=Strict cookie; whoami answers the principal', async () => {
  const s = await session('anna', 'anna-pw-1');
  assert.match(s.setCookie, /HttpOnly/);
  assert.match(s.setCookie, /SameSite=Strict/);
  assert.match(s.setCookie, /Path=\//);
  assert.doesNotMatch(s.setCookie, /Secure/); // the base url is http
  assert.match(s.cookie, /^samverka_session=[A-Za-z0-9_-]{43}$/);
  assert.deepEqual({ ...s.body, csrf_token: undefined }, {
    kind: 'practitioner', username: 'anna', practitioner_role: 'role-anna', practitioner_roles: ['role-anna'], csrf_token: undefined,
  });
  const who = await srv.fetch('/auth/whoami', { headers: { Cookie: s.cookie } });
  assert.equal(who.status, 200);
  assert.equal(who.json.username, 'anna');
  assert.equal(who.json.csrf_token, s.csrf);
  assert.equal(who.headers.get('cache-control'), 'no-store');
  const read = await srv.fetch('/fhir/Patient', { headers: { Cookie: s.cookie } });
  assert.equal(read.status, 200, read.text);
  // a form login works too, and a citizen's patient link is answered
  const f = await srv.fetch('/auth/login', form({ username: 'eva', password: 'eva-pw-1' }));
  assert.equal(f.status, 200, f.text);
  assert.equal(f.json.kind, 'citizen');
  assert.equal(f.json.patient, 'pat-eva');
});

test('CSRF: a cookie-authenticated write without the matching X-CSRF-Token is refused', async () => {
  const s = await session('bert', 'bert-pw-1');
  const none = await srv.fetch('/fhir/Patient', { method: 'POST', json: patient, headers: { Cookie: s.cookie } });
  assertOutcome(none, 403, 'forbidden');
  const other = await session('anna', 'anna-pw-1');
  const wrong = await srv.fetch('/fhir/Patient', { method: 'POST', json: patient, headers: { Cookie: s.cookie, 'X-CSRF-Token': other.csrf } });
  assertOutcome(wrong, 403, 'forbidden');
  const ok = await srv.fetch('/fhir/Patient', { method: 'POST', json: patient, headers: { Cookie: s.cookie, 'X-CSRF-Token': s.csrf } });
  assert.equal(ok.status, 201, ok.text);
  // reads need no CSRF token (a search: bert has no care relationship with the
  // citizen he registered, so the access policy hides the Patient itself)
  const read = await srv.fetch('/fhir/Patient?_count=1', { headers: { Cookie: s.cookie } });
  assert.equal(read.status, 200);
});

test('logout revokes the session (and needs the CSRF token)', async () => {
  const s = await session('bert', 'bert-pw-1');
  const refused = await srv.fetch('/auth/logout', { method: 'POST', headers: { Cookie: s.cookie } });
  assert.equal(refused.status, 403);
  assert.equal((await srv.fetch('/fhir/Patient', { headers: { Cookie: s.cookie } })).status, 200);
  const out = await srv.fetch('/auth/logout', { method: 'POST', headers: { Cookie: s.cookie, 'X-CSRF-Token': s.csrf } });
  assert.equal(out.status, 204);
  assert.match(out.headers.get('set-cookie'), /Max-Age=0/);
  assertOutcome(await srv.fetch('/fhir/Patient', { headers: { Cookie: s.cookie } }), 401, 'login');
  assert.equal((await srv.fetch('/auth/whoami', { headers: { Cookie: s.cookie } })).status, 401);
});

test('an idle session expires after 30 minutes, any session after 12 hours', async () => {
  const idle = await session('anna', 'anna-pw-1');
  const old = await session('anna', 'anna-pw-1');
  const fresh = await session('anna', 'anna-pw-1');
  for (const s of [idle, old, fresh]) assert.equal((await srv.fetch('/fhir/Patient', { headers: { Cookie: s.cookie } })).status, 200);
  // Move the stored times back, as if the time had passed: idle 31 minutes for one,
  // created 12 h + 1 min ago but used a minute ago for the other.
  // The three newest session rows are idle, old and fresh, in that order (each login
  // hashes a password, so their creation times differ; moving one back keeps it below).
  sql(`UPDATE auth_session SET last_seen = last_seen - 31*60*1000, created = created - 31*60*1000
       WHERE id_hash = (SELECT id_hash FROM auth_session ORDER BY created DESC LIMIT 1 OFFSET 2)`);
  sql(`UPDATE auth_session SET created = created - (12*60+1)*60*1000, last_seen = last_seen - 60*1000
       WHERE id_hash = (SELECT id_hash FROM auth_session ORDER BY created DESC LIMIT 1 OFFSET 1)`);
  assertOutcome(await srv.fetch('/fhir/Patient', { headers: { Cookie: idle.cookie } }), 401, 'login');
  assertOutcome(await srv.fetch('/fhir/Patient', { headers: { Cookie: old.cookie } }), 401, 'login');
  assert.equal((await srv.fetch('/fhir/Patient', { headers: { Cookie: fresh.cookie } })).status, 200);
  // 29 idle minutes are fine
  sql(`UPDATE auth_session SET last_seen = last_seen - 29*60*1000
       WHERE id_hash = (SELECT id_hash FROM auth_session ORDER BY created DESC LIMIT 1)`);
  assert.equal((await srv.fetch('/fhir/Patient', { headers: { Cookie: fresh.cookie } })).status, 200);
});

test('five failed logins lock the username for 15 minutes, with the same answer', async () => {
  for (let i = 0; i < 5; i++) {
    const res = await login('cissi', `wrong-${i}`);
    assertOutcome(res, 401, 'login');
    assert.equal(res.json.issue[0].diagnostics, FAILED);
  }
  const locked = await login('cissi', 'cissi-pw-1');
  assertOutcome(locked, 401, 'login');
  assert.equal(locked.json.issue[0].diagnostics, FAILED);
  // other users are not affected
  assert.equal((await login('anna', 'anna-pw-1')).status, 200);
  // 15 minutes later (the lock's end moved back instead of waiting)
  sql(`UPDATE auth_lock SET until = until - 15*60*1000 WHERE key = 'u:cissi'`);
  assert.equal((await login('cissi', 'cissi-pw-1')).status, 200);
});

test('bearer tokens: scopes are enforced, CSRF does not apply', async () => {
  const r = (path, token, init = {}) => srv.fetch(path, { ...init, headers: { ...(init.headers || {}), Authorization: `Bearer ${token}` } });
  assert.equal((await r('/fhir/Patient', readToken)).status, 200);
  assertOutcome(await r('/fhir/Patient', readToken, { method: 'POST', json: patient }), 403, 'forbidden');
  assertOutcome(await r('/fhir/Observation', readToken), 403, 'forbidden');
  assertOutcome(await r('/fhir', readToken, { method: 'POST', json: { resourceType: 'Bundle', type: 'batch', entry: [] } }), 403, 'forbidden');
  const created = await r('/fhir/Patient', writeToken, { method: 'POST', json: patient });
  assert.equal(created.status, 201, created.text);
  assert.equal((await r(`/fhir/Patient/${created.json.id}`, readToken)).status, 200);
  assertOutcome(await r(`/fhir/Patient/${created.json.id}`, readToken, { method: 'DELETE' }), 403, 'forbidden');
  const bad = await r('/fhir/Patient', 'x'.repeat(43));
  assertOutcome(bad, 401, 'login');
  assert.match(bad.headers.get('www-authenticate'), /invalid_token/);
  const who = await r('/auth/whoami', readToken);
  assert.deepEqual(who.json, { kind: 'system', client: 'reader', scope: 'system/Patient.read' });
});

test('client credentials: a short-lived access token with the client\'s scopes', async () => {
  const tok = await srv.fetch('/auth/token', form({ grant_type: 'client_credentials', client_id: 'writer', client_secret: writeToken, scope: 'system/Patient.read' }));
  assert.equal(tok.status, 200, tok.text);
  assert.equal(tok.json.token_type, 'Bearer');
  assert.equal(tok.json.expires_in, 900);
  assert.equal(tok.json.scope, 'system/Patient.read');
  assert.equal(tok.headers.get('cache-control'), 'no-store');
  const auth = { Authorization: `Bearer ${tok.json.access_token}` };
  assert.equal((await srv.fetch('/fhir/Patient', { headers: auth })).status, 200);
  assertOutcome(await srv.fetch('/fhir/Patient', { method: 'POST', json: patient, headers: auth }), 403, 'forbidden');
  // HTTP Basic client authentication, all of the client's scopes
  const basic = Buffer.from(`writer:${writeToken}`).toString('base64');
  const all = await srv.fetch('/auth/token', { ...form({ grant_type: 'client_credentials' }), headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `Basic ${basic}` } });
  assert.equal(all.status, 200, all.text);
  assert.equal(all.json.scope, 'system/Patient.read system/Patient.write');
  const wrongSecret = await srv.fetch('/auth/token', form({ grant_type: 'client_credentials', client_id: 'writer', client_secret: readToken }));
  assert.equal(wrongSecret.status, 401);
  assert.equal(wrongSecret.json.error, 'invalid_client');
  const tooMuch = await srv.fetch('/auth/token', form({ grant_type: 'client_credentials', client_id: 'reader', client_secret: readToken, scope: 'system/Patient.write' }));
  assert.equal(tooMuch.status, 400);
  assert.equal(tooMuch.json.error, 'invalid_scope');
  const grant = await srv.fetch('/auth/token', form({ grant_type: 'password', client_id: 'reader', client_secret: readToken }));
  assert.equal(grant.json.error, 'unsupported_grant_type');
  // the access token expires (its expiry moved back instead of waiting)
  sql('UPDATE auth_token SET expires = expires - 15*60*1000 WHERE secret = 0');
  assertOutcome(await srv.fetch('/fhir/Patient', { headers: auth }), 401, 'login');
});

test('behind https the cookie is Secure', async () => {
  const s2 = await startServer({ args: ['--auth', 'on', '--base-url', 'https://samverka.example'] });
  try {
    execFileSync(BIN, ['user', 'add', '--username', 'tls', '--kind', 'admin', '--password-stdin', '--db', s2.dbPath], { input: 'tls-pw-1\n' });
    const res = await s2.fetch('/auth/login', form({ username: 'tls', password: 'tls-pw-1' }));
    assert.equal(res.status, 200, res.text);
    assert.match(res.headers.get('set-cookie'), /; Secure/);
  } finally {
    await s2.stop();
    s2.cleanup();
  }
});

test('logins and failed logins are audited (written by a clean shutdown at the latest)', async () => {
  await srv.stop();
  const rows = sqlRows(dbPath,
    "SELECT action, principal_kind, principal_id, outcome FROM audit WHERE action LIKE 'login%' ORDER BY seq");
  assert.ok(rows.some((r) => r.action === 'login' && r.principal_id === 'anna' && r.principal_kind === 'practitioner' && r.outcome === 200));
  assert.ok(rows.some((r) => r.action === 'login-failed' && r.principal_id === 'nobody' && r.outcome === 401));
  assert.equal(rows.filter((r) => r.action === 'login-failed' && r.principal_id === 'cissi').length, 6);
});
