// pathway.test.mjs - pathway programmes over HTTP (issue 5, must-show 5):
// `samverka demo` loads the five pathways of data/pathways and the municipal
// offers; PlanDefinition/$apply makes a pathway CarePlan and one Task per
// organisation activity with the owner by role and the deadline from the
// activity's rule; leaving out or changing an activity without a reason is
// refused and writes nothing; with a reason it is kept on the plan (and on a
// changed Task) and counted (search parameters and $deviations); offers are
// found by municipality and condition and linked from the plan.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, BIN, newDatabase } from './lib/server.mjs';

const SYS = 'http://samverka.org/fhir/';
const MS = `${SYS}PlanDefinition/ms-rehab-dk`;
let srv;

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'samverka-pathway-'));
  const db = newDatabase(dir);
  const out = execFileSync(BIN, ['demo', '--db', db], { encoding: 'utf8' });
  assert.match(out, /0 failed/);
  srv = await startServer({ dir, db, args: ['--watchdog', '0', '--test-endpoints', 'on'] });
  // Monday 2 March 2026, 09:00 in Copenhagen
  const res = await srv.fetch('/admin/clock', { method: 'POST', json: { now: '2026-03-02T08:00:00Z' }, headers: { 'Content-Type': 'application/json' } });
  assert.equal(res.status, 200);
});
// A clean exit is part of the test: under ASan a leak at shutdown fails it.
after(async () => {
  const exit = await srv.stop();
  srv.cleanup();
  assert.deepEqual(exit, { code: 0, signal: null }, srv.stderr().slice(-3000));
});

const role = (r, org) => ({ name: 'role', part: [{ name: 'role', valueCode: r }, { name: 'organization', valueReference: { reference: `Organization/${org}` } }] });
const deviation = (action, reason, more = []) => ({
  name: 'deviation',
  part: [{ name: 'action', valueCode: action }, ...(reason === undefined ? [] : [{ name: 'reason', valueString: reason }]), ...more],
});
const params = (...parameter) => ({ resourceType: 'Parameters', parameter });
const MS_ROLES = [role('hospital', 'dk-ms-ry'), role('municipality', 'dk-morso'), role('gp', 'dk-laegehuset-mors')];
const apply = (id, subject, body) => srv.fetch(`/fhir/PlanDefinition/${id}/$apply?subject=${subject}`, { method: 'POST', json: body });
const count = async (path) => {
  const res = await srv.fetch(`${path}${path.includes('?') ? '&' : '?'}_summary=count`);
  assert.equal(res.status, 200, res.text);
  return res.json.total;
};
const tasksOf = async (planId) => {
  const res = await srv.fetch(`/fhir/Task?based-on=CarePlan/${planId}&_count=100`);
  assert.equal(res.status, 200, res.text);
  return (res.json.entry || []).map((e) => e.resource);
};
const deadline = (t) => t.restriction?.period?.end;
const ext = (r, url) => (r.extension || []).filter((e) => e.url === url);
const sub = (e, url) => e.extension.find((x) => x.url === url);

test('samverka demo loads the five pathways with their activities and the municipal offers', async () => {
  assert.equal(await count('/fhir/PlanDefinition?status=active'), 5);
  for (const id of ['ms-rehab-dk', 'copd-dk', 'stroke-dk', 'dementia-dk', 'child-habilitation-se']) {
    const res = await srv.fetch(`/fhir/PlanDefinition/${id}`);
    assert.equal(res.status, 200, id);
    for (const a of res.json.action) {
      const ad = await srv.fetch(`/fhir/ActivityDefinition?url=${encodeURIComponent(a.definitionCanonical)}`);
      assert.equal(ad.json.entry?.length, 1, `${id} ${a.id}: ${a.definitionCanonical}`);
    }
  }
  assert.ok(await count('/fhir/HealthcareService') >= 7);
});

