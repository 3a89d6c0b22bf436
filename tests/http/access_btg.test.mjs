// access_btg.test.mjs - break-the-glass, the AuditEvent view and "who looked at
// my data" (docs/access.md; issue 4).
//
// An emergency physician at a hospital with no care relationship to Karen
// cannot see her (404).  With a reason she opens the glass for two hours: she
// sees Karen's observations, every access is audited with purpose ETREAT,
// Karen and her coordinator get a Communication (and the coordinator a notice).
// When the test clock passes the two hours, Karen is invisible again.  Karen
// reads the audit as AuditEvents and as her access log; her relative with a
// proxy grant reads hers too; practitioners and system clients may not.
//
// Expectations come from docs/access.md, not from the server's code.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startWorld, ref as R, consent } from './lib/access_fixture.mjs';
import { BIN, sqlRows } from './lib/server.mjs';
import { ROLE_SYSTEM } from './lib/access_oracle.mjs';
import { checkBody, assertOutcome } from './lib/expect.mjs';

const SYS = 'http://samverka.org/fhir/';
const role = (code) => [{ coding: [{ system: ROLE_SYSTEM, code }] }];
const HOUR = 3600 * 1000;

const resources = [
  { resourceType: 'Organization', id: 'er', name: 'Emergency department' },
  { resourceType: 'Organization', id: 'kommune', name: 'Karen\'s municipality' },
  { resourceType: 'PractitionerRole', id: 'pr-er', active: true, organization: R('Organization/er'), code: role('physician') },
  { resourceType: 'PractitionerRole', id: 'pr-er-clerk', active: true, organization: R('Organization/er'), code: [{ coding: [{ system: 'http://snomed.info/sct', code: '159483005' }] }] },
  { resourceType: 'PractitionerRole', id: 'pr-coord', active: true, organization: R('Organization/kommune'), code: role('coordinator') },
  { resourceType: 'Patient', id: 'karen', name: [{ family: 'Karlsen', given: ['Karen'] }], managingOrganization: R('Organization/kommune') },
  { resourceType: 'Patient', id: 'other', name: [{ family: 'Other' }] },
  {
    resourceType: 'CareTeam', id: 'karen-team', status: 'active', subject: R('Patient/karen'),
    category: [{ coding: [{ system: `${SYS}CodeSystem/care-team-category`, code: 'coordination' }] }],
    participant: [{ role: [{ coding: [{ system: `${SYS}CodeSystem/care-team-role`, code: 'coordinator' }] }], member: R('PractitionerRole/pr-coord') }],
  },
  { resourceType: 'Observation', id: 'karen-bp', status: 'final', code: { text: 'blood pressure' }, subject: R('Patient/karen') },
  { resourceType: 'RelatedPerson', id: 'karen-son', patient: R('Patient/karen'), name: [{ family: 'Karlsen' }] },
  consent('karen-proxy', 'karen', { actors: ['RelatedPerson/karen-son'] }),
];
const users = [
  { username: 'er-doc', kind: 'practitioner', role: 'pr-er' },
  { username: 'er-clerk', kind: 'practitioner', role: 'pr-er-clerk' },
  { username: 'coord', kind: 'practitioner', role: 'pr-coord' },
  { username: 'karen', kind: 'citizen', patient: 'karen' },
  { username: 'karen-son', kind: 'relative', relatedPerson: 'karen-son' },
  { username: 'adm', kind: 'admin' },
];
const clients = [{ name: 'reader', scope: 'system/*.read' }];

const params = (...p) => ({ resourceType: 'Parameters', parameter: p });
const reason = (text) => ({ name: 'reason', valueString: text });
const part = (row, name) => (row.part || row.parameter).find((p) => p.name === name);

let w;
let opened; // the answer of the successful break-the-glass
before(async () => {
  w = await startWorld({ users, clients, resources, prefix: 'samverka-btg-', serverArgs: ['--test-endpoints', 'on'] });
  assert.deepEqual(w.failures, []);
});
after(async () => { if (w) { await w.srv.fetch('/admin/clock', { method: 'POST', json: { now: null } }); await w.stop(); } });

const get = async (who, path) => checkBody(await w.as(who).get(path));
const post = async (who, path, body) => checkBody(await w.as(who).post(path, body));

