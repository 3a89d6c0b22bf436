// medcom.test.mjs - MedCom messaging over HTTP against the real binary:
// POST /fhir/$process-message with JSON and with FHIR XML, the acknowledgement
// and its headers, a duplicate, a refusal with the element's path, a body
// without a MessageHeader (a plain OperationOutcome), wrong methods and media
// types, the outbox listing, and a resource created from FHIR XML over REST.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, ROOT } from './lib/server.mjs';

const DATA = join(ROOT, 'tests', 'data', 'medcom');
const read = (name) => readFileSync(join(DATA, name), 'utf8');

function ackOf(res) {
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.resourceType, 'Bundle');
  const header = res.json.entry[0].resource;
  assert.equal(header.eventCoding.code, 'acknowledgement-message');
  return header.response;
}

test('$process-message: JSON, XML, duplicates, refusals', async () => {
  const srv = await startServer();
  try {
    const stin = read('a1_stin.json');
    const id = JSON.parse(stin).entry[0].resource.id;
    const first = await srv.fetch('/fhir/$process-message', {
      method: 'POST', body: stin, headers: { 'Content-Type': 'application/fhir+json' },
    });
    assert.deepEqual(ackOf(first), { identifier: id, code: 'ok' });
    assert.equal(first.headers.get('x-medcom-acknowledgement'), 'ok');

    const again = await srv.fetch('/fhir/$process-message', {
      method: 'POST', body: stin, headers: { 'Content-Type': 'application/fhir+json' },
    });
    assert.equal(again.text, first.text);
    assert.equal(again.headers.get('x-medcom-duplicate'), 'true');

    const encounters = await srv.fetch('/fhir/Encounter');
    assert.equal(encounters.json.total, 1);
    assert.equal(encounters.json.entry[0].resource.status, 'in-progress');

    // the thread, sent as FHIR XML, asking for XML back: answered in JSON
    const xml = await srv.fetch('/fhir/$process-message', {
      method: 'POST', body: read('t1_cc_new.xml'),
      headers: { 'Content-Type': 'application/fhir+xml', Accept: 'application/fhir+xml' },
    });
    assert.equal(ackOf(xml).code, 'ok');
    const comms = await srv.fetch('/fhir/Communication');
    assert.equal(comms.json.total, 1);

    const bad = await srv.fetch('/fhir/$process-message', {
      method: 'POST', body: read('invalid/cpr_bad_date.json'),
      headers: { 'Content-Type': 'application/fhir+json' },
    });
    const resp = ackOf(bad);
    assert.equal(resp.code, 'fatal-error');
    const outcome = bad.json.entry.find((e) => e.resource.resourceType === 'OperationOutcome').resource;
    assert.deepEqual(outcome.issue[0].expression, ['Bundle.entry[1].resource.identifier[0].value']);

    const noHeader = JSON.parse(stin);
    noHeader.entry.shift();
    const plain = await srv.fetch('/fhir/$process-message', { method: 'POST', json: noHeader });
    assert.equal(plain.status, 400);
    assert.equal(plain.json.resourceType, 'OperationOutcome');
    assert.deepEqual(plain.json.issue[0].expression, ['Bundle.entry[0].resource']);

    const brokenXml = await srv.fetch('/fhir/$process-message', {
      method: 'POST', body: '<Bundle xmlns="http://hl7.org/fhir"><type value="message"/>',
      headers: { 'Content-Type': 'application/fhir+xml' },
    });
    assert.equal(brokenXml.status, 400);
    assert.equal(brokenXml.json.resourceType, 'OperationOutcome');

    const get = await srv.fetch('/fhir/$process-message');
    assert.equal(get.status, 405);
    assert.equal(get.json.resourceType, 'OperationOutcome');
    const text = await srv.fetch('/fhir/$process-message', {
      method: 'POST', body: 'hello', headers: { 'Content-Type': 'text/plain' },
    });
    assert.equal(text.status, 415);
    assert.equal(text.json.resourceType, 'OperationOutcome');

    const outbox = await srv.fetch('/fhir/$medcom-outbox');
    assert.equal(outbox.status, 200);
    assert.deepEqual(outbox.json, { outbox: [] });
  } finally {
    await srv.stop();
    srv.cleanup();
  }
});

test('REST create and update accept FHIR XML', async () => {
  const srv = await startServer();
  try {
    const created = await srv.fetch('/fhir/Patient', {
      method: 'POST',
      headers: { 'Content-Type': 'application/fhir+xml' },
      body: '<Patient xmlns="http://hl7.org/fhir"><active value="true"/>'
        + '<name><family value="Jensen"/><given value="Karen"/></name>'
        + '<birthDate value="1950-02-03"/></Patient>',
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.active, true);
    assert.deepEqual(created.json.name, [{ family: 'Jensen', given: ['Karen'] }]);
    const id = created.json.id;
    const updated = await srv.fetch(`/fhir/Patient/${id}`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/fhir+xml' },
      body: `<Patient xmlns="http://hl7.org/fhir"><id value="${id}"/><active value="false"/></Patient>`,
    });
    assert.equal(updated.status, 200, updated.text);
    assert.equal(updated.json.active, false);
    const refused = await srv.fetch('/fhir/Patient', {
      method: 'POST',
      headers: { 'Content-Type': 'application/fhir+xml' },
      body: '<Patient xmlns="http://hl7.org/fhir"><colour value="red"/></Patient>',
    });
    assert.equal(refused.status, 400);
    assert.deepEqual(refused.json.issue[0].expression, ['Patient.colour']);
  } finally {
    await srv.stop();
    srv.cleanup();
  }
});

test('with auth on, only a system client with write scopes may submit messages', async () => {
  const { execFileSync } = await import('node:child_process');
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { BIN, newDatabase } = await import('./lib/server.mjs');
  const dir = mkdtempSync(join(tmpdir(), 'samverka-medcom-auth-'));
  const db = newDatabase(dir);
  const cli = (args, input) => execFileSync(BIN, [...args, '--db', db],
    { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
  const gateway = cli(['token', 'create', '--client', 'medcom-gateway', '--scope', 'system/*.read system/*.write']).trim();
  const reader = cli(['token', 'create', '--client', 'reader', '--scope', 'system/Patient.read']).trim();
  cli(['user', 'add', '--username', 'anna', '--kind', 'practitioner', '--password-stdin'], 'anna-pw-1\n');
  const srv = await startServer({ dir, db, args: ['--auth', 'on'] });
  try {
    const post = (headers) => srv.fetch('/fhir/$process-message', {
      method: 'POST', body: read('a1_stin.json'), headers: { 'Content-Type': 'application/fhir+json', ...headers },
    });
    assert.equal((await post({})).status, 401);
    const refused = await post({ Authorization: `Bearer ${reader}` });
    assert.equal(refused.status, 403);
    assert.equal(refused.json.resourceType, 'OperationOutcome');
    const ok = await post({ Authorization: `Bearer ${gateway}` });
    assert.equal(ackOf(ok).code, 'ok');
    // a practitioner's session is refused: a message is the sending system's act
    const login = await srv.fetch('/auth/login', {
      method: 'POST', json: { username: 'anna', password: 'anna-pw-1' }, headers: { 'Content-Type': 'application/json' },
    });
    const cookie = `samverka_session=${login.headers.get('set-cookie').match(/samverka_session=([^;]+)/)[1]}`;
    const person = await post({ Cookie: cookie, 'X-CSRF-Token': login.json.csrf_token });
    assert.equal(person.status, 403);
    assert.equal(person.json.resourceType, 'OperationOutcome');
  } finally {
    await srv.stop();
    srv.cleanup();
  }
});
