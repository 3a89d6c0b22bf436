// auth_roles.test.mjs - a practitioner with several PractitionerRoles chooses the
// one they act in, and the access follows it (docs/identity.md, docs/access.md);
// the administrators' user API; the per-address lockout over HTTP.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startWorld, ref as R, password } from './lib/access_fixture.mjs';
import { ROLE_SYSTEM } from './lib/access_oracle.mjs';
import { startServer, BIN, sqlRows, sqlExec } from './lib/server.mjs';
import { assertOutcome } from './lib/expect.mjs';

const role = (code) => [{ coding: [{ system: ROLE_SYSTEM, code }] }];
const resources = [
  { resourceType: 'Organization', id: 'ward', name: 'Ward' },
  { resourceType: 'Organization', id: 'clinic', name: 'Clinic without a relationship' },
  { resourceType: 'PractitionerRole', id: 'pr-ward', active: true, organization: R('Organization/ward'), code: role('physician') },
  { resourceType: 'PractitionerRole', id: 'pr-clinic', active: true, organization: R('Organization/clinic'), code: role('physician') },
  { resourceType: 'PractitionerRole', id: 'pr-ward-home', active: true, organization: R('Organization/ward'), code: role('home-care') },
  { resourceType: 'Patient', id: 'ole', name: [{ family: 'Olsen' }] },
  {
    resourceType: 'Encounter', id: 'ole-stay', status: 'in-progress', subject: R('Patient/ole'), serviceProvider: R('Organization/ward'),
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
  },
  { resourceType: 'Observation', id: 'ole-temp', status: 'final', code: { text: 'temperature' }, subject: R('Patient/ole') },
];
const users = [
  { username: 'multi', kind: 'practitioner', role: 'pr-ward,pr-clinic' },
  { username: 'adm', kind: 'admin' },
  { username: 'plain', kind: 'practitioner', role: 'pr-ward' },
];

let w;
before(async () => {
  w = await startWorld({ users, resources, prefix: 'samverka-roles-' });
  assert.deepEqual(w.failures, []);
});
after(async () => { if (w) await w.stop(); });

const form = (extra) => ({ 'Content-Type': 'application/json', ...extra });

test('the command line takes several roles, as a list or a repeated flag; user list shows them', () => {
  w.cli(['user', 'add', '--username', 'rep', '--kind', 'practitioner', '--practitioner-role', 'pr-ward-home',
    '--practitioner-role', 'pr-clinic,pr-ward', '--password-stdin'], `${password('rep')}\n`);
  const list = w.cli(['user', 'list']);
  assert.match(list, /^multi\tpractitioner\tactive\tPractitionerRole\/pr-ward\tPractitionerRole\/pr-clinic$/m);
  assert.match(list, /^rep\tpractitioner\tactive\tPractitionerRole\/pr-ward-home\tPractitionerRole\/pr-clinic\tPractitionerRole\/pr-ward$/m);
  assert.throws(() => w.cli(['user', 'add', '--username', 'dup', '--kind', 'practitioner', '--practitioner-role', 'a,a', '--password-stdin'], 'x-pw-123456\n'));
});

test('login answers every role; POST /auth/role switches the acting role and the access follows it', async () => {
  const who = await w.login('multi');
  assert.equal(who.practitioner_role, 'pr-ward');
  assert.deepEqual(who.practitioner_roles, ['pr-ward', 'pr-clinic']);
  const me = w.as('multi');
  assert.equal((await me.get('/fhir/Observation/ole-temp')).status, 200);

  let res = await me.post('/auth/role', JSON.stringify({ practitioner_role: 'pr-clinic' }), form({}));
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.practitioner_role, 'pr-clinic');
  assert.deepEqual(res.json.practitioner_roles, ['pr-ward', 'pr-clinic']);
  assert.equal((await me.get('/fhir/Observation/ole-temp')).status, 404); // the clinic has no relationship
  assert.equal((await me.get('/fhir/Observation?patient=ole&_total=accurate')).json.total, 0);
  res = await me.get('/auth/whoami');
  assert.equal(res.json.practitioner_role, 'pr-clinic');

  // not one of the user's roles, none named, no CSRF token
  assertOutcome(await me.post('/auth/role', JSON.stringify({ practitioner_role: 'pr-ward-home' }), form({})), 403, { expression: 'practitioner_role' });
  assertOutcome(await me.post('/auth/role', JSON.stringify({}), form({})), 400, { expression: 'practitioner_role' });
  const cookie = (await me.get('/auth/whoami')).json; // still the clinic
  assert.equal(cookie.practitioner_role, 'pr-clinic');
  assertOutcome(await w.srv.fetch('/auth/role', { method: 'POST', json: { practitioner_role: 'pr-ward' }, headers: { 'Content-Type': 'application/json' } }), 401);
  assertOutcome(await w.call('multi', 'POST', '/auth/role', JSON.stringify({ practitioner_role: 'pr-ward' }),
    { 'Content-Type': 'application/json', 'X-CSRF-Token': 'wrong' }), 403);

  res = await me.post('/auth/role', JSON.stringify({ practitioner_role: 'pr-ward' }), form({}));
  assert.equal(res.status, 200);
  assert.equal((await me.get('/fhir/Observation/ole-temp')).status, 200);
  // another session of the same user starts in the default role
  const again = await w.login('plain');
  assert.equal(again.practitioner_role, 'pr-ward');
});

