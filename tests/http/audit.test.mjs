// audit.test.mjs - the audit log over HTTP (docs/audit.md): every interaction
// leaves one record of the right kind, about the right citizen; a write's
// record exists as soon as the write is acknowledged; read records reach the
// database within a second and all of them on SIGTERM; `samverka audit verify`
// says the chain is whole, and names the record after tampering.  The database
// is read with the backend's own client (sqlite3, psql).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startServer, BIN, BACKEND, sqlRows, sqlExec } from './lib/server.mjs';
import { client } from './lib/expect.mjs';

const running = new Set();
after(() => {
  for (const srv of running) {
    try { process.kill(srv.pid, 'SIGKILL'); } catch { /* already gone */ }
  }
});

function sql(dbPath, query) {
  if (/^\s*SELECT/i.test(query)) return sqlRows(dbPath, query);
  sqlExec(dbPath, query);
  return [];
}

function verify(dbPath) {
  const r = spawnSync(BIN, ['audit', 'verify', '--db', dbPath], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const key = (r) => [r.action, r.resource_type ?? '-', r.citizen ?? '-', r.outcome].join(' ');

test('every interaction is recorded; SIGTERM flushes the reads; the chain verifies', { timeout: 60000 }, async () => {
  const srv = await startServer();
  running.add(srv);
  const api = client(srv);
  const want = [];
  try {
    const p = await api.post('/fhir/Patient', { resourceType: 'Patient', name: [{ family: 'Audit' }] });
    assert.equal(p.status, 201);
    const pid = p.json.id;
    want.push(`create Patient ${pid} 201`);
    // A write's record is there as soon as the write is acknowledged (same transaction).
    assert.deepEqual(sql(srv.dbPath, 'SELECT action, resource_id, principal_kind FROM audit'),
      [{ action: 'create', resource_id: pid, principal_kind: 'anonymous' }]);

    const o = await api.post('/fhir/Observation', {
      resourceType: 'Observation', status: 'final', code: { text: 'pulse' }, subject: { reference: `Patient/${pid}` },
    });
    assert.equal(o.status, 201);
    const oid = o.json.id;
    want.push(`create Observation ${pid} 201`);

    assert.equal((await api.get(`/fhir/Patient/${pid}`)).status, 200);
    want.push(`read Patient ${pid} 200`);
    assert.equal((await api.get(`/fhir/Observation/${oid}`)).status, 200);
    want.push(`read Observation ${pid} 200`);
    assert.equal((await api.get(`/fhir/Observation/${oid}/_history/1`)).status, 200);
    want.push(`vread Observation ${pid} 200`);
    const u = await api.put(`/fhir/Patient/${pid}`, { resourceType: 'Patient', id: pid, name: [{ family: 'Audit2' }] });
    assert.equal(u.status, 200);
    want.push(`update Patient ${pid} 200`);
    assert.equal((await api.patch(`/fhir/Patient/${pid}`, [{ op: 'add', path: '/active', value: true }])).status, 200);
    want.push(`patch Patient ${pid} 200`);
    assert.equal((await api.get(`/fhir/Observation?subject=Patient/${pid}`)).status, 200);
    want.push(`search Observation ${pid} 200`);
    assert.equal((await api.get('/fhir/Observation?code:text=pulse')).status, 200);
    want.push('search Observation - 200'); // a search over many citizens names none
    assert.equal((await api.get(`/fhir/Patient/${pid}/Observation`)).status, 200);
    want.push(`search Observation ${pid} 200`);
    assert.equal((await api.get(`/fhir/Patient/${pid}/_history`)).status, 200);
    want.push(`history Patient ${pid} 200`);
    assert.equal((await api.get('/fhir/Observation/_history')).status, 200);
    want.push('history Observation - 200');
    const again = await api.post('/fhir/Patient', { resourceType: 'Patient' }, { 'If-None-Exist': `_id=${pid}` });
    assert.equal(again.status, 200, again.text);
    want.push(`read Patient ${pid} 200`); // If-None-Exist matched: nothing written, one read
    assert.equal((await api.get('/fhir/Patient/no-such-one')).status, 404);
    want.push('read Patient - 404');
    assert.equal((await api.post('/fhir/Patient', { resourceType: 'Patient', gender: 'sometimes' })).status, 422);
    want.push('create Patient - 422'); // nothing committed: recorded through the queue
    const tx = await api.post('/fhir', {
      resourceType: 'Bundle', type: 'transaction',
      entry: [
        { request: { method: 'DELETE', url: `Observation/${oid}` } },
        { resource: { resourceType: 'Patient', name: [{ family: 'Tx' }] }, request: { method: 'POST', url: 'Patient' } },
      ],
    });
    assert.equal(tx.status, 200, tx.text);
    want.push(`delete Observation ${pid} 204`); // the citizen from the rows before the deletion
    const txPid = tx.json.entry[1].response.location.split('/')[1];
    want.push(`create Patient ${txPid} 201`);
    want.push('transaction - - 200');

    // Stop at once: the read records may still be queued; SIGTERM must write them.
    assert.deepEqual(await srv.stop(), { code: 0, signal: null }, srv.stderr());
    running.delete(srv);

    const v = verify(srv.dbPath);
    assert.equal(v.code, 0, v.out + v.err);
    assert.match(v.out, new RegExp(`^audit: ${want.length} records, chain ok\\n`));

    const rows = sql(srv.dbPath, 'SELECT seq, action, resource_type, citizen, outcome, principal_kind, hash, prev_hash FROM audit ORDER BY seq');
    assert.deepEqual(rows.map(key).sort(), want.sort());
    assert.deepEqual(rows.map((r) => r.seq), want.map((_, i) => i + 1), 'seq has no gaps');
    for (let i = 1; i < rows.length; i++) assert.equal(rows[i].prev_hash, rows[i - 1].hash);
    assert.ok(rows.every((r) => r.principal_kind === 'anonymous'));
    // The diagnostic log holds no patient ids (the audit table is data, not a log).
    assert.ok(!srv.stderr().includes(pid), 'no patient id in the log');
  } finally {
    srv.cleanup();
  }
});

test('read records reach the database within a second, without a shutdown', { timeout: 30000 }, async () => {
  const srv = await startServer();
  running.add(srv);
  const api = client(srv);
  try {
    const p = await api.post('/fhir/Patient', { resourceType: 'Patient' });
    for (let i = 0; i < 5; i++) assert.equal((await api.get(`/fhir/Patient/${p.json.id}`)).status, 200);
    const t0 = Date.now();
    let n = 0;
    // Polls the database (a reader beside the server), not a timer.
    while (Date.now() - t0 < 3000) {
      n = sql(srv.dbPath, "SELECT COUNT(*) AS n FROM audit WHERE action = 'read'")[0].n;
      if (n === 5) break;
    }
    assert.equal(n, 5, 'all read records written');
    assert.ok(Date.now() - t0 < 1500, `read records took ${Date.now() - t0} ms`);
    // A crash now loses nothing that was already flushed.
    await srv.kill();
    running.delete(srv);
    const v = verify(srv.dbPath);
    assert.equal(v.code, 0, v.out + v.err);
    assert.match(v.out, /^audit: 6 records, chain ok/);
  } finally {
    srv.cleanup();
  }
});

test('audit verify names a changed, a deleted and a truncated record', { timeout: 30000 }, async () => {
  const srv = await startServer();
  running.add(srv);
  const api = client(srv);
  try {
    for (let i = 0; i < 6; i++) assert.equal((await api.post('/fhir/Patient', { resourceType: 'Patient' })).status, 201);
    assert.deepEqual(await srv.stop(), { code: 0, signal: null });
    running.delete(srv);
    assert.equal(verify(srv.dbPath).code, 0);
    const db = srv.dbPath;
    sql(db, BACKEND === 'postgres'
      ? 'DROP TRIGGER audit_no_update ON audit; DROP TRIGGER audit_no_delete ON audit;'
      : 'DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;');

    sql(db, 'UPDATE audit SET outcome = 500 WHERE seq = 3');
    let v = verify(db);
    assert.equal(v.code, 1);
    assert.equal(v.out, 'audit: record 3 does not match its hash (changed)\n');
    sql(db, 'UPDATE audit SET outcome = 201 WHERE seq = 3');
    assert.equal(verify(db).code, 0, 'putting the value back mends it');

    sql(db, 'DELETE FROM audit WHERE seq = 4');
    v = verify(db);
    assert.equal(v.code, 1);
    assert.equal(v.out, 'audit: record 5: previous hash does not match record 3 (deleted or reordered)\n');

    sql(db, 'DELETE FROM audit WHERE seq >= 4');
    v = verify(db);
    assert.equal(v.code, 1);
    assert.match(v.out, /^audit: the log ends at record 3 but 6 records were written, the last being record 6 \(truncated\)\n$/);
  } finally {
    srv.cleanup();
  }
});
