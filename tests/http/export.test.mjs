// export.test.mjs - `samverka export` and `samverka import DIR` (issue 10, must
// show 3): a SQLite database filled through the HTTP API (several types, updates
// that make versions, deletions, a MedCom hospital notification with its ledger,
// stay events, tasks, jobs and notifications, a login, the audit records of all
// of it) is exported, imported into PostgreSQL (the cluster of SAMVERKA_TEST_PG;
// skipped with a message when there is none) and back into SQLite, and then on
// each target: `samverka audit verify` passes with the source's last hash; a new
// export of the target equals the source's file for file, byte for byte (every
// resource version, every deletion marker, every audit record and every other
// copied row); on SQLite, the rebuilt index rows, categories and derived grants
// equal the source's; and a server on the target answers system history, every
// resource's history, every version read and a set of searches exactly as the
// source does.  Also: an import into a database that is not empty is refused.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, BIN, ROOT } from './lib/server.mjs';
import { client, stopClean } from './lib/expect.mjs';

const PG_ADMIN = process.env.SAMVERKA_TEST_PG || '';
const dir = mkdtempSync(join(tmpdir(), 'samverka-export-'));
const pgDatabases = [];
const running = new Set(); // servers a failed assertion left running
after(async () => {
  for (const srv of running) await srv.kill();
  for (const name of pgDatabases) psql(PG_ADMIN, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  rmSync(dir, { recursive: true, force: true });
});

function psql(uri, sql) {
  execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', sql, uri], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
function pgDatabase(name) {
  psql(PG_ADMIN, `CREATE DATABASE ${name}`);
  pgDatabases.push(name);
  const u = new URL(PG_ADMIN);
  u.pathname = `/${name}`;
  return u.toString();
}
function run(args, input) {
  const r = spawnSync(BIN, args, { encoding: 'utf8', input });
  return { status: r.status, out: r.stdout, err: r.stderr };
}
function ok(args, input) {
  const r = run(args, input);
  assert.equal(r.status, 0, `samverka ${args.join(' ')}: ${r.err}`);
  return r.out;
}
const lastHash = (out) => out.match(/last hash ([0-9a-f]{64})/)[1];

// Every file of an export (the manifest without its time and backend).
function readExport(d) {
  const files = {};
  for (const name of readdirSync(d).sort()) {
    const text = readFileSync(join(d, name), 'utf8');
    if (name === 'manifest.json') {
      const m = JSON.parse(text);
      delete m.transactionTime;
      delete m.backend;
      files[name] = m;
    } else {
      files[name] = text;
    }
  }
  return files;
}

// What a server answers, with its own base URL taken out.
async function answers(srv, resources) {
  const api = client(srv);
  const strip = (json) => JSON.parse(JSON.stringify(json).replaceAll(srv.base, 'BASE'));
  const entries = (bundle) => (bundle.entry || []).map((e) => ({ fullUrl: e.fullUrl, resource: e.resource, request: e.request, response: e.response, search: e.search }));
  const out = {};
  const get = async (path) => {
    const r = await api.get(path);
    assert.equal(r.status, 200, `${path}: ${r.text.slice(0, 300)}`);
    return strip(r.json);
  };
  const h = await get('/fhir/_history?_count=1000');
  out.history = { total: h.total, entries: entries(h) };
  for (const [type, id, versions] of resources) {
    const rh = await get(`/fhir/${type}/${id}/_history`);
    out[`${type}/${id}/_history`] = entries(rh);
    for (let v = 1; v <= versions; v++) {
      const r = await api.get(`/fhir/${type}/${id}/_history/${v}`);
      out[`${type}/${id}/_history/${v}`] = { status: r.status, body: r.status === 200 ? r.text : null };
    }
  }
  for (const q of SEARCHES) {
    const b = await get(q);
    out[q] = { total: b.total, entries: entries(b), links: b.link };
  }
  return out;
}

const SEARCHES = [
  '/fhir/Patient?_sort=family',
  '/fhir/Patient?name=exportsen',
  '/fhir/Observation?code=http://loinc.org|29463-7&_sort=-date',
  '/fhir/Observation?value-quantity=gt71',
  '/fhir/Task?status=requested&_count=2',
  '/fhir/Encounter?_include=Encounter:subject',
  '/fhir/Patient?_revinclude=Observation:subject&_sort=-_lastUpdated',
  '/fhir/QuestionnaireResponse?questionnaire=Questionnaire/q-export',
];

test('export from SQLite, import into PostgreSQL and SQLite: versions, history, audit and search intact', { timeout: 240000 }, async (t) => {
  const src = join(dir, 'src.db');
  ok(['user', 'add', '--username', 'anna', '--kind', 'practitioner', '--password-stdin', '--db', src], 'anna-pw-1\n');
  const srv = await startServer({ dir, db: src });
  running.add(srv);
  const api = client(srv);
  const resources = []; // [type, id, versions]
  const created = async (type, body) => {
    const r = await api.post(`/fhir/${type}`, body);
    assert.equal(r.status, 201, r.text);
    return r.json;
  };
  // A MedCom hospital notification: ledger, events, stay, tasks, notifications, jobs.
  const stin = readFileSync(join(ROOT, 'tests', 'data', 'medcom', 'a1_stin.json'), 'utf8');
  const ack = await srv.fetch('/fhir/$process-message', { method: 'POST', body: stin, headers: { 'Content-Type': 'application/fhir+json' } });
  assert.equal(ack.status, 200, ack.text);

  const org = await created('Organization', { resourceType: 'Organization', name: 'Exportkommune' });
  const p1 = await created('Patient', { resourceType: 'Patient', name: [{ family: 'Exportsen', given: ['Åse'] }], birthDate: '1950-02-03' });
  const p2 = await created('Patient', { resourceType: 'Patient', name: [{ family: 'Andersson', given: ['Örjan'] }], birthDate: '1961-07-08' });
  let p1v = p1;
  for (let i = 0; i < 3; i++) {
    const r = await api.put(`/fhir/Patient/${p1.id}`, { ...p1v, telecom: [{ system: 'phone', value: `1234567${i}` }] });
    assert.equal(r.status, 200, r.text);
    p1v = r.json;
  }
  const enc = await created('Encounter', { resourceType: 'Encounter', status: 'in-progress', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' }, subject: { reference: `Patient/${p1.id}` }, serviceProvider: { reference: `Organization/${org.id}` }, period: { start: '2026-03-01T10:00:00Z' } });
  const obs = [];
  for (let i = 0; i < 4; i++) {
    obs.push(await created('Observation', { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '29463-7' }] }, subject: { reference: `Patient/${i % 2 ? p2.id : p1.id}` }, effectiveDateTime: `2026-03-0${i + 1}`, valueQuantity: { value: 70 + i, system: 'http://unitsofmeasure.org', code: 'kg' } }));
  }
  assert.equal((await api.delete(`/fhir/Observation/${obs[3].id}`)).status, 204);
  const task = await created('Task', { resourceType: 'Task', status: 'requested', intent: 'order', for: { reference: `Patient/${p2.id}` }, owner: { reference: `Organization/${org.id}` }, restriction: { period: { end: '2026-04-01T12:00:00Z' } } });
  const done = await api.put(`/fhir/Task/${task.id}`, { ...task, status: 'accepted' });
  assert.equal(done.status, 200, done.text);
  const q = await api.put('/fhir/Questionnaire/q-export', { resourceType: 'Questionnaire', id: 'q-export', status: 'active', item: [{ linkId: '1', text: 'Hvordan går det?', type: 'string' }] });
  assert.equal(q.status, 201, q.text);
  const qr = await created('QuestionnaireResponse', { resourceType: 'QuestionnaireResponse', status: 'completed', questionnaire: 'Questionnaire/q-export', subject: { reference: `Patient/${p1.id}` }, item: [{ linkId: '1', answer: [{ valueString: 'godt' }] }] });
  // Deleted and created again: a version after a deletion marker.
  assert.equal((await api.delete(`/fhir/Patient/${p2.id}`)).status, 204);
  const back = await api.put(`/fhir/Patient/${p2.id}`, { ...p2, active: true });
  assert.equal(back.status, 201, back.text);
  resources.push(['Organization', org.id, 1], ['Patient', p1.id, 4], ['Patient', p2.id, 3], ['Encounter', enc.id, 1],
    ...obs.map((o, i) => ['Observation', o.id, i === 3 ? 2 : 1]), ['Task', task.id, 2], ['Questionnaire', 'q-export', 1],
    ['QuestionnaireResponse', qr.id, 1]);
  // Reads and searches: audit records through the read queue (flushed at stop).
  for (const s of SEARCHES) assert.equal((await api.get(s)).status, 200);
  running.delete(srv);
  await stopClean({ ...srv, cleanup: () => {} });

  const srcVerify = ok(['audit', 'verify', '--db', src]);
  const exported = join(dir, 'export');
  ok(['export', '--db', src, exported]);
  const want = readExport(exported);
  for (const f of ['Patient.ndjson', 'Observation.ndjson', 'audit.ndjson', 'medcom_message.ndjson', 'stay_event.ndjson', 'auth_user.ndjson', 'coord_notification.ndjson']) {
    assert.ok(want[f] && want[f].length > 0, `the export has rows in ${f}`);
  }
  // Every version; the deletion marker (p2's version 2) only in resource_version.
  const lines = want['Patient.ndjson'].trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.filter((r) => r.id === p1.id).map((r) => r.meta.versionId), ['1', '2', '3', '4']);
  assert.deepEqual(lines.filter((r) => r.id === p2.id).map((r) => r.meta.versionId), ['1', '3']);
  assert.ok(want['resource_version.ndjson'].includes('"deleted":true'));
  assert.equal(run(['export', '--db', src, exported]).status, 1, 'an export over an export is refused');

  // The source again, for the answers to compare with.
  const again = await startServer({ dir, db: src });
  running.add(again);
  const expected = await answers(again, resources);
  running.delete(again);
  await stopClean({ ...again, cleanup: () => {} });

  const targets = [['sqlite', join(dir, 'target.db')]];
  if (PG_ADMIN) targets.push(['postgres', pgDatabase(`sv_export_${process.pid}`)]);
  else t.diagnostic('SAMVERKA_TEST_PG is not set: the PostgreSQL target is skipped (tools/pg-scratch.sh run ...)');

  for (const [backend, db] of targets) {
    const out = ok(['import', '--db', db, exported]);
    assert.match(out, /imported \d+ resources, \d+ versions, \d+ other rows; reindexed \d+/);
    const verify = ok(['audit', 'verify', '--db', db]);
    assert.equal(lastHash(verify), lastHash(srcVerify), `${backend}: the same audit chain`);
    assert.equal(verify.split('\n')[0], srcVerify.split('\n')[0], `${backend}: the same record count`);
    const reexported = join(dir, `re-${backend}`);
    ok(['export', '--db', db, reexported]);
    const have = readExport(reexported);
    assert.deepEqual(Object.keys(have), Object.keys(want), `${backend}: the same files`);
    for (const name of Object.keys(want)) assert.deepEqual(have[name], want[name], `${backend}: ${name} is identical`);
    if (backend === 'sqlite') {
      // The rebuilt rows (index rows, worklist rows, categories, derived grants) equal the source's.
      const rows = (file, query) => JSON.parse(execFileSync('sqlite3', ['-json', file, query], { encoding: 'utf8' }) || '[]')
        .map((r) => JSON.stringify(r)).sort();
      for (const table of ['idx_string', 'idx_token', 'idx_reference', 'idx_date', 'idx_number', 'idx_quantity', 'idx_uri', 'idx_composite', 'idx_combined', 'access_grant']) {
        const q = `SELECT * FROM ${table}`;
        const want = rows(src, q);
        if (['idx_string', 'idx_token', 'idx_reference', 'access_grant'].includes(table)) assert.ok(want.length > 0, `${table} has rows`);
        assert.deepEqual(rows(db, q), want, `${backend}: ${table} rebuilt as it was`);
      }
      const q = 'SELECT rid, category FROM resource';
      assert.deepEqual(rows(db, q), rows(src, q), `${backend}: categories`);
    }
    const refused = run(['import', '--db', db, exported]);
    assert.equal(refused.status, 1);
    assert.match(refused.err, /not empty/);

    const srv2 = await startServer({ dir, db });
    running.add(srv2);
    try {
      const got = await answers(srv2, resources);
      for (const key of Object.keys(expected)) assert.deepEqual(got[key], expected[key], `${backend}: ${key}`);
      // Writes go on after the import: new keys do not collide with copied ones.
      const r = await client(srv2).post('/fhir/Patient', { resourceType: 'Patient', name: [{ family: 'Efter' }] });
      assert.equal(r.status, 201, r.text);
      assert.equal((await client(srv2).put(`/fhir/Patient/${p1.id}`, { ...p1v, active: false })).json.meta.versionId, '5');
    } finally {
      running.delete(srv2);
      await stopClean({ ...srv2, cleanup: () => {} });
    }
    ok(['audit', 'verify', '--db', db]);
  }
});

