// transaction.test.mjs - transaction and batch Bundles posted to the base:
// urn:uuid references resolved between entries, conditional entries, a
// transaction that fails half-way leaves nothing behind (checked by search,
// read and history), and a batch whose entries stand alone.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startServer } from './lib/server.mjs';
import { client, assertOutcome, stopClean } from './lib/expect.mjs';
import { minimal } from './lib/resources.mjs';

let srv;
let api;
before(async () => {
  srv = await startServer();
  api = client(srv);
});
after(async () => {
  await stopClean(srv);
});

const urn = () => `urn:uuid:${randomUUID()}`;
const uniq = () => randomUUID().slice(0, 8);
const bundle = (type, entry) => ({ resourceType: 'Bundle', type, entry });
const post = (resource, url = resource.resourceType, extra = {}) => ({ resource, request: { method: 'POST', url, ...extra } });
const historyTotal = async () => (await api.get('/fhir/_history?_count=0')).json.total;
// "201", "201 Created": the code is the first three characters.
const code = (entry) => Number(entry.response.status.slice(0, 3));

async function transact(b) {
  const res = await api.post('/fhir', b);
  return res;
}

describe('transaction', () => {
  test('urn:uuid references between entries become Type/id', async () => {
    const pUrn = urn();
    const eUrn = urn();
    const res = await transact(bundle('transaction', [
      // The Encounter comes first and refers forward to the Patient.
      { fullUrl: eUrn, ...post({ ...minimal('Encounter'), subject: { reference: pUrn } }) },
      { fullUrl: pUrn, ...post({ resourceType: 'Patient', name: [{ family: 'Urn' }] }) },
      { ...post({ ...minimal('Observation'), subject: { reference: pUrn }, encounter: { reference: eUrn } }) },
    ]));
    assert.equal(res.status, 200, res.text);
    const out = res.json;
    assert.equal(out.type, 'transaction-response');
    assert.equal(out.entry.length, 3, 'one response entry per request entry, in order');
    for (const e of out.entry) {
      assert.equal(code(e), 201);
      assert.match(e.response.location, /^[A-Za-z]+\/[A-Za-z0-9\-.]+\/_history\/1$/);
      assert.equal(e.response.etag, 'W/"1"');
    }
    const [enc, pat, obs] = out.entry.map((e) => e.resource);
    assert.equal(enc.resourceType, 'Encounter');
    assert.equal(pat.resourceType, 'Patient');
    assert.equal(enc.subject.reference, `Patient/${pat.id}`);
    assert.equal(obs.subject.reference, `Patient/${pat.id}`);
    assert.equal(obs.encounter.reference, `Encounter/${enc.id}`);
    assert.equal(out.entry[1].fullUrl, `${srv.fhirBase}/Patient/${pat.id}`);
    // What was stored says the same, and search follows the reference.
    assert.equal((await api.get(`/fhir/Encounter/${enc.id}`)).json.subject.reference, `Patient/${pat.id}`);
    const found = (await api.get(`/fhir/Encounter?subject=Patient/${pat.id}`)).json;
    assert.deepEqual(found.entry.map((e) => e.resource.id), [enc.id]);
    assert.equal((await api.get(`/fhir/Observation/${obs.id}`)).text.includes("urn:uuid"), false);
  });

  test('Prefer: return=minimal still answers with the transaction-response', async () => {
    const res = await api.post('/fhir', bundle('transaction', [post({ resourceType: 'Patient', active: true })]), { Prefer: 'return=minimal' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.type, 'transaction-response', 'the client learns the assigned ids only from this body');
    assert.equal(code(res.json.entry[0]), 201);
    const loc = res.json.entry[0].response.location;
    assert.equal((await api.get(`/fhir/${loc.split('/_history')[0]}`)).status, 200);
  });

  test('a conditional create entry (ifNoneExist) creates once, then refers to the match', async () => {
    const sys = `http://tx.example/${uniq()}`;
    const make = () => {
      const pUrn = urn();
      return bundle('transaction', [
        { fullUrl: pUrn, ...post({ resourceType: 'Patient', identifier: [{ system: sys, value: '1' }] }, 'Patient', { ifNoneExist: `identifier=${sys}|1` }) },
        post({ ...minimal('Encounter'), subject: { reference: pUrn } }),
      ]);
    };
    const first = await transact(make());
    assert.equal(first.status, 200, first.text);
    assert.deepEqual(first.json.entry.map(code), [201, 201]);
    const pid = first.json.entry[0].resource.id;
    const second = await transact(make());
    assert.equal(second.status, 200, second.text);
    assert.deepEqual(second.json.entry.map(code), [200, 201], 'the match is answered with 200');
    assert.equal(second.json.entry[0].resource.id, pid);
    assert.equal(second.json.entry[1].resource.subject.reference, `Patient/${pid}`);
    const pats = (await api.get(`/fhir/Patient?identifier=${encodeURIComponent(`${sys}|`)}`)).json;
    assert.equal(pats.total, 1, 'one Patient only');
    assert.equal((await api.get(`/fhir/Encounter?subject=Patient/${pid}`)).json.total, 2);
    // Two matches: the transaction fails as a whole with 412.
    await api.post('/fhir/Patient', { resourceType: 'Patient', identifier: [{ system: sys, value: '1' }] });
    const before = await historyTotal();
    const third = await transact(make());
    assertOutcome(third, 412, { expression: /^Bundle\.entry\[0\]/ });
    assert.equal(await historyTotal(), before, 'nothing written');
  });

  test('conditional update and conditional reference entries', async () => {
    const sys = `http://tx.example/${uniq()}`;
    const pat = (await api.post('/fhir/Patient', { resourceType: 'Patient', identifier: [{ system: sys, value: 'p' }] })).json;
    const res = await transact(bundle('transaction', [
      { resource: { resourceType: 'Patient', identifier: [{ system: sys, value: 'p' }], active: true }, request: { method: 'PUT', url: `Patient?identifier=${sys}|p` } },
      post({ ...minimal('Observation'), subject: { reference: `Patient?identifier=${sys}|p` } }),
    ]));
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json.entry.map(code), [200, 201]);
    assert.equal(res.json.entry[0].resource.id, pat.id);
    assert.equal(res.json.entry[0].resource.active, true);
    assert.equal(res.json.entry[1].resource.subject.reference, `Patient/${pat.id}`);
  });

  // The 3rd of 4 entries fails; the two before it must leave no trace.
  const HALFWAY = [
    ['an invalid resource', (m) => post({ resourceType: 'Patient', name: [{ family: m }], birthDate: 'not-a-date' }),
      { status: 422, expression: 'Bundle.entry[2].resource.birthDate' }],
    ['an unknown element', (m) => post({ resourceType: 'Patient', name: [{ family: m }], shoeSize: 44 }),
      { status: 422, expression: 'Bundle.entry[2].resource.shoeSize' }],
    ['a stale If-Match', () => ({ resource: { resourceType: 'Patient', id: 'stale', active: true }, request: { method: 'PUT', url: 'Patient/stale', ifMatch: 'W/"7"' } }),
      { status: 412, expression: /^Bundle\.entry\[2\]/ }],
    ['an entry without a method', (m) => ({ resource: { resourceType: 'Patient', name: [{ family: m }] }, request: { url: 'Patient' } }),
      { status: 400, expression: 'Bundle.entry[2].request.method' }],
    ['an unknown resource type', () => post({ resourceType: 'Spaceship' }),
      { status: 404, expression: /^Bundle\.entry\[2\]/ }],
  ];
  for (const [what, third, want] of HALFWAY) {
    test(`a transaction that fails at the 3rd of 4 entries (${what}) leaves nothing behind`, async () => {
      const m = `Half${uniq()}`; // every entry carries it, so search can look for them
      const keptId = `kept-${uniq()}`;
      const before = await historyTotal();
      const res = await transact(bundle('transaction', [
        post({ resourceType: 'Patient', name: [{ family: m }] }),
        { resource: { resourceType: 'Patient', id: keptId, name: [{ family: m }] }, request: { method: 'PUT', url: `Patient/${keptId}` } },
        third(m),
        post({ resourceType: 'Patient', name: [{ family: m }] }),
      ]));
      assertOutcome(res, want.status, { expression: want.expression });
      assert.equal((await api.get(`/fhir/Patient?family=${m}`)).json.total, 0, 'no Patient of the transaction exists');
      assertOutcome(await api.get(`/fhir/Patient/${keptId}`), 404);
      assert.equal(await historyTotal(), before, 'the history holds no version of it');
    });
  }

  test('a DELETE entry with a stale ifMatch fails the transaction and deletes nothing', async () => {
    const p = (await api.post('/fhir/Patient', { resourceType: 'Patient', active: true })).json;
    await api.put(`/fhir/Patient/${p.id}`, { resourceType: 'Patient', id: p.id, active: false });
    const before = await historyTotal();
    const stale = await transact(bundle('transaction', [
      post({ resourceType: 'Patient', active: true }),
      { request: { method: 'DELETE', url: `Patient/${p.id}`, ifMatch: 'W/"1"' } },
    ]));
    assertOutcome(stale, 412, { expression: /^Bundle\.entry\[1\]/ });
    assert.equal(await historyTotal(), before);
    assert.equal((await api.get(`/fhir/Patient/${p.id}`)).status, 200);
    const ok = await transact(bundle('transaction', [
      { request: { method: 'DELETE', url: `Patient/${p.id}`, ifMatch: 'W/"2"' } },
    ]));
    assert.equal(ok.status, 200, ok.text);
    assertOutcome(await api.get(`/fhir/Patient/${p.id}`), 410);
  });

  test('a transaction that only fails on a later entry\'s reference leaves nothing', async () => {
    const before = await historyTotal();
    const res = await transact(bundle('transaction', [
      post({ resourceType: 'Patient', name: [{ family: 'RefFail' }] }),
      post({ ...minimal('Observation'), subject: { reference: `Patient?identifier=${uniq()}` } }),
    ]));
    assertOutcome(res, 412, { expression: /^Bundle\.entry\[1\]/ });
    assert.equal(await historyTotal(), before);
  });
});

