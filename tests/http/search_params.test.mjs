// search_params.test.mjs - search matching over HTTP, one table row per parameter
// type, modifier, prefix and edge case (issue 3, must-show 1): a small set of
// Danish coordination resources is written with PUT, then every case's query is
// run and the ids of the searchset compared with the ids written next to it
// (order too where the case sorts).  Then the refusals (400 with the parameter in
// issue.expression; lenient drops), and keyset paging while others write.
//
// Values are written as FHIR has them (escapes \, \| \$ \\ included) and
// URL-encoded by the test.  Times without a zone are UTC (docs/search.md).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { client, assertOutcome, stopClean } from './lib/expect.mjs';

const CPR = 'urn:oid:1.2.208.176.1.2';
const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';
const V2 = 'http://terminology.hl7.org/CodeSystem/v2-0203';

let srv;
let api;

const ref = (r) => ({ reference: r });
const task = (id, status, extra) => ({ resourceType: 'Task', id, status, intent: 'order', ...extra });
const deadline = (end) => ({ restriction: { period: { end } } });
const obs = (id, status, subject, code, extra) =>
  ({ resourceType: 'Observation', id, status, subject: ref(subject), code, ...extra });

function resources(base) {
  return [
    { resourceType: 'Organization', id: 'o1', name: 'Aarhus Kommune' },
    { resourceType: 'Organization', id: 'o2', name: 'Odense Kommune' },
    {
      resourceType: 'Patient', id: 'p1', gender: 'female', birthDate: '1970-01-01',
      name: [{ family: 'Jørgensen', given: ['Åse'] }],
      identifier: [{ type: { coding: [{ system: V2, code: 'MR' }] }, system: CPR, value: '0101701234' }],
      managingOrganization: ref('Organization/o1'),
      generalPractitioner: [{ identifier: { system: 'urn:sor', value: '999' } }],
    },
    {
      resourceType: 'Patient', id: 'p2', gender: 'male', birthDate: '1980-06',
      name: [{ family: 'Sørensen', given: ['Søren'] }], managingOrganization: ref('Organization/o2'),
      meta: {
        tag: [{ system: 'urn:samverka:tag', code: 'udskrivningsklar' }],
        security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }],
        profile: ['http://hl7.dk/fhir/core/StructureDefinition/dk-core-patient'],
        source: 'urn:samverka:source:sundhedsplatformen',
      },
    },
    { resourceType: 'Patient', id: 'p3', birthDate: '1990', name: [{ family: 'A|B$C\\D', given: ['Maria, Anna'] }] },
    task('t1', 'requested', {
      for: ref('Patient/p1'), owner: ref('Organization/o1'), authoredOn: '2024-05-01T10:00:00+02:00',
      businessStatus: { text: 'Afventer svar' }, ...deadline('2024-05-03'),
    }),
    task('t2', 'in-progress', { for: ref('Patient/p2'), owner: ref('Organization/o1'), ...deadline('2024-05-02') }),
    task('t3', 'requested', { for: ref('Patient/p1'), owner: ref('Organization/o2'), ...deadline('2024-06') }),
    task('t4', 'completed', { for: ref('Patient/p3'), owner: ref('Organization/o1') }),
    task('t5', 'requested', { owner: ref(`${base}/Organization/o1`), ...deadline('2024-05-02T12:00:00Z') }),
    obs('obs1', 'final', 'Patient/p1', { coding: [{ system: LOINC, code: '8480-6', display: 'Systolic blood pressure' }] }, {
      effectiveDateTime: '2024-05-02T23:30:00-02:00',
      valueQuantity: { value: 120, unit: 'mmHg', system: UCUM, code: 'mm[Hg]' },
    }),
    obs('obs2', 'final', 'Patient/p2', { coding: [{ system: LOINC, code: '29463-7' }], text: 'Vægt' }, {
      effectivePeriod: { start: '2024-05-01' }, valueQuantity: { value: 72.5, unit: 'kg', system: UCUM, code: 'kg' },
    }),
    obs('obs3', 'amended', 'Patient/p1', { coding: [{ system: LOINC, code: '8480-6' }] }, {
      valueQuantity: { value: 135, unit: 'mmHg' },
    }),
    {
      resourceType: 'Encounter', id: 'e1', status: 'in-progress',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
      subject: ref('Patient/p1'), period: { start: '2024-05-01T08:00:00Z' },
      serviceProvider: ref('Organization/o1'), location: [{ location: ref('Location/l1') }],
    },
    {
      resourceType: 'CarePlan', id: 'cp1', status: 'active', intent: 'plan', subject: ref('Patient/p1'),
      category: [{ coding: [{ system: 'urn:samverka:careplan-category', code: 'sip' }] }],
    },
    { resourceType: 'CareTeam', id: 'ct1', status: 'active', subject: ref('Patient/p1'), participant: [{ member: ref('Organization/o1') }] },
    { resourceType: 'Communication', id: 'c1', status: 'completed', subject: ref('Patient/p1'), recipient: [ref('Organization/o2')] },
    { resourceType: 'PlanDefinition', id: 'vs1', status: 'active', url: 'http://example.org/fhir/ValueSet/a' },
    { resourceType: 'PlanDefinition', id: 'vs2', status: 'active', url: 'http://example.org/fhir/ValueSet/a/b' },
    { resourceType: 'QuestionnaireResponse', id: 'qr1', status: 'completed', questionnaire: 'http://x/Q|1' },
  ];
}

