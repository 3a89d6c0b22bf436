// search_examples.test.mjs - searches over the official R4 examples (issue 3,
// must-show 3), run by an independent client (npm fhir-kit-client,
// client.search({ resourceType, searchParams })).
//
// Every example of a type the server's CapabilityStatement lists is loaded
// (npm hl7.fhir.r4.examples), except Bundles (the large definition Bundles
// are not searched here and only slow the load) and the examples that are
// invalid themselves (tests/data/r4-examples-known-invalid.txt).  Then each
// search below runs and its ids are compared with the expected ones.
//
// The expected ids were written by hand from reading the example files, not
// taken from the server: the comment next to each says what in the examples
// makes them match.  A date without a time zone is read in UTC, the zone the
// server declares for such values (docs/search-testing.md); several searches
// below are about exactly that, because the examples' times are at +10:00
// and -08:00.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'fhir-kit-client';
import { startServer, ROOT } from './lib/server.mjs';
import { stopClean } from './lib/expect.mjs';

const EXAMPLES = join(ROOT, 'node_modules', 'hl7.fhir.r4.examples');
const KNOWN_INVALID = join(ROOT, 'tests', 'data', 'r4-examples-known-invalid.txt');
const SKIP = existsSync(EXAMPLES)
  ? false
  : `${EXAMPLES} is missing (npm package hl7.fhir.r4.examples; make deps installs it)`;
if (SKIP) console.log(`# search_examples: skipped: ${SKIP}`);

const medrx = (...n) => n.map((x) => `medrx0${x}`);