test('samverka backup copies a SQLite database while the server writes to it', { timeout: 60000 }, async () => {
  const db = join(dir, 'live.db');
  const srv = await startServer({ dir, db });
  running.add(srv);
  const api = client(srv);
  for (let i = 0; i < 5; i++) assert.equal((await api.post('/fhir/Patient', { resourceType: 'Patient', name: [{ family: `Kopi${i}` }] })).status, 201);
  const copy = join(dir, 'live-copy.db');
  assert.match(ok(['backup', '--db', db, copy]), /backup written to/);
  assert.equal((await api.post('/fhir/Patient', { resourceType: 'Patient', name: [{ family: 'Efterkopi' }] })).status, 201);
  const refused = run(['backup', '--db', db, copy]);
  assert.equal(refused.status, 1);
  assert.match(refused.err, /exists already/);
  running.delete(srv);
  await stopClean({ ...srv, cleanup: () => {} });
  // The copy is a database of its own, with the five and not the sixth, and a sound chain.
  assert.match(ok(['audit', 'verify', '--db', copy]), /chain ok/);
  const srv2 = await startServer({ dir, db: copy });
  running.add(srv2);
  const b = await client(srv2).get('/fhir/Patient?_summary=count');
  assert.equal(b.json.total, 5);
  running.delete(srv2);
  await stopClean({ ...srv2, cleanup: () => {} });
  // PostgreSQL: pg_dump, said so.
  if (PG_ADMIN) {
    const r = run(['backup', '--db', pgDatabase(`sv_backup_${process.pid}`), join(dir, 'pg.db')]);
    assert.equal(r.status, 1);
    assert.match(r.err, /pg_dump/);
  }
});
