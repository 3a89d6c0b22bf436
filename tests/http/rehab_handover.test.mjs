// rehab_handover.test.mjs - the rehabilitation plan hand-over (issue 6, docs/medication.md
// "Rehabilitation plans") over HTTP with the test clock: a plan (CarePlan, category
// rehabilitation) sent at discharge is routed by its type and the citizen's address
// municipality code to that municipality's unit - the address wins over a registered
// municipality elsewhere - accepted there, its 7-day start deadline (Sundhedsloven §140)
// reminded, overdue and escalated, and the start reported on time or late.  A plan whose
// citizen's municipality is unknown is refused with the path.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';

const SYS = 'http://samverka.org/fhir/';
const CODE = `${SYS}CodeSystem/task-code|rehabilitation-start`;
const BUSINESS = `${SYS}CodeSystem/task-business-status`;
let srv;

before(async () => {
  srv = await startServer({ args: ['--test-endpoints', 'on'] });
});
after(async () => { await srv.stop(); srv.cleanup(); });

const put = async (r) => {
  const res = await srv.fetch(`/fhir/${r.resourceType}/${r.id}`, { method: 'PUT', json: r });
  assert.ok(res.status === 200 || res.status === 201, `${r.resourceType}/${r.id}: ${res.text}`);
  return res.json;
};
const clock = async (now) => {
  const res = await srv.fetch('/admin/clock', { method: 'POST', json: { now }, headers: { 'Content-Type': 'application/json' } });
  assert.equal(res.status, 200, res.text);
};
const tick = async () => (await srv.fetch('/admin/watchdog/tick', { method: 'POST' })).json;
const kinds = async (q) => (await srv.fetch(`/notifications?${q}&_count=500`)).json.notifications.map((n) => n.kind);
async function rehabTask(plan) {
  const res = await srv.fetch(`/fhir/Task?code=${encodeURIComponent(CODE)}&focus=CarePlan/${plan}`);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.entry?.length ?? 0, 1, `one rehabilitation-start task for ${plan}`);
  return res.json.entry[0].resource;
}
const orgType = (code) => [{ coding: [{ system: `${SYS}CodeSystem/organization-type`, code }] }];
const plan = (id, patient, type, encounter) => ({
  resourceType: 'CarePlan', id, status: 'active', intent: 'plan',
  category: [{ coding: [
    { system: `${SYS}CodeSystem/careplan-category`, code: 'rehabilitation' },
    ...(type ? [{ system: `${SYS}CodeSystem/rehabilitation-type`, code: type }] : []),
  ] }],
  subject: { reference: `Patient/${patient}` },
  ...(encounter ? { encounter: { reference: `Encounter/${encounter}` } } : {}),
});

