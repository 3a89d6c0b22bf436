// ops.test.mjs - GET /healthz and GET /metrics (docs/operations.md): health is
// 200 "ok" while the database answers with this build's schema and 503 with an
// OperationOutcome when it does not; /metrics is Prometheus text whose request
// counters and latency histogram move by exactly the requests made, by route
// pattern and status, whose database and process gauges are there, and which
// holds no id or name of anyone; both answer without a login under --auth on.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startServer, sqlExec, BIN } from './lib/server.mjs';
import { client, stopClean, assertOutcome } from './lib/expect.mjs';

const servers = [];
after(async () => {
  for (const srv of servers) await stopClean(srv);
});

// The samples of a scrape: "name{labels}" -> value; every line checked for the format.
function parse(text) {
  const samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[a-z_]+="(?:[^"\\]|\\.)*"(?:,[a-z_]+="(?:[^"\\]|\\.)*")*\})?) (-?[0-9.]+(?:e[+-]?[0-9]+)?|NaN|\+Inf)$/);
    assert.ok(m, `not a Prometheus sample line: ${line}`);
    samples.set(m[1], Number(m[2]));
  }
  return samples;
}

async function scrape(srv) {
  const r = await srv.fetch('/metrics');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  return { text: r.text, samples: parse(r.text) };
}

test('/metrics: request counters and histogram by route and status, gauges, no patient data', async () => {
  const srv = await startServer();
  servers.push(srv);
  const api = client(srv);
  const p = await api.put('/fhir/Patient/metrics-hemmelig', { resourceType: 'Patient', id: 'metrics-hemmelig', name: [{ family: 'Skjultesen' }] });
  assert.equal(p.status, 201);
  const before = await scrape(srv);
  const read = 'samverka_http_requests_total{route="GET /fhir/:type/:id",status="200"}';
  const missing = 'samverka_http_requests_total{route="GET /fhir/:type/:id",status="404"}';
  const count = 'samverka_http_request_duration_seconds_count{route="GET /fhir/:type/:id"}';
  for (let i = 0; i < 3; i++) assert.equal((await api.get('/fhir/Patient/metrics-hemmelig')).status, 200);
  assert.equal((await api.get('/fhir/Patient/Skjultesen-ukendt')).status, 404);
  assert.equal((await api.get('/fhir/Patient?family=Skjultesen')).status, 200);
  const after = await scrape(srv);
  assert.equal(after.samples.get(read) - (before.samples.get(read) || 0), 3);
  assert.equal(after.samples.get(missing) - (before.samples.get(missing) || 0), 1);
  assert.equal(after.samples.get(count) - (before.samples.get(count) || 0), 4);
  // The histogram: cumulative buckets that end in the count.
  const buckets = [...after.samples].filter(([k]) => k.startsWith('samverka_http_request_duration_seconds_bucket{route="GET /fhir/:type/:id"'));
  assert.ok(buckets.length > 5);
  for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i][1] >= buckets[i - 1][1], 'buckets are cumulative');
  assert.equal(buckets.at(-1)[0], 'samverka_http_request_duration_seconds_bucket{route="GET /fhir/:type/:id",le="+Inf"}');
  assert.equal(buckets.at(-1)[1], after.samples.get(count));
  // The scrape before this one is counted too.
  assert.ok(after.samples.get('samverka_http_requests_total{route="GET /metrics",status="200"}') >= 1);
  // Database and process.
  assert.equal(after.samples.get('samverka_db_up'), 1);
  assert.ok(after.samples.get('samverka_audit_records') >= 1);
  assert.ok(after.samples.has('samverka_medcom_outbox_messages{state="pending"}'));
  assert.ok(after.samples.has('samverka_watchdog_jobs{state="overdue"}'));
  assert.ok(after.samples.get('process_resident_memory_bytes') > 1e6);
  assert.ok(after.samples.get('process_open_fds') > 2);
  assert.ok(after.samples.has('process_cpu_seconds_total'));
  assert.ok(after.samples.has('samverka_db_write_transactions_total'));
  // Nothing of anyone: no id, name or search value reaches a label.
  for (const secret of ['hemmelig', 'Skjultesen', 'ukendt']) assert.ok(!after.text.includes(secret), `${secret} in /metrics`);
  // The audit gauge follows writes.
  await api.post('/fhir/Patient', { resourceType: 'Patient' });
  const third = await scrape(srv);
  assert.ok(third.samples.get('samverka_audit_records') > after.samples.get('samverka_audit_records'));
  // An acknowledged write was made durable by a sync of the log (group commit, SQLite).
  if (third.samples.get('samverka_db_commits_total') > 0) {
    assert.ok(third.samples.get('samverka_db_log_syncs_total') > after.samples.get('samverka_db_log_syncs_total'));
    assert.ok(third.samples.get('samverka_db_log_syncs_total') <= third.samples.get('samverka_db_commits_total'));
  }
  assert.ok(third.samples.has('samverka_db_checkpoints_total'));
});

test('/healthz: ok while the database answers with this schema, 503 with an OperationOutcome when not', async () => {
  const srv = await startServer({ args: ['--auth', 'on'] });
  servers.push(srv);
  const ok = await srv.fetch('/healthz');
  assert.equal(ok.status, 200);
  assert.equal(ok.text, 'ok\n');
  // Under --auth on neither needs a login, and the FHIR api still does.
  assert.equal((await srv.fetch('/metrics')).status, 200);
  assert.equal((await srv.fetch('/fhir/Patient')).status, 401);
  // A newer schema written by another build: this process must leave the rotation.
  sqlExec(srv.dbPath, 'INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 0)');
  const bad = await srv.fetch('/healthz');
  assertOutcome(bad, 503, { diagnostics: /schema is at version 9999/ });
  const m = parse((await srv.fetch('/metrics')).text);
  assert.equal(m.get('samverka_schema_version'), 9999);
  sqlExec(srv.dbPath, 'DELETE FROM schema_migrations WHERE version = 9999');
  assert.equal((await srv.fetch('/healthz')).status, 200);
  assert.equal((await srv.fetch('/healthz', { method: 'POST' })).status, 405);
});

test('/metrics: the access policy memo counts a lookup for each request of a practitioner', async () => {
  const srv = await startServer({ args: ['--auth', 'on'] });
  servers.push(srv);
  execFileSync(BIN, ['user', 'add', '--username', 'mette', '--kind', 'practitioner', '--practitioner-role', 'role-mette', '--password-stdin', '--db', srv.dbPath], { input: 'mette-pw-1\n' });
  const login = await srv.fetch('/auth/login', { method: 'POST', json: { username: 'mette', password: 'mette-pw-1' }, headers: { 'Content-Type': 'application/json' } });
  assert.equal(login.status, 200, login.text);
  const cookie = login.headers.get('set-cookie').match(/samverka_session=[^;]+/)[0];
  const lookups = async () => {
    const m = parse((await srv.fetch('/metrics')).text);
    return m.get('samverka_policy_memo_lookups_total{outcome="hit"}') + m.get('samverka_policy_memo_lookups_total{outcome="miss"}');
  };
  const before = await lookups();
  for (let i = 0; i < 3; i++) assert.equal((await srv.fetch('/fhir/Patient', { headers: { Cookie: cookie } })).status, 200);
  assert.ok(await lookups() >= before + 3);
});
