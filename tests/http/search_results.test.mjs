// search_results.test.mjs - the result side of search over HTTP: _include and
// _revinclude (Type:param, Type:param:Target, *, :iterate through cycles, deleted
// targets, the cap with its warning, includes on every page), _summary and
// _elements (SUBSETTED), refusals and Prefer: handling=lenient, and what
// metadata claims.  Cases are data: the query, then the matches and the
// included resources expected.  Every Bundle is validated as FHIR R4 by the
// independent validator (lib/expect.mjs).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { client, assertOutcome, walkPages, entriesOf, stopClean } from './lib/expect.mjs';

let srv;
let api;

const ref = (reference) => ({ reference });
const obs = (id, subject, performer) => ({
  resourceType: 'Observation', id, status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8310-5' }] },
  subject: ref(subject), performer: [ref(performer)],
});
const org = (id, partOf) => ({ resourceType: 'Organization', id, name: id, ...(partOf ? { partOf: ref(partOf) } : {}) });

// Ids carry a prefix so that this file's data is its own.
const DATA = [
  org('sr-o1', 'Organization/sr-o2'), // o1 and o2: a cycle
  org('sr-o2', 'Organization/sr-o1'),
  { resourceType: 'Practitioner', id: 'sr-pr1', name: [{ family: 'Lund' }] },
  { resourceType: 'Practitioner', id: 'sr-pr2', name: [{ family: 'Gone' }] }, // deleted below
  { resourceType: 'Medication', id: 'sr-m1', code: { text: 'furosemide' } },
  {
    resourceType: 'Patient', id: 'sr-p1', active: true,
    text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Hanne Nielsen</div>' },
    name: [{ family: 'Nielsen', given: ['Hanne'] }], gender: 'female', birthDate: '1971-04-12',
    maritalStatus: { text: 'married' }, contact: [{ name: { family: 'Nielsen' } }],
    managingOrganization: ref('Organization/sr-o1'), generalPractitioner: [ref('Practitioner/sr-pr1')],
  },
  { resourceType: 'Patient', id: 'sr-p2', managingOrganization: ref('Organization/sr-o2') },
  { resourceType: 'Patient', id: 'sr-p3', link: [{ other: ref('Patient/sr-p1'), type: 'seealso' }] },
  obs('sr-obs1', 'Patient/sr-p1', 'Practitioner/sr-pr1'),
  obs('sr-obs2', 'Patient/sr-p1', 'Practitioner/sr-pr2'),
  obs('sr-obs3', 'Patient/sr-p2', 'Practitioner/sr-pr1'),
  {
    resourceType: 'MedicationRequest', id: 'sr-mr1', status: 'active', intent: 'order',
    medicationReference: ref('Medication/sr-m1'), subject: ref('Patient/sr-p1'), requester: ref('Practitioner/sr-pr1'),
  },
  // a chain c0 -> c1 -> ... -> c5 for the depth bound
  org('sr-c0', 'Organization/sr-c1'), org('sr-c1', 'Organization/sr-c2'), org('sr-c2', 'Organization/sr-c3'),
  org('sr-c3', 'Organization/sr-c4'), org('sr-c4', 'Organization/sr-c5'), org('sr-c5'),
];

before(async () => {
  srv = await startServer();
  api = client(srv);
  const bundle = {
    resourceType: 'Bundle', type: 'transaction',
    entry: DATA.map((r) => ({ resource: r, request: { method: 'PUT', url: `${r.resourceType}/${r.id}` } })),
  };
  const res = await api.post('/fhir', bundle);
  assert.equal(res.status, 200, res.text);
  assert.equal((await api.delete('/fhir/Practitioner/sr-pr2')).status, 204);
});
after(async () => {
  await stopClean(srv);
});

const key = (r) => `${r.resourceType}/${r.id}`;
// The sorted Type/id list of the entries in one search mode; fails on duplicates.
function idsOf(bundle, mode) {
  const ids = entriesOf(bundle).filter((e) => e.search.mode === mode).map((e) => key(e.resource)).sort();
  assert.equal(new Set(ids).size, ids.length, `a resource twice among the ${mode} entries: ${ids}`);
  return ids;
}

