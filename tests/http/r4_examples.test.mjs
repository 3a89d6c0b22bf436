// r4_examples.test.mjs - every official R4 example (npm hl7.fhir.r4.examples)
// of a type the server supports is created, read back unchanged, and the
// read-back passes the independent validator (lib/validate.mjs).
//
// The supported types come from GET /fhir/metadata, not from a list here.
// Examples that are wrong themselves are named in
// tests/data/r4-examples-known-invalid.txt (filename<TAB>reason; owned by the
// validator's unit test); those must be rejected, so that the list stays
// honest.  "Unchanged" means deep equality of the parsed JSON (numbers as JSON
// numbers) after removing what the server sets: id, meta.versionId,
// meta.lastUpdated and a meta left empty by that.
//
// The read-backs are validated on a worker thread, so that the schema checks
// (seconds for the large definition Bundles) overlap with the HTTP traffic.
//
// The definition Bundles in the package (up to 35 MB) are larger than the
// default 10 MiB body limit, so this server runs with a limit that fits the
// largest example; the limit itself is a configuration, tested elsewhere.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { startServer, ROOT, FHIR_JSON } from './lib/server.mjs';

const EXAMPLES = join(ROOT, 'node_modules', 'hl7.fhir.r4.examples');
const KNOWN_INVALID = join(ROOT, 'tests', 'data', 'r4-examples-known-invalid.txt');
const IN_FLIGHT = 16;
const DEFAULT_MAX_BODY = 10 * 1024 * 1024;

const SKIP = existsSync(EXAMPLES)
  ? false
  : `${EXAMPLES} is missing (npm package hl7.fhir.r4.examples; make deps installs it)`;

// filename -> reason.  Comment lines start with '#'.
function readKnownInvalid() {
  const listed = new Map();
  readFileSync(KNOWN_INVALID, 'utf8').split('\n').forEach((line, i) => {
    if (line.trim() === '' || line.startsWith('#')) return;
    const tab = line.indexOf('\t');
    assert.ok(tab > 0 && line.slice(tab + 1).trim() !== '',
      `${KNOWN_INVALID}:${i + 1}: expected filename<TAB>reason, got ${JSON.stringify(line)}`);
    listed.set(line.slice(0, tab), line.slice(tab + 1));
  });
  return listed;
}

// What is left to compare once the server-set id and meta fields are gone
// (a shallow copy: the large Bundles make a deep one cost seconds).
function content(resource) {
  const { id, meta, ...rest } = resource;
  if (meta && typeof meta === 'object') {
    const { versionId, lastUpdated, ...kept } = meta;
    if (Object.keys(kept).length) rest.meta = kept;
  } else if (meta !== undefined) {
    rest.meta = meta;
  }
  return rest;
}

