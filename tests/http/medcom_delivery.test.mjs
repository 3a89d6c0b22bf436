// medcom_delivery.test.mjs - the MedCom outbox delivered over real HTTP: one samverka
// (the sender, --medcom-endpoint by the receiver's SOR id) POSTs its queued messages to
// another samverka's $process-message on 127.0.0.1 and settles each by the
// Acknowledgement that comes back: ok → acked (the receiver holds the stay), fatal-error
// → failed, no answer → pending again with a doubling delay, tried again only when due
// (test clock).  docs/medcom.md "Sending".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, ROOT } from './lib/server.mjs';

const DATA = join(ROOT, 'tests', 'data', 'medcom');
const read = (name) => JSON.parse(readFileSync(join(DATA, name), 'utf8'));
const SOR = 'urn:oid:1.2.208.176.1.1';
const CPR = 'urn:oid:1.2.208.176.1.2';

// The SOR id of the Organization a message's destination[0].receiver names.
function receiverSor(bundle) {
  const ref = bundle.entry[0].resource.destination[0].receiver.reference;
  const org = bundle.entry.find((e) => e.fullUrl === ref || `Organization/${e.resource.id}` === ref).resource;
  return org.identifier.find((i) => i.system === SOR).value;
}

async function queue(srv, bundle) {
  const res = await srv.fetch('/fhir/$medcom-outbox', { method: 'POST', json: bundle });
  assert.equal(res.status, 201, res.text);
  return res.json.messageId;
}

async function item(srv, messageId) {
  const res = await srv.fetch('/fhir/$medcom-outbox');
  assert.equal(res.status, 200, res.text);
  return res.json.outbox.find((i) => i.messageId === messageId);
}

async function tick(srv) {
  const res = await srv.fetch('/admin/watchdog/tick', { method: 'POST' });
  assert.equal(res.status, 200, res.text);
  return res.json;
}

test('the outbox is delivered to another samverka over HTTP and settled by its acknowledgement', async () => {
  const receiver = await startServer();
  let sender;
  try {
    const stin = read('a1_stin.json');
    const sor = receiverSor(stin);
    // the known receiver, and every other organisation at a port where nobody listens
    const endpoints = `${sor}=${receiver.fhirBase}/$process-message,*=http://127.0.0.1:9/fhir/$process-message`;
    sender = await startServer({ args: ['--test-endpoints', 'on', '--medcom-endpoint', endpoints] });

    // queued, not yet sent: the receiver knows nothing
    const id = await queue(sender, stin);
    assert.equal((await item(sender, id)).state, 'pending');
    assert.equal((await receiver.fetch('/fhir/Encounter')).json.total, 0);
    const dup = await sender.fetch('/fhir/$medcom-outbox', { method: 'POST', json: stin });
    assert.equal(dup.status, 409, dup.text);

    // one round: posted, acknowledged ok, settled
    const round = await tick(sender);
    assert.equal(round.outboxTried, 1);
    assert.equal(round.outboxAcked, 1);
    const sent = await item(sender, id);
    assert.equal(sent.state, 'acked');
    assert.equal(sent.ackCode, 'ok');
    assert.equal(sent.attempts, 1);
    assert.equal(sent.lastError, undefined);
    // the receiver processed it: its citizen, found by CPR, and the stay
    const cpr = stin.entry.find((e) => e.resource.resourceType === 'Patient').resource.identifier[0].value;
    const patients = await receiver.fetch(`/fhir/Patient?identifier=${encodeURIComponent(`${CPR}|${cpr}`)}`);
    assert.equal(patients.json.total, 1);
    const encounters = await receiver.fetch('/fhir/Encounter');
    assert.equal(encounters.json.total, 1);
    assert.equal(encounters.json.entry[0].resource.status, 'in-progress');
    // an acked item is not sent again
    assert.equal((await tick(sender)).outboxTried, 0);

    // the receiver refuses a message for its content: fatal-error → failed, final
    const bad = read('invalid/cpr_bad_date.json');
    const badId = await queue(sender, bad);
    assert.equal(receiverSor(bad), sor);
    const refused = await tick(sender);
    assert.equal(refused.outboxTried, 1);
    assert.equal(refused.outboxAcked, 0);
    const failed = await item(sender, badId);
    assert.equal(failed.state, 'failed');
    assert.equal(failed.ackCode, 'fatal-error');
    assert.equal((await tick(sender)).outboxTried, 0);

    // nobody answers: pending again, due after 1 minute, then after 2
    const lost = read('a1_stin.json');
    lost.entry[0].resource.id = 'b0000000-0000-4000-8000-00000000000b';
    lost.entry[0].fullUrl = `MessageHeader/${lost.entry[0].resource.id}`;
    const prov = lost.entry.find((e) => e.resource.resourceType === 'Provenance').resource;
    prov.target = [{ reference: lost.entry[0].fullUrl }];
    const ref = lost.entry[0].resource.destination[0].receiver.reference;
    const org = lost.entry.find((e) => e.fullUrl === ref).resource;
    org.identifier = [{ system: SOR, value: '123456789012345' }];
    const lostId = await queue(sender, lost);
    const before = Date.now();
    assert.equal((await tick(sender)).outboxTried, 1);
    const first = await item(sender, lostId);
    assert.equal(first.state, 'pending');
    assert.equal(first.attempts, 1);
    assert.match(first.lastError, /^not delivered: /);
    assert.ok(first.nextAttempt >= before + 60000 && first.nextAttempt <= Date.now() + 60000, JSON.stringify(first));
    assert.equal((await tick(sender)).outboxTried, 0); // not due yet

    const later = first.nextAttempt + 1000;
    const clock = await sender.fetch('/admin/clock', { method: 'POST', json: { now: new Date(later).toISOString() } });
    assert.equal(clock.status, 200, clock.text);
    assert.equal((await tick(sender)).outboxTried, 1);
    const second = await item(sender, lostId);
    assert.equal(second.state, 'pending');
    assert.equal(second.attempts, 2);
    assert.equal(second.nextAttempt, later + 120000);
    // the receiver got only what was delivered
    assert.equal((await receiver.fetch('/fhir/Encounter')).json.total, 1);
  } finally {
    if (sender) await sender.stop();
    await receiver.stop();
  }
});