test('$apply: a pathway plan and its tasks with owners by role and deadlines', async () => {
  const res = await apply('ms-rehab-dk', 'Patient/dk-hanne-ms', params(...MS_ROLES));
  assert.equal(res.status, 201, res.text);
  const plan = res.json;
  assert.equal(plan.resourceType, 'CarePlan');
  assert.equal(res.headers.get('location')?.includes(`CarePlan/${plan.id}`), true);
  assert.equal(plan.category[0].coding[0].code, 'pathway');
  assert.deepEqual(plan.instantiatesCanonical, [MS]);
  assert.equal(plan.subject.reference, 'Patient/dk-hanne-ms');
  assert.deepEqual(plan.contributor.map((c) => c.reference).sort(),
    ['Organization/dk-laegehuset-mors', 'Organization/dk-morso', 'Organization/dk-ms-ry']);
  assert.equal(ext(plan, `${SYS}StructureDefinition/pathway-deviation`).length, 0);
  // the citizen's own activities: no Task, a timing for reminders
  const own = plan.activity.filter((a) => a.detail);
  assert.deepEqual(own.map((a) => a.detail.performer[0].reference), ['Patient/dk-hanne-ms', 'Patient/dk-hanne-ms']);
  assert.ok(own.every((a) => a.detail.scheduledTiming.repeat.timeOfDay.length === 1));
  const tasks = await tasksOf(plan.id);
  assert.equal(tasks.length, 7);
  assert.deepEqual(plan.activity.filter((a) => a.reference).map((a) => a.reference.reference).sort(),
    tasks.map((t) => `Task/${t.id}`).sort());
  const byCanon = Object.fromEntries(tasks.map((t) => [t.instantiatesCanonical.split('/').pop(), t]));
  assert.equal(byCanon['ms-rehab-dk-coordinator'].owner.reference, 'Organization/dk-ms-ry');
  assert.equal(byCanon['ms-rehab-dk-gp-follow-up'].owner.reference, 'Organization/dk-laegehuset-mors');
  // Monday 09:00: one working day; three working days; 7 calendar days to the end of the day
  assert.equal(deadline(byCanon['ms-rehab-dk-coordinator']), '2026-03-03T09:00:00.000+01:00');
  assert.equal(deadline(byCanon['ms-rehab-dk-municipal-contact']), '2026-03-05T09:00:00.000+01:00');
  assert.equal(deadline(byCanon['ms-rehab-dk-municipal-rehab-start']), '2026-03-09T23:59:59.999+01:00');
  assert.ok(tasks.every((t) => t.status === 'requested' && t.for.reference === 'Patient/dk-hanne-ms' && t.basedOn[0].reference === `CarePlan/${plan.id}`));
  // the municipality's worklist, by deadline
  const wl = await srv.fetch(`/fhir/Task?owner=Organization/dk-morso&status=requested&based-on=CarePlan/${plan.id}&_sort=deadline`);
  assert.deepEqual(wl.json.entry.map((e) => e.resource.instantiatesCanonical.split('/').pop()),
    ['ms-rehab-dk-municipal-contact', 'ms-rehab-dk-municipal-rehab-start']);
  // the owners were told
  const inbox = await srv.fetch('/notifications?organization=Organization/dk-morso&_count=500');
  assert.ok(inbox.json.notifications.filter((n) => n.kind === 'task-new').length >= 2);
});

test('$apply: leaving out an activity without a reason is refused and writes nothing', async () => {
  const plans = await count('/fhir/CarePlan');
  const tasks = await count('/fhir/Task');
  let res = await apply('ms-rehab-dk', 'Patient/dk-hanne-ms', params(...MS_ROLES.slice(0, 2), deviation('gp-follow-up')));
  assert.equal(res.status, 422, res.text);
  assert.equal(res.json.resourceType, 'OperationOutcome');
  assert.deepEqual(res.json.issue[0].expression, ['Parameters.parameter[2]']);
  assert.match(res.json.issue[0].diagnostics, /needs a reason/);
  res = await apply('ms-rehab-dk', 'Patient/dk-hanne-ms', params(...MS_ROLES.slice(0, 2), deviation('gp-follow-up', '   ')));
  assert.equal(res.status, 422);
  // nor may an activity be left out silently: without a GP there is no owner
  res = await apply('ms-rehab-dk', 'Patient/dk-hanne-ms', params(...MS_ROLES.slice(0, 2)));
  assert.equal(res.status, 422);
  assert.match(res.json.issue[0].diagnostics, /role 'gp' of action 'gp-follow-up'/);
  // a changed activity needs a reason too
  res = await apply('ms-rehab-dk', 'Patient/dk-hanne-ms', params(...MS_ROLES, deviation('municipal-rehab-start', undefined, [{ name: 'amount', valueInteger: 14 }])));
  assert.equal(res.status, 422);
  assert.deepEqual(res.json.issue[0].expression, ['Parameters.parameter[3]']);
  assert.equal(await count('/fhir/CarePlan'), plans);
  assert.equal(await count('/fhir/Task'), tasks);
});