const CASES = [
  ['Patient?_id=sr-p1&_include=Patient:organization', ['Patient/sr-p1'], ['Organization/sr-o1']],
  ['Patient?_id=sr-p1&_include=Patient:organization:Organization', ['Patient/sr-p1'], ['Organization/sr-o1']],
  ['Patient?_id=sr-p1&_include=Patient:general-practitioner:PractitionerRole', ['Patient/sr-p1'], []],
  ['Patient?_id=sr-p1&_include=Patient:organization&_include:iterate=Organization:partof', ['Patient/sr-p1'], ['Organization/sr-o1', 'Organization/sr-o2']],
  // a cycle ends at the match
  ['Organization?_id=sr-o1&_include:iterate=Organization:partof', ['Organization/sr-o1'], ['Organization/sr-o2']],
  ['Organization?_id=sr-c0&_include=Organization:partof', ['Organization/sr-c0'], ['Organization/sr-c1']],
  // matches are never included again
  ['Organization?_id=sr-o1,sr-o2&_include=Organization:partof', ['Organization/sr-o1', 'Organization/sr-o2'], []],
  ['Patient?_id=sr-p1,sr-p3&_include=Patient:link', ['Patient/sr-p1', 'Patient/sr-p3'], []],
  // one target of two matches, once
  ['Observation?subject=Patient/sr-p1&_include=Observation:subject', ['Observation/sr-obs1', 'Observation/sr-obs2'], ['Patient/sr-p1']],
  // the deleted performer of obs2 is not included
  ['Observation?subject=Patient/sr-p1&_include=Observation:performer', ['Observation/sr-obs1', 'Observation/sr-obs2'], ['Practitioner/sr-pr1']],
  ['Observation?_id=sr-obs2&_include=Observation:performer', ['Observation/sr-obs2'], []],
  ['Observation?_id=sr-obs1&_include=*', ['Observation/sr-obs1'], ['Patient/sr-p1', 'Practitioner/sr-pr1']],
  ['Observation?_id=sr-obs1&_include=Observation:*:Practitioner', ['Observation/sr-obs1'], ['Practitioner/sr-pr1']],
  ['Patient?_id=sr-p1&_revinclude=Observation:subject', ['Patient/sr-p1'], ['Observation/sr-obs1', 'Observation/sr-obs2']],
  ['Patient?_id=sr-p1&_revinclude=*', ['Patient/sr-p1'], ['MedicationRequest/sr-mr1', 'Observation/sr-obs1', 'Observation/sr-obs2', 'Patient/sr-p3']],
  ['Patient?_id=sr-p1&_revinclude=Observation:subject&_include:iterate=Observation:performer', ['Patient/sr-p1'], ['Observation/sr-obs1', 'Observation/sr-obs2', 'Practitioner/sr-pr1']],
  ['Practitioner?_id=sr-pr1&_revinclude=MedicationRequest:requester&_include:iterate=MedicationRequest:medication', ['Practitioner/sr-pr1'], ['Medication/sr-m1', 'MedicationRequest/sr-mr1']],
  ['Observation?_id=sr-obs3&_include=Observation:subject&_revinclude:iterate=Observation:subject&_include:iterate=Patient:organization&_include:iterate=Organization:partof',
    ['Observation/sr-obs3'], ['Organization/sr-o1', 'Organization/sr-o2', 'Patient/sr-p2']],
  ['Patient?_id=nobody&_include=Patient:organization', [], []],
];

