// hostile.test.mjs - the bad-input catalogue (tests/http/data/hostile/cases.mjs):
// hundreds of hostile or broken requests, each on a raw socket with a time bound.
// Each must be refused with a 4xx OperationOutcome (validated as FHIR R4) or by
// closing the connection: never a 5xx, a crash or a hang.  After every case the
// server must still answer /fhir/metadata and no version may have been written;
// at the end the seeded resources, their histories and the per-type counts must
// be exactly as they were.  Slow clients (headers byte by byte, bodies cut off,
// idle and half-open connections) have their own tests, and so do the payloads
// that are data, not attacks: SQL and script text in a valid resource is stored
// and found literally.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer } from './lib/server.mjs';
import { client, checkBody, stopClean, FHIR_JSON_RE } from './lib/expect.mjs';
import { rawExchange, buildRequest } from './lib/raw.mjs';
import { cases, SEED, INJECTIONS } from './data/hostile/cases.mjs';

const TYPES = ['Patient', 'Observation', 'Organization', 'Encounter', 'Bundle', 'Binary'];
const CASES = cases();
const requestOf = (c) => c.parts || buildRequest({ method: c.method, target: c.target, version: c.version, headers: c.headers || [], body: c.body, noHost: c.noHost, close: c.close !== false });

let srv;
let api;
let port;
let initial;
let idleProbe; // a connection left idle mid-body at the start: the server must close it
const idleRuns = new Map(); // the 'idle' cases, started together in before()
let halfCloseRun; // a partial body, then the client's end of input
const IDLE_BOUND_MS = 45000; // the server's idle timeout is 30 s

// A timer that does not keep the process alive once the tests are done.
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref());

