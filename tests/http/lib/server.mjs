// server.mjs - starts the real samverka binary on 127.0.0.1 with a temporary
// database and talks HTTP to it (redis start_server, nginx-tests style).
//
//   const srv = await startServer();           // port 0: the kernel picks one
//   const res = await srv.fetch('/fhir/Patient', {method: 'POST', json: {...}});
//   await srv.restart();                        // same database, new process
//   await srv.stop();                           // SIGTERM, waits for exit 0
//
// SAMVERKA_BIN names the binary (make check sets it; default build/samverka).
//
// The backend: SQLite (a file in the test's directory) unless
// SAMVERKA_TEST_BACKEND=postgres, then a fresh database per server on the cluster
// whose admin URI is SAMVERKA_TEST_PG (tools/pg-scratch.sh run ... sets it).
// newDatabase/dropDatabase/sqlRows/sqlExec let a test look into either with the
// backend's own client (sqlite3, psql).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const BIN = process.env.SAMVERKA_BIN || join(root, 'build', 'samverka');
export const ROOT = root;
export const FHIR_JSON = 'application/fhir+json';

export const BACKEND = process.env.SAMVERKA_TEST_BACKEND || 'sqlite';
const PG_ADMIN = process.env.SAMVERKA_TEST_PG || '';
if (BACKEND !== 'sqlite' && BACKEND !== 'postgres') throw new Error(`SAMVERKA_TEST_BACKEND: no backend '${BACKEND}'`);
if (BACKEND === 'postgres' && !PG_ADMIN) throw new Error('SAMVERKA_TEST_BACKEND=postgres needs SAMVERKA_TEST_PG (tools/pg-scratch.sh run ...)');
let pgCounter = 0;

// postgres://user@host:port/DB?params with DB replaced.
function pgUri(name) {
  const u = new URL(PG_ADMIN);
  u.pathname = `/${name}`;
  return u.toString();
}
function psql(uri, args) {
  return execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', ...args, uri], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

// A new, empty database for --db: a file name in dir, or a PostgreSQL URI.
export function newDatabase(dir) {
  if (BACKEND === 'sqlite') return join(dir, 'test.db');
  const name = `sv_http_${process.pid}_${++pgCounter}`;
  psql(PG_ADMIN, ['-c', `CREATE DATABASE ${name}`]);
  return pgUri(name);
}

export function dropDatabase(db) {
  if (BACKEND !== 'postgres') return;
  const name = new URL(db).pathname.slice(1);
  psql(PG_ADMIN, ['-c', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]);
}

// The rows of one SELECT as objects (numbers as numbers).
export function sqlRows(db, query) {
  if (BACKEND === 'sqlite') return JSON.parse(execFileSync('sqlite3', ['-json', '-cmd', '.timeout 5000', db, query], { encoding: 'utf8' }) || '[]');
  return JSON.parse(psql(db, ['-A', '-t', '-c', `SELECT COALESCE(json_agg(t), '[]') FROM (${query}) t`]));
}

// Runs SQL statements (no result).  On SQLite it waits up to 5 s for the lock: the
// server's writers (the read-audit queue) may hold it for a moment.
export function sqlExec(db, script) {
  if (BACKEND === 'sqlite') execFileSync('sqlite3', ['-cmd', '.timeout 5000', db, script], { encoding: 'utf8' });
  else psql(db, ['-c', script]);
}

function launch(dbPath, extraArgs = [], listen = '127.0.0.1:0') {
  return new Promise((resolve, reject) => {
    // No watchdog unless a test asks for one (--watchdog N in extraArgs wins): its
    // ticks write Tasks (overdue marks) that a test's own model would not expect.
    const child = spawn(BIN, ['serve', '--listen', listen, '--db', dbPath, '--log-level', 'warn', '--watchdog', '0', ...extraArgs], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${err}`)), 15000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[^\s]+)/);
      if (m) {
        clearTimeout(timer);
        resolve({ child, base: m[1], stderr: () => err });
      }
    });
    child.stderr.on('data', (d) => { err += d; });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code ?? signal}) before listening: ${err}`));
    });
  });
}

function waitExit(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve({ code: child.exitCode, signal: child.signalCode });
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
}

export async function startServer(options = {}) {
  const dir = options.dir || mkdtempSync(join(tmpdir(), 'samverka-test-'));
  const dbPath = options.db || newDatabase(dir);
  const args = options.args || [];
  let proc = await launch(dbPath, args);
  const srv = {
    dir,
    dbPath,
    get base() { return proc.base; },
    get fhirBase() { return `${proc.base}/fhir`; },
    get pid() { return proc.child.pid; },
    stderr: () => proc.stderr(),
    // fetch with a path relative to the server; {json} sets body and content-type.
    async fetch(path, init = {}) {
      const headers = { ...(init.headers || {}) };
      let body = init.body;
      if (init.json !== undefined) {
        body = JSON.stringify(init.json);
        if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['Content-Type'] = FHIR_JSON;
      }
      const res = await fetch(proc.base + path, { method: init.method || 'GET', headers, body });
      const text = await res.text();
      let json;
      try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
      return { status: res.status, headers: res.headers, text, json };
    },
    async stop(signal = 'SIGTERM') {
      proc.child.kill(signal);
      return waitExit(proc.child);
    },
    async kill() { return srv.stop('SIGKILL'); },
    async restart(signal = 'SIGTERM') {
      await srv.stop(signal);
      proc = await launch(dbPath, args);
    },
    cleanup() {
      dropDatabase(dbPath);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return srv;
}
