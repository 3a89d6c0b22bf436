// pg_multi.test.mjs - two samverka processes on one PostgreSQL database (issue 10,
// must-show 2).  Process A and process B serve the same database with auth on; a
// session made on one works on the other, since everything shared lives in the
// database.  Shown here:
//  - a notification made by a write through A is in its user's inbox through B,
//    and marked read through B it is read through A;
//  - a consent revoked through A, and a PractitionerRole deactivated through A,
//    take effect on the very next request through B (B keeps what the access of
//    a request reads while the database's data version stands still: the
//    version must move with A's commit);
//  - under concurrent load from both (creates, If-Match updates, watchdog ticks
//    in both at once): every due watchdog job fires exactly once; of two updates
//    with the same If-Match version, one through each process, exactly one wins;
//    read-modify-write increments with If-Match from both lose no update;
//  - after all that, `samverka audit verify` finds one valid chain, with a record
//    for every version written.
// Runs only on PostgreSQL (SAMVERKA_TEST_BACKEND=postgres with SAMVERKA_TEST_PG:
// tools/check.sh does so); two processes on one SQLite file are not a deployment.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { BACKEND, BIN, startServer, sqlRows } from './lib/server.mjs';
import { startWorld, pool, ref as R } from './lib/access_fixture.mjs';
import { CATEGORY_SYSTEM, ROLE_SYSTEM, ACTCODE } from './lib/access_oracle.mjs';

const SKIP = BACKEND === 'postgres' ? false
  : 'needs PostgreSQL: two processes share a database only there (SAMVERKA_TEST_BACKEND=postgres SAMVERKA_TEST_PG=..., e.g. tools/pg-scratch.sh run)';

const MUNI = 'Organization/multi-kommune';
const HOSP = 'Organization/multi-hospital';
const role = (code) => [{ coding: [{ system: ROLE_SYSTEM, code }] }];
const resources = [
  { resourceType: 'Organization', id: 'multi-kommune', name: 'Kommune' },
  { resourceType: 'Organization', id: 'multi-hospital', name: 'Hospital' },
  { resourceType: 'PractitionerRole', id: 'pr-nurse', active: true, organization: R(MUNI), code: role('home-care') },
  { resourceType: 'PractitionerRole', id: 'pr-social', active: true, organization: R(MUNI), code: role('social-worker') },
  { resourceType: 'Patient', id: 'multi-lars', name: [{ family: 'Larsen', given: ['Lars'] }], managingOrganization: R(MUNI) },
  {
    resourceType: 'CareTeam', id: 'multi-team', status: 'active', subject: R('Patient/multi-lars'),
    participant: [{ member: R(MUNI) }],
  },
  {
    resourceType: 'DocumentReference', id: 'multi-note', status: 'current',
    meta: { security: [{ system: CATEGORY_SYSTEM, code: 'social' }] },
    type: { coding: [{ system: 'http://loinc.org', code: '34109-9' }] },
    subject: R('Patient/multi-lars'),
    content: [{ attachment: { contentType: 'text/plain', data: Buffer.from('a social note').toString('base64') } }],
  },
  {
    resourceType: 'Consent', id: 'multi-consent', status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: R('Patient/multi-lars'),
    policyRule: { coding: [{ system: ACTCODE, code: 'OPTIN' }] },
    provision: {
      type: 'permit',
      actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, reference: R(MUNI) }],
      securityLabel: [{ system: CATEGORY_SYSTEM, code: 'social' }],
    },
  },
  { resourceType: 'Observation', id: 'multi-counter', status: 'final', code: { text: 'counter' }, subject: R('Patient/multi-lars'), valueInteger: 0 },
  { resourceType: 'Observation', id: 'multi-race', status: 'final', code: { text: 'race' }, subject: R('Patient/multi-lars'), valueString: 'start' },
];
const users = [
  { username: 'multi-nurse', kind: 'practitioner', role: 'pr-nurse' },
  { username: 'multi-social', kind: 'practitioner', role: 'pr-social' },
];
const serverArgs = ['--test-endpoints', 'on', '--watchdog', '0'];

