// bulk_export.test.mjs - FHIR bulk data export, system and Patient level (GET /fhir/$export,
// GET /fhir/Patient/$export,
// docs/operations.md): the kick-off needs Prefer: respond-async and answers 202
// with a Content-Location; the status answers the manifest; each file holds
// exactly the live resources of its type, each line the text a read serves;
// _type and _since narrow it; bad parameters are OperationOutcomes with their
// path; DELETE removes the job and its files; under --auth on only an
// administrator or a system client may export, and the kick-off is audited.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startServer, BIN, newDatabase, sqlRows } from './lib/server.mjs';
import { client, stopClean, assertOutcome } from './lib/expect.mjs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const servers = [];
after(async () => {
  for (const srv of servers) await stopClean(srv);
});

const ASYNC = { Prefer: 'respond-async', Accept: 'application/fhir+json' };

// Polls the status URL until the manifest is there (the export runs on its own thread).
async function manifestOf(srv, location, headers = {}) {
  const path = location.slice(srv.base.length);
  for (let i = 0; i < 600; i++) {
    const r = await srv.fetch(path, { headers });
    if (r.status === 200) return r.json;
    assert.equal(r.status, 202, r.text);
    assert.match(r.headers.get('x-progress'), /^\d+ resources$/);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('the export did not finish');
}

async function files(srv, manifest, headers = {}) {
  const out = {};
  for (const o of manifest.output) {
    const r = await srv.fetch(o.url.slice(srv.base.length), { headers });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('content-type'), 'application/fhir+ndjson');
    const lines = r.text.split('\n');
    assert.equal(lines.pop(), '', 'each line ends with a line feed');
    assert.equal(lines.length, o.count);
    out[o.type] = lines;
  }
  return out;
}