describe('batch', () => {
  test('entries stand alone: a failure does not stop the others, each has its own status', async () => {
    const m = `Batch${uniq()}`;
    const existing = (await api.post('/fhir/Patient', { resourceType: 'Patient', name: [{ family: m }] })).json;
    const doomed = (await api.post('/fhir/Patient', { resourceType: 'Patient', name: [{ family: m }] })).json;
    const res = await api.post('/fhir', bundle('batch', [
      post({ resourceType: 'Patient', name: [{ family: m }] }),
      post({ resourceType: 'Patient', name: [{ family: m }], birthDate: 'not-a-date' }),
      { request: { method: 'GET', url: `Patient/${existing.id}` } },
      { request: { method: 'GET', url: 'Patient/not-there' } },
      { resource: { resourceType: 'Patient', id: existing.id, name: [{ family: m }], active: true }, request: { method: 'PUT', url: `Patient/${existing.id}` } },
      { request: { method: 'DELETE', url: `Patient/${doomed.id}` } },
      { resource: { resourceType: 'Patient', id: existing.id }, request: { method: 'PUT', url: `Patient/${existing.id}`, ifMatch: 'W/"9"' } },
      { request: { method: 'GET', url: `Patient?family=${m}` } },
    ]));
    assert.equal(res.status, 200, res.text);
    const out = res.json;
    assert.equal(out.type, 'batch-response');
    assert.equal(out.entry.length, 8);
    assert.deepEqual(out.entry.map(code), [201, 422, 200, 404, 200, 204, 412, 200]);
    // Failures carry their own OperationOutcome.
    const bad = out.entry[1].response.outcome;
    assert.equal(bad.resourceType, 'OperationOutcome');
    assert.deepEqual(bad.issue[0].expression, ['Patient.birthDate']);
    assert.equal(out.entry[3].response.outcome.issue[0].code, 'not-found');
    assert.equal(out.entry[6].response.outcome.issue[0].code, 'conflict');
    assert.equal(out.entry[2].resource.id, existing.id);
    assert.equal(out.entry[4].resource.meta.versionId, '2');
    assert.equal(out.entry[7].resource.type, 'searchset');
    // The successes happened.
    const created = out.entry[0].resource;
    assert.equal((await api.get(`/fhir/Patient/${created.id}`)).status, 200);
    assert.equal((await api.get(`/fhir/Patient/${existing.id}`)).json.active, true);
    assert.equal((await api.get(`/fhir/Patient/${doomed.id}`)).status, 410);
    assert.equal((await api.get(`/fhir/Patient?family=${m}`)).json.total, 2);
  });

  test('a batch entry that is malformed fails alone', async () => {
    const res = await api.post('/fhir', bundle('batch', [
      { request: { method: 'FETCH', url: 'Patient' } },
      post({ resourceType: 'Patient', active: true }),
    ]));
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json.entry.map(code), [400, 201]);
  });
});
