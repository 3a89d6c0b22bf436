// story_ms.test.mjs - the MS story (seed 000; issue 5, must-show 1) end to end
// over HTTP with --auth on and real principals.
//
// Hanne lives in Morsø and has MS.  She is admitted to the MS hospital (an
// Encounter the hospital's physician opens: the hospital's relationship).  The
// hospital names Anne, who knows MS and the municipality, as her coordinator
// (CareTeam); Anne applies the MS pathway (CarePlan and Tasks with deadlines,
// the GP follow-up left out with a reason), calls the coordination meeting
// with the municipality and Hanne (Appointment), holds it, and the hospital,
// the municipality and Hanne each agree to the plan.  The municipality's task
// goes overdue on the test clock: the watchdog marks it and escalates to the
// coordinator and the municipality's lead.  The coordinator role passes from
// Anne to Karin in the municipality, and everyone is told.  Someone without a
// relationship sees none of it.
//
// Expectations come from docs/coordination.md and docs/access.md.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startWorld, ref as R } from './lib/access_fixture.mjs';
import { ROLE_SYSTEM } from './lib/access_oracle.mjs';
import { ROOT } from './lib/server.mjs';

const SYS = 'http://samverka.org/fhir/';
const HOSP = 'Organization/ms-hospital';
const MUNI = 'Organization/morso';
const GP = 'Organization/gp-mors';
const HANNE = 'Patient/hanne';
const roleCode = (code, lead = false) => [{ coding: [{ system: ROLE_SYSTEM, code }, ...(lead ? [{ system: `${SYS}CodeSystem/staff-role`, code: 'lead' }] : [])] }];
const pr = (id, org, code, person, lead = false) => ({
  resourceType: 'PractitionerRole', id, active: true, practitioner: R(`Practitioner/${person}`), organization: R(org), code: roleCode(code, lead),
  telecom: [{ system: 'phone', value: `+45 70 00 ${id.length} ${id.length}` }],
});
const person = (id, given, family) => ({ resourceType: 'Practitioner', id, name: [{ given: [given], family }] });
const pathway = JSON.parse(readFileSync(join(ROOT, 'data', 'pathways', 'ms-rehab-dk.json'), 'utf8')).entry.map((e) => e.resource);

const resources = [
  { resourceType: 'Organization', id: 'ms-hospital', name: 'Sclerosehospitalet i Ry' },
  { resourceType: 'Organization', id: 'morso', name: 'Morsø Kommune' },
  { resourceType: 'Organization', id: 'gp-mors', name: 'Lægehuset Nykøbing Mors' },
  { resourceType: 'Organization', id: 'aalborg', name: 'Aalborg Kommune' },
  person('anne', 'Anne', 'Mikkelsen'), person('jens', 'Jens', 'Holm'), person('karin', 'Karin', 'Bach'),
  person('lone', 'Lone', 'Krog'), person('ole', 'Ole', 'Dam'), person('per', 'Per', 'Lund'),
  pr('pr-anne', HOSP, 'coordinator', 'anne'),
  pr('pr-jens', HOSP, 'physician', 'jens'),
  pr('pr-karin', MUNI, 'coordinator', 'karin'),
  pr('pr-lone', MUNI, 'administrative', 'lone', true), // the municipality's lead
  pr('pr-ole', GP, 'physician', 'ole'),
  pr('pr-per', 'Organization/aalborg', 'nurse', 'per'), // no relationship with Hanne
  { resourceType: 'Patient', id: 'hanne', name: [{ given: ['Hanne'], family: 'Nielsen' }], managingOrganization: R(MUNI), generalPractitioner: [R(GP)] },
  ...pathway,
];
const users = [
  { username: 'anne', kind: 'practitioner', role: 'pr-anne' },
  { username: 'jens', kind: 'practitioner', role: 'pr-jens' },
  { username: 'karin', kind: 'practitioner', role: 'pr-karin' },
  { username: 'lone', kind: 'practitioner', role: 'pr-lone' },
  { username: 'ole', kind: 'practitioner', role: 'pr-ole' },
  { username: 'per', kind: 'practitioner', role: 'pr-per' },
  { username: 'hanne', kind: 'citizen', patient: 'hanne' },
];