// [resourceType, searchParams, expected ids, why, compartment (optional)]
const SEARCHES = [
  // Patient
  ['Patient', { family: 'Chalmers' }, ['example'], 'official name Chalmers (Patient-animal has him only as a contact)'],
  ['Patient', { name: 'windsor' }, ['example'], 'maiden name Windsor; name covers every HumanName, any case'],
  ['Patient', { family: 'Everywoman' }, ['genetics-example1', 'mom'], 'two examples of Eve Everywoman'],
  ['Patient', { given: 'Jim' }, ['example'], 'the usual name of Peter James Chalmers'],
  ['Patient', { birthdate: '1932-09-24' }, ['glossy', 'xcda'], 'Henry Levin, twice'],
  ['Patient', { gender: 'female', birthdate: 'lt1980' }, ['genetics-example1', 'mom', 'proband'], 'women born 1973, 1973 and 1966'],
  ['Patient', { 'family:exact': 'Solo' }, ['infant-mom', 'infant-twin-1', 'infant-twin-2'], 'Leia, Jaina and Jacen Solo'],
  ['Patient', { identifier: 'urn:oid:1.2.36.146.595.217.0.1|12345' }, ['example'], 'ch-example has the same system, another value'],
  ['Patient', { identifier: '12345' }, ['example', 'xcda'], 'value 12345 in two systems; 123456 does not match'],
  ['Patient', { identifier: 'urn:oid:0.1.2.3.4.5.6.7|' }, ['pat1', 'pat2', 'pat3', 'pat4'], 'every identifier in that system'],
  ['Patient', { 'address-city': 'Amsterdam' }, ['f001', 'f201'], 'the two Dutch patients'],
  ['Patient', { organization: 'Organization/1' }, ['ch-example', 'dicom', 'example', 'pat1', 'pat2', 'pat3', 'pat4'],
    'managingOrganization Organization/1'],
  ['Patient', { 'gender:not': 'male' },
    ['animal', 'genetics-example1', 'ihe-pcd', 'infant-mom', 'infant-twin-1', 'mom', 'pat2', 'pat4', 'proband'],
    'female, other (pat2) and no gender at all (ihe-pcd)'],
  // Observation
  ['Observation', { code: 'http://loinc.org|29463-7' }, ['example'], 'the body weight example'],
  ['Observation', { code: 'http://loinc.org|8310-5' }, ['body-temperature', 'f202'], 'f202 has 8310-5 among four codings'],
  ['Observation', { code: 'http://loinc.org|85354-9', status: 'final' }, ['blood-pressure', 'blood-pressure-dar'],
    'blood-pressure-cancel is cancelled'],
  ['Observation', { subject: 'Patient/f001' }, ['ekg', 'f001', 'f002', 'f003', 'f004', 'f005', 'unsat'], 'P. van de Heuvel'],
  ['Observation', { patient: 'f201' }, ['f202', 'f203', 'f204', 'f205', 'f206'], 'Roel, by plain id'],
  ['Observation', { 'value-quantity': 'gt100' }, ['656', 'example', 'f204'], '820 cL/s, 185 lbs, 122 umol/L'],
  ['Observation', { 'value-quantity': 'lt1' }, ['1minute-apgar-score', 'bmd', 'herd1'], '0, 0.887 and 0.2'],
  ['Observation', { 'value-quantity': '36.5|http://unitsofmeasure.org|Cel' }, ['body-temperature'],
    'f202 is 39 Cel; 36.5 covers 36.45..36.55'],
  ['Observation', { 'component-value-quantity': 'lt0' }, ['decimal'], 'the component -1e245 g'],
  ['Observation', { date: '1999-07-02' },
    ['bmi', 'bmi-using-related', 'body-height', 'body-length', 'body-temperature', 'head-circumference', 'heart-rate', 'mbp',
      'respiratory-rate', 'vitals-panel'], 'the vital signs of 1999-07-02'],
  ['Observation', { category: 'vital-signs', date: 'ge2012' },
    ['blood-pressure', 'blood-pressure-cancel', 'blood-pressure-dar', 'example', 'satO2'],
    'vital signs from 2012 on; f202 has no effective[x]'],
  // Encounter
  ['Encounter', { subject: 'Patient/example' }, ['emerg', 'example', 'home'], ''],
  ['Encounter', { class: 'http://terminology.hl7.org/CodeSystem/v3-ActCode|IMP' }, ['emerg', 'example', 'f203'], 'inpatient'],
  ['Encounter', { status: 'finished', subject: 'Patient/f201' }, ['f201', 'f202', 'f203'], ''],
  ['Encounter', { 'service-provider': 'Organization/f001' }, ['f001', 'f002', 'f003'], ''],
  ['Encounter', { date: 'lt2016' }, ['f203', 'home'], 'periods starting 2013-03-11 and 2015-01-17; emerg starts 2017'],
  // Condition
  ['Condition', { 'onset-date': '2013-03' }, ['f203', 'f204'], 'onset 2013-03-08 and 2013-03-11'],
  ['Condition', { 'onset-date': 'lt2012' }, ['f001', 'f002', 'stroke'], 'onset 2011-08-05, 2011-05-05, 2010-07-18'],
  ['Condition', { 'clinical-status': 'resolved' }, ['f201', 'f202'], ''],
  ['Condition', { subject: 'Patient/f201', 'verification-status': 'differential' }, ['f204', 'f205'], ''],
  ['Condition', { 'code:text': 'burnt' }, ['example'], 'code.text "Burnt Ear" (the display is "Burn of ear")'],
  ['Condition', { 'onset-age': '52|http://unitsofmeasure.org|a' }, ['f202'], 'onsetAge 52 a'],
  // MedicationRequest (medrx0301 is a known-invalid example and not loaded)
  ['MedicationRequest', { intent: 'order' },
    ['medrx002', ...medrx(302, 303, 304, 305, 306, 307, 308, 309, 310, 311, 312, 313, 314, 315, 316, 317, 318, 319, 320, 321,
      322, 323, 324, 325, 326, 327, 328, 329, 330, 331, 332, 333, 334, 335, 336, 337, 338, 339)], 'every loaded one is an order'],
  ['MedicationRequest', { status: 'on-hold' }, medrx(325, 326, 329, 334, 335), ''],
  ['MedicationRequest', { code: 'http://www.nlm.nih.gov/research/umls/rxnorm|884308' }, medrx(325, 334, 335), 'Nystatin ointment'],
  ['MedicationRequest', { authoredon: '2015-03-01' }, ['medrx002'], 'the others are of 2015-01-15'],
  // Organization
  ['Organization', { name: 'Burgers' }, ['f001', 'f002', 'f003'], 'Burgers University Medical Center and two units'],
  ['Organization', { name: 'ABC' }, ['2'], 'alias ABC Insurance'],
  ['Organization', { partof: 'Organization/f001' }, ['f002', 'f003'], ''],
  ['Organization', { name: 'Burgers UMC Ear\\,Nose' }, ['f003'], 'an escaped comma: "Burgers UMC Ear,Nose,Throat unit"'],
  ['Organization', { 'name:contains': 'medical' }, ['f001', 'f201'], '"... University Medical Center"; "Medisch" is not'],
  // Practitioner
  ['Practitioner', { family: 'van den' }, ['f001', 'f006'], 'van den broek, van den Berk'],
  ['Practitioner', { name: 'Juri' }, ['f203'], 'only in HumanName.text "Juri van Gelder"'],
  ['Practitioner', { identifier: 'urn:oid:2.16.528.1.1007.3.1|118265112' }, ['f004', 'f005'], 'two practitioners share the value'],
  ['Practitioner', { gender: 'female' }, ['f005', 'f007', 'f204'], ''],
  // Task
  ['Task', { owner: 'Organization/1832473e-2fe0-452d-abe9-3cdb9879522f' }, ['example1', 'example2', 'example5', 'example6'], ''],
  ['Task', { status: 'requested', priority: 'stat' }, ['fm-example1', 'fm-example2', 'fm-example3', 'fm-example4', 'fm-example5'],
    'fm-example6 is completed'],
  ['Task', { deadline: 'lt2016-11-01T12:00:00+10:00' }, ['example2', 'example4'],
    'samverka\'s deadline (restriction.period.end): 2016-11-01T09:45:05+10:00'],
  ['Task', { deadline: '2016-11-01' }, ['example1', 'example5', 'example6'],
    '2016-11-02T09:45:05+10:00 is 2016-11-01T23:45:05Z; 2016-11-01T09:45:05+10:00 is still 2016-10-31 in UTC'],
  ['Task', { 'authored-on': ['gt2016-10-31T08:30:00+10:00', 'lt2016-11-01'] }, ['example2', 'example4'], 'authored 08:45+10:00'],
  ['Task', { code: 'http://terminology.hl7.org/CodeSystem/financialtaskcode|poll' }, ['fm-example2'], ''],
  ['Task', { 'part-of': 'Task/example1' }, ['example2', 'example4'], ''],
  ['Task', { 'business-status:text': 'waiting' }, ['example1', 'example2'], 'waiting for specimen / for patient'],
  ['Task', { patient: 'Patient/f001' }, ['example3'], 'Task.for'],
  // CarePlan
  ['CarePlan', { subject: 'Patient/f201' }, ['f201', 'f202', 'f203'], ''],
  ['CarePlan', { status: 'completed' }, ['f001', 'f002', 'f003', 'f203'], ''],
  ['CarePlan', { date: '2013-03' }, ['f003', 'f201'], 'periods inside March 2013'],
  ['CarePlan', { date: 'ge2017-01-01' }, ['example', 'gpvisit'], 'one ends 2017-06-01, one never ends'],
  ['CarePlan', { 'care-team': 'CareTeam/example' }, ['example'], ''],
  // Goal, Communication
  ['Goal', { 'lifecycle-status': 'completed' }, ['stop-smoking'], ''],
  ['Goal', { 'target-date': '2016-04-05' }, ['example'], 'target.dueDate'],
  ['Communication', { sent: 'lt2015' }, ['example'], '2014-12-12T18:01:10-08:00'],
  ['Communication', { subject: 'Patient/1' }, ['fm-attachment', 'fm-solicited'], ''],
  // Chaining, _has and a compartment
  ['Encounter', { 'subject:Patient.family': 'van de' }, ['f001', 'f002', 'f003'], 'chained: the subject is P. van de Heuvel'],
  ['Task', { 'owner:Organization.name': 'clinical' }, ['example1', 'example2', 'example5', 'example6'],
    'chained: the owner is "Clinical Lab"'],
  ['Patient', { '_has:Observation:patient:code': 'http://loinc.org|15074-8' }, ['f001'], 'reverse chain: glucose f001 and unsat'],
  ['Encounter', {}, ['emerg', 'example', 'home'], 'compartment Patient/example/Encounter', { resourceType: 'Patient', id: 'example' }],
];

