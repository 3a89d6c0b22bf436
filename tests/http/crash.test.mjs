// crash.test.mjs - crash consistency: concurrent writers (creates, updates, and
// transactions of three linked resources) run against the server while it is
// killed with SIGKILL at random moments (seeded; at least 20 kills), restarted on
// the same database each time.  Afterwards:
//   - every write whose response arrived is there, intact: each acknowledged
//     version reads back (vread) exactly as it was acknowledged;
//   - nothing is half-written: every transaction, answered or not, is there with
//     all three resources or not at all, and a create that got no answer is there
//     whole or not at all;
//   - `sqlite3 DB 'PRAGMA integrity_check'` says ok, on a copy of the database
//     taken after every kill and on the database itself after a clean stop.  On
//     PostgreSQL (SAMVERKA_TEST_BACKEND) the database server is not what is killed;
//     there `samverka audit verify` checks what a kill could break, the audit chain.
// SAMVERKA_CRASH_SEED=n repeats a run's kill schedule and choice of writes (the
// timing of a kill against the writes in flight cannot be repeated exactly).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import http from 'node:http';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, BACKEND, BIN } from './lib/server.mjs';

const SEED = Number(process.env.SAMVERKA_CRASH_SEED || Math.floor(Math.random() * 2 ** 31));
const KILLS = 20;
const WRITERS = 4;
const LOOP_BUDGET_MS = 45000; // the kill loop stops after this, once KILLS are done
const MARK = 'urn:samverka:crash';

// mulberry32: a small seeded generator, so a failing run can be repeated.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref());

// One request on a connection of its own (node:http: fetch in Node 20 may never
// settle when the server dies between connect and answer).  The parsed answer, or
// undefined when none arrived: the server died under it (or did not answer in time).
function request(base, method, path, json, timeoutMs = 15000) {
  return new Promise((resolve) => {
    const body = json === undefined ? undefined : Buffer.from(JSON.stringify(json));
    const req = http.request(`${base}${path}`, {
      method, agent: false, timeout: timeoutMs,
      headers: { Connection: 'close', ...(body ? { 'Content-Type': 'application/fhir+json', 'Content-Length': body.length } : {}) },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed;
        try { parsed = text ? JSON.parse(text) : undefined; } catch { parsed = undefined; }
        resolve(res.complete ? { status: res.statusCode, text, json: parsed } : undefined);
      });
      res.on('error', () => resolve(undefined));
      res.on('aborted', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(undefined));
    req.end(body);
  });
}

function integrityCheck(dbPath) {
  if (BACKEND === 'postgres') {
    const r = spawnSync(BIN, ['audit', 'verify', '--db', dbPath], { encoding: 'utf8' });
    return r.status === 0 ? 'ok' : `${r.stdout}${r.stderr}`.trim();
  }
  return execFileSync('sqlite3', [dbPath, 'PRAGMA integrity_check'], { encoding: 'utf8' }).trim();
}