// [type, [[name, value], ...], ids in insertion order, or { ordered: [...] } when sorted]
const CASES = [
  // string: starts-with, case- and accent-insensitive; :exact; :contains; escapes
  ['Patient', [['name', 'jorg']], ['p1']],
  ['Patient', [['name', 'JØRG']], ['p1']],
  ['Patient', [['given', 'ase']], ['p1']],
  ['Patient', [['given', 'Åse']], ['p1']],
  ['Patient', [['given', 'Søren']], ['p2']],
  ['Patient', [['name', 'sor']], ['p2']],
  ['Patient', [['name:exact', 'Jørgensen']], ['p1']],
  ['Patient', [['name:exact', 'jørgensen']], []],
  ['Patient', [['name:exact', 'Jorgensen']], []],
  ['Patient', [['name:contains', 'ENSE']], ['p1', 'p2']],
  ['Patient', [['family', 'a\\|b\\$c\\\\d']], ['p3']],
  ['Patient', [['family', 'a|b$c']], ['p3']],
  ['Patient', [['family:exact', 'A|B$C\\D']], ['p3']],
  ['Patient', [['given', 'maria\\, anna']], ['p3']],
  ['Patient', [['given', 'maria,sor']], ['p2', 'p3']],
  // token: code, system|code, |code, system|, :not, :text, :of-type
  ['Patient', [['identifier', `${CPR}|0101701234`]], ['p1']],
  ['Patient', [['identifier', '0101701234']], ['p1']],
  ['Patient', [['identifier', '|0101701234']], []],
  ['Patient', [['identifier', `${CPR}|`]], ['p1']],
  ['Patient', [['identifier:of-type', `${V2}|MR|0101701234`]], ['p1']],
  ['Patient', [['identifier:of-type', `${V2}|PPN|0101701234`]], []],
  ['Patient', [['gender', 'female']], ['p1']],
  ['Patient', [['gender', 'female,male']], ['p1', 'p2']],
  ['Patient', [['gender:not', 'male']], ['p1', 'p3']],
  ['Observation', [['code:text', 'vaeg']], ['obs2']],
  ['Observation', [['code:text', 'VÆG']], ['obs2']],
  ['Observation', [['code:text', 'systolic']], ['obs1']],
  ['Observation', [['code:text', 'blood']], []],
  ['Task', [['business-status:text', 'afventer']], ['t1']],
  ['Observation', [['code', `${LOINC}|8480-6`], ['status', 'final']], ['obs1']],
  // reference: Type/id, id, :Type, our absolute url, another server's, :identifier, canonical
  ['Task', [['owner', 'Organization/o1']], ['t1', 't2', 't4', 't5']],
  ['Task', [['owner', 'o1']], ['t1', 't2', 't4']],
  ['Task', [['owner:Organization', 'o1']], ['t1', 't2', 't4', 't5']],
  ['Task', [['owner', 'BASE/Organization/o1']], ['t1', 't2', 't4', 't5']],
  ['Task', [['owner', 'Organization/o1/_history/3']], ['t1', 't2', 't4', 't5']],
  ['Task', [['owner', 'Organization/o2,Organization/o9']], ['t3']],
  ['Task', [['owner', 'https://other.example/fhir/Organization/o1']], []],
  ['Task', [['patient', 'p1']], ['t1', 't3']],
  ['Patient', [['general-practitioner:identifier', 'urn:sor|999']], ['p1']],
  ['QuestionnaireResponse', [['questionnaire', 'http://x/Q|1']], ['qr1']],
  ['QuestionnaireResponse', [['questionnaire', 'http://x/Q']], ['qr1']],
  ['QuestionnaireResponse', [['questionnaire', 'http://x/Q|2']], []],
  // date: precision year/month/day/second, time zones, every prefix, Period overlap
  ['Task', [['deadline', '2024-05-03']], ['t1']],
  ['Task', [['deadline', '2024-05']], ['t1', 't2', 't5']],
  ['Task', [['deadline', '2024']], ['t1', 't2', 't3', 't5']],
  ['Task', [['deadline', 'eq2024-05-02']], ['t2', 't5']],
  ['Task', [['deadline', 'ne2024-05-03']], ['t2', 't3', 't5']],
  ['Task', [['deadline', 'lt2024-05-03']], ['t2', 't5']],
  ['Task', [['deadline', 'le2024-05-03']], ['t1', 't2', 't5']],
  ['Task', [['deadline', 'gt2024-05-02']], ['t1', 't3']],
  ['Task', [['deadline', 'ge2024-06-15']], ['t3']],
  ['Task', [['deadline', 'sa2024-05-03']], ['t3']],
  ['Task', [['deadline', 'eb2024-06']], ['t1', 't2', 't5']],
  // ap widens by 10% of the distance to now (the server's clock): only the overlap is certain
  ['Task', [['deadline', 'ap2024-06-15'], ['deadline', 'gt2024-05-31']], ['t3']],
  ['Task', [['deadline', 'ge2024-05-02T12:00:00Z'], ['deadline', 'lt2024-05-03']], ['t2', 't5']],
  ['Task', [['deadline', 'sa2024-05-02T11:59:59Z'], ['deadline', 'lt2024-05-03']], ['t5']],
  ['Task', [['deadline', '2024-05-02T14:00:00+02:00']], ['t5']],
  ['Task', [['authored-on', '2024-05-01']], ['t1']],
  ['Task', [['authored-on', '2024-05-01T08:00:00Z']], ['t1']],
  ['Task', [['authored-on', '2024-05-01T10:00:00+02:00']], ['t1']],
  ['Task', [['authored-on', '2024-05-01T09:00:00+02:00']], []],
  ['Task', [['authored-on', '2024-05-01T10:00']], []],
  ['Task', [['authored-on', '2024-05-01T08:00']], ['t1']],
  ['Observation', [['date', '2024-05-03']], ['obs1']],
  ['Observation', [['date', '2024-05-02']], []],
  ['Observation', [['date', 'ge2024-05-01']], ['obs1', 'obs2']],
  ['Encounter', [['date', 'ap2024-05-10']], ['e1']],
  ['Encounter', [['date', 'eq2024-05']], []],
  ['Encounter', [['date', 'ge2030']], ['e1']],
  ['Encounter', [['date', 'lt2024-05-01T08:00:00Z']], []],
  ['Patient', [['birthdate', '1980']], ['p2']],
  ['Patient', [['birthdate', 'lt1980-06-15']], ['p1', 'p2']],
  // quantity: implicit precision, units, exponents
  ['Observation', [['value-quantity', '120']], ['obs1']],
  ['Observation', [['value-quantity', `120|${UCUM}|mm[Hg]`]], ['obs1']],
  ['Observation', [['value-quantity', '120||mmHg']], ['obs1']],
  ['Observation', [['value-quantity', '135||mmHg']], ['obs3']],
  ['Observation', [['value-quantity', `135|${UCUM}|mm[Hg]`]], []],
  ['Observation', [['value-quantity', 'gt100']], ['obs1', 'obs3']],
  ['Observation', [['value-quantity', '1e2']], ['obs1', 'obs2', 'obs3']],
  ['Observation', [['value-quantity', 'le72.5']], ['obs2']],
  ['Observation', [['value-quantity', 'ap130']], ['obs1', 'obs3']],
  ['Observation', [['value-quantity', 'sa120']], ['obs3']],
  ['Observation', [['value-quantity', 'eb120']], ['obs2']],
  ['Observation', [['value-quantity', 'ne120']], ['obs2', 'obs3']],
  // composite
  ['Observation', [['code-value-quantity', `${LOINC}|8480-6$gt125`]], ['obs3']],
  ['Observation', [['code-value-quantity', '8480-6$120']], ['obs1']],
  ['Observation', [['code-value-quantity', '29463-7$120']], []],
  // uri
  ['PlanDefinition', [['url', 'http://example.org/fhir/ValueSet/a']], ['vs1']],
  ['PlanDefinition', [['url:below', 'http://example.org/fhir/ValueSet/a']], ['vs1', 'vs2']],
  ['PlanDefinition', [['url:above', 'http://example.org/fhir/ValueSet/a/b/c']], ['vs1', 'vs2']],
  ['PlanDefinition', [['url:above', 'http://example.org/fhir/ValueSet/a']], ['vs1']],
  // :missing, _id, _lastUpdated
  ['Task', [['deadline:missing', 'true']], ['t4']],
  ['Task', [['deadline:missing', 'false'], ['status', 'requested']], ['t1', 't3', 't5']],
  ['Patient', [['gender:missing', 'true']], ['p3']],
  ['Patient', [['general-practitioner:missing', 'false']], ['p1']],
  ['Task', [['_id', 't2,t9,t1']], ['t1', 't2']],
  ['Task', [['_lastUpdated', 'gt2000-01-01'], ['_id', 't3']], ['t3']],
  ['Task', [['_lastUpdated', 'lt2000-01-01']], []],
  // _tag, _security, _profile, _source (every type)
  ['Patient', [['_tag', 'urn:samverka:tag|udskrivningsklar']], ['p2']],
  ['Patient', [['_tag:not', 'udskrivningsklar']], ['p1', 'p3']],
  ['Patient', [['_security', 'R']], ['p2']],
  ['Patient', [['_profile', 'http://hl7.dk/fhir/core/StructureDefinition/dk-core-patient']], ['p2']],
  ['Patient', [['_source', 'urn:samverka:source:sundhedsplatformen']], ['p2']],
  ['Patient', [['_tag:missing', 'true']], ['p1', 'p3']],
  // the coordination searches
  ['Task', [['owner', 'Organization/o1'], ['status', 'requested,in-progress'], ['_sort', 'deadline']], { ordered: ['t2', 't5', 't1'] }],
  ['CarePlan', [['subject', 'Patient/p1'], ['status', 'active']], ['cp1']],
  ['Encounter', [['status', 'in-progress'], ['location', 'Location/l1']], ['e1']],
  ['Encounter', [['status', 'in-progress'], ['service-provider', 'Organization/o1']], ['e1']],
  ['CareTeam', [['participant', 'Organization/o1']], ['ct1']],
  ['Communication', [['recipient', 'Organization/o2']], ['c1']],
  // chains and _has
  ['Task', [['subject:Patient.name', 'jorg']], ['t1', 't3']],
  ['Task', [['owner:Organization.name', 'aarhus']], ['t1', 't2', 't4']],
  ['Observation', [['subject:Patient.organization.name', 'odense']], ['obs2']],
  ['Encounter', [['subject.birthdate', '1970']], ['e1']],
  ['Observation', [['subject:Patient.gender', 'male,female'], ['value-quantity', 'gt100']], ['obs1', 'obs3']],
  ['Patient', [['_has:Observation:patient:code', '8480-6']], ['p1']],
  ['Patient', [['_has:Task:patient:status', 'in-progress']], ['p2']],
  ['Patient', [['_has:Task:patient:status', 'requested,in-progress']], ['p1', 'p2']],
  ['Organization', [['_has:Patient:organization:_has:Observation:patient:code', '29463-7']], ['o2']],
  ['Patient', [['_has:CareTeam:patient:participant', 'Organization/o1'], ['gender', 'female']], ['p1']],
  // _sort on each type, several keys, descending, missing values last
  ['Task', [['_sort', 'deadline']], { ordered: ['t2', 't5', 't1', 't3', 't4'] }],
  ['Task', [['_sort', '-deadline']], { ordered: ['t3', 't1', 't2', 't5', 't4'] }],
  ['Task', [['_sort', 'status,-deadline']], { ordered: ['t4', 't2', 't3', 't1', 't5'] }],
  ['Task', [['owner', 'Organization/o1'], ['_sort', '-_id']], { ordered: ['t5', 't4', 't2', 't1'] }],
  ['Patient', [['_sort', 'family']], { ordered: ['p3', 'p1', 'p2'] }],
  ['Patient', [['_sort', '-birthdate']], { ordered: ['p3', 'p2', 'p1'] }],
  ['Observation', [['_sort', '-value-quantity']], { ordered: ['obs3', 'obs1', 'obs2'] }],
  ['Observation', [['_sort', 'code,date']], { ordered: ['obs2', 'obs1', 'obs3'] }],
  ['Task', [['_sort', 'owner,_id']], { ordered: ['t5', 't1', 't2', 't4', 't3'] }],
  ['Task', [['_sort', '_lastUpdated'], ['_id', 't3,t1']], { ordered: ['t1', 't3'] }],
];

