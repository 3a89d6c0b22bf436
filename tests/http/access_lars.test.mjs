// access_lars.test.mjs - the Lars story (seed 001; issue 4, must-show 2).
//
// Lars, socially vulnerable, is admitted to hospital.  The hospital's social
// nurse (role social-worker, social psychiatry) gets his consent and writes a
// note about him labelled `social`.  His home municipality's staff are on his
// CareTeam, yet cannot see the note: not by read, vread or history (404, like
// a missing resource), not in a search, its _total, a chain, _has,
// _revinclude, the compartment or $everything.  Lars permits the
// municipality the `social` category: their social worker sees it (their
// home-care worker still does not: the role does not allow social data).
// Lars revokes the consent (status inactive; later a delete; later a new
// deny): on the very next request the note is invisible again.
//
// Expectations are stated from docs/access.md; nothing asks the server's
// policy code what they should be.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorld, ref as R } from './lib/access_fixture.mjs';
import { CATEGORY_SYSTEM, ROLE_SYSTEM, ACTCODE } from './lib/access_oracle.mjs';

const HOSP = 'Organization/lars-hospital';
const MUNI = 'Organization/lars-kommune';
const role = (code) => [{ coding: [{ system: ROLE_SYSTEM, code }] }];

const resources = [
  { resourceType: 'Organization', id: 'lars-hospital', name: 'Hospital, socialsygeplejersker' },
  { resourceType: 'Organization', id: 'lars-kommune', name: 'Lars\'s home municipality' },
  { resourceType: 'Practitioner', id: 'sspl', name: [{ family: 'Socialsygeplejerske' }] },
  { resourceType: 'PractitionerRole', id: 'pr-sspl', active: true, practitioner: R('Practitioner/sspl'), organization: R(HOSP), code: role('social-worker') },
  { resourceType: 'PractitionerRole', id: 'pr-kommune-social', active: true, organization: R(MUNI), code: role('social-worker') },
  { resourceType: 'PractitionerRole', id: 'pr-kommune-home', active: true, organization: R(MUNI), code: role('home-care') },
  { resourceType: 'PractitionerRole', id: 'pr-elsewhere-social', active: true, organization: R('Organization/lars-elsewhere'), code: role('social-worker') },
  { resourceType: 'Organization', id: 'lars-elsewhere', name: 'A municipality Lars has nothing to do with' },
  { resourceType: 'Patient', id: 'lars', name: [{ family: 'Larsen', given: ['Lars'] }], managingOrganization: R(MUNI) },
  {
    resourceType: 'Encounter', id: 'lars-admission', status: 'in-progress',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' }, subject: R('Patient/lars'), serviceProvider: R(HOSP),
  },
  {
    resourceType: 'CareTeam', id: 'lars-team', status: 'active', subject: R('Patient/lars'),
    participant: [{ member: R('PractitionerRole/pr-sspl') }, { member: R(MUNI) }],
  },
];
const users = [
  { username: 'sspl', kind: 'practitioner', role: 'pr-sspl' },
  { username: 'kommune-social', kind: 'practitioner', role: 'pr-kommune-social' },
  { username: 'kommune-home', kind: 'practitioner', role: 'pr-kommune-home' },
  { username: 'elsewhere-social', kind: 'practitioner', role: 'pr-elsewhere-social' },
  { username: 'lars', kind: 'citizen', patient: 'lars' },
];

const consentFor = (org, { type = 'permit', status = 'active', id } = {}) => ({
  resourceType: 'Consent', ...(id ? { id } : {}), status,
  scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
  category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
  patient: R('Patient/lars'),
  policyRule: { coding: [{ system: ACTCODE, code: 'OPTIN' }] },
  provision: {
    type,
    actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, reference: R(org) }],
    securityLabel: [{ system: CATEGORY_SYSTEM, code: 'social' }],
  },
});

const note = {
  resourceType: 'DocumentReference', status: 'current',
  meta: { security: [{ system: CATEGORY_SYSTEM, code: 'social' }] },
  type: { coding: [{ system: 'http://loinc.org', code: '34109-9', display: 'Note' }] },
  subject: R('Patient/lars'),
  author: [R('PractitionerRole/pr-sspl')],
  description: 'Talk with Lars about contacting the municipality',
  content: [{ attachment: { contentType: 'text/plain', data: Buffer.from('Lars wants to go home; agreed on contact with the municipal social nurses.').toString('base64') } }],
};

