// board_access.test.mjs - the discharge board under the access policy (issue 6's
// board, issue 4's "no leaks"), with --auth on.
//
// Three citizens are discharge-ready at one hospital: Anna and Cai belong to
// Malmö, Bo to Lund.  Cai has a consent that denies Malmö coordination data.
// Each organisation's staff see on a board only the stays they may see under
// docs/access.md: the hospital's nurse all three (an active Encounter at her
// organisation), Malmö's home care Anna only (home municipality gives
// coordination; Cai's consent takes it away), Lund's Bo only, an unrelated
// organisation and the admin nobody - whichever organisation's board they
// ask for.  The total counts only what is shown, and a revoked deny takes
// effect on the next request.  Expectations are stated from docs/access.md.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorld, ref as R } from './lib/access_fixture.mjs';
import { ROLE_SYSTEM, ACTCODE, CATEGORY_SYSTEM } from './lib/access_oracle.mjs';

const SYS = 'http://samverka.org/fhir/';
const IMP = { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' };
const role = (code) => [{ coding: [{ system: ROLE_SYSTEM, code }] }];
const municipality = (code) => [{ system: `${SYS}sid/se-municipality-code`, value: code }];

const now = Date.now();
const iso = (ms) => new Date(ms).toISOString();
const stay = (id, patient) => ({
  resourceType: 'Encounter', id, status: 'in-progress', class: IMP,
  subject: R(`Patient/${patient}`), serviceProvider: R('Organization/sus'),
  period: { start: iso(now - 3 * 86400e3) },
  extension: [{
    url: `${SYS}StructureDefinition/discharge-ready`,
    extension: [{ url: 'time', valueDateTime: iso(now - 3600e3) }],
  }],
});
const denyMalmo = (status) => ({
  resourceType: 'Consent', id: 'cai-deny-malmo', status,
  scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
  category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
  patient: R('Patient/cai'),
  policyRule: { coding: [{ system: ACTCODE, code: 'OPTOUT' }] },
  provision: {
    type: 'deny',
    actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, reference: R('Organization/malmo') }],
    securityLabel: [{ system: CATEGORY_SYSTEM, code: 'coordination' }],
  },
});

const resources = [
  { resourceType: 'Organization', id: 'sus', name: 'SUS Malmö', identifier: [{ system: 'urn:oid:1.2.752.29.4.19', value: 'SE2321000255-0002' }] },
  { resourceType: 'Organization', id: 'malmo', name: 'Malmö stad', identifier: municipality('1280') },
  { resourceType: 'Organization', id: 'lund', name: 'Lunds kommun', identifier: municipality('1281') },
  { resourceType: 'Organization', id: 'other', name: 'A care home none of them lives in' },
  { resourceType: 'PractitionerRole', id: 'pr-sus', active: true, organization: R('Organization/sus'), code: role('nurse') },
  { resourceType: 'PractitionerRole', id: 'pr-malmo', active: true, organization: R('Organization/malmo'), code: role('home-care') },
  { resourceType: 'PractitionerRole', id: 'pr-lund', active: true, organization: R('Organization/lund'), code: role('home-care') },
  { resourceType: 'PractitionerRole', id: 'pr-other', active: true, organization: R('Organization/other'), code: role('nurse') },
  { resourceType: 'Patient', id: 'anna', name: [{ family: 'Andersson', given: ['Anna'] }], managingOrganization: R('Organization/malmo') },
  { resourceType: 'Patient', id: 'bo', name: [{ family: 'Berg', given: ['Bo'] }], managingOrganization: R('Organization/lund') },
  { resourceType: 'Patient', id: 'cai', name: [{ family: 'Carlsson', given: ['Cai'] }], managingOrganization: R('Organization/malmo') },
  denyMalmo('active'),
  stay('stay-anna', 'anna'),
  stay('stay-bo', 'bo'),
  stay('stay-cai', 'cai'),
];
const users = [
  { username: 'sus-nurse', kind: 'practitioner', role: 'pr-sus' },
  { username: 'malmo-home', kind: 'practitioner', role: 'pr-malmo' },
  { username: 'lund-home', kind: 'practitioner', role: 'pr-lund' },
  { username: 'other-nurse', kind: 'practitioner', role: 'pr-other' },
  { username: 'admin', kind: 'admin' },
];

let w;
before(async () => { w = await startWorld({ users, resources, prefix: 'samverka-board-' }); });
after(async () => { if (w) await w.stop(); });

async function board(who, org) {
  const res = await w.as(who).get(`/fhir/Organization/${org}/$discharge-board`);
  assert.equal(res.status, 200, `${who} ${org}: ${res.text.slice(0, 300)}`);
  const stays = res.json.entries.map((e) => e.encounter?.reference ?? e.encounter).sort();
  assert.equal(res.json.total, stays.length, `${who} ${org}: the total counts only what is shown`);
  return { stays, text: res.text };
}

test('the world loaded: every user logged in', () => {
  assert.deepEqual(w.failures, []);
});

test('the board shows each organisation only the stays its staff may see', async () => {
  const cases = [
    ['sus-nurse', 'sus', ['Encounter/stay-anna', 'Encounter/stay-bo', 'Encounter/stay-cai']],
    ['sus-nurse', 'malmo', ['Encounter/stay-anna', 'Encounter/stay-cai']],
    ['malmo-home', 'malmo', ['Encounter/stay-anna']],
    ['malmo-home', 'sus', ['Encounter/stay-anna']],
    ['lund-home', 'sus', ['Encounter/stay-bo']],
    ['lund-home', 'lund', ['Encounter/stay-bo']],
    ['lund-home', 'malmo', []],
    ['other-nurse', 'sus', []],
    ['other-nurse', 'malmo', []],
    ['admin', 'sus', []],
  ];
  for (const [who, org, want] of cases) {
    const { stays, text } = await board(who, org);
    assert.deepEqual(stays, want, `${who} on the board of ${org}`);
    // nothing of an invisible stay shows: not the citizen's name either
    for (const [name, ref] of [['Andersson', 'stay-anna'], ['Berg', 'stay-bo'], ['Carlsson', 'stay-cai']]) {
      if (!want.includes(`Encounter/${ref}`)) assert.ok(!text.includes(name), `${who} on ${org}'s board sees ${name}`);
    }
  }
});

test('a revoked deny takes effect on the next request', async () => {
  const res = await w.as('loader').put('/fhir/Consent/cai-deny-malmo', denyMalmo('inactive'));
  assert.equal(res.status, 200, res.text);
  assert.deepEqual((await board('malmo-home', 'malmo')).stays, ['Encounter/stay-anna', 'Encounter/stay-cai']);
  const back = await w.as('loader').put('/fhir/Consent/cai-deny-malmo', denyMalmo('active'));
  assert.equal(back.status, 200, back.text);
  assert.deepEqual((await board('malmo-home', 'malmo')).stays, ['Encounter/stay-anna']);
});