// [type, [[name, value]], expression, issue code]
const REFUSED = [
  ['Patient', [['nope', '1']], 'nope', 'not-supported'],
  ['Patient', [['family', '']], 'family', 'invalid'],
  ['Patient', [['family', 'a,,b']], 'family', 'invalid'],
  ['Patient', [['family:text', 'a']], 'family:text', 'not-supported'],
  ['Patient', [['identifier', 'a|b|c']], 'identifier', 'invalid'],
  ['Patient', [['identifier', '|']], 'identifier', 'invalid'],
  ['Patient', [['identifier:of-type', 'MR|123']], 'identifier:of-type', 'invalid'],
  ['Patient', [['gender:in', 'http://x']], 'gender:in', 'not-supported'],
  ['Task', [['owner', 'Organisation/o1']], 'owner', 'invalid'],
  ['Task', [['owner', 'Observation/o1']], 'owner', 'invalid'],
  ['Task', [['deadline', '2024-02-30']], 'deadline', 'invalid'],
  ['Task', [['deadline', '2024-05-03T25:00']], 'deadline', 'invalid'],
  ['Task', [['deadline', 'xx2024']], 'deadline', 'invalid'],
  ['Task', [['deadline', '2024-13']], 'deadline', 'invalid'],
  ['Task', [['deadline:missing', 'yes']], 'deadline:missing', 'invalid'],
  ['Observation', [['value-quantity', '5.4|mg']], 'value-quantity', 'invalid'],
  ['Observation', [['value-quantity', 'abc']], 'value-quantity', 'invalid'],
  ['Observation', [['code-value-quantity', '8480-6']], 'code-value-quantity', 'invalid'],
  ['Observation', [['subject.name', 'x']], 'subject.name', 'invalid'],
  ['Observation', [['status.name', 'x']], 'status.name', 'invalid'],
  ['Patient', [['_has:Observation:patient', 'x']], '_has:Observation:patient', 'invalid'],
  ['Patient', [['_has:Nope:patient:code', 'x']], '_has:Nope:patient:code', 'not-supported'],
  ['Task', [['_sort', 'nope']], '_sort', 'not-supported'],
  ['Task', [['_cursor', 'zz']], '_cursor', 'invalid'],
];