test('admin API: list, create (a password shown once), disable; only administrators', async () => {
  assertOutcome(await w.srv.fetch('/admin/users'), 401);
  assertOutcome(await w.as('plain').get('/admin/users'), 403);
  assertOutcome(await w.as('loader').get('/admin/users'), 403);

  let res = await w.as('adm').get('/admin/users');
  assert.equal(res.status, 200);
  const multi = res.json.users.find((u) => u.username === 'multi');
  assert.deepEqual(multi, { username: 'multi', kind: 'practitioner', disabled: false, practitioner_roles: ['pr-ward', 'pr-clinic'] });

  res = await w.as('adm').post('/admin/users', JSON.stringify({ username: 'nina', kind: 'practitioner', practitioner_role: ['pr-ward-home', 'pr-ward'] }), form({}));
  assert.equal(res.status, 201, res.text);
  assert.match(res.json.password, /^[A-Za-z0-9_-]{24}$/);
  let login = await w.srv.fetch('/auth/login', { method: 'POST', json: { username: 'nina', password: res.json.password }, headers: form({}) });
  assert.equal(login.status, 200);
  assert.deepEqual(login.json.practitioner_roles, ['pr-ward-home', 'pr-ward']);

  assertOutcome(await w.as('adm').post('/admin/users', JSON.stringify({ username: 'nina', kind: 'practitioner' }), form({})), 409, { expression: 'username' });
  assertOutcome(await w.as('adm').post('/admin/users', JSON.stringify({ username: 'x', kind: 'wizard' }), form({})), 400, { expression: 'kind' });
  assertOutcome(await w.call('adm', 'POST', '/admin/users', JSON.stringify({ username: 'y', kind: 'admin' }), { 'Content-Type': 'application/json', 'X-CSRF-Token': 'wrong' }), 403);

  res = await w.as('adm').post('/admin/users/nina/disable', '', form({}));
  assert.equal(res.status, 200);
  login = await w.srv.fetch('/auth/login', { method: 'POST', json: { username: 'nina', password: 'whatever' }, headers: form({}) });
  assert.equal(login.status, 401);
  res = await w.as('adm').get('/admin/users');
  assert.equal(res.json.users.find((u) => u.username === 'nina').disabled, true);
  assertOutcome(await w.as('adm').post('/admin/users/nobody/disable', '', form({})), 404);
});

test('twenty failed logins from one address lock that address, even for the right password', async () => {
  const srv = await startServer({ args: ['--auth', 'on'] });
  try {
    execFileSync(BIN, ['user', 'add', '--username', 'ann', '--kind', 'admin', '--password-stdin', '--db', srv.dbPath], { input: 'ann-pw-Secret-1\n' });
    const login = (username, pw) => srv.fetch('/auth/login', { method: 'POST', json: { username, password: pw }, headers: form({}) });
    // different usernames: no single username reaches its own limit of five
    for (let i = 0; i < 20; i++) assert.equal((await login(`guess${i}`, 'nope')).status, 401);
    const locked = await login('ann', 'ann-pw-Secret-1');
    assertOutcome(locked, 401);
    assert.equal(locked.json.issue[0].diagnostics, 'invalid username or password');
    assert.equal(sqlRows(srv.dbPath, "SELECT COUNT(*) AS n FROM auth_lock WHERE key = 'a:127.0.0.1'")[0].n, 1);
    // 15 minutes later (the lock's end moved back instead of waiting)
    sqlExec(srv.dbPath, "UPDATE auth_lock SET until = until - 15*60*1000 WHERE key = 'a:127.0.0.1'");
    assert.equal((await login('ann', 'ann-pw-Secret-1')).status, 200);
  } finally {
    await srv.stop();
    srv.cleanup();
  }
});