test('a rehabilitation plan sent at discharge: routed, accepted, deadline tracked, reported', async () => {
  await clock('2026-02-02T08:00:00Z');
  await put({ resourceType: 'Organization', id: 'rh-hospital', name: 'Regionshospitalet Viborg',
    identifier: [{ system: 'urn:oid:1.2.208.176.1.1', value: '265161000016000' }] });
  // two municipalities: the citizen lives in Morsø (address), is registered in Skive
  await put({ resourceType: 'Organization', id: 'rh-morso', name: 'Morsø Kommune',
    identifier: [{ system: `${SYS}sid/dk-municipality-code`, value: '773' }] });
  await put({ resourceType: 'Organization', id: 'rh-skive', name: 'Skive Kommune',
    identifier: [{ system: `${SYS}sid/dk-municipality-code`, value: '779' }] });
  await put({ resourceType: 'Organization', id: 'rh-morso-training', name: 'Morsø Træningscenter',
    partOf: { reference: 'Organization/rh-morso' }, type: orgType('rehabilitation-general') });
  await put({ resourceType: 'Organization', id: 'rh-morso-special', name: 'Morsø specialiseret genoptræning',
    partOf: { reference: 'Organization/rh-morso' }, type: orgType('rehabilitation-specialised') });
  await put({ resourceType: 'Organization', id: 'rh-skive-training', name: 'Skive Træning',
    partOf: { reference: 'Organization/rh-skive' }, type: orgType('rehabilitation-general') });
  await put({ resourceType: 'PractitionerRole', id: 'rh-training-lead',
    organization: { reference: 'Organization/rh-morso-training' },
    code: [{ coding: [{ system: `${SYS}CodeSystem/staff-role`, code: 'lead' }] }] });
  await put({ resourceType: 'Patient', id: 'rh-karen', name: [{ family: 'Møller', given: ['Karen'] }],
    managingOrganization: { reference: 'Organization/rh-skive' },
    address: [{ use: 'home', line: ['Havnegade 1'], city: 'Nykøbing Mors', postalCode: '7900',
      extension: [{ url: `${SYS}StructureDefinition/municipality-code`, valueCode: '773' }] }] });
  await put({ resourceType: 'Encounter', id: 'rh-stay', status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
    subject: { reference: 'Patient/rh-karen' }, serviceProvider: { reference: 'Organization/rh-hospital' },
    period: { start: '2026-01-28T09:00:00+01:00', end: '2026-02-03T11:00:00+01:00' } });

  // general rehabilitation: to the municipality of the address, its general unit;
  // from discharge (Tuesday 3 February) 7 calendar days: the end of Tuesday 10 February
  await put(plan('rh-plan', 'rh-karen', 'general', 'rh-stay'));
  let task = await rehabTask('rh-plan');
  assert.equal(task.owner.reference, 'Organization/rh-morso-training');
  assert.equal(task.for.reference, 'Patient/rh-karen');
  assert.equal(task.status, 'requested');
  assert.equal(task.authoredOn, '2026-02-03T10:00:00.000Z'); // discharge
  assert.equal(task.restriction.period.end, '2026-02-10T23:59:59.999+01:00');
  assert.ok((await kinds('organization=Organization/rh-morso-training')).includes('task-new'));
  assert.ok(!(await kinds('organization=Organization/rh-skive-training')).includes('task-new'));

  // specialised rehabilitation with a later start the plan names: its own unit, from that start
  const special = plan('rh-plan-special', 'rh-karen', 'specialised', 'rh-stay');
  special.period = { start: '2026-02-09T08:00:00+01:00' };
  await put(special);
  const specialTask = await rehabTask('rh-plan-special');
  assert.equal(specialTask.owner.reference, 'Organization/rh-morso-special');
  assert.equal(specialTask.restriction.period.end, '2026-02-16T23:59:59.999+01:00');

  // a new version of the plan is not routed again
  await put({ ...plan('rh-plan', 'rh-karen', 'general', 'rh-stay'), note: [{ text: 'revised' }] });
  await rehabTask('rh-plan');

  // the unit accepts it
  task = await put({ ...task, status: 'accepted' });
  assert.equal(task.status, 'accepted');

  // a day before the deadline: reminded; after it: overdue, escalated to the unit's lead
  await clock('2026-02-09T23:30:00Z');
  assert.ok((await tick()).reminders >= 1);
  await clock('2026-02-10T23:30:00Z');
  const t = await tick();
  assert.ok(t.overdue >= 1, JSON.stringify(t));
  task = await rehabTask('rh-plan');
  assert.equal(task.businessStatus.coding[0].code, 'overdue');
  assert.ok((await kinds('recipient=PractitionerRole/rh-training-lead')).includes('task-escalated'));

  // started late (Wednesday 11 February), the specialised one on time: both reported
  await clock('2026-02-11T09:00:00Z');
  task = await put({ ...task, status: 'in-progress' });
  assert.deepEqual(task.businessStatus.coding.map((c) => c.code), ['started-late']);
  assert.equal(task.executionPeriod.start, '2026-02-11T09:00:00.000Z');
  const accepted = await put({ ...(await rehabTask('rh-plan-special')), status: 'accepted' });
  await put({ ...accepted, status: 'in-progress' });
  const late = await srv.fetch(`/fhir/Task?code=${encodeURIComponent(CODE)}&business-status=${encodeURIComponent(`${BUSINESS}|started-late`)}`);
  assert.deepEqual(late.json.entry.map((e) => e.resource.focus.reference), ['CarePlan/rh-plan']);
  const onTime = await srv.fetch(`/fhir/Task?code=${encodeURIComponent(CODE)}&business-status=${encodeURIComponent(`${BUSINESS}|started-on-time`)}`);
  assert.deepEqual(onTime.json.entry.map((e) => e.resource.focus.reference), ['CarePlan/rh-plan-special']);
  // started: nothing more is due, so no further escalation
  await clock('2026-02-20T10:00:00Z');
  assert.equal((await tick()).overdue, 0);
});

test('a rehabilitation plan without a known municipality is refused, not kept unrouted', async () => {
  await put({ resourceType: 'Patient', id: 'rh-nobody', name: [{ family: 'Uden', given: ['Adresse'] }] });
  const res = await srv.fetch('/fhir/CarePlan/rh-plan-lost', { method: 'PUT', json: plan('rh-plan-lost', 'rh-nobody') });
  assert.equal(res.status, 422, res.text);
  assert.deepEqual(res.json.issue[0].expression, ['CarePlan.subject']);
  assert.equal((await srv.fetch('/fhir/CarePlan/rh-plan-lost')).status, 404);
  // an unknown rehabilitation type names the category
  await put({ resourceType: 'Patient', id: 'rh-other', managingOrganization: { reference: 'Organization/rh-skive' } });
  const bad = await srv.fetch('/fhir/CarePlan/rh-plan-bad', { method: 'PUT', json: plan('rh-plan-bad', 'rh-other', 'swimming') });
  assert.equal(bad.status, 422, bad.text);
  assert.deepEqual(bad.json.issue[0].expression, ['CarePlan.category']);
  // registered municipality only: routed there
  await put(plan('rh-plan-reg', 'rh-other'));
  assert.equal((await rehabTask('rh-plan-reg')).owner.reference, 'Organization/rh-skive-training');
});