function url(type, params) {
  const q = params.map(([n, v]) => `${encodeURIComponent(n)}=${encodeURIComponent(v.replace('BASE', srv.fhirBase))}`);
  return `/fhir/${type}?${[...q, '_count=100'].join('&')}`;
}

const ids = (bundle) => (bundle.entry || []).filter((e) => e.search?.mode === 'match').map((e) => e.resource.id);

before(async () => {
  srv = await startServer();
  api = client(srv);
  for (const r of resources(srv.fhirBase)) {
    const res = await api.put(`/fhir/${r.resourceType}/${r.id}`, r);
    assert.ok(res.status === 201 || res.status === 200, `PUT ${r.resourceType}/${r.id}: ${res.status} ${res.text.slice(0, 400)}`);
  }
});

after(async () => {
  await stopClean(srv);
});

test('every parameter type, modifier and prefix finds exactly the expected resources', async () => {
  const failures = [];
  for (const [type, params, want] of CASES) {
    const path = url(type, params);
    const res = await api.get(path);
    if (res.status !== 200) {
      failures.push(`${path}: ${res.status} ${res.text.slice(0, 300)}`);
      continue;
    }
    const got = ids(res.json);
    const ordered = !Array.isArray(want);
    const expect = ordered ? want.ordered : want;
    const a = ordered ? got : [...got].sort();
    const b = ordered ? expect : [...expect].sort();
    if (JSON.stringify(a) !== JSON.stringify(b)) failures.push(`${decodeURIComponent(path)}: got [${got}], want [${expect}]`);
    else if (res.json.total !== undefined && res.json.total !== got.length) failures.push(`${path}: total ${res.json.total} for ${got.length}`);
  }
  assert.deepEqual(failures, [], `${failures.length} of ${CASES.length} cases failed:\n${failures.join('\n')}`);
});