test('break-the-glass: refused without a reason, to non-practitioners and beyond btg_hours', async () => {
  assertOutcome(await post('er-doc', '/fhir/Patient/karen/$break-the-glass', params()), 400, { expression: 'Parameters.parameter' });
  assertOutcome(await post('er-doc', '/fhir/Patient/karen/$break-the-glass', params(reason('  '))), 400, { expression: 'Parameters.parameter[0].valueString' });
  assertOutcome(await post('er-doc', '/fhir/Patient/karen/$break-the-glass', params(reason('x'), { name: 'period', valueInteger: 5 })), 400,
    { expression: 'Parameters.parameter[1].value' });
  for (const who of ['karen', 'karen-son', 'adm', 'reader']) {
    assertOutcome(await post(who, '/fhir/Patient/karen/$break-the-glass', params(reason('curious'))), 403);
  }
  // a role without a samverka role code allows no category: nothing to open
  assertOutcome(await post('er-clerk', '/fhir/Patient/karen/$break-the-glass', params(reason('x'))), 403);
  assertOutcome(await post('er-doc', '/fhir/Patient/nobody/$break-the-glass', params(reason('x'))), 404);
  // none of these opened anything
  assert.equal((await get('er-doc', '/fhir/Observation/karen-bp')).status, 404);
});

test('break-the-glass: before 404, after 200 for the period, told to the citizen and the coordinator', async () => {
  assert.equal((await get('er-doc', '/fhir/Patient/karen')).status, 404);
  assert.equal((await get('er-doc', '/fhir/Observation/karen-bp')).status, 404);
  assert.equal((await get('er-doc', '/fhir/Observation?patient=karen&_total=accurate')).json.total, 0);

  const t0 = Date.now();
  const res = await post('er-doc', '/fhir/Patient/karen/$break-the-glass',
    params(reason('unconscious, no relatives reachable'), { name: 'period', valueInteger: 2 }));
  assert.equal(res.status, 200, res.text);
  opened = res.json;
  const start = Date.parse(part(opened, 'start').valueInstant);
  const end = Date.parse(part(opened, 'end').valueInstant);
  assert.ok(start >= t0 - 1000 && start <= Date.now() + 1000);
  assert.equal(end - start, 2 * HOUR);
  assert.deepEqual(opened.parameter.filter((p) => p.name === 'category').map((p) => p.valueCode).sort(),
    ['clinical', 'coordination', 'medication', 'sensitive']); // what a physician's role allows

  assert.equal((await get('er-doc', '/fhir/Patient/karen')).status, 200);
  assert.equal((await get('er-doc', '/fhir/Observation/karen-bp')).status, 200);
  assert.equal((await get('er-doc', '/fhir/Observation?patient=karen&_total=accurate')).json.total, 1);
  // only Karen: the other citizen stays invisible
  assert.equal((await get('er-doc', '/fhir/Patient/other')).status, 404);

  // the Communication, to Karen and her coordinator
  const commRef = part(opened, 'communication').valueReference.reference;
  const comm = await get('loader', `/fhir/${commRef}`);
  assert.equal(comm.status, 200);
  assert.deepEqual(comm.json.category[0].coding[0], { system: `${SYS}CodeSystem/communication-category`, code: 'break-the-glass', display: 'Break-the-glass access' });
  assert.deepEqual(comm.json.recipient.map((r) => r.reference).sort(), ['Patient/karen', 'PractitionerRole/pr-coord']);
  assert.match(comm.json.payload[0].contentString, /er-doc.*unconscious, no relatives reachable/);
  // Karen sees it in her own compartment
  const mine = await get('karen', '/fhir/Communication?subject=Patient/karen');
  assert.ok(mine.json.entry.some((e) => `Communication/${e.resource.id}` === commRef));
  // and the coordinator gets a notice
  const inbox = await w.as('coord').get('/notifications?recipient=PractitionerRole/pr-coord');
  assert.equal(inbox.status, 200);
  assert.ok(inbox.json.notifications.some((n) => n.kind === 'break-the-glass' && n.focus?.reference === commRef), inbox.text);
});

