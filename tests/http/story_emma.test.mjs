// story_emma.test.mjs - the Emma story (seed 003; issue 5, must-show 2) over
// HTTP with --auth on and real principals.
//
// Emma is 7, has cerebral palsy and impaired hearing, goes to first grade,
// spends one night a week at a short-term home and wants to start riding.
// Around her: the habilitation (whose coordinator Sara holds the plan), the
// school, the health centre, a speech therapist, the municipality's LSS
// officer and the Social Insurance Agency.  Sara opens the habilitation's
// episode, gathers the team (with Emma's parents, who hold proxy grants) and
// applies the child habilitation pathway: one plan with activities owned by
// six organisations.  Each organisation's worklist
// (Task?owner=…&status=requested&_sort=deadline) holds its own tasks only, in
// deadline order; what a role may not see (the audiogram is clinical, the LSS
// decision social) stays hidden; a home-care nurse in Malmö sees nothing.
//
// Expectations come from docs/coordination.md and docs/access.md.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startWorld, ref as R, consent } from './lib/access_fixture.mjs';
import { ROLE_SYSTEM, CATEGORY_SYSTEM } from './lib/access_oracle.mjs';
import { ROOT } from './lib/server.mjs';

const SYS = 'http://samverka.org/fhir/';
const EMMA = 'Patient/emma';
const ORG = {
  habilitation: 'Organization/hab-skane',
  school: 'Organization/nobbelov-skola',
  gp: 'Organization/vc-nobbelov',
  'speech-therapy': 'Organization/logoped-lund',
  lss: 'Organization/lund-lss',
  'social-insurance': 'Organization/forsakringskassan',
};
const OUTSIDER = 'Organization/malmo-hemtjanst';
const org = (ref, name) => ({ resourceType: 'Organization', id: ref.split('/')[1], name });
const pr = (id, o, code) => ({ resourceType: 'PractitionerRole', id, active: true, organization: R(o), code: [{ coding: [{ system: ROLE_SYSTEM, code }] }] });
const pathway = JSON.parse(readFileSync(join(ROOT, 'data', 'pathways', 'child-habilitation-se.json'), 'utf8')).entry.map((e) => e.resource);

// who: username -> [PractitionerRole id, organisation, role code]
const STAFF = {
  sara: ['pr-sara', ORG.habilitation, 'coordinator'],
  maria: ['pr-maria', ORG.school, 'teacher'],
  erik: ['pr-erik', ORG.gp, 'physician'],
  ingrid: ['pr-ingrid', ORG['speech-therapy'], 'therapist'],
  lars: ['pr-lars', ORG.lss, 'social-worker'],
  nora: ['pr-nora', ORG['social-insurance'], 'administrative'],
  johan: ['pr-johan', OUTSIDER, 'nurse'],
};
const OWNER_OF = { sara: 'habilitation', maria: 'school', erik: 'gp', ingrid: 'speech-therapy', lars: 'lss', nora: 'social-insurance' };

const resources = [
  org(ORG.habilitation, 'Barn- och ungdomshabiliteringen Skåne'),
  org(ORG.school, 'Nöbbelövs skola, Lunds kommun'),
  org(ORG.gp, 'Vårdcentralen Nöbbelöv'),
  org(ORG['speech-therapy'], 'Logopedmottagningen Lund'),
  org(ORG.lss, 'Lunds kommun, LSS-handläggning'),
  org(ORG['social-insurance'], 'Försäkringskassan'),
  org(OUTSIDER, 'Malmö stad, hemtjänst'),
  { resourceType: 'Organization', id: 'lund', name: 'Lunds kommun' },
  ...Object.values(STAFF).map(([id, o, code]) => pr(id, o, code)),
  { resourceType: 'Patient', id: 'emma', name: [{ given: ['Emma'], family: 'Persson' }], birthDate: '2019-03-12', managingOrganization: R('Organization/lund'), generalPractitioner: [R(ORG.gp)] },
  { resourceType: 'RelatedPerson', id: 'emma-mother', patient: R(EMMA), name: [{ given: ['Lina'], family: 'Persson' }] },
  { resourceType: 'RelatedPerson', id: 'emma-father', patient: R(EMMA), name: [{ given: ['Anders'], family: 'Persson' }] },
  // The parents' proxy grants (coordination), and the consent the LSS officer needs for social data.
  consent('emma-proxy-mother', 'emma', { actors: ['RelatedPerson/emma-mother'] }),
  consent('emma-proxy-father', 'emma', { actors: ['RelatedPerson/emma-father'] }),
  consent('emma-social-lss', 'emma', { actors: [ORG.lss], labels: ['social'] }),
  ...pathway,
];
const users = [
  ...Object.entries(STAFF).map(([username, [role]]) => ({ username, kind: 'practitioner', role })),
  { username: 'lina', kind: 'relative', relatedPerson: 'emma-mother' },
  { username: 'anders', kind: 'relative', relatedPerson: 'emma-father' },
];