let w;
before(async () => {
  w = await startWorld({ users, resources, prefix: 'samverka-ms-', serverArgs: ['--watchdog', '0', '--test-endpoints', 'on'] });
  assert.deepEqual(w.failures, []);
});
after(async () => { if (w) await w.stop(); });

// The test clock lies before the sessions were made, so they stay valid.
const clock = async (now) => {
  const res = await w.srv.fetch('/admin/clock', { method: 'POST', json: { now }, headers: { 'Content-Type': 'application/json' } });
  assert.equal(res.status, 200, res.text);
};
const tick = async () => {
  const res = await w.srv.fetch('/admin/watchdog/tick', { method: 'POST' });
  assert.equal(res.status, 200, res.text);
  return res.json;
};
const ok = (res, status = 200) => { assert.equal(res.status, status, res.text.slice(0, 600)); return res.json; };
const inbox = async (who, query) => ok(await w.as(who).get(`/notifications?${query}&_count=500`)).notifications;
const kinds = (list) => list.map((n) => n.kind);
const coordinatorTeam = (coordinator, others, reason) => ({
  resourceType: 'CareTeam', id: 'hanne-team', status: 'active',
  category: [{ coding: [{ system: `${SYS}CodeSystem/care-team-category`, code: 'coordination' }] }],
  subject: R(HANNE), name: 'Hanne\'s team',
  participant: [
    { role: [{ coding: [{ system: `${SYS}CodeSystem/care-team-role`, code: 'coordinator' }] }], member: R(coordinator) },
    ...others.map((m) => ({ member: R(m) })),
    { member: R(HANNE) },
  ],
  ...(reason ? { extension: [{ url: `${SYS}StructureDefinition/handover-reason`, valueString: reason }] } : {}),
});
const param = (name, parts) => ({ name, part: parts });
const agreement = (planId, version, who) => ({
  resourceType: 'Provenance', target: [R(`CarePlan/${planId}/_history/${version}`)], recorded: '2026-03-02T13:00:00Z',
  activity: { coding: [{ system: `${SYS}CodeSystem/provenance-activity`, code: 'agreement' }] }, agent: [{ who: R(who) }],
});