test('$apply: deviations with a reason are kept and counted', async () => {
  const omitReason = 'Hanne sees her neurologist, who follows up on medication';
  const changeReason = 'Hanne is on holiday the first week after discharge';
  const res = await apply('ms-rehab-dk', 'Patient/dk-hanne-ms', params(
    ...MS_ROLES.slice(0, 2),
    deviation('gp-follow-up', omitReason),
    deviation('municipal-rehab-start', changeReason, [{ name: 'amount', valueInteger: 14 }]),
  ));
  assert.equal(res.status, 201, res.text);
  const plan = res.json;
  const devs = ext(plan, `${SYS}StructureDefinition/pathway-deviation`);
  assert.deepEqual(devs.map((d) => [sub(d, 'action').valueCode, sub(d, 'change').valueCode, sub(d, 'reason').valueString]),
    [['municipal-rehab-start', 'changed', changeReason], ['gp-follow-up', 'omitted', omitReason]]); // in the pathway's order
  const tasks = await tasksOf(plan.id);
  assert.equal(tasks.length, 6);
  assert.ok(!tasks.some((t) => t.instantiatesCanonical.endsWith('gp-follow-up')));
  const changed = tasks.find((t) => t.instantiatesCanonical.endsWith('municipal-rehab-start'));
  assert.equal(deadline(changed), '2026-03-16T23:59:59.999+01:00');
  assert.equal(sub(ext(changed, `${SYS}StructureDefinition/pathway-deviation`)[0], 'reason').valueString, changeReason);
  // countable: by search parameter and by the report
  assert.equal(await count('/fhir/CarePlan?deviation=gp-follow-up'), 1);
  assert.equal(await count(`/fhir/CarePlan?pathway=${MS}&deviation=municipal-rehab-start`), 1);
  assert.equal(await count('/fhir/Task?deviation=municipal-rehab-start'), 1);
  assert.equal(await count(`/fhir/CarePlan?pathway=${MS}`), 2);
  const report = await srv.fetch('/fhir/PlanDefinition/ms-rehab-dk/$deviations');
  assert.equal(report.status, 200);
  assert.equal(report.json.plans, 2);
  const row = (id) => report.json.actions.find((a) => a.action === id);
  assert.deepEqual(row('gp-follow-up'), { action: 'gp-follow-up', title: 'GP follow-up after the stay', omitted: 1, changed: 0, reasons: [{ reason: omitReason, count: 1 }] });
  assert.equal(row('municipal-rehab-start').changed, 1);
  assert.equal(row('coordinator').omitted + row('coordinator').changed, 0);
});

test('$apply: parameter errors name the parameter', async () => {
  let res = await apply('ms-rehab-dk', 'Patient/dk-hanne-ms', params(...MS_ROLES, deviation('no-such-action', 'because')));
  assert.equal(res.status, 422);
  assert.deepEqual(res.json.issue[0].expression, ['Parameters.parameter[3]']);
  res = await apply('ms-rehab-dk', 'Patient/dk-hanne-ms', params(...MS_ROLES, { name: 'colour', valueString: 'blue' }));
  assert.equal(res.status, 400);
  assert.deepEqual(res.json.issue[0].expression, ['Parameters.parameter[3]']);
  res = await apply('ms-rehab-dk', 'Patient/dk-hanne-ms', params(role('hospital', 'no-such-org')));
  assert.equal(res.status, 422);
  res = await apply('no-such-pathway', 'Patient/dk-hanne-ms', params(...MS_ROLES));
  assert.equal(res.status, 404);
  assert.equal(res.json.resourceType, 'OperationOutcome');
  res = await apply('ms-rehab-dk', 'Patient/nobody', params(...MS_ROLES));
  assert.equal(res.status, 404);
  assert.deepEqual(res.json.issue[0].expression, ['subject']);
  res = await srv.fetch('/fhir/PlanDefinition/ms-rehab-dk/$apply', { method: 'POST', json: params(...MS_ROLES) });
  assert.equal(res.status, 400);
  res = await srv.fetch('/fhir/PlanDefinition/ms-rehab-dk/$apply?subject=Patient/dk-hanne-ms');
  assert.equal(res.status, 405);
});

