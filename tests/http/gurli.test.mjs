// gurli.test.mjs - the Gurli story (seed 001; issue 6, must-show 2), with the
// access policy on and three people logged in: the hospital physician, the
// nursing home's nurse and the hospital's coordinator (forløbskoordinator).
//
// Gurli is discharged to a nursing home with a new diuretic.  The physician
// submits the medication changes as one hand-over; each change is a
// reconciliation item on the nursing home's worklist and an alert (Flag) on
// Gurli; the coordinator is told.  The nurse confirms the dose change but not
// the diuretic (in the seed it was taken for an error).  At the deadline the
// watchdog marks it overdue and escalates to the coordinator and the home's
// lead; the alert says so.  The nurse confirms: the alert is gone, and the
// Task's history and a Provenance say who confirmed what and when.  A dispute
// needs a comment and goes back to the hospital.  Expectations come from
// docs/medication.md.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorld, ref as R } from './lib/access_fixture.mjs';
import { ROLE_SYSTEM } from './lib/access_oracle.mjs';

const SYS = 'http://samverka.org/fhir/';
const HOSP = 'Organization/g-hosp';
const HOME = 'Organization/g-home';
const role = (code) => [{ coding: [{ system: ROLE_SYSTEM, code }] }];
const RECON = `${SYS}CodeSystem/task-code|medication-reconciliation`;

