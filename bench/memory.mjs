// memory.mjs - the load of bench/memory.sh: a mixed read and search load on a running
// samverka over a large database, and the server's memory (/proc/PID/status) before,
// during and after it.
//
// Each request draws a citizen from MEMORY_PATIENTS (a file of Patient ids, one a line)
// and a Task from MEMORY_TASKS, and is one of: read Patient, read Task, Patient by CPR
// identifier (the CPR taken from the read), the citizen's open Tasks by deadline, Encounters,
// CarePlans, and the first page of Patient/{id}/$everything.  Any answer other than 200
// with the right resourceType is an error (exit 1).
//
// Environment: MEMORY_URL, MEMORY_PID, MEMORY_TOKEN (bearer), MEMORY_PATIENTS, MEMORY_TASKS,
// MEMORY_REQUESTS=20000, MEMORY_CONNECTIONS=8, MEMORY_OUT (Markdown result, optional).
import http from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const env = (n, d) => process.env[n] ?? d;
const base = new URL(env('MEMORY_URL', ''));
const pid = Number(env('MEMORY_PID', 0));
const token = env('MEMORY_TOKEN', '');
const total = Number(env('MEMORY_REQUESTS', 20000));
const connections = Number(env('MEMORY_CONNECTIONS', 8));
const outFile = env('MEMORY_OUT', '');
const lines = (f) => readFileSync(f, 'utf8').split('\n').filter(Boolean);
const patients = lines(env('MEMORY_PATIENTS', ''));
const tasks = lines(env('MEMORY_TASKS', ''));
if (!pid || !patients.length || !tasks.length) throw new Error('MEMORY_PID, MEMORY_PATIENTS and MEMORY_TASKS are required');

let agent = new http.Agent({ keepAlive: true, maxSockets: connections });
function get(path) {
  const headers = { Accept: 'application/fhir+json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: base.hostname, port: base.port, path: `/fhir${path}`, headers, agent, timeout: 60000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout after 60 s')));
    req.on('error', reject);
    req.end();
  });
}

function proc() {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const mib = (k) => Number((s.match(new RegExp(`^${k}:\\s+(\\d+)`, 'm')) ?? [0, 0])[1]) / 1024;
  return { rss: mib('VmRSS'), anon: mib('RssAnon'), file: mib('RssFile'), shmem: mib('RssShmem'), hwm: mib('VmHWM'), threads: mib('Threads') * 1024 };
}

const pick = (a) => a[Math.floor(Math.random() * a.length)];
const kindOf = (body) => {
  try {
    return JSON.parse(body).resourceType;
  } catch {
    return null;
  }
};
const cprs = new Map();
const kinds = [
  ['read Patient', async (p) => {
    const res = await get(`/Patient/${p}`);
    const j = res.status === 200 ? JSON.parse(res.body) : null;
    const cpr = j?.identifier?.find((i) => i.system === 'urn:oid:1.2.208.176.1.2')?.value;
    if (cpr) cprs.set(p, cpr);
    return [res, 'Patient'];
  }],
  ['read Task', async () => [await get(`/Task/${pick(tasks)}`), 'Task']],
  ['Patient by CPR', async (p) => {
    const cpr = cprs.get(p);
    return [await get(cpr ? `/Patient?identifier=urn:oid:1.2.208.176.1.2%7C${cpr}` : `/Patient?_id=${p}`), 'Bundle'];
  }],
  ['open Tasks of a citizen', async (p) => [await get(`/Task?patient=Patient/${p}&status=requested,in-progress&_sort=deadline`), 'Bundle']],
  ['Encounters of a citizen', async (p) => [await get(`/Encounter?subject=Patient/${p}`), 'Bundle']],
  ['CarePlans of a citizen', async (p) => [await get(`/CarePlan?subject=Patient/${p}&status=active`), 'Bundle']],
  ['$everything, first page', async (p) => [await get(`/Patient/${p}/$everything?_count=50`), 'Bundle']],
];

const samples = [];
const perKind = {}; // name -> {n, bytes, entries}
let done = 0;
let errors = 0;
const firstErrors = [];
async function worker() {
  while (done < total) {
    done++;
    const [name, fn] = pick(kinds);
    try {
      const [res, want] = await fn(pick(patients));
      const k = (perKind[name] ??= { n: 0, bytes: 0, entries: 0 });
      k.n++;
      k.bytes += res.body.length;
      k.entries += (res.body.match(/"fullUrl"/g) ?? []).length;
      if (res.status !== 200 || kindOf(res.body) !== want) {
        errors++;
        if (firstErrors.length < 5) firstErrors.push(`${name}: ${res.status} ${res.body.slice(0, 200)}`);
      }
    } catch (e) {
      errors++;
      if (firstErrors.length < 5) firstErrors.push(`${name}: ${e.message}`);
    }
  }
}

const f1 = (x) => x.toFixed(1);
const row = (label, p) => `| ${label} | ${f1(p.rss)} | ${f1(p.anon)} | ${f1(p.file)} | ${f1(p.shmem)} | ${f1(p.hwm)} | ${p.threads} |`;

async function main() {
  const t0 = Date.now();
  samples.push(['idle after start-up', proc()]);
  const ticker = setInterval(() => samples.push([`under load, ${done} requests`, proc()]), 5000);
  await Promise.all(Array.from({ length: connections }, worker));
  clearInterval(ticker);
  const seconds = (Date.now() - t0) / 1000;
  agent.destroy();
  agent = null;
  await sleep(3000);
  samples.push([`idle after ${total} requests`, proc()]);
  const peak = Math.max(...samples.map(([, p]) => p.rss));
  const out = [
    '| when | VmRSS MiB | RssAnon | RssFile | RssShmem | VmHWM | threads |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...samples.map(([l, p]) => row(l, p)),
    '',
    `- ${total} requests at ${connections} connections in ${f1(seconds)} s, ${errors} errors${firstErrors.length ? `: ${firstErrors.join('; ')}` : ''}`,
    `- answers, on average: ${Object.entries(perKind).map(([n, k]) => `${n} ${Math.round(k.bytes / k.n)} bytes${k.entries ? ` (${f1(k.entries / k.n)} entries)` : ''}`).join('; ')}`,
    `- highest VmRSS sampled ${f1(peak)} MiB; VmHWM (the kernel's peak) ${f1(samples.at(-1)[1].hwm)} MiB`,
  ].join('\n');
  console.log(out);
  if (outFile) writeFileSync(outFile, `${out}\n`);
  return errors ? 1 : 0;
}

main().then(
  (rc) => process.exit(rc),
  (e) => {
    console.error(`memory: FAILED: ${e.stack ?? e}`);
    process.exit(1);
  },
);