test('the MS story: admission, coordinator, SIP meeting, agreement, deadlines, escalation, hand-over', async () => {
  await clock('2026-03-02T08:00:00Z'); // Monday 09:00 in Denmark

  // Before the admission the hospital has no relationship with Hanne.
  ok(await w.as('anne').get(`/fhir/${HANNE}`), 404);

  // 1. Admitted to the MS hospital: the hospital's own Encounter.
  ok(await w.as('jens').post('/fhir/Encounter', {
    resourceType: 'Encounter', status: 'in-progress', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
    subject: R(HANNE), serviceProvider: R(HOSP), period: { start: '2026-03-02T08:00:00Z' },
  }), 201);
  ok(await w.as('anne').get(`/fhir/${HANNE}`));

  // 2. The coordinator is named: the team with the municipality and Hanne.
  ok(await w.as('anne').put('/fhir/CareTeam/hanne-team', coordinatorTeam('PractitionerRole/pr-anne', ['PractitionerRole/pr-karin'])), 201);
  let team = ok(await w.as('hanne').get(`/fhir/${HANNE}/$team`));
  assert.equal(team.members[0].member.reference, 'PractitionerRole/pr-anne');
  assert.equal(team.members[0].coordinator, true);
  assert.equal(team.members[0].person.display, 'Anne Mikkelsen');
  assert.equal(team.members[0].organization.reference, HOSP);
  assert.ok(team.members[0].telecom.length > 0);
  assert.ok(kinds(await inbox('hanne', `recipient=${HANNE}`)).includes('coordinator-changed'));

  // 3. The MS pathway: plan and tasks; the GP follow-up left out with a reason.
  const applied = ok(await w.as('anne').post(`/fhir/PlanDefinition/ms-rehab-dk/$apply?subject=${HANNE}`, {
    resourceType: 'Parameters', parameter: [
      param('role', [{ name: 'role', valueCode: 'hospital' }, { name: 'organization', valueReference: R(HOSP) }]),
      param('role', [{ name: 'role', valueCode: 'municipality' }, { name: 'organization', valueReference: R(MUNI) }]),
      param('deviation', [{ name: 'action', valueCode: 'gp-follow-up' }, { name: 'reason', valueString: 'Hanne\'s neurologist at the MS hospital follows up on her medication' }]),
    ],
  }), 201);
  const planId = applied.id;
  const tasks = ok(await w.as('anne').get(`/fhir/Task?based-on=CarePlan/${planId}&_count=50`)).entry.map((e) => e.resource);
  assert.equal(tasks.length, 6);
  assert.ok(tasks.every((t) => t.restriction.period.end), 'every task has a deadline');
  const task = (suffix) => tasks.find((t) => t.instantiatesCanonical.endsWith(suffix));

  // 4. The coordination meeting is called with the municipality and Hanne.
  const meeting = ok(await w.as('anne').post('/fhir/Appointment', {
    resourceType: 'Appointment', status: 'booked', description: 'Koordinerende møde om Hannes forløb',
    start: '2026-03-04T12:00:00Z', end: '2026-03-04T13:00:00Z', supportingInformation: [R(`CarePlan/${planId}`)],
    participant: [
      { actor: R('PractitionerRole/pr-anne'), status: 'accepted' },
      { actor: R('PractitionerRole/pr-karin'), status: 'needs-action' },
      { actor: R(HANNE), status: 'needs-action' },
    ],
  }), 201);
  assert.ok(kinds(await inbox('karin', 'recipient=PractitionerRole/pr-karin')).includes('meeting-called'));
  assert.ok(kinds(await inbox('hanne', `recipient=${HANNE}`)).includes('meeting-called'));
  assert.ok(kinds(await inbox('lone', `organization=${MUNI}`)).includes('meeting-called'));
  let plan = ok(await w.as('karin').get(`/fhir/CarePlan/${planId}`));
  const step = (p) => p.extension.find((e) => e.url === `${SYS}StructureDefinition/sip-step`)?.valueCode;
  assert.equal(step(plan), 'call');
  // it is held
  ok(await w.as('anne').put(`/fhir/Appointment/${meeting.id}`, { ...meeting, status: 'fulfilled', meta: undefined }));
  plan = ok(await w.as('hanne').get(`/fhir/CarePlan/${planId}`));
  assert.equal(step(plan), 'plan');
  assert.ok(kinds(await inbox('hanne', `recipient=${HANNE}`)).includes('meeting-changed'));

  // 5. Agreed by all: the hospital, the municipality and Hanne herself.
  const v = plan.meta.versionId;
  let view = ok(await w.as('anne').get(`/fhir/CarePlan/${planId}/$agreement`));
  assert.deepEqual(view.parties.map((p) => p.party.reference).sort(), [HANNE, HOSP, MUNI].sort());
  assert.equal(view.agreedByAll, false);
  ok(await w.as('anne').post('/fhir/Provenance', agreement(planId, v, 'PractitionerRole/pr-anne')), 201);
  ok(await w.as('karin').post('/fhir/Provenance', agreement(planId, v, 'PractitionerRole/pr-karin')), 201);
  // a citizen agrees only for herself
  ok(await w.as('hanne').post('/fhir/Provenance', agreement(planId, v, 'PractitionerRole/pr-karin')), 403);
  ok(await w.as('hanne').post('/fhir/Provenance', agreement(planId, v, HANNE)), 201);
  view = ok(await w.as('hanne').get(`/fhir/CarePlan/${planId}/$agreement`));
  assert.equal(view.agreedByAll, true);
  plan = ok(await w.as('karin').get(`/fhir/CarePlan/${planId}`));
  assert.equal(step(plan), 'follow-up');
  for (const [who, q] of [['anne', `organization=${HOSP}`], ['karin', `organization=${MUNI}`], ['hanne', `recipient=${HANNE}`]])
    assert.ok(kinds(await inbox(who, q)).includes('plan-agreed'), who);

  // 6. The municipality's worklist, by deadline.
  const wl = ok(await w.as('karin').get(`/fhir/Task?owner=${MUNI}&status=requested&_sort=deadline`));
  assert.deepEqual(wl.entry.map((e) => e.resource.id), [task('municipal-contact').id, task('municipal-rehab-start').id]);
  assert.equal(task('municipal-contact').restriction.period.end, '2026-03-05T09:00:00.000+01:00');
  // The hospital does its first task on time.
  for (const status of ['accepted', 'in-progress', 'completed'])
    ok(await w.as('anne').patch(`/fhir/Task/${task('coordinator').id}`, [{ op: 'replace', path: '/status', value: status }]));

  // The registered GP sees the plan (coordination data) and, the follow-up left
  // out with a reason, has nothing on its worklist.
  ok(await w.as('ole').get(`/fhir/CarePlan/${planId}`));
  assert.equal(ok(await w.as('ole').get(`/fhir/Task?owner=${GP}&status=requested&_total=accurate`)).total, 0);

  // 7. The municipality's contact is not made in time: overdue and escalated.
  await clock('2026-03-05T08:30:00Z');
  const t1 = await tick();
  assert.equal(t1.overdue, 1);
  assert.equal(t1.escalations, 2); // the coordinator and the municipality's lead
  const late = ok(await w.as('karin').get(`/fhir/Task/${task('municipal-contact').id}`));
  assert.equal(late.businessStatus.coding[0].code, 'overdue');
  assert.ok(kinds(await inbox('karin', `organization=${MUNI}`)).includes('task-overdue'));
  assert.ok(kinds(await inbox('anne', 'recipient=PractitionerRole/pr-anne')).includes('task-escalated'));
  assert.ok(kinds(await inbox('lone', 'recipient=PractitionerRole/pr-lone')).includes('task-escalated'));
  assert.equal((await tick()).overdue, 0, 'each job fires once');
  // Hanne is reminded of what she does herself: Tuesday's training group was
  // the one occurrence due (the plan was made on Monday at 09:00).
  assert.equal(t1.citizenReminders, 1);
  const reminded = (await inbox('hanne', `recipient=${HANNE}`)).filter((n) => n.kind === 'citizen-reminder');
  assert.deepEqual(reminded.map((n) => n.text), ['Training group with an MS-knowledgeable physiotherapist']);

  // 8. The coordinator changes: Anne hands over to Karin, and everyone is told.
  ok(await w.as('anne').put('/fhir/CareTeam/hanne-team', coordinatorTeam('PractitionerRole/pr-karin', ['PractitionerRole/pr-anne'])), 422);
  ok(await w.as('anne').put('/fhir/CareTeam/hanne-team',
    coordinatorTeam('PractitionerRole/pr-karin', ['PractitionerRole/pr-anne'], 'Hanne is home: the municipality coordinates from now on')));
  team = ok(await w.as('hanne').get(`/fhir/${HANNE}/$team`));
  assert.equal(team.members[0].member.reference, 'PractitionerRole/pr-karin');
  const told = (list) => list.filter((n) => n.kind === 'coordinator-changed' && n.text?.includes('municipality coordinates')).length;
  assert.equal(told(await inbox('hanne', `recipient=${HANNE}`)), 1);
  assert.equal(told(await inbox('karin', 'recipient=PractitionerRole/pr-karin')), 1);
  assert.equal(told(await inbox('anne', 'recipient=PractitionerRole/pr-anne')), 1);
  const handover = ok(await w.as('hanne').get(`/fhir/Provenance?target=CareTeam/hanne-team&_count=50`));
  assert.ok(handover.entry.some((e) => e.resource.activity?.coding?.[0]?.code === 'coordinator-handover'));

  // 9. Nobody else sees any of it, nor anyone's inbox.
  for (const path of [`/fhir/${HANNE}`, `/fhir/CarePlan/${planId}`, `/fhir/Task/${task('municipal-contact').id}`, `/fhir/${HANNE}/$team`, `/fhir/CarePlan/${planId}/$agreement`])
    ok(await w.as('per').get(path), 404);
  assert.equal(ok(await w.as('per').get(`/fhir/Task?owner=${MUNI}&_total=accurate`)).total, 0);
  ok(await w.as('per').get(`/notifications?organization=${MUNI}`), 403);
  ok(await w.as('hanne').get('/notifications?recipient=PractitionerRole/pr-karin'), 403);
  ok(await w.as('karin').get(`/notifications?recipient=${HANNE}`), 403);
  const someone = (await inbox('hanne', `recipient=${HANNE}`))[0];
  ok(await w.as('per').post(`/notifications/${someone.id}/read`), 404);
  ok(await w.as('hanne').post(`/notifications/${someone.id}/read`));
});