let srv;
let client;
let supported = new Set();
let loaded = 0;

function readKnownInvalid() {
  return new Set(readFileSync(KNOWN_INVALID, 'utf8').split('\n')
    .filter((l) => l.trim() && !l.startsWith('#')).map((l) => l.split('\t')[0]));
}

before(async () => {
  if (SKIP) return;
  srv = await startServer();
  client = new Client({ baseUrl: srv.fhirBase });
  const cs = await client.capabilityStatement();
  supported = new Set(cs.rest[0].resource.map((r) => r.type));
  const invalid = readKnownInvalid();
  const entries = [];
  for (const file of readdirSync(EXAMPLES).sort()) {
    if (!file.endsWith('.json') || invalid.has(file)) continue;
    let resource;
    try { resource = JSON.parse(readFileSync(join(EXAMPLES, file), 'utf8')); } catch { continue; }
    if (!resource.resourceType || resource.resourceType === 'Bundle' || !supported.has(resource.resourceType) || !resource.id) continue;
    entries.push({ file, resource });
  }
  // Batches of 100 PUTs keep the examples' ids (they refer to each other by them).
  for (let i = 0; i < entries.length; i += 100) {
    const slice = entries.slice(i, i + 100);
    const answer = await client.batch({
      body: {
        resourceType: 'Bundle', type: 'batch',
        entry: slice.map(({ resource }) => ({ resource, request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` } })),
      },
    });
    answer.entry.forEach((e, j) => {
      assert.match(e.response.status, /^20[01]/, `${slice[j].file}: ${JSON.stringify(e.response)}`);
    });
  }
  loaded = entries.length;
  console.log(`# search_examples: loaded ${loaded} examples of ${supported.size} supported types`);
});

after(async () => {
  if (srv) await stopClean(srv);
});

test('the examples are loaded', { skip: SKIP }, () => {
  assert.ok(loaded > 300, `${loaded} examples`);
});

for (const [resourceType, searchParams, expected, why, compartment] of SEARCHES) {
  const shown = Object.entries(searchParams).flatMap(([k, v]) => [].concat(v).map((x) => `${k}=${x}`)).join('&');
  const path = compartment ? `${compartment.resourceType}/${compartment.id}/${resourceType}` : resourceType;
  test(`${path}?${shown}${why ? ` (${why})` : ''}`, { skip: SKIP }, async (t) => {
    if (!supported.has(resourceType)) {
      t.skip(`${resourceType} is not in the CapabilityStatement`);
      return;
    }
    let bundle = await client.search({ resourceType, compartment, searchParams: { ...searchParams, _count: 200 } })
      .catch((err) => { throw new Error(`${err.message}: ${JSON.stringify(err.response?.data?.issue ?? err.response?.data)}`); });
    assert.equal(bundle.resourceType, 'Bundle');
    assert.equal(bundle.type, 'searchset');
    const ids = [];
    for (let pages = 0; bundle; pages++) {
      assert.ok(pages < 20, 'next links do not end');
      for (const e of bundle.entry || []) {
        if ((e.search?.mode ?? 'match') !== 'match') continue;
        assert.equal(e.resource.resourceType, resourceType);
        ids.push(e.resource.id);
      }
      bundle = (bundle.link || []).some((l) => l.relation === 'next') ? await client.nextPage({ bundle }) : null;
    }
    assert.deepEqual(ids.slice().sort(), expected.slice().sort());
  });
}
