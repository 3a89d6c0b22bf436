// compartment.test.mjs - the Patient compartment over HTTP: compartment search
// (GET Patient/{id}/{type}, POST .../_search) and Patient/{id}/$everything (GET
// and POST), walked page by page to the end and compared with the set the
// dataset says it must be: the patient, every resource in its compartment, and
// the shared resources (Organization, Practitioner, PractitionerRole,
// Medication, ...) those reference; never another patient or their data,
// never a deleted resource.  Every Bundle is validated by the independent FHIR
// validator (lib/expect.mjs).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { client, assertOutcome, walkPages, entriesOf, stopClean } from './lib/expect.mjs';

let srv;
let api;

const ref = (reference) => ({ reference });
const cc = (code) => ({ coding: [{ system: 'http://example.org/codes', code }] });

// Each resource with the patients whose compartment it is in and the shared
// resources it references: what the test expects, stated with the data.
const DATA = [];
const add = (resource, patients = [], shared = []) => DATA.push({ resource, patients, shared });

const SHARED = [
  { resourceType: 'Organization', id: 'cp-org1', name: 'Morsø Kommune', partOf: ref('Organization/cp-org2') },
  { resourceType: 'Organization', id: 'cp-org2', name: 'Region Nordjylland' },
  { resourceType: 'Practitioner', id: 'cp-pr1', name: [{ family: 'Lund' }] },
  { resourceType: 'Practitioner', id: 'cp-gone', name: [{ family: 'Deleted' }] },
  { resourceType: 'PractitionerRole', id: 'cp-role1', practitioner: ref('Practitioner/cp-pr1'), organization: ref('Organization/cp-org1') },
  { resourceType: 'Medication', id: 'cp-med1', code: cc('furosemide') },
  { resourceType: 'HealthcareService', id: 'cp-hs1', name: 'Hjemmepleje' }, // referenced by nobody
];
for (const r of SHARED) add(r);