// A worker thread running lib/validate.mjs.  For a read-back with errors it
// also says which of them the server introduced: when the content came back
// unchanged, only id and meta can be new, so they are checked on their own;
// otherwise the errors of the sent example are subtracted.
const VALIDATOR_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { readFileSync } = require('node:fs');
import(workerData.validateUrl).then(({ fhirErrors }) => {
  parentPort.on('message', ({ seq, text, plain, unchanged, sentPath }) => {
    try {
      const got = JSON.parse(text);
      const errors = fhirErrors(got);
      let introduced = [];
      if (plain) {
        /* only the verdict on this resource */
      } else if (errors.length && unchanged) {
        introduced = fhirErrors({ resourceType: got.resourceType, id: got.id, meta: got.meta });
      } else if (errors.length) {
        const sentErrors = new Set(fhirErrors(JSON.parse(readFileSync(sentPath, 'utf8'))));
        introduced = errors.filter((e) => !sentErrors.has(e));
      }
      parentPort.postMessage({ seq, errors, introduced });
    } catch (err) {
      parentPort.postMessage({ seq, failed: String(err && err.stack || err) });
    }
  });
  parentPort.postMessage({ ready: true });
});
`;

function startValidator() {
  const worker = new Worker(VALIDATOR_SOURCE, {
    eval: true,
    workerData: { validateUrl: new URL('./lib/validate.mjs', import.meta.url).href },
  });
  const pending = new Map();
  let seq = 0;
  worker.on('message', (msg) => {
    if (msg.ready) return;
    const { resolve, reject } = pending.get(msg.seq);
    pending.delete(msg.seq);
    if (msg.failed) reject(new Error(`validator: ${msg.failed}`));
    else resolve(msg);
  });
  worker.on('error', (err) => { for (const p of pending.values()) p.reject(err); pending.clear(); });
  return {
    validate(job) {
      return new Promise((resolve, reject) => {
        pending.set(++seq, { resolve, reject });
        worker.postMessage({ seq, ...job });
      });
    },
    stop: () => worker.terminate(),
  };
}

// The first place where two JSON values differ, as "path: sent X, read back Y".
function firstDifference(sent, got, path) {
  const show = (v) => (v === undefined ? '(absent)' : JSON.stringify(v).slice(0, 120));
  if (isDeepStrictEqual(sent, got)) return null;
  const bothObjects = sent && got && typeof sent === 'object' && typeof got === 'object' &&
    Array.isArray(sent) === Array.isArray(got);
  if (!bothObjects) return `${path}: sent ${show(sent)}, read back ${show(got)}`;
  if (Array.isArray(sent) && sent.length !== got.length) {
    return `${path}: sent ${sent.length} items, read back ${got.length}`;
  }
  for (const key of new Set([...Object.keys(sent), ...Object.keys(got)])) {
    const where = Array.isArray(sent) ? `${path}[${key}]` : `${path}.${key}`;
    const d = firstDifference(sent[key], got[key], where);
    if (d) return d;
  }
  return `${path}: differs`;
}

const run = {
  supported: [],       // resource types from the CapabilityStatement
  examples: [],        // { file, type, text, sent, listed }
  results: new Map(),  // file -> { status, outcome?, difference?, schema?, introduced?, error? }
  listed: new Map(),
  ms: 0,
};
let srv;
let validator;

async function roundTrip(example) {
  const result = {};
  run.results.set(example.file, result);
  const created = await srv.fetch(`/fhir/${example.type}`, {
    method: 'POST', body: example.text, headers: { 'Content-Type': FHIR_JSON },
  });
  result.status = created.status;
  if (example.listed) {
    result.independentErrors = (await validator.validate({ text: example.text, plain: true })).errors;
  }
  if (created.status !== 201) {
    result.outcome = created.text.slice(0, 1500);
    return;
  }
  const location = created.headers.get('location');
  if (!location) {
    result.error = 'the 201 has no Location header';
    return;
  }
  const read = await srv.fetch(new URL(location, srv.base).pathname);
  if (read.status !== 200 || !read.json) {
    result.error = `GET ${location} answered ${read.status}: ${read.text.slice(0, 500)}`;
    return;
  }
  const got = read.json;
  if (got.resourceType !== example.type || !location.includes(`/${example.type}/${got.id}/`) ||
      got.meta?.versionId !== '1' || typeof got.meta?.lastUpdated !== 'string') {
    result.error = `read back id ${got.id}, meta ${JSON.stringify(got.meta)} from ${location}`;
  }
  result.difference = firstDifference(content(example.sent), content(got), example.type);
  // The independent validator has its own blind spots and false alarms:
  // the server must not add errors to what the example already had.
  const verdict = await validator.validate({
    text: read.text, unchanged: result.difference === null, sentPath: join(EXAMPLES, example.file),
  });
  if (verdict.errors.length) {
    result.schema = verdict.errors;
    result.introduced = verdict.introduced;
  }
}

before(async () => {
  if (SKIP) return;
  run.listed = readKnownInvalid();
  validator = startValidator();
  const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.json')).sort();
  const largest = Math.max(...files.map((f) => statSync(join(EXAMPLES, f)).size));
  srv = await startServer({ args: ['--max-body', String(Math.max(DEFAULT_MAX_BODY, largest + 1024 * 1024))] });
  const metadata = await srv.fetch('/fhir/metadata');
  assert.equal(metadata.status, 200);
  // the types one can create (AuditEvent is a read-only view of the audit log)
  run.supported = metadata.json.rest[0].resource
    .filter((r) => r.interaction.some((i) => i.code === 'create')).map((r) => r.type);
  const supported = new Set(run.supported);
  for (const file of files) {
    const text = readFileSync(join(EXAMPLES, file), 'utf8');
    let sent;
    try { sent = JSON.parse(text); } catch { continue; } /* not JSON: not an example */
    if (!sent || !supported.has(sent.resourceType)) continue;
    run.examples.push({ file, type: sent.resourceType, text, sent, listed: run.listed.get(file) });
  }
  const start = process.hrtime.bigint();
  let next = 0;
  const worker = async () => {
    while (next < run.examples.length) {
      const example = run.examples[next++];
      try {
        await roundTrip(example);
      } catch (err) {
        run.results.get(example.file).error = String(err?.cause ?? err);
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  run.ms = Number(process.hrtime.bigint() - start) / 1e6;
});

after(async () => {
  if (validator) await validator.stop();
  if (!srv) return;
  const exit = await srv.stop();
  srv.cleanup();
  assert.deepEqual(exit, { code: 0, signal: null }, `the server's exit: ${srv.stderr().slice(-2000)}`);
});