let w;
let noteId;
before(async () => { w = await startWorld({ users, resources, prefix: 'samverka-lars-' }); });
after(async () => { if (w) await w.stop(); });

const ids = (bundle, mode) => (bundle.entry || []).filter((e) => (e.search?.mode || 'match') === mode).map((e) => `${e.resource.resourceType}/${e.resource.id}`);

async function allPages(who, path) {
  const first = await w.as(who).get(path);
  assert.equal(first.status, 200, `${who} GET ${path}: ${first.text.slice(0, 300)}`);
  const out = [first.json];
  for (let page = first.json, i = 0; i < 100; i++) {
    const next = (page.link || []).find((l) => l.relation === 'next');
    if (!next) break;
    const res = await w.as(who).get(next.url.slice(w.srv.base.length));
    assert.equal(res.status, 200, res.text);
    page = res.json;
    out.push(page);
  }
  return out;
}

// Asks every way the note can be reached and checks that the answers agree
// with `sees`: read/vread/history 200 or a 404 like a missing resource's, and
// every search, total, chain, _has, include, compartment and $everything.
// seesLars: whether Patient/lars itself (coordination) is visible to who.
async function assertSeesNote(who, sees, seesLars = true) {
  const N = `DocumentReference/${noteId}`;
  const as = w.as(who);
  const why = [];
  const expectStatus = sees ? 200 : 404;
  for (const path of [`/fhir/${N}`, `/fhir/${N}/_history/1`, `/fhir/${N}/_history`]) {
    const res = await as.get(path);
    if (res.status !== expectStatus) why.push(`GET ${path}: ${res.status} (${res.text.slice(0, 120)})`);
  }
  if (!sees) {
    const gone = await as.get(`/fhir/${N}`);
    const missing = await as.get('/fhir/DocumentReference/no-such-note');
    const shape = (r, id) => JSON.stringify({ ...r.json?.issue?.[0], diagnostics: (r.json?.issue?.[0]?.diagnostics || '').replaceAll(id, 'ID') });
    if (gone.status === 404 && shape(gone, noteId) !== shape(missing, 'no-such-note')) why.push(`the 404 differs from a missing one's: ${gone.text} vs ${missing.text}`);
  }
  const want = sees ? [N] : [];
  const searches = [
    '/fhir/DocumentReference?subject=Patient/lars&_total=accurate',
    '/fhir/DocumentReference?_total=accurate',
    '/fhir/DocumentReference?subject:Patient.name=Larsen&_total=accurate',
    '/fhir/Patient/lars/DocumentReference?_total=accurate',
  ];
  for (const path of searches) {
    const [b] = await allPages(who, path);
    if (b.total !== want.length || JSON.stringify(ids(b, 'match')) !== JSON.stringify(want)) {
      why.push(`${path}: total ${b.total}, matches [${ids(b, 'match')}]`);
    }
  }
  const count = (await as.get('/fhir/DocumentReference?subject=Patient/lars&_summary=count')).json;
  if (count?.total !== want.length) why.push(`_summary=count total ${count?.total}`);
  // the Patient is coordination data: visible to everyone on the team, and the note comes with it only when visible
  const has = (await allPages(who, '/fhir/Patient?_has:DocumentReference:subject:type=http://loinc.org|34109-9'))[0];
  if (JSON.stringify(ids(has, 'match')) !== JSON.stringify(sees ? ['Patient/lars'] : [])) why.push(`_has: [${ids(has, 'match')}]`);
  const rev = (await allPages(who, '/fhir/Patient?_id=lars&_revinclude=DocumentReference:subject'))[0];
  if (JSON.stringify(ids(rev, 'match')) !== JSON.stringify(seesLars ? ['Patient/lars'] : [])) why.push(`Patient/lars itself: [${ids(rev, 'match')}]`);
  if (JSON.stringify(ids(rev, 'include')) !== JSON.stringify(seesLars ? want : [])) why.push(`_revinclude: [${ids(rev, 'include')}]`);
  if (seesLars) {
    const every = (await allPages(who, '/fhir/Patient/lars/$everything')).flatMap((b) => (b.entry || []).map((e) => `${e.resource.resourceType}/${e.resource.id}`));
    if (every.includes(N) !== sees) why.push(`$everything ${sees ? 'lacks' : 'has'} the note`);
    if (!every.includes('Patient/lars')) why.push('$everything lacks Patient/lars');
  } else {
    const every = await w.as(who).get('/fhir/Patient/lars/$everything');
    if (every.status !== 404) why.push(`$everything of an invisible Lars: ${every.status}`);
  }
  assert.deepEqual(why, [], `${who} must ${sees ? '' : 'not '}see the note`);
}

