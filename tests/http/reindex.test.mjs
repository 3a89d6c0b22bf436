// reindex.test.mjs - `samverka reindex` on a database whose search-index rows
// were deleted (with the database's own client, while the server runs): searches and
// compartment searches find nothing, the command rebuilds the rows in batches
// and prints its progress, and then every search answers as before.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startServer, BIN, sqlRows, sqlExec } from './lib/server.mjs';
import { client, stopClean } from './lib/expect.mjs';

let srv;
after(async () => {
  if (srv) await stopClean(srv);
});

const TABLES = ['idx_string', 'idx_token', 'idx_reference', 'idx_date', 'idx_number', 'idx_quantity', 'idx_uri', 'idx_composite'];
const rowCount = (dbPath) => Number(sqlRows(dbPath,
  `SELECT ${TABLES.map((t) => `(SELECT COUNT(*) FROM ${t})`).join(' + ')} AS n`)[0].n);

test('reindex rebuilds deleted index rows in batches, with progress', { timeout: 60000 }, async () => {
  srv = await startServer();
  const api = client(srv);
  const p = await api.post('/fhir/Patient', { resourceType: 'Patient', name: [{ family: 'Reindexsen' }], birthDate: '1948-04-01' });
  assert.equal(p.status, 201);
  const ids = [];
  for (let i = 0; i < 5; i++) {
    const o = await api.post('/fhir/Observation', {
      resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '29463-7' }] },
      subject: { reference: `Patient/${p.json.id}` }, valueQuantity: { value: 70 + i, system: 'http://unitsofmeasure.org', code: 'kg' },
    });
    assert.equal(o.status, 201);
    ids.push(o.json.id);
  }
  assert.equal((await api.delete(`/fhir/Observation/${ids[4]}`)).status, 204);
  const searches = [
    ['/fhir/Patient?family=reindexsen', 1],
    ['/fhir/Patient?birthdate=1948-04-01', 1],
    ['/fhir/Observation?code=http://loinc.org|29463-7', 4],
    ['/fhir/Observation?value-quantity=gt71', 2],
    [`/fhir/Observation?subject=Patient/${p.json.id}`, 4],
    [`/fhir/Patient/${p.json.id}/Observation`, 4],
  ];
  const totals = async () => Promise.all(searches.map(async ([q]) => {
    const r = await api.get(q);
    assert.equal(r.status, 200, r.text);
    return r.json.total;
  }));
  assert.deepEqual(await totals(), searches.map(([, n]) => n));
  const rows = rowCount(srv.dbPath);
  assert.ok(rows > 20);

  sqlExec(srv.dbPath, TABLES.map((t) => `DELETE FROM ${t};`).join(' '));
  assert.equal(rowCount(srv.dbPath), 0);
  assert.deepEqual(await totals(), searches.map(() => 0));

  const r = spawnSync(BIN, ['reindex', '--db', srv.dbPath, '--batch', '2'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  // 1 patient + 4 current observations (the deleted one has no rows), 2 per batch.
  assert.deepEqual(r.stdout.trim().split('\n'), [
    'reindex: 2 of 5 resources',
    'reindex: 4 of 5 resources',
    'reindex: 5 of 5 resources',
    'reindex: done, 5 resources',
  ]);
  assert.equal(rowCount(srv.dbPath), rows);
  assert.deepEqual(await totals(), searches.map(([, n]) => n));
  // Versions are untouched.
  assert.equal((await api.get(`/fhir/Patient/${p.json.id}`)).json.meta.versionId, '1');

  const bad = spawnSync(BIN, ['reindex', '--db', srv.dbPath, '--batch', 'x'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /usage: samverka reindex/);
});