async function seed() {
  const put = async (resource) => {
    const res = await api.put(`/fhir/${resource.resourceType}/${resource.id}`, resource);
    assert.ok(res.status === 200 || res.status === 201, `seeding ${resource.resourceType}/${resource.id}: ${res.text}`);
  };
  await put({ resourceType: 'Organization', id: SEED.organization, name: 'Seed Kommune' });
  for (const family of ['First', 'Second', 'Seedling']) {
    await put({
      resourceType: 'Patient', id: SEED.patient, active: true, gender: 'female', birthDate: '1970-01-01',
      name: [{ family, given: ['Ada', 'Q'] }], identifier: [{ system: 'http://example.org/mrn', value: 'MRN-1' }],
      telecom: [{ system: 'phone', value: '+45 12345678' }], address: [{ city: 'Aarhus' }],
      managingOrganization: { reference: `Organization/${SEED.organization}` },
    });
  }
  await put({ resourceType: 'Encounter', id: SEED.encounter, status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' }, subject: { reference: `Patient/${SEED.patient}` } });
  await put({
    resourceType: 'Observation', id: SEED.observation, status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] }, subject: { reference: `Patient/${SEED.patient}` },
    encounter: { reference: `Encounter/${SEED.encounter}` }, valueQuantity: { value: 72, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
  });
  await put({ resourceType: 'Patient', id: SEED.deleted, active: false });
  assert.equal((await api.delete(`/fhir/Patient/${SEED.deleted}`)).status, 204);
}

// Everything a hostile request could have changed: the seeded resources as read,
// their histories, and per type the number of versions and of current resources.
async function snapshot() {
  const s = {};
  for (const [type, id] of [['Patient', SEED.patient], ['Observation', SEED.observation], ['Organization', SEED.organization], ['Encounter', SEED.encounter], ['Patient', SEED.deleted]]) {
    const cur = await srv.fetch(`/fhir/${type}/${id}`);
    s[`${type}/${id}`] = `${cur.status} ${cur.text}`;
    const hist = await api.get(`/fhir/${type}/${id}/_history`);
    s[`${type}/${id}/_history`] = JSON.stringify(hist.json.entry);
  }
  for (const type of TYPES) {
    s[`${type} versions`] = (await api.get(`/fhir/${type}/_history?_count=0`)).json.total;
    s[`${type} resources`] = (await api.get(`/fhir/${type}?_count=0`)).json.total;
  }
  s.versions = (await api.get('/fhir/_history?_count=0')).json.total;
  return s;
}

const versions = async () => (await api.get('/fhir/_history?_count=0')).json.total;

function alive() {
  try {
    process.kill(srv.pid, 0);
    return true;
  } catch {
    return false;
  }
}

// The response of a raw exchange in the shape checkBody() takes.
const asRes = (r) => {
  let parsed;
  try { parsed = r.text ? JSON.parse(r.text) : undefined; } catch { parsed = undefined; }
  return { status: r.status, headers: new Headers(r.headers), text: r.text, json: parsed };
};

const describeResult = (r) => (r.kind === 'response'
  ? `${r.status} ${r.closed ? '(closed)' : '(open)'} ${String(r.text).slice(0, 300)}`
  : `${r.kind}${r.partial ? ' after partial bytes' : ''}`);

function judge(c, r) {
  const expect = c.expect || 'refused';
  assert.notEqual(r.kind, 'timeout', 'the server neither answered nor closed the connection in time (a hang)');
  assert.notEqual(r.kind, 'garbage', `the server answered something that is not HTTP: ${r.error}`);
  if (r.kind === 'closed') {
    assert.ok(expect === 'refused' || expect === 'closed', `the connection was closed without an answer; expected ${expect}`);
    assert.ok(c.status === undefined || c.mayClose, `closed without an answer; expected status ${c.status}`);
    return;
  }
  assert.equal(expect === 'closed', false, `expected the connection to be closed without an answer, got ${describeResult(r)}`);
  assert.ok(!r.timedOutWaitingForClose, 'the server kept the connection open after answering a request that asked to close');
  if (r.status >= 500) {
    assert.ok(c.allow5xx && c.allow5xx[0] === r.status, `a ${r.status}: ${r.text.slice(0, 300)}`);
    assert.ok(r.closed, 'the connection is closed after a transport refusal');
    return;
  }
  const fhir = FHIR_JSON_RE.test(r.headers['content-type'] || '');
  if (!fhir && r.body.length > 0) {
    // Only libmicrohttpd answers in something other than FHIR JSON, before samverka
    // sees the request; it closes the connection after.
    assert.ok(c.transport, `a non-FHIR answer (${r.headers['content-type']}): ${describeResult(r)}`);
    assert.ok(r.status >= 400 && r.status < 500, `status ${r.status}`);
    assert.ok(r.closed, 'the connection is closed after a transport refusal');
    return;
  }
  const res = checkBody(asRes(r));
  if (c.status !== undefined) {
    const want = Array.isArray(c.status) ? c.status : [c.status];
    assert.ok(want.includes(res.status), `status ${res.status}, expected ${want.join(' or ')}: ${res.text.slice(0, 300)}`);
  }
  switch (expect) {
    case 'refused':
      assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}, expected a 4xx: ${res.text.slice(0, 300)}`);
      assert.equal(res.json?.resourceType, 'OperationOutcome');
      break;
    case 'empty':
      if (res.status >= 400 && res.status < 500) {
        assert.equal(res.json?.resourceType, 'OperationOutcome');
      } else {
        assert.equal(res.status, 200, res.text.slice(0, 300));
        assert.equal(res.json.resourceType, 'Bundle');
        assert.equal(res.json.type, 'searchset');
        assert.equal((res.json.entry || []).length, 0, `the search found something: ${res.text.slice(0, 500)}`);
      }
      break;
    case 'batch-errors':
      assert.equal(res.status, 200, res.text.slice(0, 300));
      assert.equal(res.json.type, 'batch-response');
      for (const [i, e] of (res.json.entry || []).entries()) {
        assert.match(e.response.status, /^4\d\d/, `entry ${i} of the batch: ${JSON.stringify(e).slice(0, 300)}`);
      }
      break;
    case 'served':
      assert.ok(res.status >= 200 && res.status < 300, `status ${res.status}: ${res.text.slice(0, 300)}`);
      break;
    default:
      assert.fail(`unknown expectation ${expect}`);
  }
}

// A connection that sends headers and half a body, then stays silent.
function idleMidBody() {
  const started = Date.now();
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port }, () => {
      sock.write(`POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\nContent-Length: 1000\r\n\r\n{"resourceType":"Patient",`);
    });
    sock.on('data', () => {});
    sock.on('error', () => {});
    sock.on('close', () => resolve(Date.now() - started));
    sock.unref();
  });
}

before(async () => {
  srv = await startServer();
  api = client(srv);
  port = Number(new URL(srv.base).port);
  await seed();
  initial = await snapshot();
  idleProbe = idleMidBody();
  halfCloseRun = rawExchange(port, [Buffer.from('POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\nContent-Length: 100\r\n\r\n{"resourceType":"Patient"}')], { halfClose: true, untilClose: true, timeoutMs: IDLE_BOUND_MS });
  for (const c of CASES.filter((x) => x.idle)) {
    idleRuns.set(c, rawExchange(port, requestOf(c), { timeoutMs: IDLE_BOUND_MS, untilClose: true }));
  }
});

after(async () => {
  await stopClean(srv);
});

describe('bad-input catalogue', () => {
  test(`the catalogue has at least 150 cases (${CASES.length})`, () => {
    assert.ok(CASES.length >= 150);
    assert.equal(new Set(CASES.map((c) => `${c.group}: ${c.name}`)).size, CASES.length, 'case names are unique');
  });

  for (const c of CASES.filter((x) => !x.idle)) {
    const timeoutMs = c.timeoutMs || 20000;
    test(`${c.group}: ${c.name}`, { timeout: timeoutMs + 30000, todo: c.todo }, async () => {
      const before = await versions();
      const r = await rawExchange(port, requestOf(c), { pauseMs: c.pauseMs, timeoutMs, untilClose: true, head: c.method === 'HEAD' });
      assert.ok(alive(), `the server died; stderr:\n${srv.stderr().slice(-3000)}`);
      judge(c, r);
      const meta = await srv.fetch('/fhir/metadata');
      assert.equal(meta.status, 200, 'the server still answers /fhir/metadata');
      assert.equal(await versions(), before, `a refused request wrote something (answer: ${describeResult(r)})`);
    });
  }
});

// Requests that are incomplete by design: started together in before(), each must
// be closed by the server's idle timeout (or answered), and the server keeps serving.
describe('incomplete requests (idle timeout)', () => {
  for (const c of CASES.filter((x) => x.idle)) {
    test(`${c.group}: ${c.name} (${c.idle})`, { timeout: IDLE_BOUND_MS + 30000, todo: c.todo }, async () => {
      const r = await idleRuns.get(c);
      assert.ok(alive(), 'the server is alive');
      judge(c, r);
      assert.equal((await srv.fetch('/fhir/metadata')).status, 200);
    });
  }
});

describe('slow and broken clients', () => {
  const seededRead = () => buildRequest({ method: 'GET', target: `/fhir/Patient/${SEED.patient}` });

  test('headers sent byte by byte with pauses get a normal answer, and others are served meanwhile', { timeout: 60000 }, async () => {
    const bytes = seededRead();
    const parts = [...bytes].map((b) => Buffer.from([b]));
    const slow = rawExchange(port, parts, { pauseMs: 3, timeoutMs: 30000, untilClose: true });
    for (let i = 0; i < 10; i++) {
      const t = Date.now();
      assert.equal((await srv.fetch('/fhir/metadata')).status, 200);
      assert.ok(Date.now() - t < 5000, 'a fast client is not held up by the slow one');
    }
    const r = await slow;
    assert.equal(r.kind, 'response', describeResult(r));
    assert.equal(r.status, 200);
    assert.equal(`200 ${r.text}`, initial[`Patient/${SEED.patient}`]);
  });

  test('an invalid body sent in small pieces with pauses is refused', { timeout: 60000 }, async () => {
    const body = JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'DELETE', url: `Patient/${SEED.patient}` } }, { resource: { resourceType: 'Patient', gender: 'robot' }, request: { method: 'POST', url: 'Patient' } }] });
    const bytes = buildRequest({ method: 'POST', target: '/fhir', headers: [['Content-Type', 'application/fhir+json']], body });
    const parts = [];
    for (let i = 0; i < bytes.length; i += 16) parts.push(bytes.subarray(i, i + 16));
    const r = await rawExchange(port, parts, { pauseMs: 5, timeoutMs: 30000, untilClose: true });
    judge({ status: 422 }, r);
  });

  for (const [what, cut] of [
    ['in the request line', (b) => b.subarray(0, 10)],
    ['in the headers', (b) => b.subarray(0, b.indexOf('\r\n\r\n') - 5)],
    ['after the headers', (b) => b.subarray(0, b.indexOf('\r\n\r\n') + 4)],
    ['in the middle of the body', (b) => b.subarray(0, b.length - 40)],
  ]) {
    test(`a transaction cut off ${what}, then the connection closed: nothing is written`, { timeout: 30000 }, async () => {
      const body = JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'DELETE', url: `Patient/${SEED.patient}` } }, { resource: { resourceType: 'Patient', active: true }, request: { method: 'POST', url: 'Patient' } }] });
      const bytes = buildRequest({ method: 'POST', target: '/fhir', headers: [['Content-Type', 'application/fhir+json']], body });
      const before = await versions();
      const r = await rawExchange(port, [cut(bytes)], { abortAfterWrite: true });
      assert.equal(r.kind, 'aborted');
      // The server sees the close whenever it next reads; a request it could still
      // complete would show up here as a new version.
      for (let i = 0; i < 5; i++) assert.equal((await srv.fetch('/fhir/metadata')).status, 200);
      assert.equal(await versions(), before);
      assert.equal(`${(await srv.fetch(`/fhir/Patient/${SEED.patient}`)).status}`, '200');
    });
  }

  test('a chunked body that stops inside a chunk, then closes: nothing is written', { timeout: 30000 }, async () => {
    const before = await versions();
    const r = await rawExchange(port, [Buffer.from('POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n{"resourceType":"Patient"')], { abortAfterWrite: true });
    assert.equal(r.kind, 'aborted');
    assert.equal((await srv.fetch('/fhir/metadata')).status, 200);
    assert.equal(await versions(), before);
  });

  // libmicrohttpd usually closes at once on the end of input; when the end arrives with
  // the data, it may notice only at the idle timeout.
  // Started in before(): libmicrohttpd usually closes at once on the end of input,
  // but when the end arrives with the data it may notice only at the idle timeout.
  test('a client that half-closes after a partial body gets an answer or a close, never a write', { timeout: IDLE_BOUND_MS + 15000 }, async () => {
    const r = await halfCloseRun;
    assert.notEqual(r.kind, 'timeout', 'the server neither answered nor closed');
    if (r.kind === 'response') assert.ok(r.status >= 400 && r.status < 500, describeResult(r));
    // The final snapshot below shows that nothing was written.
  });

  test('300 idle connections with partial headers do not stop the server from answering', { timeout: 60000 }, async () => {
    const socks = await Promise.all(Array.from({ length: 300 }, () => new Promise((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.write('GET /fhir/metadata HTTP/1.1\r\nHost: x\r\nX-Slow: ');
        resolve(s);
      });
      s.on('error', () => resolve(s));
    })));
    try {
      const t = Date.now();
      const answers = await Promise.all(Array.from({ length: 20 }, () => srv.fetch(`/fhir/Patient/${SEED.patient}`)));
      for (const a of answers) assert.equal(`${a.status} ${a.text}`, initial[`Patient/${SEED.patient}`]);
      assert.ok(Date.now() - t < 10000, `20 reads took ${Date.now() - t} ms next to 300 idle connections`);
    } finally {
      for (const s of socks) s.destroy();
    }
  });

  test('a connection left idle in the middle of a body is closed by the server (idle timeout)', { timeout: 90000 }, async () => {
    // Opened before the catalogue ran; the server's idle timeout is 30 s.
    const ms = await Promise.race([idleProbe, sleep(60000).then(() => 'still open')]);
    assert.notEqual(ms, 'still open', 'the idle connection was still open after 60 s');
    assert.ok(ms >= 20000, `closed after ${ms} ms: sooner than an idle timeout, so something else closed it`);
  });

  test('the seeded data, its history and the counts are exactly as before', async () => {
    assert.deepEqual(await snapshot(), initial);
  });
});

// Not attacks: text that looks like one is data, stored and found literally.
// These write, so they run after the final comparison above.
describe('payloads that are data', () => {
  test('SQL and script text in a valid resource is stored, read and searched literally', async () => {
    const ids = [];
    for (const payload of INJECTIONS) {
      const res = await api.post('/fhir/Patient', {
        resourceType: 'Patient', name: [{ family: payload, text: payload }],
        identifier: [{ system: 'http://example.org/payload', value: payload }],
      });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.json.name[0].family, payload);
      ids.push(res.json.id);
      const back = await api.get(`/fhir/Patient/${res.json.id}`);
      assert.equal(back.json.name[0].family, payload, 'read back unchanged');
    }
    for (const [i, payload] of INJECTIONS.entries()) {
      const exact = await api.get(`/fhir/Patient?name:exact=${encodeURIComponent(payload)}`);
      assert.deepEqual((exact.json.entry || []).map((e) => e.resource.id), [ids[i]], `name:exact=${payload} finds exactly its own resource`);
      const byId = await api.get(`/fhir/Patient?identifier=${encodeURIComponent(`http://example.org/payload|${payload}`)}`);
      assert.deepEqual((byId.json.entry || []).map((e) => e.resource.id), [ids[i]], `identifier=${payload}`);
    }
    // Wildcards of SQL LIKE and of globbing are ordinary characters.
    const starts = await api.get('/fhir/Patient?name=%25');
    const want = INJECTIONS.map((p, i) => [p, ids[i]]).filter(([p]) => p.toLowerCase().startsWith('%')).map(([, id]) => id).sort();
    assert.deepEqual((starts.json.entry || []).map((e) => e.resource.id).sort(), want, 'name=% finds only names starting with %');
    const underscore = await api.get('/fhir/Patient?name:contains=_');
    const withUnderscore = INJECTIONS.map((p, i) => [p, ids[i]]).filter(([p]) => p.includes('_')).map(([, id]) => id).sort();
    assert.deepEqual((underscore.json.entry || []).map((e) => e.resource.id).sort(), withUnderscore, 'name:contains=_ finds only names with _');
    // Every other resource is still there.
    assert.equal((await api.get(`/fhir/Patient/${SEED.patient}`)).json.name[0].family, 'Seedling');
  });

  test('circular urn:uuid references in a valid transaction resolve to each other', async () => {
    const a = 'urn:uuid:0c1c1c1c-0000-4000-8000-00000000000a';
    const b = 'urn:uuid:0c1c1c1c-0000-4000-8000-00000000000b';
    const res = await api.post('/fhir', {
      resourceType: 'Bundle', type: 'transaction', entry: [
        { fullUrl: a, resource: { resourceType: 'Patient', link: [{ other: { reference: b }, type: 'seealso' }] }, request: { method: 'POST', url: 'Patient' } },
        { fullUrl: b, resource: { resourceType: 'Patient', link: [{ other: { reference: a }, type: 'seealso' }] }, request: { method: 'POST', url: 'Patient' } },
      ],
    });
    assert.equal(res.status, 200, res.text);
    const [pa, pb] = res.json.entry.map((e) => e.resource);
    assert.equal(pa.link[0].other.reference, `Patient/${pb.id}`);
    assert.equal(pb.link[0].other.reference, `Patient/${pa.id}`);
  });
});