test('the Lars story: consent opens the social note to the municipality, revocation closes it on the next request', async (t) => {
  assert.deepEqual(w.failures, []);
  let consentId;

  await t.test('before any consent the social nurse cannot write social data about Lars', async () => {
    const res = await w.as('sspl').post('/fhir/DocumentReference', note);
    // if it was written anyway, remove it so that the later steps count one note
    if (res.status === 201) await w.as('loader').delete(`/fhir/DocumentReference/${res.json.id}`);
    assert.equal(res.status, 403, res.text);
    assert.equal(res.json?.resourceType, 'OperationOutcome');
    assert.equal((await w.as('loader').get('/fhir/DocumentReference?_total=accurate')).json.total, 0, 'nothing was written');
  });

  await t.test('Lars permits the hospital social data; the nurse writes the note', async () => {
    const c = await w.as('lars').post('/fhir/Consent', consentFor(HOSP));
    assert.equal(c.status, 201, c.text);
    const res = await w.as('sspl').post('/fhir/DocumentReference', note);
    assert.equal(res.status, 201, res.text);
    noteId = res.json.id;
    await assertSeesNote('sspl', true);
    await assertSeesNote('lars', true);
  });

  await t.test('the municipality, on Lars\'s CareTeam, cannot see it', async () => {
    const pat = await w.as('kommune-social').get('/fhir/Patient/lars');
    assert.equal(pat.status, 200, `the team sees Lars's coordination data: ${pat.text.slice(0, 200)}`);
    await assertSeesNote('kommune-social', false);
    await assertSeesNote('kommune-home', false);
    await assertSeesNote('elsewhere-social', false, false);
    // nor can they write onto it
    const upd = await w.as('kommune-social').put(`/fhir/DocumentReference/${noteId}`, { ...note, id: noteId, description: 'changed' });
    assert.equal(upd.status, 404, upd.text);
  });

  await t.test('Lars permits the municipality social data: their social worker sees it', async () => {
    const c = await w.as('lars').post('/fhir/Consent', consentFor(MUNI));
    assert.equal(c.status, 201, c.text);
    consentId = c.json.id;
    await assertSeesNote('kommune-social', true);
    await assertSeesNote('kommune-home', false); // home-care: the role does not allow social data
    await assertSeesNote('elsewhere-social', false, false); // no care relationship with Lars
  });

  await t.test('Lars revokes it (status inactive): invisible on the very next request', async () => {
    const res = await w.as('lars').put(`/fhir/Consent/${consentId}`, consentFor(MUNI, { id: consentId, status: 'inactive' }));
    assert.equal(res.status, 200, res.text);
    await assertSeesNote('kommune-social', false);
    await assertSeesNote('sspl', true);
    await assertSeesNote('lars', true);
  });

  await t.test('permitted again, then the consent deleted: invisible on the very next request', async () => {
    const c = await w.as('lars').post('/fhir/Consent', consentFor(MUNI));
    assert.equal(c.status, 201, c.text);
    await assertSeesNote('kommune-social', true);
    const del = await w.as('lars').delete(`/fhir/Consent/${c.json.id}`);
    assert.ok(del.status === 204 || del.status === 200, del.text);
    await assertSeesNote('kommune-social', false);
  });

  await t.test('permitted again, then a new deny: deny wins on the very next request', async () => {
    const c = await w.as('lars').post('/fhir/Consent', consentFor(MUNI));
    assert.equal(c.status, 201, c.text);
    await assertSeesNote('kommune-social', true);
    const d = await w.as('lars').post('/fhir/Consent', consentFor(MUNI, { type: 'deny' }));
    assert.equal(d.status, 201, d.text);
    await assertSeesNote('kommune-social', false);
    await assertSeesNote('sspl', true);
  });

  await t.test('the municipality cannot lift the deny itself', async () => {
    const mine = await w.as('kommune-social').post('/fhir/Consent', consentFor(MUNI));
    // a permit written by the municipality is coordination data in Lars's
    // compartment, which it may see; but it cannot change what the deny refuses
    if (mine.status === 201) await assertSeesNote('kommune-social', false);
    else assert.equal(mine.status, 403, mine.text);
  });
});