let w;
before(async () => {
  w = await startWorld({ users, resources, prefix: 'samverka-emma-', serverArgs: ['--watchdog', '0', '--test-endpoints', 'on'] });
  assert.deepEqual(w.failures, []);
});
after(async () => { if (w) await w.stop(); });

const ok = (res, status = 200) => { assert.equal(res.status, status, res.text.slice(0, 600)); return res.json; };
const ids = (bundle) => (bundle.entry || []).map((e) => e.resource.id);

test('the Emma story: one plan, six organisations, each worklist its own, the policy hides the rest', async () => {
  ok(await w.srv.fetch('/admin/clock', { method: 'POST', json: { now: '2026-03-02T08:00:00Z' }, headers: { 'Content-Type': 'application/json' } }));

  // The habilitation's episode is its relationship; then the team around Emma.
  ok(await w.as('sara').post('/fhir/EpisodeOfCare', { resourceType: 'EpisodeOfCare', status: 'active', patient: R(EMMA), managingOrganization: R(ORG.habilitation) }), 201);
  ok(await w.as('sara').put('/fhir/CareTeam/emma-team', {
    resourceType: 'CareTeam', id: 'emma-team', status: 'active', name: 'Emmas SIP-grupp',
    category: [{ coding: [{ system: `${SYS}CodeSystem/care-team-category`, code: 'coordination' }] }],
    subject: R(EMMA),
    participant: [
      { role: [{ coding: [{ system: `${SYS}CodeSystem/care-team-role`, code: 'coordinator' }] }], member: R('PractitionerRole/pr-sara') },
      ...['pr-maria', 'pr-erik', 'pr-ingrid', 'pr-lars', 'pr-nora'].map((p) => ({ member: R(`PractitionerRole/${p}`) })),
      { member: R('RelatedPerson/emma-mother') }, { member: R('RelatedPerson/emma-father') },
    ],
  }), 201);

  // One plan from the pathway, activities owned by six organisations.
  const roleParam = Object.entries(ORG).map(([role, o]) => ({ name: 'role', part: [{ name: 'role', valueCode: role }, { name: 'organization', valueReference: R(o) }] }));
  const plan = ok(await w.as('sara').post(`/fhir/PlanDefinition/child-habilitation-se/$apply?subject=${EMMA}`, { resourceType: 'Parameters', parameter: roleParam }), 201);
  const tasks = ok(await w.as('sara').get(`/fhir/Task?based-on=CarePlan/${plan.id}&_count=50`)).entry.map((e) => e.resource);
  assert.deepEqual([...new Set(tasks.map((t) => t.owner.reference))].sort(), Object.values(ORG).sort());
  // The habilitation also orders aids: a second task, due before its plan.
  const aids = ok(await w.as('sara').post('/fhir/Task', {
    resourceType: 'Task', status: 'requested', intent: 'order', description: 'Prescribe a walker (hjälpmedel)', for: R(EMMA),
    owner: R(ORG.habilitation), basedOn: [R(`CarePlan/${plan.id}`)], authoredOn: '2026-03-02T08:00:00Z',
    extension: [{ url: `${SYS}StructureDefinition/deadline-rule`, extension: [{ url: 'amount', valueInteger: 5 }, { url: 'unit', valueCode: 'working-days' }, { url: 'country', valueCode: 'SE' }] }],
  }), 201);

  // Each organisation's worklist: its own tasks only, earliest deadline first.
  for (const [who, role] of Object.entries(OWNER_OF)) {
    const mine = tasks.filter((t) => t.owner.reference === ORG[role]).map((t) => t.id);
    if (role === 'habilitation') mine.unshift(aids.id);
    const wl = ok(await w.as(who).get(`/fhir/Task?owner=${ORG[role]}&status=requested&_sort=deadline&_total=accurate`));
    assert.deepEqual(ids(wl), mine, who);
    assert.equal(wl.total, mine.length, who);
    const ends = wl.entry.map((e) => e.resource.restriction.period.end);
    assert.deepEqual([...ends].sort(), ends, `${who}: by deadline`);
  }
  // The team is one team: a member may see the plan and the others' tasks
  // (coordination data), but a worklist is by owner.
  assert.equal(ok(await w.as('maria').get(`/fhir/CarePlan/${plan.id}`)).id, plan.id);
  assert.equal(ok(await w.as('maria').get(`/fhir/Task?based-on=CarePlan/${plan.id}&_total=accurate`)).total, 7);

  // What the roles may not see.  The audiogram is clinical; the LSS decision social.
  ok(await w.as('loader').put('/fhir/Observation/emma-audiogram', {
    resourceType: 'Observation', id: 'emma-audiogram', status: 'final', subject: R(EMMA),
    code: { coding: [{ system: 'http://loinc.org', code: '28615-3', display: 'Audiology study' }] }, valueString: 'moderate hearing loss, both ears',
  }), 201);
  ok(await w.as('lars').post('/fhir/DocumentReference', {
    resourceType: 'DocumentReference', status: 'current', subject: R(EMMA), description: 'LSS decision: short-term stay one night a week',
    meta: { security: [{ system: CATEGORY_SYSTEM, code: 'social' }] },
    content: [{ attachment: { contentType: 'text/plain', data: Buffer.from('Beslut om korttidsvistelse enligt 9 § 6 LSS').toString('base64') } }],
  }), 201);
  const sees = async (who, type) => ok(await w.as(who).get(`/fhir/${type}?subject=${EMMA}&_total=accurate`)).total;
  const table = {
    // who: [Observation (clinical), DocumentReference (social), Task, CarePlan]
    sara: [1, 0, 7, 1], // coordinator: clinical yes; social needs a consent for the habilitation
    maria: [0, 0, 7, 1], // teacher: coordination only
    erik: [1, 0, 7, 1], // physician
    ingrid: [1, 0, 7, 1], // speech therapist: clinical
    lars: [0, 1, 7, 1], // LSS officer: social, by Emma's consent
    nora: [0, 0, 7, 1], // Social Insurance Agency: coordination only
    lina: [0, 0, 7, 1], // a parent with a proxy grant: coordination
    anders: [0, 0, 7, 1],
    johan: [0, 0, 0, 0], // no relationship
  };
  for (const [who, want] of Object.entries(table)) {
    const got = [];
    for (const type of ['Observation', 'DocumentReference', 'Task', 'CarePlan']) got.push(await sees(who, type));
    assert.deepEqual(got, want, who);
  }
  ok(await w.as('maria').get('/fhir/Observation/emma-audiogram'), 404);
  ok(await w.as('johan').get(`/fhir/Task?owner=${ORG.school}&status=requested&_total=accurate`));
  assert.equal(ok(await w.as('johan').get(`/fhir/Task?owner=${ORG.school}&_total=accurate`)).total, 0);
  ok(await w.as('johan').get(`/fhir/CarePlan/${plan.id}`), 404);

  // The parents follow the plan, and the school's teacher is told of its task.
  const team = ok(await w.as('lina').get(`/fhir/${EMMA}/$team`));
  assert.equal(team.members[0].member.reference, 'PractitionerRole/pr-sara');
  const notices = ok(await w.as('maria').get(`/notifications?organization=${ORG.school}`)).notifications;
  assert.ok(notices.some((n) => n.kind === 'task-new' && n.subject.reference === EMMA));
});