test('AuditEvent: admins see all, the citizen her own, the relative with a proxy grant hers; practitioners and clients 403', async () => {
  assert.ok(opened, 'runs after break-the-glass');
  for (const who of ['er-doc', 'coord', 'reader']) {
    assertOutcome(await get(who, '/fhir/AuditEvent?patient=karen'), 403);
    assertOutcome(await get(who, '/fhir/Patient/karen/$access-log'), 403);
  }
  assertOutcome(await get('karen', '/fhir/AuditEvent?patient=other'), 403);
  assertOutcome(await get('karen-son', '/fhir/AuditEvent?patient=other'), 403);
  assertOutcome(await get('karen', '/fhir/Patient/other/$access-log'), 403);
  assertOutcome(await w.as('adm').post('/fhir/AuditEvent', { resourceType: 'AuditEvent' }), 405);

  const mine = await get('karen', '/fhir/AuditEvent');
  assert.equal(mine.status, 200);
  assert.equal(mine.json.type, 'searchset');
  assert.ok(mine.json.total >= 1);
  for (const e of mine.json.entry) {
    assert.ok(e.resource.entity.some((x) => x.what?.reference === 'Patient/karen'), JSON.stringify(e.resource));
  }
  const btg = mine.json.entry.map((e) => e.resource).find((r) => r.subtype.some((s) => s.code === 'break-the-glass'));
  assert.ok(btg, 'the break-the-glass record');
  assert.equal(btg.purposeOfEvent[0].coding[0].code, 'ETREAT');
  assert.equal(btg.purposeOfEvent[0].text, 'unconscious, no relatives reachable');
  assert.equal(btg.agent[0].who.identifier.value, 'er-doc');
  assert.equal(btg.agent[1].who.reference, 'Organization/er');
  // newest first
  const times = mine.json.entry.map((e) => Date.parse(e.resource.recorded));
  assert.deepEqual(times, [...times].sort((a, b) => b - a));

  // Read records are still being appended (a queue, docs/audit.md): compare
  // records, not totals taken at different moments.
  const son = await get('karen-son', '/fhir/AuditEvent');
  assert.equal(son.status, 200);
  assert.ok(son.json.entry.some((e) => e.resource.id === btg.id));
  assert.ok(son.json.entry.every((e) => e.resource.entity.some((x) => x.what?.reference === 'Patient/karen')));

  const all = await get('adm', '/fhir/AuditEvent');
  assert.ok(all.json.total > mine.json.total, 'admins see records about others too (logins, the loader)');
  const one = await get('adm', `/fhir/AuditEvent/${btg.id}`);
  assert.equal(one.status, 200);
  assert.deepEqual(one.json, btg);
  assert.equal((await get('karen', `/fhir/AuditEvent/${btg.id}`)).status, 200);
  const login = all.json.entry.find((e) => e.resource.subtype[0].code === 'login');
  if (login) assert.equal((await get('karen', `/fhir/AuditEvent/${login.resource.id}`)).status, 404);

  // paging: one at a time, newest first, none twice, every record of the first look
  const seen = [];
  let next = '/fhir/AuditEvent?patient=karen&_count=1';
  for (let i = 0; i < 500 && next; i++) {
    const page = await get('karen', next);
    assert.equal(page.status, 200);
    assert.ok((page.json.entry || []).length <= 1);
    seen.push(...(page.json.entry || []).map((e) => [Date.parse(e.resource.recorded), Number(e.resource.id)]));
    const link = page.json.link.find((l) => l.relation === 'next');
    next = link ? link.url.slice(link.url.indexOf('/fhir/')) : null;
  }
  assert.equal(next, null, 'the pages end');
  for (let i = 1; i < seen.length; i++) {
    assert.ok(seen[i][0] < seen[i - 1][0] || (seen[i][0] === seen[i - 1][0] && seen[i][1] < seen[i - 1][1]), `order at ${i}`);
  }
  const ids = new Set(seen.map(([, id]) => String(id)));
  for (const e of mine.json.entry) assert.ok(ids.has(e.resource.id), `record ${e.resource.id} paged`);

  // date
  assert.equal((await get('karen', '/fhir/AuditEvent?date=lt2000-01-01')).json.total, 0);
  const recent = await get('karen', `/fhir/AuditEvent?date=ge${new Date(Date.now() - HOUR).toISOString()}&_count=500`);
  assert.ok(recent.json.entry.some((e) => e.resource.id === btg.id));
  assertOutcome(await get('karen', '/fhir/AuditEvent?date=sa2020'), 400, { expression: 'date' });
});