const resources = [
  { resourceType: 'Organization', id: 'g-hosp', name: 'Regionshospitalet, lungemedicinsk afdeling' },
  { resourceType: 'Organization', id: 'g-home', name: 'Plejecenter Solbakken' },
  { resourceType: 'Organization', id: 'g-muni', name: 'Gurli\'s home municipality' },
  { resourceType: 'Practitioner', id: 'g-doc', name: [{ family: 'Lund', given: ['Mette'] }] },
  { resourceType: 'Practitioner', id: 'g-nurse', name: [{ family: 'Berg', given: ['Kim'] }] },
  { resourceType: 'Practitioner', id: 'g-coord', name: [{ family: 'Albæk', given: ['Jens'] }] },
  { resourceType: 'PractitionerRole', id: 'pr-doc', active: true, practitioner: R('Practitioner/g-doc'), organization: R(HOSP), code: role('physician') },
  { resourceType: 'PractitionerRole', id: 'pr-nurse', active: true, practitioner: R('Practitioner/g-nurse'), organization: R(HOME), code: role('nurse') },
  { resourceType: 'PractitionerRole', id: 'pr-coord', active: true, practitioner: R('Practitioner/g-coord'), organization: R(HOSP), code: role('coordinator') },
  { resourceType: 'PractitionerRole', id: 'pr-lead', active: true, organization: R(HOME),
    code: [...role('nurse'), { coding: [{ system: `${SYS}CodeSystem/staff-role`, code: 'lead' }] }] },
  { resourceType: 'Patient', id: 'gurli', name: [{ family: 'Hansen', given: ['Gurli'] }], managingOrganization: R('Organization/g-muni') },
  { resourceType: 'Encounter', id: 'g-stay', status: 'in-progress',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' }, subject: R('Patient/gurli'), serviceProvider: R(HOSP) },
  { resourceType: 'CareTeam', id: 'g-team', status: 'active', subject: R('Patient/gurli'),
    category: [{ coding: [{ system: `${SYS}CodeSystem/care-team-category`, code: 'coordination' }] }],
    participant: [
      { member: R('PractitionerRole/pr-coord'), role: [{ coding: [{ system: `${SYS}CodeSystem/care-team-role`, code: 'coordinator' }] }] },
      { member: R(HOME) }] },
  { resourceType: 'MedicationStatement', id: 'g-inhaler', status: 'active', subject: R('Patient/gurli'),
    medicationCodeableConcept: { text: 'Spiriva 2.5 mikrogram' }, dosage: [{ text: '2 pust morgen' }] },
];
const users = [
  { username: 'doc', kind: 'practitioner', role: 'pr-doc' },
  { username: 'nurse', kind: 'practitioner', role: 'pr-nurse' },
  { username: 'coord', kind: 'practitioner', role: 'pr-coord' },
];

let w;
const clock = (now) => w.srv.fetch('/admin/clock', { method: 'POST', json: { now }, headers: { 'Content-Type': 'application/json' } });
const tick = async () => (await w.srv.fetch('/admin/watchdog/tick', { method: 'POST' })).json;
const P = (...parameter) => ({ resourceType: 'Parameters', parameter });
const part = (p, name) => p.part.find((x) => x.name === name);
// Flag has no status search parameter in R4: the citizen's flags, by status.
const flags = async (who, status) => {
  const res = await w.as(who).get('/fhir/Flag?subject=Patient/gurli');
  assert.equal(res.status, 200, res.text);
  return (res.json.entry || []).map((e) => e.resource).filter((f) => f.status === status);
};

before(async () => {
  w = await startWorld({ users, resources, prefix: 'samverka-gurli-', serverArgs: ['--watchdog', '0', '--test-endpoints', 'on'] });
  assert.deepEqual(w.failures, []);
});
after(async () => { if (w) await w.stop(); });

test('the Gurli story: hand-over, worklist and alert, overdue and escalated, confirmed, history', async () => {
  await clock('2026-03-10T08:00:00Z'); // Tuesday 09:00 in Denmark
  // 1. the physician submits the discharge's medication changes as one set
  let res = await w.as('doc').post('/fhir/Patient/gurli/$medication-handover', P(
    { name: 'receiver', valueReference: R(HOME) },
    { name: 'encounter', valueReference: R('Encounter/g-stay') },
    { name: 'change', part: [
      { name: 'type', valueCode: 'started' },
      { name: 'statement', resource: { resourceType: 'MedicationStatement', status: 'active', subject: R('Patient/gurli'),
        medicationCodeableConcept: { text: 'Furosemid 40 mg (vanddrivende)' }, dosage: [{ text: '1 tablet morgen' }] } },
      { name: 'note', valueString: 'Ny: vanddrivende mod væske i lungerne' }] },
    { name: 'change', part: [
      { name: 'type', valueCode: 'dose-changed' },
      { name: 'target', valueReference: R('MedicationStatement/g-inhaler') },
      { name: 'dosage', valueDosage: { text: '2 pust morgen og aften' } }] }));
  assert.equal(res.status, 200, res.text);
  const items = res.json.parameter.filter((p) => p.name === 'item');
  assert.equal(items.length, 2);
  const diureticTask = part(items[0], 'task').valueReference.reference;
  const doseTask = part(items[1], 'task').valueReference.reference;
  const diuretic = part(items[0], 'statement').valueReference.reference;

  // the diuretic is on Gurli's medication list, for the nurse to see
  res = await w.as('nurse').get(`/fhir/MedicationStatement?subject=Patient/gurli&status=active`);
  assert.equal(res.status, 200);
  assert.ok(res.json.entry.some((e) => `MedicationStatement/${e.resource.id}` === diuretic));

  // 2. the nursing home's worklist: two items, with a deadline from the rule (4 hours)
  res = await w.as('nurse').get(`/fhir/Task?owner=${HOME}&code=${encodeURIComponent(RECON)}&status=requested`);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.entry.length, 2);
  const task = res.json.entry.find((e) => `Task/${e.resource.id}` === diureticTask).resource;
  assert.equal(task.focus.reference, diuretic);
  assert.equal(task.for.reference, 'Patient/gurli');
  assert.equal(task.requester.reference, HOSP);
  assert.equal(task.restriction.period.end, '2026-03-10T13:00:00.000+01:00');
  assert.ok(!/Furosemid/i.test(JSON.stringify(task)), 'the item names no medicine (it is coordination data)');

  // alerts on Gurli, one per unconfirmed change
  assert.equal((await flags('coord', 'active')).length, 2);
  assert.equal((await flags('nurse', 'active')).length, 2);
  // the coordinator was told, and the nursing home's inbox has the new items
  res = await w.as('coord').get('/notifications?recipient=PractitionerRole/pr-coord');
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.notifications.filter((n) => n.kind === 'medication-change').length, 2);
  res = await w.as('nurse').get(`/notifications?organization=${HOME}`);
  assert.equal(res.json.notifications.filter((n) => n.kind === 'task-new').length, 2);

  // 3. the nurse confirms the dose change; the diuretic is left (taken for an error)
  res = await w.as('nurse').post(`/fhir/${doseTask}/$confirm`, P({ name: 'comment', valueString: 'Indtastet i PEM' }));
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.status, 'completed');
  // another organisation cannot confirm for the nursing home
  res = await w.as('doc').post(`/fhir/${diureticTask}/$confirm`, P());
  assert.equal(res.status, 403, res.text);

  // 4. before the deadline nothing happens; at it: overdue, escalated, the alert says so
  await clock('2026-03-10T11:59:00Z');
  assert.equal((await tick()).overdue, 0);
  await clock('2026-03-10T12:00:00Z');
  const t = await tick();
  assert.equal(t.overdue, 1, JSON.stringify(t));
  assert.ok(t.escalations >= 2, 'the coordinator and the lead');
  res = await w.as('nurse').get(`/fhir/${diureticTask}`);
  assert.equal(res.json.businessStatus.coding[0].code, 'overdue');
  let active = await flags('coord', 'active');
  assert.equal(active.length, 1);
  assert.match(active[0].code.text, /escalated/);
  assert.equal(active[0].extension[0].valueReference.reference, diureticTask);
  res = await w.as('coord').get('/notifications?recipient=PractitionerRole/pr-coord');
  assert.ok(res.json.notifications.some((n) => n.kind === 'task-escalated' && n.focus.reference === diureticTask));
  // the lead's notice, as it lands in the organisation's inbox (a personal inbox is its owner's)
  res = await w.as('nurse').get(`/notifications?recipient=PractitionerRole/pr-lead&organization=${HOME}`);
  assert.ok(res.json.notifications.some((n) => n.kind === 'task-escalated'));

  // 5. the coordinator calls; the nurse enters it and confirms: the alert is gone
  await clock('2026-03-10T12:30:00Z');
  res = await w.as('nurse').post(`/fhir/${diureticTask}/$confirm`, P({ name: 'comment', valueString: 'Furosemid indtastet i PEM efter opkald' }));
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.businessStatus.coding[0].code, 'confirmed');
  assert.equal((await flags('coord', 'active')).length, 0);
  assert.equal((await tick()).jobs, 0, 'nothing more is due');

  // 6. the full history: requested -> overdue -> completed, and who confirmed when
  res = await w.as('coord').get(`/fhir/${diureticTask}/_history`);
  const versions = res.json.entry.map((e) => e.resource).reverse();
  assert.deepEqual(versions.map((v) => v.status), ['requested', 'requested', 'completed']);
  assert.equal(versions[1].businessStatus.coding[0].code, 'overdue');
  const last = versions[2].note.at(-1);
  assert.equal(last.authorReference.reference, 'Practitioner/g-nurse');
  assert.equal(last.time, '2026-03-10T12:30:00.000Z');
  res = await w.as('coord').get(`/fhir/Provenance?target=${diureticTask}/_history/3`);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.entry.length, 1);
  const prov = res.json.entry[0].resource;
  assert.equal(prov.activity.coding[0].code, 'medication-confirmed');
  assert.equal(prov.agent[0].who.reference, 'PractitionerRole/pr-nurse');
  assert.equal(prov.agent[0].onBehalfOf.reference, HOME);
  assert.equal(prov.recorded, '2026-03-10T12:30:00.000Z');
  assert.ok(prov.target.some((x) => x.reference === diuretic));
  const inactive = await flags('coord', 'inactive');
  assert.equal(inactive.length, 2);
  assert.ok(inactive.every((f) => f.period.end));
});