let w; // the world on process A
let A;
let B;
before(async () => {
  if (SKIP) return;
  w = await startWorld({ users, resources, prefix: 'samverka-pgmulti-', serverArgs });
  A = w.srv;
  B = await startServer({ dir: w.dir, db: w.dbPath, args: ['--auth', 'on', ...serverArgs] });
});
after(async () => {
  if (B) await B.stop();
  if (w) w.srv.cleanup();
});

const versionOf = (res) => res.json?.meta?.versionId;

test('a notification made through A is seen, and marked read, through B', { skip: SKIP }, async () => {
  const created = await w.as('loader', A).post('/fhir/Task', {
    resourceType: 'Task', status: 'requested', intent: 'order', description: 'visit Lars',
    for: R('Patient/multi-lars'), owner: R('PractitionerRole/pr-nurse'),
  });
  assert.equal(created.status, 201, created.text);
  const focus = `Task/${created.json.id}`;
  const inbox = '/notifications?recipient=PractitionerRole/pr-nurse';
  let res = await w.as('multi-nurse', B).get(`${inbox}&unread=true`);
  assert.equal(res.status, 200, res.text);
  const mine = res.json.notifications.filter((n) => n.focus?.reference === focus);
  assert.deepEqual(mine.map((n) => n.kind), ['task-new']);
  assert.equal((await w.as('multi-nurse', B).post(`/notifications/${mine[0].id}/read`)).status, 200);
  res = await w.as('multi-nurse', A).get(`${inbox}&unread=true`);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.notifications.filter((n) => n.focus?.reference === focus).length, 0);
});

test('a consent revoked and a role deactivated through A apply to the next request through B', { skip: SKIP }, async () => {
  const social = w.as('multi-social', B);
  // twice: the second read may reuse what B kept of the first (policy memo)
  for (let i = 0; i < 2; i++) assert.equal((await social.get('/fhir/DocumentReference/multi-note')).status, 200);
  const consent = await w.as('loader', A).get('/fhir/Consent/multi-consent');
  let res = await w.as('loader', A).put('/fhir/Consent/multi-consent', { ...consent.json, status: 'inactive' });
  assert.equal(res.status, 200, res.text);
  res = await social.get('/fhir/DocumentReference/multi-note');
  assert.equal(res.status, 404, `the revoked consent still lets B show the note: ${res.text.slice(0, 200)}`);

  const nurse = w.as('multi-nurse', B);
  for (let i = 0; i < 2; i++) assert.equal((await nurse.get('/fhir/Patient/multi-lars')).status, 200);
  const prole = await w.as('loader', A).get('/fhir/PractitionerRole/pr-nurse');
  res = await w.as('loader', A).put('/fhir/PractitionerRole/pr-nurse', { ...prole.json, active: false });
  assert.equal(res.status, 200, res.text);
  res = await nurse.get('/fhir/Patient/multi-lars');
  assert.equal(res.status, 404, `B still acts on the deactivated PractitionerRole: ${res.text.slice(0, 200)}`);
});

// ---- concurrent load from both processes --------------------------------------

const TASKS = 24;
const INCREMENT_WORKERS = 4; // two through each process
const INCREMENTS = 6; // each
const RACES = 6;

// Read-modify-write of the counter with If-Match, retried on 412 (and on 503, a
// busy database): no increment may be lost.
async function increment(srv, stats) {
  for (;;) {
    const cur = await w.as('loader', srv).get('/fhir/Observation/multi-counter');
    assert.equal(cur.status, 200, cur.text);
    const v = versionOf(cur);
    const next = { ...cur.json, valueInteger: cur.json.valueInteger + 1 };
    const res = await w.as('loader', srv).put('/fhir/Observation/multi-counter', next, { 'If-Match': `W/"${v}"` });
    if (res.status === 200) return;
    if (res.status === 412) stats.conflicts++;
    else if (res.status === 503) stats.busy++;
    else assert.fail(`If-Match update: ${res.status} ${res.text.slice(0, 300)}`);
  }
}