test('municipal offers: found by municipality and condition, linked from the plan', async () => {
  const ids = async (q) => ((await srv.fetch(`/fhir/HealthcareService?${q}`)).json.entry || []).map((e) => e.resource.id).sort();
  const SCT = 'http://snomed.info/sct';
  assert.deepEqual(await ids(`coverage-area=Location/dk-area-morso&characteristic=${SCT}|24700007`),
    ['dk-morso-ms-netvaerk', 'dk-morso-ms-traening']);
  assert.deepEqual(await ids(`coverage-area=Location/dk-area-aalborg&characteristic=${SCT}|24700007`), []);
  assert.deepEqual(await ids(`characteristic=${SCT}|52448006`), ['dk-aalborg-demenscafe']);
  assert.deepEqual(await ids('organization=Organization/dk-morso-genoptraening'), ['dk-morso-kol-rehab', 'dk-morso-ms-traening']);
  assert.deepEqual(await ids('coverage-area.identifier=http://samverka.org/fhir/sid/dk-municipality-code|773&service-category=http://samverka.org/fhir/CodeSystem/offer-category|social'),
    ['dk-morso-ms-netvaerk']);
  const res = await apply('ms-rehab-dk', 'Patient/dk-hanne-ms', params(...MS_ROLES,
    { name: 'offer', part: [{ name: 'action', valueCode: 'training-group' }, { name: 'service', valueReference: { reference: 'HealthcareService/dk-morso-ms-traening' } }] }));
  assert.equal(res.status, 201, res.text);
  const linked = res.json.activity.find((a) => a.extension);
  assert.equal(linked.detail.description, 'Training group with an MS-knowledgeable physiotherapist');
  assert.equal(linked.extension[0].valueReference.reference, 'HealthcareService/dk-morso-ms-traening');
  assert.equal(await count('/fhir/CarePlan?service=HealthcareService/dk-morso-ms-traening'), 1);
  const bad = await apply('ms-rehab-dk', 'Patient/dk-hanne-ms', params(...MS_ROLES,
    { name: 'offer', part: [{ name: 'action', valueCode: 'training-group' }, { name: 'service', valueReference: { reference: 'HealthcareService/none' } }] }));
  assert.equal(bad.status, 422);
});

test('$apply works for every pathway', async () => {
  const cases = [
    ['copd-dk', 'Patient/dk-gurli', [role('gp', 'dk-laegehuset-mors'), role('hospital', 'dk-aalborg-uh'), role('municipality', 'dk-aalborg-kommune')], 4],
    ['stroke-dk', 'Patient/dk-gurli', [role('gp', 'dk-laegehuset-mors'), role('hospital', 'dk-aalborg-uh'), role('municipality', 'dk-aalborg-kommune')], 5],
    ['dementia-dk', 'Patient/dk-gurli', [role('gp', 'dk-laegehuset-mors'), role('hospital', 'dk-aalborg-uh'), role('municipality', 'dk-aalborg-kommune')], 5],
    ['child-habilitation-se', 'Patient/se-emma', [role('habilitation', 'se-habilitering-skane'), role('school', 'se-lund-skola'), role('lss', 'se-lund-lss'),
      role('speech-therapy', 'se-habilitering-skane'), role('gp', 'se-vc-lund'), role('social-insurance', 'se-forsakringskassan')], 6],
  ];
  for (const [id, subject, roles, n] of cases) {
    const res = await apply(id, subject, params(...roles));
    assert.equal(res.status, 201, `${id}: ${res.text}`);
    const tasks = await tasksOf(res.json.id);
    assert.equal(tasks.length, n, id);
    assert.ok(tasks.every((t) => deadline(t)), id);
  }
});