describe('_include and _revinclude', () => {
  for (const [query, matches, includes] of CASES) {
    test(query, async () => {
      const res = await api.get(`/fhir/${query}`);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(idsOf(res.json, 'match'), matches, 'matches');
      assert.deepEqual(idsOf(res.json, 'include'), includes, 'includes');
      assert.equal(res.json.total, matches.length, 'total counts the matches only');
      for (const m of matches) assert.ok(!includes.includes(m), `${m} is a match and an include`);
      assert.ok(!entriesOf(res.json).some((e) => e.search.mode === 'outcome'), 'no warning');
    });
  }

  test('POST _search takes them too', async () => {
    const res = await api.post('/fhir/Patient/_search', '_id=sr-p1&_include=Patient:organization',
      { 'Content-Type': 'application/x-www-form-urlencoded' });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(idsOf(res.json, 'include'), ['Organization/sr-o1']);
  });

  test(':iterate stops at 4 levels and says so when more is reachable', async () => {
    let res = await api.get('/fhir/Organization?_id=sr-c0&_include:iterate=Organization:partof');
    assert.deepEqual(idsOf(res.json, 'include'), ['sr-c1', 'sr-c2', 'sr-c3', 'sr-c4'].map((i) => `Organization/${i}`));
    const outcome = entriesOf(res.json).find((e) => e.search.mode === 'outcome');
    assert.ok(outcome, 'a warning entry');
    assert.equal(outcome.resource.resourceType, 'OperationOutcome');
    assert.equal(outcome.resource.issue[0].severity, 'warning');
    assert.match(outcome.resource.issue[0].diagnostics, /:iterate stopped after 4 levels/);
    res = await api.get('/fhir/Organization?_id=sr-c1&_include:iterate=Organization:partof');
    assert.deepEqual(idsOf(res.json, 'include'), ['sr-c2', 'sr-c3', 'sr-c4', 'sr-c5'].map((i) => `Organization/${i}`));
    assert.ok(!entriesOf(res.json).some((e) => e.search.mode === 'outcome'), 'complete at exactly 4 levels');
  });

  test('every page brings the includes of its own matches', async () => {
    const first = await api.get('/fhir/Observation?performer=Practitioner/sr-pr1&_count=1&_include=Observation:subject');
    const pages = await walkPages(api, srv, first.json);
    assert.equal(pages.length, 2);
    const got = pages.map((p) => [idsOf(p, 'match'), idsOf(p, 'include')]);
    assert.deepEqual(got, [
      [['Observation/sr-obs1'], ['Patient/sr-p1']],
      [['Observation/sr-obs3'], ['Patient/sr-p2']],
    ]);
    for (const p of pages) assert.equal(p.total, 2);
  });

  test('the cap: at most 1000 included resources per page, then a warning', async () => {
    const entry = [{ resource: { resourceType: 'Patient', id: 'sr-many' }, request: { method: 'PUT', url: 'Patient/sr-many' } }];
    for (let i = 0; i < 1001; i++) entry.push({ resource: obs(undefined, 'Patient/sr-many', 'Practitioner/sr-pr9'), request: { method: 'POST', url: 'Observation' } });
    for (const e of entry) if (e.resource.id === undefined) delete e.resource.id;
    const tx = await api.post('/fhir', { resourceType: 'Bundle', type: 'transaction', entry });
    assert.equal(tx.status, 200, tx.text.slice(0, 300));
    let res = await api.get('/fhir/Patient?_id=sr-many&_revinclude=Observation:subject');
    assert.equal(res.status, 200);
    assert.equal(idsOf(res.json, 'include').length, 1000);
    const outcome = entriesOf(res.json).find((e) => e.search.mode === 'outcome');
    assert.ok(outcome, 'a warning says the result is incomplete');
    assert.equal(outcome.resource.issue[0].code, 'too-costly');
    assert.match(outcome.resource.issue[0].diagnostics, /stopped at 1000 included resources/);
    // the compartment is complete where it is paged: every one of them, no cap
    res = await api.get('/fhir/Patient/sr-many/Observation?_count=1000&_summary=count');
    assert.equal(res.json.total, 1001);
  });
});

