// durability.test.mjs - what the server acknowledged survives a restart: a
// clean one (SIGTERM) and a crash (SIGKILL right after the last answer, so
// nothing can be flushed on the way out).  Creates, updates, deletes and a
// transaction are all read back from the new process.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { client } from './lib/expect.mjs';

// Servers still running when the file ends (a test that timed out) are
// killed by pid, so that a failure cannot leave the run hanging.
const running = new Set();
after(() => {
  for (const srv of running) {
    try { process.kill(srv.pid, 'SIGKILL'); } catch { /* already gone */ }
  }
});

async function withServer(fn) {
  const srv = await startServer();
  running.add(srv);
  try {
    await fn(srv);
  } finally {
    await srv.stop('SIGKILL');
    running.delete(srv);
    srv.cleanup();
  }
}

// Writes a mix and returns what must be found afterwards.
async function writeMix(api, n) {
  const created = [];
  // Sequential and concurrent creates both.
  for (let i = 0; i < n / 2; i++) created.push((await api.post('/fhir/Patient', { resourceType: 'Patient', name: [{ family: `Seq${i}` }] })));
  created.push(...(await Promise.all(Array.from({ length: n / 2 }, (_, i) =>
    api.post('/fhir/Patient', { resourceType: 'Patient', name: [{ family: `Par${i}` }] })))));
  for (const r of created) assert.equal(r.status, 201, r.text);
  const resources = created.map((r) => r.json);
  const updated = resources[0];
  const u = await api.put(`/fhir/Patient/${updated.id}`, { resourceType: 'Patient', id: updated.id, name: [{ family: 'Updated' }] });
  assert.equal(u.status, 200);
  const deleted = resources[1];
  assert.equal((await api.delete(`/fhir/Patient/${deleted.id}`)).status, 204);
  const tx = await api.post('/fhir', {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      { fullUrl: 'urn:uuid:6f1b2f9e-7a3c-4b5d-9e8f-0a1b2c3d4e5f', resource: { resourceType: 'Patient', name: [{ family: 'TxKept' }] }, request: { method: 'POST', url: 'Patient' } },
      { resource: { resourceType: 'Encounter', status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' }, subject: { reference: 'urn:uuid:6f1b2f9e-7a3c-4b5d-9e8f-0a1b2c3d4e5f' } }, request: { method: 'POST', url: 'Encounter' } },
    ],
  });
  assert.equal(tx.status, 200, tx.text);
  return {
    live: [u.json, ...resources.slice(2), ...tx.json.entry.map((e) => e.resource)],
    deleted: deleted.id,
    updated: updated.id,
    versions: (await api.get('/fhir/_history?_count=0')).json.total,
  };
}

async function expectAll(api, want) {
  for (const r of want.live) {
    const res = await api.get(`/fhir/${r.resourceType}/${r.id}`);
    assert.equal(res.status, 200, `${r.resourceType}/${r.id} is gone`);
    assert.deepEqual(res.json, r, 'read back exactly as acknowledged');
  }
  assert.equal((await api.get(`/fhir/Patient/${want.deleted}`)).status, 410, 'a deletion is kept');
  assert.equal((await api.get(`/fhir/Patient/${want.updated}/_history/1`)).status, 200, 'old versions are kept');
  assert.equal((await api.get('/fhir/_history?_count=0')).json.total, want.versions, 'every version is kept');
  const found = (await api.get('/fhir/Patient?family=Updated')).json;
  assert.deepEqual(found.entry.map((e) => e.resource.id), [want.updated], 'the search index survived too');
}

test('acknowledged writes survive a clean restart (SIGTERM)', { timeout: 120000 }, async () => {
  await withServer(async (srv) => {
    const api = client(srv);
    const want = await writeMix(api, 20);
    const pid = srv.pid;
    assert.deepEqual(await srv.stop(), { code: 0, signal: null }, 'SIGTERM is a clean shutdown');
    await srv.restart(); // the process has exited; this starts a new one on the same database
    assert.notEqual(srv.pid, pid, 'a new process');
    await expectAll(client(srv), want);
  });
});

test('acknowledged writes survive SIGKILL right after the last answer', { timeout: 120000 }, async () => {
  await withServer(async (srv) => {
    const api = client(srv);
    const want = await writeMix(api, 40);
    await srv.restart('SIGKILL');
    await expectAll(client(srv), want);
    // And the store takes writes again after the crash.
    const more = await client(srv).post('/fhir/Patient', { resourceType: 'Patient' });
    assert.equal(more.status, 201);
    await srv.restart('SIGKILL');
    assert.equal((await client(srv).get(`/fhir/Patient/${more.json.id}`)).status, 200);
  });
});

test('SIGKILL while writes are in flight: every acknowledged one is there', { timeout: 120000 }, async () => {
  await withServer(async (srv) => {
    const api = client(srv);
    const acked = [];
    const failures = [];
    // Writers that keep going until the server dies under them.
    let stop = false;
    const writer = async (w) => {
      for (let i = 0; !stop; i++) {
        let res;
        try {
          res = await srv.fetch('/fhir/Patient', { method: 'POST', json: { resourceType: 'Patient', name: [{ family: `W${w}x${i}` }] } });
        } catch {
          return; // the connection died with the server: not acknowledged
        }
        if (res.status !== 201) {
          failures.push(res.text);
          return;
        }
        acked.push(res.json);
      }
    };
    let running = 4;
    const writers = Array.from({ length: running }, (_, w) => writer(w).finally(() => { running--; }));
    // Kill once some writes are acknowledged (a condition, not a delay).
    while (acked.length < 30 && running > 0) await new Promise((r) => setImmediate(r));
    assert.deepEqual(failures, [], 'every create before the kill succeeds');
    assert.ok(acked.length >= 30, 'the writers got answers before the kill');
    const killed = srv.stop('SIGKILL');
    stop = true;
    await killed;
    await Promise.all(writers);
    const snapshot = [...acked];
    await srv.restart('SIGKILL'); // the process is already gone; this starts a new one
    const again = client(srv);
    for (const r of snapshot) {
      const res = await again.get(`/fhir/Patient/${r.id}`);
      assert.equal(res.status, 200, `acknowledged Patient/${r.id} is lost`);
      assert.deepEqual(res.json, r);
    }
    assert.ok((await again.get('/fhir/Patient?_count=0')).json.total >= snapshot.length);
  });
});