function patientData(p, org) {
  const P = `Patient/${p}`;
  add({ resourceType: 'Patient', id: p, name: [{ family: p }], managingOrganization: ref(`Organization/${org}`), generalPractitioner: [ref('PractitionerRole/cp-role1')] },
    [p], [`Organization/${org}`, 'PractitionerRole/cp-role1']);
  for (let i = 0; i < 25; i++) {
    add({ resourceType: 'Observation', id: `${p}-obs${i}`, status: 'final', code: cc(i % 2 ? 'weight' : 'pulse'), subject: ref(P), performer: [ref('Practitioner/cp-pr1')] },
      [p], ['Practitioner/cp-pr1']);
  }
  add({ resourceType: 'Encounter', id: `${p}-enc`, status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' }, subject: ref(P), serviceProvider: ref('Organization/cp-org1') },
    [p], ['Organization/cp-org1']);
  add({ resourceType: 'CarePlan', id: `${p}-plan`, status: 'active', intent: 'plan', subject: ref(P) }, [p]);
  add({ resourceType: 'CareTeam', id: `${p}-team`, participant: [{ member: ref(P) }, { member: ref('Practitioner/cp-pr1') }] }, [p], ['Practitioner/cp-pr1']);
  add({ resourceType: 'Task', id: `${p}-task`, status: 'requested', intent: 'order', for: ref(P), owner: ref('Organization/cp-org2') }, [p], ['Organization/cp-org2']);
  add({ resourceType: 'MedicationRequest', id: `${p}-mr`, status: 'active', intent: 'order', medicationReference: ref('Medication/cp-med1'), subject: ref(P), requester: ref('Practitioner/cp-pr1') },
    [p], ['Medication/cp-med1', 'Practitioner/cp-pr1']);
  add({ resourceType: 'Goal', id: `${p}-goal`, lifecycleStatus: 'active', description: { text: 'walk to the shop' }, subject: ref(P) }, [p]);
  add({ resourceType: 'Condition', id: `${p}-cond`, code: cc('ms'), subject: ref(P) }, [p]);
  add({ resourceType: 'Communication', id: `${p}-msg`, status: 'completed', subject: ref(P), sender: ref('Organization/cp-org1') }, [p], ['Organization/cp-org1']);
  add({ resourceType: 'Flag', id: `${p}-flag`, status: 'active', code: cc('fall-risk'), subject: ref(P), author: ref('Practitioner/cp-gone') }, [p]); // author deleted
  add({ resourceType: 'EpisodeOfCare', id: `${p}-eoc`, status: 'active', patient: ref(P), managingOrganization: ref('Organization/cp-org1') }, [p], ['Organization/cp-org1']);
  add({ resourceType: 'RelatedPerson', id: `${p}-rel`, patient: ref(P), name: [{ family: 'Relative' }] }, [p]);
}
patientData('cp-a', 'cp-org1');
patientData('cp-b', 'cp-org2');
// In both compartments: A's observation performed by B.
add({ resourceType: 'Observation', id: 'cp-cross', status: 'final', code: cc('pulse'), subject: ref('Patient/cp-a'), performer: [ref('Patient/cp-b')] }, ['cp-a', 'cp-b']);
// A patient nobody else points at, with nothing in its compartment but itself.
add({ resourceType: 'Patient', id: 'cp-alone' }, ['cp-alone']);

const DELETED = ['Observation/cp-a-obs3', 'Practitioner/cp-gone', 'Patient/cp-dead'];

const key = (r) => `${r.resourceType}/${r.id}`;
const isDeleted = (k) => DELETED.includes(k);

// What $everything of p must return: its compartment (of the asked types), and
// the shared resources (of the asked types) those reference, without deleted ones.
function expected(p, types) {
  const want = (k) => !types || types.includes(k.split('/')[0]);
  const compartment = DATA.filter((d) => d.patients.includes(p) && !isDeleted(key(d.resource)) && want(key(d.resource)));
  const matches = compartment.map((d) => key(d.resource));
  const shared = new Set(compartment.flatMap((d) => d.shared).filter((k) => !isDeleted(k) && want(k)));
  return { matches: matches.sort(), all: [...new Set([...matches, ...shared])].sort() };
}

before(async () => {
  srv = await startServer();
  api = client(srv);
  const entry = [...DATA.map((d) => d.resource), { resourceType: 'Patient', id: 'cp-dead' }].map((r) => ({ resource: r, request: { method: 'PUT', url: key(r) } }));
  const res = await api.post('/fhir', { resourceType: 'Bundle', type: 'transaction', entry });
  assert.equal(res.status, 200, res.text.slice(0, 500));
  for (const k of DELETED) assert.equal((await api.delete(`/fhir/${k}`)).status, 204);
});
after(async () => {
  await stopClean(srv);
});

// Walks every page from path, checking links; returns the pages.
async function walk(path) {
  const first = await api.get(path);
  assert.equal(first.status, 200, first.text.slice(0, 300));
  const pages = await walkPages(api, srv, first.json);
  for (const p of pages) {
    for (const l of p.link) assert.ok(l.url.startsWith(srv.fhirBase), l.url);
    assert.equal(p.total, pages[0].total, 'the total is the same on every page');
  }
  return pages;
}

function collect(pages) {
  const matches = [];
  const all = new Set();
  for (const p of pages) {
    for (const e of entriesOf(p)) {
      assert.ok(['match', 'include'].includes(e.search.mode), `mode ${e.search.mode}`);
      if (e.search.mode === 'match') matches.push(key(e.resource));
      all.add(key(e.resource));
      assert.equal(e.fullUrl, `${srv.fhirBase}/${key(e.resource)}`);
    }
  }
  assert.equal(new Set(matches).size, matches.length, 'no resource matches twice');
  return { matches: matches.sort(), all: [...all].sort() };
}

describe('Patient/$everything', () => {
  const CASES = [
    // [patient, query, types (expected filter), page size]
    ['cp-a', '', null, 50],
    ['cp-a', '_count=7', null, 7],
    ['cp-a', '_count=1', null, 1],
    ['cp-b', '_count=10', null, 10],
    ['cp-alone', '', null, 50],
    ['cp-a', '_type=Observation,Practitioner&_count=5', ['Observation', 'Practitioner'], 5],
    ['cp-a', '_type=Task,Organization', ['Task', 'Organization'], 50],
    ['cp-a', '_type=Patient', ['Patient'], 50],
    ['cp-a', '_type=Organization', ['Organization'], 50], // no compartment type: empty
  ];
  for (const [p, query, types, size] of CASES) {
    test(`${p} ${query || '(no parameters)'}: every page to the end, exactly the expected set`, async () => {
      const pages = await walk(`/fhir/Patient/${p}/$everything${query ? `?${query}` : ''}`);
      const want = expected(p, types);
      const got = collect(pages);
      assert.deepEqual(got.matches, want.matches, 'the compartment');
      assert.deepEqual(got.all, want.all, 'the compartment and what it references');
      assert.equal(pages[0].total, want.matches.length);
      assert.equal(pages.length, Math.max(1, Math.ceil(want.matches.length / size)), 'pages');
      for (const page of pages.slice(0, -1)) assert.equal(idsMatch(page).length, size, 'full pages before the last');
      const next = pages[0].link.find((l) => l.relation === 'next');
      if (next) assert.match(next.url, /_cursor=/);
    });
  }

  test('another patient and its data never appear', async () => {
    const got = collect(await walk('/fhir/Patient/cp-a/$everything?_count=13'));
    const bData = DATA.filter((d) => d.patients.includes('cp-b') && !d.patients.includes('cp-a')).map((d) => key(d.resource));
    for (const k of bData) assert.ok(!got.all.includes(k), `${k} belongs to cp-b only`);
  });

  test('_since: only what changed since', async () => {
    const enc = DATA.find((d) => d.resource.id === 'cp-a-enc').resource;
    const put = await api.put('/fhir/Encounter/cp-a-enc', { ...enc, status: 'cancelled' });
    assert.equal(put.status, 200);
    const since = put.json.meta.lastUpdated; // every other resource was written before
    const pages = await walk(`/fhir/Patient/cp-a/$everything?_since=${encodeURIComponent(since)}`);
    assert.deepEqual(collect(pages).all, ['Encounter/cp-a-enc']);
    assert.equal(pages[0].total, 1);
  });

  test('POST with a Parameters body', async () => {
    const res = await api.post('/fhir/Patient/cp-a/$everything', {
      resourceType: 'Parameters', parameter: [{ name: '_type', valueCode: 'Task' }, { name: '_count', valueInteger: 10 }],
    });
    assert.equal(res.status, 200, res.text);
    const got = collect([res.json]);
    // _type filters the references too: Organization was not asked for
    assert.deepEqual(got.all, ['Task/cp-a-task']);
    assert.deepEqual(got.all, expected('cp-a', ['Task']).all);
    const empty = await api.post('/fhir/Patient/cp-alone/$everything', '', {});
    assert.equal(empty.status, 200, empty.text);
    assert.deepEqual(collect([empty.json]).all, ['Patient/cp-alone']);
  });

  test('unknown, deleted, bad parameters', async () => {
    assertOutcome(await api.get('/fhir/Patient/nobody/$everything'), 404);
    assertOutcome(await api.get('/fhir/Patient/cp-dead/$everything'), 410);
    assertOutcome(await api.get('/fhir/Patient/cp-a/$everything?_type=Nothing'), 400);
    assertOutcome(await api.get('/fhir/Patient/cp-a/$everything?_since=soon'), 400);
    assertOutcome(await api.get('/fhir/Patient/cp-a/$everything?start=2020-01-01'), 400);
    assertOutcome(await api.get('/fhir/Patient/cp-a/$everything?_cursor=x'), 400);
    assertOutcome(await api.post('/fhir/Patient/cp-a/$everything', { resourceType: 'Patient' }), 400);
    assertOutcome(await api.call('DELETE', '/fhir/Patient/cp-a/$everything'), 405);
    const lenient = await api.get('/fhir/Patient/cp-a/$everything?start=2020-01-01&_count=200', { Prefer: 'handling=lenient' });
    assert.equal(lenient.status, 200);
    assert.ok(!lenient.json.link[0].url.includes('start'));
  });
});

function idsMatch(bundle) {
  return entriesOf(bundle).filter((e) => e.search.mode === 'match').map((e) => key(e.resource));
}

describe('compartment search', () => {
  const inCompartment = (p, type) => expected(p, [type]).matches;
  const CASES = [
    // [path, expected matches]
    ['/fhir/Patient/cp-a/Observation?_count=10', inCompartment('cp-a', 'Observation')],
    ['/fhir/Patient/cp-b/Observation?_count=10', inCompartment('cp-b', 'Observation')],
    ['/fhir/Patient/cp-a/Observation?code=http://example.org/codes|weight', DATA.filter((d) => d.resource.resourceType === 'Observation' && d.patients.includes('cp-a') && d.resource.code.coding[0].code === 'weight' && !isDeleted(key(d.resource))).map((d) => key(d.resource)).sort()],
    ['/fhir/Patient/cp-a/Task', ['Task/cp-a-task']],
    ['/fhir/Patient/cp-a/CareTeam', ['CareTeam/cp-a-team']],
    ['/fhir/Patient/cp-a/Patient', ['Patient/cp-a']],
    ['/fhir/Patient/cp-a/Encounter?_id=cp-b-enc', []],
    ['/fhir/Patient/nobody/Observation', []],
  ];
  for (const [path, want] of CASES) {
    test(path, async () => {
      const pages = await walk(path);
      assert.deepEqual(pages.flatMap(idsMatch).sort(), want);
      assert.equal(pages[0].total, want.length);
      assert.ok(pages[0].link[0].url.startsWith(`${srv.base}${path.split('?')[0]}?`), pages[0].link[0].url);
    });
  }

  test('with _include, and by POST _search', async () => {
    let res = await api.get('/fhir/Patient/cp-a/MedicationRequest?_include=MedicationRequest:medication');
    assert.deepEqual(entriesOf(res.json).map((e) => [e.search.mode, key(e.resource)]), [['match', 'MedicationRequest/cp-a-mr'], ['include', 'Medication/cp-med1']]);
    res = await api.post('/fhir/Patient/cp-b/Observation/_search', '_id=cp-cross,cp-a-obs1', { 'Content-Type': 'application/x-www-form-urlencoded' });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(idsMatch(res.json), ['Observation/cp-cross']);
  });

  test('a type outside the compartment is 400, an unknown one 404', async () => {
    assertOutcome(await api.get('/fhir/Patient/cp-a/Organization'), 400);
    assertOutcome(await api.get('/fhir/Patient/cp-a/Nothing'), 404);
    assertOutcome(await api.get('/fhir/Patient/cp-a/Observation?nmae=x'), 400);
    assertOutcome(await api.call('DELETE', '/fhir/Patient/cp-a/Observation'), 405);
  });

  test('membership follows updates', async () => {
    const r = DATA.find((d) => d.resource.id === 'cp-b-goal').resource;
    assert.equal((await api.put('/fhir/Goal/cp-b-goal', { ...r, subject: ref('Patient/cp-alone') })).status, 200);
    let res = await api.get('/fhir/Patient/cp-alone/Goal');
    assert.deepEqual(idsMatch(res.json), ['Goal/cp-b-goal']);
    res = await api.get('/fhir/Patient/cp-b/Goal');
    assert.deepEqual(idsMatch(res.json), []);
    assert.equal((await api.put('/fhir/Goal/cp-b-goal', r)).status, 200);
  });
});