test('malformed and unknown parameters are 400 with the parameter in issue.expression', async () => {
  for (const [type, params, expression, code] of REFUSED) {
    const res = await api.get(url(type, params));
    assertOutcome(res, 400, { expression, code });
  }
});

test('Prefer: handling=lenient drops unknown parameters and leaves them out of the self link', async () => {
  const res = await api.get('/fhir/Patient?nope=1&name=jorg&family:foo=x&_sort=nope,family', { Prefer: 'handling=lenient' });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(ids(res.json), ['p1']);
  const self = res.json.link.find((l) => l.relation === 'self').url;
  assert.ok(!self.includes('nope=1') && !self.includes('family%3Afoo') && !self.includes('family:foo'), self);
  assert.match(self, /name=jorg/);
  // a malformed value is not "unknown": still refused
  assertOutcome(await api.get('/fhir/Patient?birthdate=2024-13', { Prefer: 'handling=lenient' }), 400, { expression: 'birthdate' });
});

// Keyset pages by next links while tasks are created, updated and deleted between
// the pages: every task that stays as it was is seen exactly once, in order.
test('next and previous links stay exact while others write', async () => {
  const put = (t) => api.put(`/fhir/Task/${t.id}`, t).then((r) => assert.ok(r.status < 300, r.text));
  const mk = (id, day, owner = 'Organization/o9') =>
    task(id, 'requested', { owner: ref(owner), ...deadline(`2025-03-${String(day).padStart(2, '0')}`) });
  for (const [id, day] of [['k1', 1], ['k2', 2], ['k3', 2], ['k4', 4], ['k5', 5], ['k6', 6], ['k7', 7]]) await put(mk(id, day));
  const first = `/fhir/Task?owner=Organization/o9&_sort=deadline&_count=2`;
  const seen = [];
  const pages = [];
  let next = first;
  for (let page = 1; next && page < 20; page++) {
    const res = await api.get(next.replace(srv.base, ''));
    assert.equal(res.status, 200, res.text);
    pages.push(res.json);
    seen.push(...ids(res.json));
    if (page === 1) {
      // behind the position: a deletion, an update that keeps its deadline, a new task before
      await api.delete('/fhir/Task/k1');
      await put({ ...mk('k3', 2), description: 'updated' });
      await put(mk('n1', 1));
      await put(mk('n2', 5)); // ahead of the position: must be seen
    } else if (page === 2) {
      await api.delete('/fhir/Task/k5');
      await put(mk('k6', 6, 'Organization/o1')); // no longer matches
    }
    next = res.json.link.find((l) => l.relation === 'next')?.url;
    if (next) assert.match(next, /_cursor=/);
  }
  assert.deepEqual(seen, ['k1', 'k2', 'k3', 'k4', 'n2', 'k7']);
  // back from the last page by previous links: the pages as they are now
  const last = pages[pages.length - 1];
  let prev = last.link.find((l) => l.relation === 'previous')?.url;
  const back = [];
  while (prev) {
    const res = await api.get(prev.replace(srv.base, ''));
    assert.equal(res.status, 200, res.text);
    back.unshift(...ids(res.json));
    prev = res.json.link.find((l) => l.relation === 'previous')?.url;
  }
  assert.deepEqual([...back, ...ids(last)], ['n1', 'k2', 'k3', 'k4', 'n2', 'k7']);
  // a cursor belongs to its _sort
  const cursor = new URL(pages[0].link.find((l) => l.relation === 'next').url).searchParams.get('_cursor');
  assertOutcome(await api.get(`/fhir/Task?owner=Organization/o9&_sort=-deadline&_cursor=${cursor}`), 400, { expression: '_cursor' });
});

test('_total=accurate counts every match, whatever the page', async () => {
  const all = await api.get('/fhir/Task?owner=Organization/o1&_count=100');
  const res = await api.get('/fhir/Task?owner=Organization/o1&_total=accurate&_count=1');
  assert.equal(res.status, 200, res.text);
  assert.equal(ids(res.json).length, 1);
  assert.ok(ids(all.json).length >= 4);
  assert.equal(res.json.total, ids(all.json).length);
});