test('$access-log: who looked at my data, break-the-glass flagged, without my own accesses', async () => {
  // a write of Karen's own, which must not be listed
  const own = await post('karen', '/fhir/Communication', {
    resourceType: 'Communication', status: 'completed', subject: R('Patient/karen'), payload: [{ contentString: 'thanks' }],
  });
  assert.equal(own.status, 201, own.text);
  const log = await get('karen', '/fhir/Patient/karen/$access-log');
  assert.equal(log.status, 200);
  assert.equal(log.json.resourceType, 'Parameters');
  const rows = log.json.parameter.filter((p) => p.name === 'access');
  assert.ok(rows.length >= 1);
  assert.ok(rows.every((r) => part(r, 'kind').valueCode !== 'citizen'), 'no row of the citizen herself');
  const btg = rows.find((r) => part(r, 'action').valueCode === 'break-the-glass');
  assert.ok(btg);
  assert.equal(part(btg, 'who').valueString, 'er-doc');
  assert.equal(part(btg, 'organisation').valueReference.reference, 'Organization/er');
  assert.equal(part(btg, 'role').valueCoding.code, 'physician');
  assert.equal(part(btg, 'breakTheGlass').valueBoolean, true);
  assert.equal(part(btg, 'purpose').valueCoding.code, 'ETREAT');
  assert.equal(part(btg, 'reason').valueString, 'unconscious, no relatives reachable');
  const son = await get('karen-son', '/fhir/Patient/karen/$access-log');
  assert.equal(son.status, 200);
});

test('after the grant ends (test clock) the citizen is invisible again; reads under it were ETREAT', async () => {
  assert.ok(opened, 'runs after break-the-glass');
  const end = Date.parse(part(opened, 'end').valueInstant);
  let res = await w.srv.fetch('/admin/clock', { method: 'POST', json: { now: new Date(end - 60 * 1000).toISOString() } });
  assert.equal(res.status, 200);
  assert.ok(await w.login('er-doc')); // the moved clock ended the session
  assert.equal((await get('er-doc', '/fhir/Observation/karen-bp')).status, 200); // a minute left
  res = await w.srv.fetch('/admin/clock', { method: 'POST', json: { now: new Date(end).toISOString() } });
  assert.equal(res.status, 200);
  assert.equal((await get('er-doc', '/fhir/Observation/karen-bp')).status, 404);
  assert.equal((await get('er-doc', '/fhir/Patient/karen')).status, 404);
  assert.equal((await get('er-doc', '/fhir/Observation?patient=karen&_total=accurate')).json.total, 0);
});

test('the audit table: break-the-glass with its reason, ETREAT only while the grant lived; the chain verifies', async () => {
  await w.srv.fetch('/admin/clock', { method: 'POST', json: { now: null } });
  const srv = w.srv;
  w = null;
  assert.deepEqual(await srv.stop(), { code: 0, signal: null }); // SIGTERM flushes the queued read records
  const dbPath = srv.dbPath;
  after(() => srv.cleanup());
  const sql = (q) => sqlRows(dbPath, q);
  const btg = sql("SELECT principal_id, organisation, role, citizen, purpose, reason, outcome FROM audit WHERE action = 'break-the-glass' AND outcome = 200");
  assert.deepEqual(btg, [{ principal_id: 'er-doc', organisation: 'Organization/er', role: 'physician', citizen: 'karen', purpose: 'ETREAT', reason: 'unconscious, no relatives reachable', outcome: 200 }]);
  const refused = sql("SELECT COUNT(*) AS n FROM audit WHERE action = 'break-the-glass' AND outcome >= 400")[0].n;
  assert.ok(refused >= 8, `refused attempts are recorded too (${refused})`);
  const reads = sql("SELECT outcome, purpose FROM audit WHERE principal_id = 'er-doc' AND action = 'read' AND resource_type = 'Observation' ORDER BY seq");
  // 404 before (twice), 200 twice under the grant, 404 after it ended
  assert.deepEqual(reads.map((r) => `${r.outcome} ${r.purpose}`), ['404 TREAT', '404 TREAT', '200 ETREAT', '200 ETREAT', '404 TREAT']);
  const verify = execFileSync(BIN, ['audit', 'verify', '--db', dbPath], { encoding: 'utf8' });
  assert.match(verify, /chain ok/);
});
