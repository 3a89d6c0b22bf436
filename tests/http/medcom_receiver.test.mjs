// medcom_receiver.test.mjs - which municipality an incoming HospitalNotification is
// for when the citizen's address does not say: the message's receiver
// (MessageHeader.destination[0].receiver, found by its SOR id among the Organizations
// registered here, up its partOf chain to the one with a municipality code).  A citizen
// new to us is registered there and that municipality is told; an address with a
// municipality code wins over the receiver.  docs/medcom.md.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, ROOT } from './lib/server.mjs';

const SYS = 'http://samverka.org/fhir/';
const SOR = 'urn:oid:1.2.208.176.1.1';
const CPR = 'urn:oid:1.2.208.176.1.2';
const stin = () => JSON.parse(readFileSync(join(ROOT, 'tests', 'data', 'medcom', 'a1_stin.json'), 'utf8'));
let srv;

before(async () => { srv = await startServer({ args: ['--test-endpoints', 'on'] }); });
after(async () => { await srv.stop(); srv.cleanup(); });

const put = async (r) => {
  const res = await srv.fetch(`/fhir/${r.resourceType}/${r.id}`, { method: 'PUT', json: r });
  assert.ok(res.status === 200 || res.status === 201, res.text);
};
const send = async (bundle) => {
  const res = await srv.fetch('/fhir/$process-message', { method: 'POST', json: bundle });
  assert.equal(res.headers.get('x-medcom-acknowledgement'), 'ok', res.text);
};
const citizen = async (cpr) => {
  const res = await srv.fetch(`/fhir/Patient?identifier=${encodeURIComponent(`${CPR}|${cpr}`)}`);
  assert.equal(res.json.total, 1, res.text);
  return res.json.entry[0].resource;
};
const kinds = async (org) => (await srv.fetch(`/notifications?organization=Organization/${org}&_count=500`))
  .json.notifications.map((n) => n.kind);

test('the receiver of a notification gives the home municipality the address does not', async () => {
  const msg = stin();
  const receiverRef = msg.entry[0].resource.destination[0].receiver.reference;
  const receiver = msg.entry.find((e) => e.fullUrl === receiverRef).resource;
  const sor = receiver.identifier.find((i) => i.system === SOR).value;
  await put({ resourceType: 'Organization', id: 'rc-morso', name: 'Morsø Kommune',
    identifier: [{ system: `${SYS}sid/dk-municipality-code`, value: '773' }] });
  await put({ resourceType: 'Organization', id: 'rc-morso-home-care', name: 'Morsø hjemmepleje',
    identifier: [{ system: SOR, value: sor }], partOf: { reference: 'Organization/rc-morso' } });
  await put({ resourceType: 'Organization', id: 'rc-aalborg', name: 'Aalborg Kommune',
    identifier: [{ system: `${SYS}sid/dk-municipality-code`, value: '851' }] });

  // a citizen new to us, her address without a municipality code
  const patient = msg.entry.find((e) => e.resource.resourceType === 'Patient').resource;
  assert.ok(!JSON.stringify(patient.address ?? []).includes('municipality'));
  await send(msg);
  const p = await citizen(patient.identifier[0].value);
  assert.equal(p.managingOrganization.reference, 'Organization/rc-morso');
  assert.equal(p.meta.versionId, '1'); // registered as she was created, not in a second version
  assert.ok((await kinds('rc-morso')).includes('stay-admitted'));
  // the receiver is the Organization registered here, not a copy made from the message
  const units = await srv.fetch(`/fhir/Organization?identifier=${encodeURIComponent(`${SOR}|${sor}`)}`);
  assert.equal(units.json.total, 1);
  assert.equal(units.json.entry[0].resource.id, 'rc-morso-home-care');

  // another citizen whose address names Aalborg: the address wins, Morsø is not told
  const other = stin();
  other.entry[0].resource.id = 'c0000000-0000-4000-8000-00000000000c';
  other.entry[0].fullUrl = `MessageHeader/${other.entry[0].resource.id}`;
  other.entry.find((e) => e.resource.resourceType === 'Provenance').resource.target =
    [{ reference: other.entry[0].fullUrl }];
  const enc = other.entry.find((e) => e.resource.resourceType === 'Encounter').resource;
  enc.episodeOfCare[0].identifier.value = 'episode-aalborg';
  const op = other.entry.find((e) => e.resource.resourceType === 'Patient').resource;
  op.identifier[0].value = '0202401234';
  op.birthDate = '1940-02-02';
  op.address = [{ use: 'home', line: ['Boulevarden 1'], city: 'Aalborg', postalCode: '9000', country: 'DK',
    extension: [{ url: `${SYS}StructureDefinition/municipality-code`, valueCode: '851' }] }];
  const before = (await kinds('rc-morso')).length;
  await send(other);
  const q = await citizen('0202401234');
  assert.equal(q.managingOrganization, undefined);
  assert.ok((await kinds('rc-aalborg')).includes('stay-admitted'));
  assert.equal((await kinds('rc-morso')).length, before);
});