// Both processes update the same version at once: exactly one may win.
async function race(round) {
  const cur = await w.as('loader', A).get('/fhir/Observation/multi-race');
  const v = versionOf(cur);
  const put = (srv, who) => w.as('loader', srv).put('/fhir/Observation/multi-race',
    { ...cur.json, valueString: `round ${round} by ${who}` }, { 'If-Match': `W/"${v}"` });
  let answers;
  for (;;) {
    answers = await Promise.all([put(A, 'A'), put(B, 'B')]);
    if (!answers.some((r) => r.status === 503)) break; // busy is no answer: ask both again
  }
  const statuses = answers.map((r) => r.status).sort();
  assert.deepEqual(statuses, [200, 412], `round ${round}: ${answers.map((r) => `${r.status} ${r.text.slice(0, 160)}`).join(' | ')}`);
  return answers[0].status === 200 ? 'A' : 'B';
}

// One tick; null when a job met a busy database (503: that job is left for the
// next tick, and the answer carries no counts for the jobs this tick did finish).
async function tick(srv) {
  const res = await srv.fetch('/admin/watchdog/tick', { method: 'POST' });
  if (res.status === 503) return null;
  assert.equal(res.status, 200, res.text);
  return res.json;
}

const clock = (srv, now) => srv.fetch('/admin/clock', { method: 'POST', json: { now }, headers: { 'Content-Type': 'application/json' } });