test('the examples of the supported types are found and counted', { skip: SKIP }, (t) => {
  assert.ok(run.supported.length > 0, 'the CapabilityStatement lists resource types');
  const perType = new Map(run.supported.map((type) => [type, { tested: 0, accepted: 0, listed: 0 }]));
  for (const example of run.examples) {
    const counts = perType.get(example.type);
    counts.tested++;
    if (example.listed) counts.listed++;
    if (run.results.get(example.file)?.status === 201) counts.accepted++;
  }
  const total = { tested: 0, accepted: 0, listed: 0 };
  const row = (name, c) => `${name.padEnd(22)} ${String(c.tested).padStart(6)} ${String(c.accepted).padStart(8)} ` +
    `${String(c.listed).padStart(6)}`;
  t.diagnostic(row('type', { tested: 'tested', accepted: 'accepted', listed: 'listed' }));
  for (const [type, c] of perType) {
    t.diagnostic(row(type, c));
    for (const k of Object.keys(total)) total[k] += c[k];
  }
  t.diagnostic(row('total', total));
  t.diagnostic(`${run.examples.length} examples created and read back in ${(run.ms / 1000).toFixed(1)} s ` +
    `with ${IN_FLIGHT} requests in flight`);
  assert.ok(run.examples.length > 0, `no example of a supported type in ${EXAMPLES}`);
  assert.equal(run.results.size, run.examples.length, 'every example was sent');
});

test('every example not listed as known-invalid is created (201) and read back unchanged', { skip: SKIP }, () => {
  const failures = [];
  for (const example of run.examples.filter((e) => !e.listed)) {
    const r = run.results.get(example.file);
    if (r.status !== 201) failures.push(`${example.file}: create answered ${r.status ?? '(no answer)'} ${r.outcome ?? r.error ?? ''}`);
    else if (r.error) failures.push(`${example.file}: ${r.error}`);
    else if (r.difference) failures.push(`${example.file}: read back differs at ${r.difference}`);
  }
  assert.equal(failures.length, 0, `${failures.length} examples failed:\n${failures.join('\n')}`);
});

test('every listed example of a supported type is rejected with an OperationOutcome', { skip: SKIP }, () => {
  const failures = [];
  for (const example of run.examples.filter((e) => e.listed)) {
    const r = run.results.get(example.file);
    if (r.status === 201) {
      failures.push(`${example.file}: accepted (201), but the list says: ${example.listed}`);
    } else if (r.status !== 400 && r.status !== 422) {
      failures.push(`${example.file}: answered ${r.status ?? '(no answer)'} ${r.outcome ?? r.error ?? ''}`);
    } else if (!/"resourceType":"OperationOutcome"/.test(r.outcome)) {
      failures.push(`${example.file}: the ${r.status} is not an OperationOutcome: ${r.outcome}`);
    }
  }
  assert.equal(failures.length, 0, failures.join('\n'));
});

test('the known-invalid list names only files in the examples package', { skip: SKIP }, () => {
  const missing = [...run.listed.keys()].filter((file) => !existsSync(join(EXAMPLES, file)));
  assert.deepEqual(missing, [], `listed but not in ${EXAMPLES}`);
});

test('every read-back passes the independent validator, or fails it only as the sent example does', { skip: SKIP }, (t) => {
  const failures = [];
  for (const example of run.examples) {
    const r = run.results.get(example.file);
    if (!r.schema) continue;
    if (r.introduced.length) {
      failures.push(`${example.file}: the read-back has errors the example had not:\n  ${r.introduced.slice(0, 10).join('\n  ')}`);
    } else {
      t.diagnostic(`accepted by the server, rejected by the independent validator as sent: ${example.file}: ` +
        `${r.schema.length} errors, first: ${r.schema[0]}`);
    }
  }
  for (const example of run.examples.filter((e) => e.listed)) {
    if (run.results.get(example.file).independentErrors?.length === 0) {
      t.diagnostic(`rejected by the server, accepted by the independent validator: ${example.file} (${example.listed})`);
    }
  }
  assert.equal(failures.length, 0, failures.join('\n'));
});