const SUBSETTED = (r) => (r.meta?.tag || []).some((t) => t.code === 'SUBSETTED' && t.system === 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue');
const ALL_P1 = ['active', 'birthDate', 'contact', 'gender', 'generalPractitioner', 'id', 'managingOrganization', 'maritalStatus', 'meta', 'name', 'resourceType', 'text'];

describe('_summary and _elements', () => {
  const VIEWS = [
    ['Patient?_id=sr-p1', ALL_P1, false],
    ['Patient?_id=sr-p1&_summary=false', ALL_P1, false],
    ['Patient?_id=sr-p1&_summary=true', ['active', 'birthDate', 'gender', 'id', 'managingOrganization', 'meta', 'name', 'resourceType'], true],
    ['Patient?_id=sr-p1&_summary=text', ['id', 'meta', 'resourceType', 'text'], true],
    ['Patient?_id=sr-p1&_summary=data', ALL_P1.filter((k) => k !== 'text'), true],
    ['Patient?_id=sr-p1&_elements=name,birthDate', ['birthDate', 'id', 'meta', 'name', 'resourceType'], true],
    ['Patient?_id=sr-p1&_elements=Patient.gender', ['gender', 'id', 'meta', 'resourceType'], true],
    ['Observation?_id=sr-obs1&_summary=text', ['code', 'id', 'meta', 'resourceType', 'status'], true],
  ];
  for (const [query, keys, tagged] of VIEWS) {
    test(query, async () => {
      const res = await api.get(`/fhir/${query}`);
      assert.equal(res.status, 200, res.text);
      const r = entriesOf(res.json)[0].resource;
      assert.deepEqual(Object.keys(r).sort(), keys);
      assert.equal(SUBSETTED(r), tagged, 'the SUBSETTED tag');
    });
  }

  test('a plain name applies to the matches, Type.name to includes of that type', async () => {
    let res = await api.get('/fhir/Patient?_id=sr-p1&_include=Patient:organization&_elements=gender');
    let [p, o] = entriesOf(res.json).map((e) => e.resource);
    assert.deepEqual(Object.keys(p).sort(), ['gender', 'id', 'meta', 'resourceType']);
    assert.ok(o.name && o.partOf && !SUBSETTED(o), 'the included Organization is whole');
    res = await api.get('/fhir/Patient?_id=sr-p1&_include=Patient:organization&_elements=Organization.name');
    [p, o] = entriesOf(res.json).map((e) => e.resource);
    assert.deepEqual(Object.keys(p).sort(), ALL_P1);
    assert.deepEqual(Object.keys(o).sort(), ['id', 'meta', 'name', 'resourceType']);
    assert.ok(SUBSETTED(o));
  });

  test('_summary applies to included resources too', async () => {
    const res = await api.get('/fhir/Observation?_id=sr-obs1&_include=Observation:subject&_summary=true');
    const p = entriesOf(res.json).find((e) => e.search.mode === 'include').resource;
    assert.ok(SUBSETTED(p) && !p.text && !p.contact && p.name);
  });

  test('_summary=count gives the total and no entries', async () => {
    const res = await api.get('/fhir/Observation?subject=Patient/sr-p1&_summary=count&_include=Observation:subject');
    assert.equal(res.json.total, 2);
    assert.equal(res.json.entry, undefined);
  });
});

describe('refusals', () => {
  const BAD = [
    'Patient?_include=Observation:subject',
    'Patient?_include=Patient:name',
    'Patient?_include=Patient:organization:Practitioner',
    'Patient?_include=Patient',
    'Patient?_include:deep=Patient:organization',
    'Patient?_revinclude=Encounter:service-provider',
    'Patient?_summary=maybe',
    'Patient?_elements=nmae',
    'Patient?_elements=name&_summary=true',
    'Patient?_contained=true',
  ];
  for (const query of BAD) {
    test(`${query}: 400, or ignored under handling=lenient`, async () => {
      const res = await api.get(`/fhir/${query}`);
      assertOutcome(res, 400);
      const lenient = await api.get(`/fhir/${query}`, { Prefer: 'handling=lenient' });
      assert.equal(lenient.status, 200, lenient.text);
    });
  }

  test('lenient drops the refused parameter from the self link', async () => {
    const res = await api.get('/fhir/Patient?_id=sr-p1&_include=Patient:name&_include=Patient:organization', { Prefer: 'handling=lenient' });
    const self = res.json.link.find((l) => l.relation === 'self').url;
    assert.ok(!self.includes('Patient:name') && self.includes('_include=Patient:organization'), self);
    assert.deepEqual(idsOf(res.json, 'include'), ['Organization/sr-o1']);
  });
});

describe('metadata', () => {
  test('claims includes, revincludes, $everything and the Patient compartment', async () => {
    const cs = (await api.get('/fhir/metadata')).json;
    const rest = cs.rest[0];
    assert.deepEqual(rest.compartment, ['http://hl7.org/fhir/CompartmentDefinition/patient']);
    const byType = Object.fromEntries(rest.resource.map((r) => [r.type, r]));
    assert.ok(byType.Patient.searchInclude.includes('Patient:organization'));
    assert.ok(byType.Patient.searchInclude.includes('*'));
    assert.ok(byType.Patient.searchRevInclude.includes('Observation:subject'));
    assert.ok(byType.Organization.searchRevInclude.includes('Organization:partof'));
    assert.deepEqual(byType.Patient.operation.map((o) => o.name).sort(), ['everything', 'export']);
    // every claimed include of Patient is accepted
    for (const inc of byType.Patient.searchInclude) {
      const res = await api.get(`/fhir/Patient?_id=sr-p1&_include=${encodeURIComponent(inc)}`);
      assert.equal(res.status, 200, `${inc}: ${res.text.slice(0, 200)}`);
    }
    for (const rev of byType.Patient.searchRevInclude) {
      const res = await api.get(`/fhir/Patient?_id=sr-p1&_revinclude=${encodeURIComponent(rev)}`);
      assert.equal(res.status, 200, `${rev}: ${res.text.slice(0, 200)}`);
    }
  });
});