test('under concurrent load from both: each watchdog job fires once, one If-Match winner per version, no lost update', { skip: SKIP }, async (t) => {
  const now = Date.now();
  const deadline = new Date(now + 25 * 3600e3).toISOString(); // reminder due in 1 h, overdue in 25 h
  const taskIds = [];
  await pool(Array.from({ length: TASKS }, (_, i) => async () => {
    const res = await w.as('loader', i % 2 ? B : A).post('/fhir/Task', {
      resourceType: 'Task', status: 'requested', intent: 'order', description: `task ${i}`,
      for: R('Patient/multi-lars'), owner: R(MUNI), restriction: { period: { end: deadline } },
    });
    assert.equal(res.status, 201, res.text);
    taskIds.push(res.json.id);
  }), 4);
  const jobs = sqlRows(w.dbPath, `SELECT COUNT(*) AS n FROM coord_job WHERE resource_type = 'Task' AND resource_id IN (${taskIds.map((id) => `'${id}'`).join(',')})`)[0].n;
  assert.equal(jobs, 2 * TASKS, 'a reminder and an overdue job per task');

  // both processes' clocks two days on: every job is due
  const later = new Date(now + 48 * 3600e3).toISOString();
  for (const srv of [A, B]) assert.equal((await clock(srv, later)).status, 200);

  const stats = { conflicts: 0, busy: 0 };
  const winners = [];
  const load = [
    // three ticks at a time in each process
    ...[A, B, A, B, A, B].map((srv) => () => tick(srv)),
    ...Array.from({ length: INCREMENT_WORKERS }, (_, k) => async () => {
      for (let i = 0; i < INCREMENTS; i++) await increment(k % 2 ? B : A, stats);
    }),
    async () => { for (let r = 0; r < RACES; r++) winners.push(await race(r)); },
    async () => { // plain creates through both
      for (let i = 0; i < 10; i++) {
        const res = await w.as('loader', i % 2 ? A : B).post('/fhir/Observation', {
          resourceType: 'Observation', status: 'final', code: { text: `load ${i}` }, subject: R('Patient/multi-lars'), valueInteger: i,
        });
        assert.ok(res.status === 201 || res.status === 503, res.text);
      }
    },
  ];
  const results = await Promise.all(load.map((f) => f()));
  const ticks = results.slice(0, 6);
  // then ticks in both until each finds nothing left (a job a busy tick left is done here)
  for (let round = 0, idle = 0; idle < 2; round++) {
    assert.ok(round < 20, 'jobs still due after 20 more ticks');
    const more = await Promise.all([tick(A), tick(B)]);
    ticks.push(...more);
    idle = more.every((s) => s && s.jobs === 0) ? idle + 1 : 0;
  }
  for (const srv of [A, B]) assert.equal((await clock(srv, null)).status, 200);

  // (a) each job once: one overdue notice per task, every job with its outcome
  const answered = ticks.filter(Boolean);
  const sum = (k) => answered.reduce((n, s) => n + s[k], 0);
  if (answered.length === ticks.length) {
    assert.equal(sum('overdue'), TASKS, `overdue marks over all ticks: ${JSON.stringify(ticks)}`);
  }
  t.diagnostic(`ticks: ${ticks.length}, ${ticks.length - answered.length} met a busy database; jobs retried after a failure: ${sum('failed')}`);
  const left = sqlRows(w.dbPath, `SELECT COUNT(*) AS n FROM coord_job WHERE resource_type = 'Task' AND outcome IS NULL AND resource_id IN (${taskIds.map((id) => `'${id}'`).join(',')})`)[0].n;
  assert.equal(left, 0, 'every due job has its outcome');
  const inbox = await w.as('loader', B).get(`/notifications?organization=${MUNI}&_count=500`);
  assert.equal(inbox.status, 200, inbox.text);
  for (const id of taskIds) {
    const kinds = inbox.json.notifications.filter((n) => n.focus?.reference === `Task/${id}`).map((n) => n.kind).sort();
    assert.equal(kinds.filter((k) => k === 'task-overdue').length, 1, `Task/${id}: ${kinds}`);
    assert.ok(kinds.filter((k) => k === 'task-reminder').length <= 1, `Task/${id}: ${kinds}`);
    const task = await w.as('loader', id.charCodeAt(0) % 2 ? A : B).get(`/fhir/Task/${id}`);
    assert.equal(task.json.businessStatus?.coding?.[0]?.code, 'overdue');
  }
  const by = sqlRows(w.dbPath, "SELECT claimed_by, COUNT(*) AS n FROM coord_job WHERE resource_type = 'Task' GROUP BY claimed_by ORDER BY claimed_by");
  t.diagnostic(`jobs claimed per process: ${JSON.stringify(by)}`);

  // (b) one winner per version; the increments all arrived
  assert.equal(winners.length, RACES);
  const raced = await w.as('loader', B).get('/fhir/Observation/multi-race/_history?_count=100');
  assert.equal(raced.json.total, 1 + RACES, 'one new version per round');
  const counter = await w.as('loader', B).get('/fhir/Observation/multi-counter');
  const total = INCREMENT_WORKERS * INCREMENTS;
  assert.equal(counter.json.valueInteger, total, `lost updates (${stats.conflicts} conflicts, ${stats.busy} busy)`);
  assert.equal(Number(versionOf(counter)), 1 + total);
  const hist = await w.as('loader', A).get('/fhir/Observation/multi-counter/_history?_count=100');
  const values = hist.json.entry.map((e) => e.resource.valueInteger).sort((x, y) => x - y);
  assert.deepEqual(values, Array.from({ length: total + 1 }, (_, i) => i), 'each version one step from the one before');
  t.diagnostic(`If-Match: ${stats.conflicts} conflicts retried, ${stats.busy} busy; race winners ${winners.join('')}`);
});

test('after concurrent writes from both, samverka audit verify finds one valid chain', { skip: SKIP }, async () => {
  // both stop cleanly (the queued read records are written at SIGTERM)
  assert.deepEqual(await B.stop(), { code: 0, signal: null }, B.stderr().slice(-2000));
  B = null;
  assert.deepEqual(await A.stop(), { code: 0, signal: null }, A.stderr().slice(-2000));
  const out = execFileSync(BIN, ['audit', 'verify', '--db', w.dbPath], { encoding: 'utf8' });
  assert.match(out, /chain ok/);
  // every update of the counter, through either process, has its record, once
  const rows = sqlRows(w.dbPath, "SELECT resource_version AS v, COUNT(*) AS n FROM audit WHERE resource_type = 'Observation'"
    + " AND resource_id = 'multi-counter' AND action = 'update' AND outcome = 200 GROUP BY resource_version ORDER BY resource_version");
  const total = INCREMENT_WORKERS * INCREMENTS;
  assert.deepEqual(rows.map((r) => [Number(r.v), Number(r.n)]), Array.from({ length: total }, (_, i) => [i + 2, 1]));
});
