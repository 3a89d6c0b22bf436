// logging.test.mjs - the request log at --log-level info: exactly one line per
// request with method, route, status, bytes, us and the request id (the one
// the X-Request-Id header carried), and never patient data: not the name, not
// the resource id, not the query string, not the body.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { client, stopClean } from './lib/expect.mjs';

const LINE = /^ts=\S+ level=info event=request method=(\S+) route="([^"]*)" status=(\d{3}) bytes=(\d+) us=(\d+) id=(\S+)$/;

// The log is read from a pipe: wait until the lines are there (a condition,
// bounded), rather than for some time.
async function logLines(srv, n) {
  const deadline = Date.now() + 10000;
  for (;;) {
    const lines = srv.stderr().split('\n').filter((l) => l.includes('event=request'));
    if (lines.length >= n || Date.now() > deadline) return lines;
    await new Promise((r) => setImmediate(r));
  }
}

test('one log line per request, with no patient data in it', async () => {
  const srv = await startServer({ args: ['--log-level', 'info'] });
  try {
    const api = client(srv);
    const NAME = 'Hemmeligsen';
    const GIVEN = 'Ingeborg';
    const ID = 'private-patient-4711';
    const SSN = '0101701234';
    const responses = [];
    const track = async (p) => { const r = await p; responses.push(r); return r; };
    const patient = { resourceType: 'Patient', id: ID, name: [{ family: NAME, given: [GIVEN] }], identifier: [{ system: 'urn:oid:1.2.208.176.1.2', value: SSN }] };
    await track(api.put(`/fhir/Patient/${ID}`, patient));
    await track(api.get(`/fhir/Patient/${ID}`));
    await track(api.get(`/fhir/Patient/${ID}/_history/1`));
    await track(api.get(`/fhir/Patient?family=${NAME}&identifier=${SSN}`));
    await track(api.post('/fhir/Patient', { ...patient, id: undefined }, { 'If-None-Exist': `identifier=${SSN}` }));
    await track(api.patch(`/fhir/Patient/${ID}`, [{ op: 'add', path: '/active', value: true }]));
    await track(api.get(`/fhir/Patient/${ID}-${NAME}`)); // a 404 that names them in the path
    await track(api.post('/fhir/Patient', { ...patient, birthDate: `${NAME}` })); // a 422 about their data
    await track(api.post('/fhir', { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: `Patient/${ID}` } }] }));
    await track(api.delete(`/fhir/Patient/${ID}`));
    await track(api.get('/fhir/metadata'));
    assert.deepEqual(responses.map((r) => r.status), [201, 200, 200, 200, 200, 200, 404, 422, 200, 204, 200]);

    const lines = await logLines(srv, responses.length);
    assert.equal(lines.length, responses.length, 'one line per request');
    const byId = new Map();
    for (const l of lines) {
      const m = l.match(LINE);
      assert.ok(m, `a request line has method, route, status, bytes, us and id: ${l}`);
      byId.set(m[6], { method: m[1], route: m[2], status: Number(m[3]), bytes: Number(m[4]) });
    }
    for (const r of responses) {
      const rid = r.headers.get('x-request-id');
      assert.ok(rid, 'every answer carries its request id');
      const entry = byId.get(rid);
      assert.ok(entry, `request ${rid} is logged`);
      assert.equal(entry.status, r.status);
      assert.equal(entry.bytes, Buffer.byteLength(r.text), 'bytes is the body size');
    }
    // Routes are patterns, never paths.
    const routes = new Set([...byId.values()].map((e) => `${e.method} ${e.route}`));
    for (const want of ['PUT PUT /fhir/:type/:id', 'GET GET /fhir/:type/:id', 'GET GET /fhir/:type/:id/_history/:vid', 'GET GET /fhir/:type',
      'POST POST /fhir/:type', 'PATCH PATCH /fhir/:type/:id', 'POST POST /fhir', 'DELETE DELETE /fhir/:type/:id', 'GET GET /fhir/metadata']) {
      assert.ok(routes.has(want), `route ${want} in ${[...routes].join(', ')}`);
    }
    const log = srv.stderr();
    for (const secret of [NAME, GIVEN, ID, SSN, 'family=', 'identifier=', 'Patient/']) {
      assert.equal(log.includes(secret), false, `the log must not contain '${secret}'`);
    }
    assert.equal(log.toLowerCase().includes(NAME.toLowerCase()), false);
  } finally {
    await stopClean(srv);
  }
});