// A copy of the database as the kill left it (main file and write-ahead log), so
// that checking it does not recover the original before the server does.
function integrityOfCopy(dbPath) {
  if (BACKEND === 'postgres') return integrityCheck(dbPath);
  const dir = mkdtempSync(join(tmpdir(), 'samverka-crash-copy-'));
  try {
    const copy = join(dir, 'copy.db');
    copyFileSync(dbPath, copy);
    for (const suffix of ['-wal', '-journal']) if (existsSync(dbPath + suffix)) copyFileSync(dbPath + suffix, copy + suffix);
    return integrityCheck(copy);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test(`acknowledged writes survive ${KILLS}+ SIGKILLs under load, nothing half-written (seed ${SEED})`, { timeout: 240000 }, async (t) => {
  t.diagnostic(`seed ${SEED} (SAMVERKA_CRASH_SEED=${SEED} repeats it)`);
  const rand = prng(SEED);
  const srv = await startServer();
  const acked = [];        // {type, id, version, json}: every acknowledged version
  const creates = [];      // {marker, family, acked}
  const transactions = []; // {k, acked, ids}
  const failures = [];     // answers that were not a success
  let up = true;
  let upWaiters = [];
  let stopping = false;
  let counter = 0;

  const whenUp = () => (up ? Promise.resolve() : new Promise((resolve) => upWaiters.push(resolve)));
  const send = async (path, init) => {
    await whenUp();
    return request(srv.base, init.method, path, init.json);
  };

  async function writer(w) {
    const mine = []; // {type, id} created by this writer and acknowledged
    const r = prng(SEED + w + 1);
    while (!stopping) {
      const n = counter++;
      const pick = r();
      if (pick < 0.4 || mine.length === 0) {
        const marker = `c-${w}-${n}`;
        const family = `Crash${n}`;
        const c = { marker, family, acked: false };
        creates.push(c);
        const res = await send('/fhir/Patient', { method: 'POST', json: { resourceType: 'Patient', identifier: [{ system: MARK, value: marker }], name: [{ family, given: ['Writer', String(w)] }] } });
        if (!res) continue;
        if (res.status !== 201) { failures.push(`create ${res.status} ${res.text.slice(0, 200)}`); continue; }
        c.acked = true;
        acked.push({ type: 'Patient', id: res.json.id, version: res.json.meta.versionId, json: res.json });
        mine.push({ type: 'Patient', id: res.json.id, marker });
      } else if (pick < 0.7) {
        const target = mine[Math.floor(r() * mine.length)];
        const res = await send(`/fhir/Patient/${target.id}`, { method: 'PUT', json: { resourceType: 'Patient', id: target.id, identifier: [{ system: MARK, value: target.marker }], name: [{ family: `Updated${n}` }], active: n % 2 === 0 } });
        if (!res) continue;
        if (res.status !== 200) { failures.push(`update ${res.status} ${res.text.slice(0, 200)}`); continue; }
        acked.push({ type: 'Patient', id: target.id, version: res.json.meta.versionId, json: res.json });
      } else {
        const k = `t-${w}-${n}`;
        const tx = { k, acked: false };
        transactions.push(tx);
        const p = `urn:uuid:${crypto.randomUUID()}`;
        const e = `urn:uuid:${crypto.randomUUID()}`;
        const id = (role) => [{ system: MARK, value: `${k}-${role}` }];
        const res = await send('/fhir', {
          method: 'POST',
          json: {
            resourceType: 'Bundle', type: 'transaction', entry: [
              { fullUrl: p, resource: { resourceType: 'Patient', identifier: id('p'), name: [{ family: `Tx${n}` }] }, request: { method: 'POST', url: 'Patient' } },
              { fullUrl: e, resource: { resourceType: 'Encounter', identifier: id('e'), status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'HH' }, subject: { reference: p } }, request: { method: 'POST', url: 'Encounter' } },
              { resource: { resourceType: 'Observation', identifier: id('o'), status: 'final', code: { text: 'crash' }, subject: { reference: p }, encounter: { reference: e }, valueInteger: n }, request: { method: 'POST', url: 'Observation' } },
            ],
          },
        });
        if (!res) continue;
        if (res.status !== 200) { failures.push(`transaction ${res.status} ${res.text.slice(0, 200)}`); continue; }
        tx.acked = true;
        for (const entry of res.json.entry) {
          const rsc = entry.resource;
          acked.push({ type: rsc.resourceType, id: rsc.id, version: rsc.meta.versionId, json: rsc });
        }
      }
    }
  }

  const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
  const started = Date.now();
  let kills = 0;
  const integrity = [];
  try {
    while (kills < KILLS || (Date.now() - started < LOOP_BUDGET_MS && kills < KILLS * 2)) {
      // Let the writers run for a random while (some rounds very short, so that a
      // kill also lands during start-up and the first writes after recovery).
      await sleep(rand() < 0.2 ? Math.floor(rand() * 30) : 50 + Math.floor(rand() * 500));
      up = false;
      const exit = await srv.stop('SIGKILL');
      assert.equal(exit.signal, 'SIGKILL', 'the server was running when killed');
      kills++;
      integrity.push(integrityOfCopy(srv.dbPath));
      await srv.restart('SIGKILL'); // the process is gone; this starts a new one on the same database
      up = true;
      const waiting = upWaiters;
      upWaiters = [];
      for (const resolve of waiting) resolve();
    }
  } finally {
    stopping = true;
    up = true;
    for (const resolve of upWaiters) resolve();
    await Promise.all(writers);
  }
  const loopMs = Date.now() - started;
  t.diagnostic(`${kills} kills in ${loopMs} ms; ${acked.length} acknowledged versions, ${creates.length} creates (${creates.filter((c) => c.acked).length} answered), ${transactions.length} transactions (${transactions.filter((x) => x.acked).length} answered)`);

  try {
    assert.ok(kills >= KILLS, `${kills} kills`);
    assert.deepEqual(failures, [], 'every request that was answered succeeded');
    assert.ok(acked.length >= KILLS, `the writers got answers between the kills (${acked.length})`);
    for (const [i, result] of integrity.entries()) assert.equal(result, 'ok', `PRAGMA integrity_check after kill ${i + 1}`);

    const get = async (path) => {
      const res = await srv.fetch(path);
      return res;
    };
    // Every acknowledged version, exactly as acknowledged (in parallel batches).
    for (let i = 0; i < acked.length; i += 32) {
      await Promise.all(acked.slice(i, i + 32).map(async (a) => {
        const res = await get(`/fhir/${a.type}/${a.id}/_history/${a.version}`);
        assert.equal(res.status, 200, `${a.type}/${a.id} version ${a.version} was acknowledged and is gone: ${res.text.slice(0, 200)}`);
        assert.deepEqual(res.json, a.json, `${a.type}/${a.id} version ${a.version} reads back as acknowledged`);
      }));
    }
    // The current version is no older than the newest acknowledged one.
    const newest = new Map();
    for (const a of acked) {
      const key = `${a.type}/${a.id}`;
      newest.set(key, Math.max(newest.get(key) || 0, Number(a.version)));
    }
    for (const [key, version] of newest) {
      const res = await get(`/fhir/${key}`);
      assert.equal(res.status, 200, `${key}: ${res.text.slice(0, 200)}`);
      assert.ok(Number(res.json.meta.versionId) >= version, `${key} is at version ${res.json.meta.versionId}, ${version} was acknowledged`);
    }
    // Transactions: all three resources or none, found through the search index too.
    const byMarker = async (type, value) => (await get(`/fhir/${type}?identifier=${encodeURIComponent(`${MARK}|${value}`)}`)).json.entry || [];
    for (let i = 0; i < transactions.length; i += 16) {
      await Promise.all(transactions.slice(i, i + 16).map(async (tx) => {
        const [p, e, o] = await Promise.all([byMarker('Patient', `${tx.k}-p`), byMarker('Encounter', `${tx.k}-e`), byMarker('Observation', `${tx.k}-o`)]);
        const counts = [p.length, e.length, o.length];
        assert.ok(counts.every((c) => c === 0) || counts.every((c) => c === 1), `transaction ${tx.k} is partly there: ${counts}`);
        if (tx.acked) assert.deepEqual(counts, [1, 1, 1], `acknowledged transaction ${tx.k} is missing`);
        if (counts[0] === 1) {
          const pid = p[0].resource.id;
          assert.equal(e[0].resource.subject.reference, `Patient/${pid}`);
          assert.equal(o[0].resource.subject.reference, `Patient/${pid}`);
          assert.equal(o[0].resource.encounter.reference, `Encounter/${e[0].resource.id}`);
        }
      }));
    }
    // Creates that got no answer: there whole, or not at all.
    for (const c of creates.filter((x) => !x.acked)) {
      const found = await byMarker('Patient', c.marker);
      assert.ok(found.length <= 1, `create ${c.marker} is there ${found.length} times`);
      if (found.length === 1) {
        const r = found[0].resource;
        assert.ok(r.name[0].family === c.family || r.name[0].family.startsWith('Updated'), `create ${c.marker} is intact: ${JSON.stringify(r)}`);
      }
    }
  } finally {
    const exit = await srv.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, `a clean stop after the crashes; stderr:\n${srv.stderr().slice(-2000)}`);
    assert.equal(integrityCheck(srv.dbPath), 'ok', 'PRAGMA integrity_check after the last stop');
    srv.cleanup();
  }
});