test('$export: kick-off, status, files with every live resource as read serves it, _type, _since, delete', async () => {
  const srv = await startServer();
  servers.push(srv);
  const api = client(srv);
  const ids = { Patient: [], Organization: [], Observation: [] };
  for (let i = 0; i < 3; i++) ids.Patient.push((await api.post('/fhir/Patient', { resourceType: 'Patient', name: [{ family: `Bulk${i}` }] })).json.id);
  ids.Organization.push((await api.post('/fhir/Organization', { resourceType: 'Organization', name: 'Bulkorg' })).json.id);
  const gone = (await api.post('/fhir/Observation', { resourceType: 'Observation', status: 'final', code: { text: 'x' } })).json.id;
  assert.equal((await api.delete(`/fhir/Observation/${gone}`)).status, 204);
  await api.put(`/fhir/Patient/${ids.Patient[0]}`, { resourceType: 'Patient', id: ids.Patient[0], name: [{ family: 'Bulk0b' }] });

  // Refusals, each with the parameter's path.
  assertOutcome(await srv.fetch('/fhir/$export', { headers: { Accept: 'application/fhir+json' } }), 400, { expression: 'Prefer' });
  assertOutcome(await srv.fetch('/fhir/$export?_since=yesterday', { headers: ASYNC }), 400, { expression: '_since' });
  assertOutcome(await srv.fetch('/fhir/$export?_type=Patient/x', { headers: ASYNC }), 400, { expression: '_type' });
  assertOutcome(await srv.fetch('/fhir/$export?_outputFormat=text/csv', { headers: ASYNC }), 400, { expression: '_outputFormat' });
  assertOutcome(await srv.fetch('/fhir/$export?_typeFilter=Patient%3Factive%3Dtrue', { headers: ASYNC }), 501, { expression: '_typeFilter' });
  assertOutcome(await srv.fetch('/fhir/$export-status/nosuchjob'), 404);

  const k = await srv.fetch('/fhir/$export', { headers: ASYNC });
  assert.equal(k.status, 202, k.text);
  const location = k.headers.get('content-location');
  assert.match(location, /^http:\/\/127\.0\.0\.1:\d+\/fhir\/\$export-status\/[0-9a-f]{32}$/);
  const manifest = await manifestOf(srv, location);
  assert.equal(manifest.requiresAccessToken, false);
  assert.match(manifest.transactionTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.deepEqual(manifest.error, []);
  assert.deepEqual(manifest.output.map((o) => o.type).sort(), ['Organization', 'Patient']);
  const got = await files(srv, manifest);
  for (const [type, list] of Object.entries(ids)) {
    const lines = got[type] || [];
    assert.deepEqual(lines.map((l) => JSON.parse(l).id).sort(), [...list].sort(), `${type}: the live ones, once each`);
    for (const line of lines) {
      const read = await srv.fetch(`/fhir/${type}/${JSON.parse(line).id}`);
      assert.equal(line, read.text, 'the line is the current version as a read serves it');
    }
  }
  assert.equal(JSON.parse(got.Patient.find((l) => JSON.parse(l).id === ids.Patient[0])).meta.versionId, '2');

  // _type and _since.
  // _since is the new Patient's own lastUpdated: it is in (>=), everything before the
  // first export (which took a round trip of polls) is out.
  const lateBody = (await api.post('/fhir/Patient', { resourceType: 'Patient', name: [{ family: 'Sent' }] })).json;
  const late = lateBody.id;
  const since = lateBody.meta.lastUpdated;
  const k2 = await srv.fetch(`/fhir/$export?_type=Patient,Observation&_since=${encodeURIComponent(since)}`, { headers: ASYNC });
  assert.equal(k2.status, 202, k2.text);
  const m2 = await manifestOf(srv, k2.headers.get('content-location'));
  const got2 = await files(srv, m2);
  assert.deepEqual(Object.keys(got2), ['Patient']);
  assert.deepEqual(got2.Patient.map((l) => JSON.parse(l).id), [late]);
  assert.equal(m2.request, `${srv.fhirBase}/$export?_type=Patient,Observation&_since=${encodeURIComponent(since)}`);

  // Patient level: the Patients and what is in their compartments, nothing else.
  const obs = (await api.post('/fhir/Observation', { resourceType: 'Observation', status: 'final', code: { text: 'vægt' }, subject: { reference: `Patient/${late}` } })).json.id;
  const k3 = await srv.fetch('/fhir/Patient/$export', { headers: ASYNC });
  assert.equal(k3.status, 202, k3.text);
  const got3 = await files(srv, await manifestOf(srv, k3.headers.get('content-location')));
  assert.deepEqual(Object.keys(got3).sort(), ['Observation', 'Patient']);
  assert.deepEqual(got3.Observation.map((l) => JSON.parse(l).id), [obs]);
  assert.deepEqual(got3.Patient.map((l) => JSON.parse(l).id).sort(), [...ids.Patient, late].sort());

  // DELETE: the job and its files are gone.
  const del = await srv.fetch(location.slice(srv.base.length), { method: 'DELETE' });
  assert.equal(del.status, 202);
  assertOutcome(await srv.fetch(location.slice(srv.base.length)), 404);
  assertOutcome(await srv.fetch(manifest.output[0].url.slice(srv.base.length)), 404);
  assertOutcome(await srv.fetch(`/fhir/$export-file/${location.split('/').pop()}/..%2F..%2Fetc%2Fpasswd`), 404);
});

test('$export under --auth on: administrators and system clients only, audited', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'samverka-bulk-'));
  const db = newDatabase(dir);
  const cli = (args, input) => execFileSync(BIN, [...args, '--db', db], { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
  cli(['user', 'add', '--username', 'root', '--kind', 'admin', '--password-stdin'], 'root-pw-1\n');
  cli(['user', 'add', '--username', 'nurse', '--kind', 'practitioner', '--practitioner-role', 'role-nurse', '--password-stdin'], 'nurse-pw-1\n');
  const token = cli(['token', 'create', '--client', 'backup', '--scope', 'system/*.read']).trim();
  const srv = await startServer({ dir, db, args: ['--auth', 'on'] });
  const cookieOf = async (username, password) => {
    const r = await srv.fetch('/auth/login', { method: 'POST', json: { username, password }, headers: { 'Content-Type': 'application/json' } });
    assert.equal(r.status, 200, r.text);
    return r.headers.get('set-cookie').match(/samverka_session=[^;]+/)[0];
  };
  try {
    assert.equal((await srv.fetch('/fhir/$export', { headers: ASYNC })).status, 401);
    const nurse = await cookieOf('nurse', 'nurse-pw-1');
    assertOutcome(await srv.fetch('/fhir/$export', { headers: { ...ASYNC, Cookie: nurse } }), 403);
    const admin = { Cookie: await cookieOf('root', 'root-pw-1') };
    const k = await srv.fetch('/fhir/$export', { headers: { ...ASYNC, ...admin } });
    assert.equal(k.status, 202, k.text);
    const m = await manifestOf(srv, k.headers.get('content-location'), admin);
    assert.equal(m.requiresAccessToken, true);
    // The status and files need the same rights.
    assertOutcome(await srv.fetch(k.headers.get('content-location').slice(srv.base.length), { headers: { Cookie: nurse } }), 403);
    const bearer = { Authorization: `Bearer ${token}` };
    const k2 = await srv.fetch('/fhir/$export', { headers: { ...ASYNC, ...bearer } });
    assert.equal(k2.status, 202, k2.text);
    await manifestOf(srv, k2.headers.get('content-location'), bearer);
    // A client that may read only some types cannot export everything.
    const narrow = cli(['token', 'create', '--client', 'narrow', '--scope', 'system/Patient.read']).trim();
    assertOutcome(await srv.fetch('/fhir/Patient/$export', { headers: { ...ASYNC, Authorization: `Bearer ${narrow}` } }), 403);
  } finally {
    await srv.stop();
  }
  // Flushed at the stop: one audit record per kick-off, with who asked.
  const rows = sqlRows(db, "SELECT principal_kind, principal_id, outcome FROM audit WHERE action = 'export' ORDER BY seq");
  srv.cleanup();
  assert.deepEqual(rows, [
    { principal_kind: 'admin', principal_id: 'root', outcome: 202 },
    { principal_kind: 'system', principal_id: 'backup', outcome: 202 },
  ]);
});
