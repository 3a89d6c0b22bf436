// soak.mjs - the load and the watch of bench/soak.sh: a steady mixed load on a running
// samverka (reads, searches, creates, updates, transactions) from SOAK_CONNECTIONS
// keep-alive connections, each sending its next request when the last is answered, and
// every SOAK_INTERVAL seconds a sample of the server process (/proc/PID: resident memory,
// open file descriptors, threads) and of the window's latencies and errors.
//
// Verdict (exit 1 on any): a request that errs (socket error, timeout, a status or body
// other than the one its kind must give); resident memory that has not levelled off: the
// median VmRSS of the last third of the samples after warm-up above the median of the
// middle third by more than SOAK_RSS_GROWTH (the first third is reported, not judged:
// SQLite's page caches and the worker threads' malloc arenas are still filling then);
// open fds that leak: once the load has stopped and the client's connections are closed,
// more fds other than the database's than in the same pause after warm-up (plus
// SOAK_FD_SLACK), or more database fds (the file and its WAL, two per SQLite connection)
// than one connection per worker thread (SOAK_THREADS, the server's --threads) and the
// three the process keeps besides (the shared writer, the read audit, the watchdog) can
// hold.  Each worker thread opens its connection when it first serves a request, and
// libmicrohttpd hands new connections to whichever thread accepts first, so threads that
// had served none by the end of warm-up open theirs later (SOAK_WARM_CONNECTIONS
// concurrent connections at the end of warm-up make that rarer, not impossible); more
// threads after warm-up than during it.  The idle samples list the open fds by kind.
//
// Environment: SOAK_URL (http://127.0.0.1:PORT), SOAK_PID, SOAK_TOKEN (bearer, may be
// empty), SOAK_SECONDS=600, SOAK_INTERVAL=30, SOAK_WARMUP=120, SOAK_CONNECTIONS=8,
// SOAK_RSS_GROWTH=0.05, SOAK_FD_SLACK=2, SOAK_SEED_PLANS=50, SOAK_WARM_CONNECTIONS=64,
// SOAK_THREADS=8,
// SOAK_OUT (a file for the result table in Markdown; optional).
import http from 'node:http';
import { readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const env = (name, dflt) => process.env[name] ?? dflt;
const num = (name, dflt) => {
  const v = Number(env(name, dflt));
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name} must be a number, not '${env(name)}'`);
  return v;
};
const base = new URL(env('SOAK_URL', ''));
const pid = num('SOAK_PID', 0);
const token = env('SOAK_TOKEN', '');
const seconds = num('SOAK_SECONDS', 600);
const interval = num('SOAK_INTERVAL', 30);
const warmup = num('SOAK_WARMUP', 120);
const connections = num('SOAK_CONNECTIONS', 8);
const rssGrowth = num('SOAK_RSS_GROWTH', 0.05);
const fdSlack = num('SOAK_FD_SLACK', 2);
const seedPlans = num('SOAK_SEED_PLANS', 50);
const warmConnections = num('SOAK_WARM_CONNECTIONS', 64);
const serverThreads = num('SOAK_THREADS', 8);
const dbFdsMax = 2 * (serverThreads + 3);
const outFile = env('SOAK_OUT', '');
if (!pid) throw new Error('SOAK_PID is required');

let agent = new http.Agent({ keepAlive: true, maxSockets: connections });

// One request; resolves {status, body, ms}; rejects on socket errors and after 10 s.
function send(method, path, body) {
  const headers = { Accept: 'application/fhir+json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  let payload;
  if (body !== undefined) {
    payload = Buffer.from(JSON.stringify(body));
    headers['Content-Type'] = 'application/fhir+json';
    headers['Content-Length'] = payload.length;
  }
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: base.hostname, port: base.port, method, path: `/fhir${path}`, headers, agent, timeout: 10000 },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const ms = Number(process.hrtime.bigint() - t0) / 1e6;
          resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8'), ms });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout after 10 s')));
    req.on('error', reject);
    req.end(payload);
  });
}

// --- the data: coordination plans made by transactions, as bench/wrk/transaction.lua --

let serial = 0;
const stamp = Date.now().toString(36);
// A CPR number of ten digits (DDMMYY + serial), different for every n of a run.
const cprOf = (n) => {
  const two = (x) => String(x).padStart(2, '0');
  const serial = String(Math.floor(n / 33600) + 1000).slice(-4);
  return `${two((n % 28) + 1)}${two((Math.floor(n / 28) % 12) + 1)}${two(Math.floor(n / 336) % 100)}${serial}`;
};

function transactionBundle() {
  const n = ++serial;
  const u = (i) => `urn:uuid:${stamp.padStart(8, '0').slice(-8)}-0000-4000-8000-${(n * 16 + i).toString(16).padStart(12, '0')}`;
  const subject = { reference: u(0) };
  const entry = (i, resource) => ({ fullUrl: u(i), resource, request: { method: 'POST', url: resource.resourceType } });
  const entries = [
    entry(0, {
      resourceType: 'Patient',
      identifier: [{ system: 'urn:oid:1.2.208.176.1.2', value: cprOf(n) }],
      name: [{ family: 'Nielsen', given: ['Karen'] }],
      gender: 'female',
      birthDate: `1941-03-0${(n % 9) + 1}`,
    }),
    entry(1, { resourceType: 'CareTeam', status: 'active', subject, name: 'Team around Karen' }),
    entry(2, { resourceType: 'CarePlan', status: 'active', intent: 'plan', subject, title: 'Rehabilitation plan' }),
    entry(3, { resourceType: 'Goal', lifecycleStatus: 'active', description: { text: 'Walk to the shop' }, subject }),
    entry(4, {
      resourceType: 'Encounter',
      status: 'in-progress',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
      subject,
    }),
  ];
  for (let i = 5; i <= 9; i++) {
    entries.push(entry(i, task(subject, i, 'requested')));
  }
  return { n, bundle: { resourceType: 'Bundle', type: 'transaction', entry: entries } };
}

function task(subject, i, status) {
  return {
    resourceType: 'Task',
    status,
    intent: 'order',
    for: subject,
    description: `Follow-up ${i}`,
    restriction: { period: { end: `2026-12-${String(i + 10).padStart(2, '0')}T12:00:00Z` } },
  };
}

// Plans the load reads, searches and updates: {patient, ident, tasks: [{id, i}], plan, encounter}.
const plans = [];

function remember(n, res) {
  const body = JSON.parse(res.body);
  const ids = body.entry.map((e) => e.response.location.split('/').slice(0, 2));
  const of = (type) => ids.filter((x) => x[0] === type).map((x) => x[1]);
  plans.push({
    patient: of('Patient')[0],
    ident: cprOf(n),
    plan: of('CarePlan')[0],
    encounter: of('Encounter')[0],
    tasks: of('Task').map((id, k) => ({ id, i: k + 5 })),
  });
}

// --- the mix --------------------------------------------------------------------------

const pick = (a) => a[Math.floor(Math.random() * a.length)];
const isType = (res, type) => {
  try {
    return JSON.parse(res.body).resourceType === type;
  } catch {
    return false;
  }
};
const searchset = (res) => res.status === 200 && /"type":"searchset"/.test(res.body);

// Each kind: weight, and a function that sends and says whether the answer is right.
const kinds = {
  read: [35, async () => {
    const p = pick(plans);
    const [type, id] = pick([['Patient', p.patient], ['CarePlan', p.plan], ['Task', pick(p.tasks).id]]);
    const res = await send('GET', `/${type}/${id}`);
    return [res, res.status === 200 && isType(res, type)];
  }],
  search: [25, async () => {
    const p = pick(plans);
    const path = pick([
      `/Patient?identifier=urn:oid:1.2.208.176.1.2%7C${p.ident}`,
      `/Task?patient=Patient/${p.patient}&status=requested,in-progress&_sort=deadline`,
      `/CarePlan?subject=Patient/${p.patient}&status=active`,
      `/Encounter?subject=Patient/${p.patient}&status=in-progress`,
      `/Task?status=requested&_sort=deadline&_count=20`,
    ]);
    const res = await send('GET', path);
    return [res, searchset(res)];
  }],
  create: [12, async () => {
    const p = pick(plans);
    const res = await send('POST', '/Observation', {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '29463-7' }] },
      subject: { reference: `Patient/${p.patient}` },
      effectiveDateTime: new Date().toISOString(),
      valueQuantity: { value: 60 + Math.round(Math.random() * 400) / 10, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' },
    });
    return [res, res.status === 201 && isType(res, 'Observation')];
  }],
  update: [16, async () => {
    const p = pick(plans);
    const t = pick(p.tasks);
    // Status stays (the Task state machine refuses most moves); the text and deadline change.
    const body = { ...task({ reference: `Patient/${p.patient}` }, 10 + Math.floor(Math.random() * 9), 'requested'), id: t.id };
    const res = await send('PUT', `/Task/${t.id}`, body);
    return [res, res.status === 200 && isType(res, 'Task')];
  }],
  transaction: [12, async () => {
    const { n, bundle } = transactionBundle();
    const res = await send('POST', '', bundle);
    const ok = res.status === 200 && /"type":"transaction-response"/.test(res.body);
    // The pool grows slowly, so reads and searches also meet newer data.
    if (ok && plans.length < 2000 && n % 4 === 0) remember(n, res);
    return [res, ok];
  }],
};
const wheel = Object.entries(kinds).flatMap(([name, [w]]) => Array(w).fill(name));

// --- the window statistics and the samples --------------------------------------------

let window = { lat: [], byKind: {}, errors: 0 };
const errors = [];
let totalRequests = 0;

function record(kind, ms, ok, detail) {
  window.lat.push(ms);
  (window.byKind[kind] ??= []).push(ms);
  totalRequests++;
  if (!ok) {
    window.errors++;
    if (errors.length < 20) errors.push({ kind, ...detail });
  }
}

const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : 0);

function proc() {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number((status.match(new RegExp(`^${k}:\\s+(\\d+)`, 'm')) ?? [0, 0])[1]);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return {
    rss: kb('VmRSS') / 1024,
    anon: kb('RssAnon') / 1024,
    threads: kb('Threads'),
    fds: readdirSync(`/proc/${pid}/fd`).length,
    cpu: (Number(stat[11]) + Number(stat[12])) / 100,
  };
}

// The server's open fds by what they are: the database file, its WAL and shared memory
// (one file and one WAL fd per SQLite connection), sockets, pipes, epoll and event fds.
function fdKinds() {
  const kinds = {};
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    const kind = /-wal$/.test(target) ? 'wal'
      : /-shm$/.test(target) ? 'shm'
      : /-journal$/.test(target) ? 'journal'
      : /\.db$/.test(target) ? 'db'
      : /^socket:/.test(target) ? 'socket'
      : /^pipe:/.test(target) ? 'pipe'
      : /^anon_inode:/.test(target) ? target.slice(11).replace(/[[\]]/g, '')
      : /^\/dev\//.test(target) ? target
      : 'other';
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  return kinds;
}
const fdText = (k) => Object.entries(k).sort().map(([n, c]) => `${n} ${c}`).join(', ');

const samples = [];
let lastCpu = 0;
let lastT = 0;
function sample(t) {
  const p = proc();
  const lat = window.lat.sort((a, b) => a - b);
  const s = {
    t,
    requests: lat.length,
    rps: lat.length / (t - lastT),
    errors: window.errors,
    p50: pct(lat, 50),
    p90: pct(lat, 90),
    p99: pct(lat, 99),
    max: lat.at(-1) ?? 0,
    ...p,
    cpu: ((p.cpu - lastCpu) / (t - lastT)) * 100, // after ...p: the window's share, not the total
  };
  s.kindP99 = Object.fromEntries(Object.entries(window.byKind).map(([k, v]) => [k, pct(v.sort((a, b) => a - b), 99)]));
  const writes = ['create', 'update', 'transaction'].flatMap((k) => window.byKind[k] ?? []).sort((a, b) => a - b);
  s.writeP99 = pct(writes, 99);
  samples.push(s);
  lastCpu = p.cpu;
  lastT = t;
  window = { lat: [], byKind: {}, errors: 0 };
  console.log(row(s));
}

const f1 = (x) => x.toFixed(1);
const header =
  '| t (s) | requests | req/s | errors | p50 ms | p90 ms | p99 ms | max ms | p99 read / search / write ms | server CPU % | VmRSS MiB | RssAnon MiB | fds | threads |\n' +
  '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|';
const row = (s) =>
  `| ${s.t} | ${s.requests} | ${Math.round(s.rps)} | ${s.errors} | ${f1(s.p50)} | ${f1(s.p90)} | ${f1(s.p99)} | ${f1(s.max)} | ${f1(s.kindP99.read ?? 0)} / ${f1(s.kindP99.search ?? 0)} / ${f1(s.writeP99)} | ${Math.round(s.cpu)} | ${f1(s.rss)} | ${f1(s.anon)} | ${s.fds} | ${s.threads} |`;

// --- the run ----------------------------------------------------------------------------

// Sends one read on each of many fresh connections at once: libmicrohttpd's worker
// threads take new connections as they come, so with several times more connections than
// threads every thread serves one, and opens its database connection, before the fds are
// counted.
async function warmThreads() {
  const p = plans[0];
  const burst = new http.Agent({ keepAlive: false });
  await Promise.all(Array.from({ length: warmConnections }, () => new Promise((resolve) => {
    const req = http.request(
      { host: base.hostname, port: base.port, path: `/fhir/Patient/${p.patient}`, agent: burst,
        headers: { Accept: 'application/fhir+json', ...(token ? { Authorization: `Bearer ${token}` } : {}) } },
      (res) => { res.resume(); res.on('end', resolve); res.on('error', resolve); },
    );
    req.on('error', resolve);
    req.end();
  })));
  burst.destroy();
}

async function closeConnections() {
  agent.destroy();
  agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  await sleep(2000);
}

async function main() {
  // Seed plans, a few at a time.
  for (let k = 0; k < seedPlans; k++) {
    const { n, bundle } = transactionBundle();
    const res = await send('POST', '', bundle);
    if (res.status !== 200) throw new Error(`seeding: transaction answered ${res.status}: ${res.body.slice(0, 300)}`);
    remember(n, res);
  }
  await closeConnections();
  const idle0 = { ...proc(), fdKinds: fdKinds() };
  lastCpu = idle0.cpu;
  console.log(`soak: ${plans.length} plans seeded; idle before the load: VmRSS ${f1(idle0.rss)} MiB, ${idle0.threads} threads, ${idle0.fds} fds: ${fdText(idle0.fdKinds)}`);
  console.log(`soak: ${connections} connections for ${seconds} s, a sample every ${interval} s, warm-up ${warmup} s`);
  console.log(header);

  const t0 = Date.now();
  const end = t0 + seconds * 1000;
  let stop = false;
  const worker = async () => {
    while (!stop) {
      const kind = pick(wheel);
      try {
        const [res, ok] = await kinds[kind][1]();
        record(kind, res.ms, ok, ok ? null : { status: res.status, body: res.body.slice(0, 300) });
      } catch (e) {
        record(kind, 0, false, { error: String(e.message ?? e) });
      }
    }
  };
  let workers = Array.from({ length: connections }, worker);
  // Stops the load, closes the connections and samples the idle server.
  const pause = async (warm) => {
    stop = true;
    await Promise.all(workers);
    if (warm) await warmThreads();
    await closeConnections();
    return { ...proc(), fdKinds: fdKinds() };
  };
  let next = interval;
  let idleWarm = null;
  while (Date.now() < end) {
    const due = Math.min(t0 + next * 1000, end);
    await sleep(Math.max(0, due - Date.now()));
    const t = Math.round((Date.now() - t0) / 1000);
    if (Date.now() >= t0 + next * 1000 || Date.now() >= end) {
      sample(t);
      next += interval;
      if (!idleWarm && t >= warmup) {
        // The worker threads open their database connections when they first serve a
        // request, so the idle fds to compare with are those after warm-up, not before.
        idleWarm = await pause(true);
        console.log(`soak: idle after warm-up (every worker thread warmed): ${idleWarm.fds} fds: ${fdText(idleWarm.fdKinds)}`);
        stop = false;
        workers = Array.from({ length: connections }, worker);
      }
    }
  }
  const idle1 = await pause(false);
  console.log(`soak: idle after the load: ${idle1.fds} fds: ${fdText(idle1.fdKinds)}`);
  return verdict(idle0, idleWarm ?? idle0, idle1);
}

function verdict(idle0, idleWarm, idle1) {
  const fails = [];
  const after = samples.filter((s) => s.t >= warmup);
  const during = samples.filter((s) => s.t < warmup);
  const totalErrors = samples.reduce((a, s) => a + s.errors, 0);
  if (totalErrors) fails.push(`${totalErrors} requests erred, e.g. ${JSON.stringify(errors.slice(0, 3))}`);
  let growth = null;
  let peak = null;
  if (after.length >= 3) {
    // A leak shows as a trend that goes on; bounded caches (SQLite's page cache per
    // connection, the malloc arenas of the worker threads) fill for a while and then stay.
    // Single windows swing by a few MiB with the requests in flight, so medians of thirds
    // are compared: the last against the middle one must have levelled off; the first
    // third (caches still filling as the data grows) is reported, not judged.
    const third = Math.max(1, Math.floor(after.length / 3));
    const med = (xs) => {
      const v = [...xs].sort((a, b) => a - b);
      return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    };
    const first = med(after.slice(0, third).map((s) => s.rss));
    const middle = med(after.slice(third, after.length - third).map((s) => s.rss));
    const last = med(after.slice(-third).map((s) => s.rss));
    growth = { first, middle, last, rel: (last - middle) / middle, relFirst: (last - first) / first };
    peak = Math.max(...after.map((s) => s.rss));
    if (growth.rel > rssGrowth) {
      fails.push(`VmRSS did not level off: the last third's median ${f1(last)} MiB is ${(growth.rel * 100).toFixed(1)}% above the middle third's ${f1(middle)} MiB (bound ${rssGrowth * 100}%)`);
    }
    const maxThreadsWarm = Math.max(idle0.threads, ...during.map((s) => s.threads));
    const maxThreads = Math.max(...after.map((s) => s.threads));
    if (maxThreads > maxThreadsWarm) fails.push(`threads grew after warm-up: ${maxThreadsWarm} -> ${maxThreads}`);
  } else {
    fails.push('fewer than three samples after warm-up: make SOAK_SECONDS longer or SOAK_WARMUP shorter');
  }
  const dbFds = (k) => (k.db ?? 0) + (k.wal ?? 0);
  const otherFds = (i) => i.fds - dbFds(i.fdKinds);
  if (otherFds(idle1) > otherFds(idleWarm) + fdSlack) {
    fails.push(`open fds leaked: ${otherFds(idleWarm)} besides the database's idle after warm-up (${fdText(idleWarm.fdKinds)}), ${otherFds(idle1)} idle after the load (${fdText(idle1.fdKinds)})`);
  }
  if (dbFds(idle1.fdKinds) > dbFdsMax) {
    fails.push(`database fds leaked: ${dbFds(idle1.fdKinds)} open idle after the load, more than the ${dbFdsMax} of one connection per worker thread (${serverThreads}) and three more`);
  }
  const p99s = after.map((s) => s.p99);
  const lines = [
    `requests ${totalRequests}, errors ${totalErrors}`,
    growth === null
      ? 'VmRSS growth after warm-up: n/a'
      : `VmRSS after warm-up (${warmup} s), medians of the thirds of the samples: ${f1(growth.first)} / ${f1(growth.middle)} / ${f1(growth.last)} MiB; last against middle ${(growth.rel * 100).toFixed(1)}% (bound ${rssGrowth * 100}%), last against first ${(growth.relFirst * 100).toFixed(1)}% (reported); peak ${f1(peak)} MiB`,
    `idle before the load / after warm-up / after the load: VmRSS ${f1(idle0.rss)}/${f1(idleWarm.rss)}/${f1(idle1.rss)} MiB, RssAnon ${f1(idle0.anon)}/${f1(idleWarm.anon)}/${f1(idle1.anon)} MiB, fds ${idle0.fds}/${idleWarm.fds}/${idle1.fds}, threads ${idle0.threads}/${idleWarm.threads}/${idle1.threads}`,
    `idle fds by kind before the load: ${fdText(idle0.fdKinds)}; after warm-up: ${fdText(idleWarm.fdKinds)}; after the load: ${fdText(idle1.fdKinds)}`,
    p99s.length ? `p99 after warm-up: ${f1(Math.min(...p99s))}..${f1(Math.max(...p99s))} ms` : '',
    `p99 per kind in the last window: ${Object.entries(samples.at(-1)?.kindP99 ?? {}).map(([k, v]) => `${k} ${f1(v)} ms`).join(', ')}`,
    fails.length ? `FAILED: ${fails.join('; ')}` : 'PASSED',
  ].filter(Boolean);
  for (const l of lines) console.log(`soak: ${l}`);
  if (outFile) writeFileSync(outFile, `${header}\n${samples.map(row).join('\n')}\n\n${lines.map((l) => `- ${l}`).join('\n')}\n`);
  return fails.length ? 1 : 0;
}

main().then(
  (rc) => process.exit(rc),
  (e) => {
    console.error(`soak: FAILED: ${e.stack ?? e}`);
    process.exit(1);
  },
);