test('a dispute needs a comment, goes back to the hospital and keeps the alert', async () => {
  await clock('2026-03-11T08:00:00Z');
  let res = await w.as('doc').post('/fhir/Patient/gurli/$medication-handover', P(
    { name: 'receiver', valueReference: R(HOME) },
    { name: 'change', part: [{ name: 'type', valueCode: 'stopped' }, { name: 'target', valueReference: R('MedicationStatement/g-inhaler') }] }));
  assert.equal(res.status, 200, res.text);
  const taskRef = part(res.json.parameter[0], 'task').valueReference.reference;
  res = await w.as('nurse').get('/fhir/MedicationStatement/g-inhaler');
  assert.equal(res.json.status, 'stopped');
  res = await w.as('nurse').post(`/fhir/${taskRef}/$dispute`, P());
  assert.equal(res.status, 400);
  assert.deepEqual(res.json.issue[0].expression, ['comment']);
  res = await w.as('nurse').post(`/fhir/${taskRef}/$dispute`, P({ name: 'comment', valueString: 'Lægen har ikke talt med os; vi fortsætter indtil afklaret' }));
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.status, 'rejected');
  assert.equal(res.json.statusReason.text, 'Lægen har ikke talt med os; vi fortsætter indtil afklaret');
  res = await w.as('doc').get(`/notifications?organization=${HOSP}`);
  assert.ok(res.json.notifications.some((n) => n.kind === 'medication-disputed' && n.focus.reference === taskRef));
  const active = await flags('coord', 'active');
  assert.equal(active.length, 1);
  assert.match(active[0].code.text, /disputed/);
});

test('a hand-over is one set: a bad change leaves nothing written', async () => {
  const before = (await w.as('nurse').get(`/fhir/Task?owner=${HOME}&_summary=count`)).json.total;
  const res = await w.as('doc').post('/fhir/Patient/gurli/$medication-handover', P(
    { name: 'receiver', valueReference: R(HOME) },
    { name: 'change', part: [{ name: 'type', valueCode: 'started' },
      { name: 'statement', resource: { resourceType: 'MedicationStatement', status: 'active', subject: R('Patient/gurli'), medicationCodeableConcept: { text: 'x' } } }] },
    { name: 'change', part: [{ name: 'type', valueCode: 'stopped' }, { name: 'target', valueReference: R('MedicationStatement/nonexistent') }] }));
  assert.equal(res.status, 422, res.text);
  assert.deepEqual(res.json.issue[0].expression, ['Parameters.parameter[2].part']);
  assert.equal((await w.as('nurse').get(`/fhir/Task?owner=${HOME}&_summary=count`)).json.total, before);
});
