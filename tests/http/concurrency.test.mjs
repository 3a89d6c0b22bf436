// concurrency.test.mjs - requests that race: versioned updates with the same
// If-Match (exactly one wins), concurrent creates (all succeed, distinct ids),
// concurrent conditional creates (one resource), concurrent transactions.
// The requests are all sent before any answer is awaited (Promise.all).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startServer } from './lib/server.mjs';
import { client, assertOutcome, stopClean } from './lib/expect.mjs';

const N = 20;
let srv;
let api;
before(async () => {
  srv = await startServer();
  api = client(srv);
});
after(async () => {
  await stopClean(srv);
});

const uniq = () => randomUUID().slice(0, 8);
const tally = (list) => list.reduce((m, r) => ({ ...m, [r.status]: (m[r.status] || 0) + 1 }), {});

describe('concurrency', () => {
  test(`${N} concurrent PUTs with the same If-Match: one 200, the rest 412, final version 2`, async () => {
    const p = (await api.post('/fhir/Patient', { resourceType: 'Patient', name: [{ family: 'Race' }] })).json;
    const results = await Promise.all(Array.from({ length: N }, (_, i) =>
      api.put(`/fhir/Patient/${p.id}`, { resourceType: 'Patient', id: p.id, name: [{ family: `Writer${i}` }] }, { 'If-Match': 'W/"1"' })));
    assert.deepEqual(tally(results), { 200: 1, 412: N - 1 });
    for (const r of results.filter((x) => x.status === 412)) assertOutcome(r, 412, { code: 'conflict' });
    const winner = results.find((r) => r.status === 200);
    assert.equal(winner.headers.get('etag'), 'W/"2"');
    const cur = await api.get(`/fhir/Patient/${p.id}`);
    assert.equal(cur.json.meta.versionId, '2');
    assert.equal(cur.json.name[0].family, winner.json.name[0].family, 'the stored version is the winner\'s');
    assert.equal((await api.get(`/fhir/Patient/${p.id}/_history`)).json.total, 2);
  });

  test(`${N} concurrent PATCHes with the same If-Match: one wins`, async () => {
    const p = (await api.post('/fhir/Patient', { resourceType: 'Patient', active: false })).json;
    const results = await Promise.all(Array.from({ length: N }, () =>
      api.patch(`/fhir/Patient/${p.id}`, [{ op: 'replace', path: '/active', value: true }], { 'If-Match': 'W/"1"' })));
    assert.deepEqual(tally(results), { 200: 1, 412: N - 1 });
    assert.equal((await api.get(`/fhir/Patient/${p.id}/_history`)).json.total, 2);
  });

  test(`${N} concurrent PUTs without If-Match: all succeed, versions 2..${N + 1} each once`, async () => {
    const p = (await api.post('/fhir/Patient', { resourceType: 'Patient' })).json;
    const results = await Promise.all(Array.from({ length: N }, () =>
      api.put(`/fhir/Patient/${p.id}`, { resourceType: 'Patient', id: p.id, active: true })));
    assert.deepEqual(tally(results), { 200: N });
    const versions = results.map((r) => Number(r.json.meta.versionId)).sort((a, b) => a - b);
    assert.deepEqual(versions, Array.from({ length: N }, (_, i) => i + 2), 'no version given twice');
    assert.equal((await api.get(`/fhir/Patient/${p.id}`)).json.meta.versionId, String(N + 1));
  });

  test(`${N} concurrent creates all succeed with distinct ids`, async () => {
    const sys = `http://race.example/${uniq()}`;
    const results = await Promise.all(Array.from({ length: N }, (_, i) =>
      api.post('/fhir/Patient', { resourceType: 'Patient', identifier: [{ system: sys, value: String(i) }] })));
    assert.deepEqual(tally(results), { 201: N });
    const ids = new Set(results.map((r) => r.json.id));
    assert.equal(ids.size, N);
    for (const r of results) assert.equal(r.headers.get('etag'), 'W/"1"');
    const found = (await api.get(`/fhir/Patient?identifier=${encodeURIComponent(`${sys}|`)}&_count=100`)).json;
    assert.equal(found.total, N);
    assert.deepEqual(new Set(found.entry.map((e) => e.resource.id)), ids);
  });

  test(`${N} concurrent conditional creates of the same identifier make one resource`, async () => {
    const sys = `http://race.example/${uniq()}`;
    const results = await Promise.all(Array.from({ length: N }, () =>
      api.post('/fhir/Patient', { resourceType: 'Patient', identifier: [{ system: sys, value: 'same' }] }, { 'If-None-Exist': `identifier=${sys}|same` })));
    assert.deepEqual(tally(results), { 201: 1, 200: N - 1 });
    assert.equal(new Set(results.map((r) => r.json.id)).size, 1, 'all answers name the one resource');
    assert.equal((await api.get(`/fhir/Patient?identifier=${encodeURIComponent(`${sys}|`)}`)).json.total, 1);
  });

  test('concurrent transactions are each all-or-nothing', async () => {
    const m = `Tx${uniq()}`;
    const tx = (i) => ({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: `urn:uuid:${randomUUID()}`, resource: { resourceType: 'Patient', name: [{ family: m, given: [String(i)] }] }, request: { method: 'POST', url: 'Patient' } },
        // Every odd transaction fails on its second entry.
        { resource: { resourceType: 'Patient', name: [{ family: m }], birthDate: i % 2 ? 'bad' : '2000-01-01' }, request: { method: 'POST', url: 'Patient' } },
      ],
    });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => api.post('/fhir', tx(i))));
    results.forEach((r, i) => assert.equal(r.status, i % 2 ? 422 : 200, r.text));
    const found = (await api.get(`/fhir/Patient?family=${m}&_count=100`)).json;
    assert.equal(found.total, 10, 'two Patients from each of the five good transactions');
    const givens = found.entry.map((e) => e.resource.name[0].given?.[0]).filter(Boolean).map(Number).sort((a, b) => a - b);
    assert.deepEqual(givens, [0, 2, 4, 6, 8]);
  });
});
