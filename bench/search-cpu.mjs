// search-cpu.mjs PORT PID ROUNDS FILE... - server CPU per search, one client.
//
// Sends the paths of each FILE (one request path a line) one after another over one
// keep-alive connection, ROUNDS times, after one warm-up pass, and prints per file the
// server's CPU time per request (user + system, from /proc/PID/stat) and the latency
// percentiles.  CPU per request is what to compare on a shared machine: latency there
// depends on what else runs, CPU time much less.  Fails on any answer but 200.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import http from 'node:http';

const [port, pid, rounds, ...files] = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const ticks = Number(process.env.CLK_TCK || 100);

function get(path) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent, headers: { Accept: 'application/fhir+json' } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`${res.statusCode} for ${path}`))));
    }).on('error', reject);
  });
}

function cpuMs() {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / ticks;
}

for (const file of files) {
  const paths = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  for (const p of paths) await get(p);
  const times = [];
  const c0 = cpuMs();
  for (let r = 0; r < Number(rounds); r++) {
    for (const p of paths) {
      const t = process.hrtime.bigint();
      await get(p);
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  }
  const cpu = (cpuMs() - c0) / times.length;
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.floor(times.length * q))].toFixed(2);
  console.log(`${basename(file).padEnd(20)} ${String(times.length).padStart(5)} requests  CPU ${cpu.toFixed(2)} ms/request  ` +
    `p50 ${at(0.5)}  p90 ${at(0.9)}  p99 ${at(0.99)}  max ${times[times.length - 1].toFixed(2)} ms`);
}
agent.destroy();
