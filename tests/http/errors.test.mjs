// errors.test.mjs - every class of error the REST api answers, as data: the
// status, the OperationOutcome issue code, the expression when an element is
// at fault, a diagnostics pattern, and headers such as Allow.  Each body is
// validated as FHIR R4 (lib/expect.mjs), and each case checks that nothing
// was written when the request was refused.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startServer } from './lib/server.mjs';
import { client, assertOutcome, checkBody, stopClean } from './lib/expect.mjs';

const FHIR = { 'Content-Type': 'application/fhir+json' };
const JSON_PATCH = { 'Content-Type': 'application/json-patch+json' };
const patient = (extra = {}) => JSON.stringify({ resourceType: 'Patient', ...extra });
const nested = (n) => `${'['.repeat(n)}${']'.repeat(n)}`;

// A body whose first error is at a known byte: 1000 bytes of a valid string,
// then a second comma.  The prefix up to the bad byte is exactly `bad` bytes.
const PAD = 'x'.repeat(1000);
const MALFORMED = `{"resourceType":"Patient","text":{"status":"generated","div":"${PAD}"},,}`;
const MALFORMED_AT = MALFORMED.lastIndexOf(',,') + 1;

// [name, request, expected]; request paths are under the server root.
// `absent` names a resource that must not exist afterwards (nothing written).
const CASES = [
  // --- the body is not JSON, or not JSON we take (400)
  ['malformed JSON names the byte offset', { method: 'POST', path: '/fhir/Patient', headers: FHIR, body: MALFORMED },
    { status: 400, code: 'structure', diagnostics: /byte (\d+)/, offset: MALFORMED_AT }],
  ['duplicate JSON keys', { method: 'POST', path: '/fhir/Patient', headers: FHIR, body: '{"resourceType":"Patient","active":true,"active":false}' },
    { status: 400, code: 'structure', diagnostics: /duplicate/ }],
  ['too deep nesting in an extension value', {
    method: 'POST', path: '/fhir/Patient', headers: FHIR,
    body: `{"resourceType":"Patient","extension":[{"url":"http://example.org/x","valueString":${nested(200)}}]}`,
  }, { status: 400, code: 'too-costly', diagnostics: /deep/ }],
  ['an empty body', { method: 'POST', path: '/fhir/Patient', headers: FHIR, body: '' }, { status: 400, code: 'structure' }],
  ['an array where a resource belongs', { method: 'POST', path: '/fhir/Patient', headers: FHIR, body: '[]' }, { status: 400, code: 'structure' }],
  ['a nul byte in a string', { method: 'POST', path: '/fhir/Patient', headers: FHIR, body: '{"resourceType":"Patient","name":[{"family":"a\u0000b"}]}' },
    { status: 400, code: 'structure', diagnostics: /nul/ }],
  ['bytes that are not UTF-8', { method: 'POST', path: '/fhir/Patient', headers: FHIR, body: Buffer.from('{"resourceType":"Patient","name":[{"family":"\xff\xfe"}]}', 'latin1') },
    { status: 400, code: 'structure' }],
  // Decimals are held as doubles: what a double cannot hold is refused where it is, not changed.
  ['a decimal below the double range (would become 0)', { method: 'POST', path: '/fhir/Observation', headers: FHIR,
    body: '{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1e-400}}' },
  { status: 400, code: 'invalid', expression: 'Observation.valueQuantity.value', diagnostics: /1e-400/ }],
  ['a decimal beyond the double range', { method: 'POST', path: '/fhir/Observation', headers: FHIR,
    body: '{"resourceType":"Observation","status":"final","code":{"text":"x"},"component":[{"code":{"text":"a"}},{"code":{"text":"b"},"valueQuantity":{"value":-1e400}}]}' },
  { status: 400, code: 'invalid', expression: 'Observation.component[1].valueQuantity.value' }],
  ['an integer beyond 64 bits', { method: 'POST', path: '/fhir/Patient', headers: FHIR, body: patient({ multipleBirthInteger: 0 }).replace(':0', ':123456789012345678901') },
    { status: 400, code: 'invalid', expression: 'Patient.multipleBirthInteger' }],
  ['no resourceType', { method: 'POST', path: '/fhir/Patient', headers: FHIR, body: '{"active":true}' },
    { status: 400, code: 'invalid', expression: 'resourceType' }],
  ['a resourceType that is not the url\'s', { method: 'POST', path: '/fhir/Patient', headers: FHIR, body: '{"resourceType":"Observation","status":"final","code":{"text":"x"}}' },
    { status: 400, code: 'invalid', expression: 'resourceType' }],
  // --- the resource is not valid R4 (422, with the element)
  ['an unknown element', { method: 'POST', path: '/fhir/Patient', headers: FHIR, body: patient({ foo: 1 }) },
    { status: 422, code: 'structure', expression: 'Patient.foo', diagnostics: /foo/ }],
  ['a wrong primitive type', { method: 'POST', path: '/fhir/Patient', headers: FHIR, body: patient({ active: 'yes' }) },
    { status: 422, code: 'structure', expression: 'Patient.active' }],
  ['a wrong primitive type deep inside', { method: 'POST', path: '/fhir/Patient', headers: FHIR, body: patient({ name: [{ family: 5 }] }) },
    { status: 422, expression: 'Patient.name[0].family' }],
  ['a bad date', { method: 'POST', path: '/fhir/Patient', headers: FHIR, body: patient({ birthDate: '1970-13-45' }) },
    { status: 422, code: 'invalid', expression: 'Patient.birthDate', diagnostics: /1970-13-45/ }],
  ['a day that does not exist', { method: 'PUT', path: '/fhir/Patient/feb30', headers: FHIR, body: patient({ id: 'feb30', birthDate: '1970-02-30' }) },
    { status: 422, expression: 'Patient.birthDate', absent: '/fhir/Patient/feb30' }],
  ['a code outside a required value set', { method: 'POST', path: '/fhir/Patient', headers: FHIR, body: patient({ gender: 'robot' }) },
    { status: 422, code: 'code-invalid', expression: 'Patient.gender' }],
  ['a missing required element', { method: 'POST', path: '/fhir/Observation', headers: FHIR, body: '{"resourceType":"Observation","code":{"text":"x"}}' },
    { status: 422, code: 'required', expression: 'Observation.status' }],
  ['an empty array', { method: 'POST', path: '/fhir/Patient', headers: FHIR, body: patient({ name: [] }) },
    { status: 422, expression: 'Patient.name' }],
  ['a null', { method: 'POST', path: '/fhir/Patient', headers: FHIR, body: patient({ active: null }) },
    { status: 422, expression: 'Patient.active' }],
  // --- ids and versions
  ['read of an unknown id', { method: 'GET', path: '/fhir/Patient/does-not-exist' }, { status: 404, code: 'not-found' }],
  ['read of an id that cannot be one', { method: 'GET', path: '/fhir/Patient/a_b' }, { status: 404, code: 'not-found' }],
  ['vread of an unknown version', { method: 'GET', path: '/fhir/Patient/does-not-exist/_history/1' }, { status: 404, code: 'not-found' }],
  ['update with an id that is not the url\'s', { method: 'PUT', path: '/fhir/Patient/abc', headers: FHIR, body: patient({ id: 'xyz' }) },
    { status: 400, code: 'invalid', expression: 'Patient.id', absent: '/fhir/Patient/abc' }],
  ['update without an id in the body', { method: 'PUT', path: '/fhir/Patient/noid', headers: FHIR, body: patient() },
    { status: 400, code: 'invalid', expression: 'Patient.id', absent: '/fhir/Patient/noid' }],
  ['update to an id longer than 64 characters', { method: 'PUT', path: `/fhir/Patient/${'a'.repeat(65)}`, headers: FHIR, body: patient({ id: 'a'.repeat(65) }) },
    { status: 400, code: 'invalid' }],
  ['an If-Match that is no version', { method: 'PUT', path: '/fhir/Patient/etag', headers: { ...FHIR, 'If-Match': 'banana' }, body: patient({ id: 'etag' }) },
    { status: 400, code: 'invalid', absent: '/fhir/Patient/etag' }],
  // --- types and endpoints
  ['an unknown resource type (search)', { method: 'GET', path: '/fhir/Spaceship' }, { status: 404, code: 'not-found', diagnostics: /Spaceship/ }],
  ['an unknown resource type (create)', { method: 'POST', path: '/fhir/Spaceship', headers: FHIR, body: '{"resourceType":"Spaceship"}' }, { status: 404, code: 'not-found' }],
  ['an unknown resource type (read)', { method: 'GET', path: '/fhir/Spaceship/1' }, { status: 404, code: 'not-found' }],
  // Diagnostics that echo bytes which are not UTF-8 keep their text, with U+FFFD for each bad byte.
  ['an unknown resource type in Latin-1', { method: 'GET', path: '/fhir/P%F8tient' }, { status: 404, code: 'not-found', diagnostics: /'P\uFFFDtient'/ }],
  ['a search value in Latin-1', { method: 'GET', path: '/fhir/Patient?birthdate=S%F8ren' }, { status: 400, expression: 'birthdate', diagnostics: /S\uFFFDren/ }],
  ['a path below an instance that means nothing', { method: 'GET', path: '/fhir/Patient/1/_history/1/more' }, { status: 404, code: 'not-found' }],
  ['a path outside /fhir', { method: 'GET', path: '/nothing-here' }, { status: 404, code: 'not-found' }],
  // --- methods (405 with Allow)
  ['DELETE on a type', { method: 'DELETE', path: '/fhir/Patient' }, { status: 405, code: 'not-supported', allow: ['GET', 'POST', 'PUT'] }],
  ['POST on an instance', { method: 'POST', path: '/fhir/Patient/1', headers: FHIR, body: patient() }, { status: 405, allow: ['GET', 'PUT', 'PATCH', 'DELETE'] }],
  ['DELETE on metadata', { method: 'DELETE', path: '/fhir/metadata' }, { status: 405, allow: ['GET'] }],
  ['PUT on a history', { method: 'PUT', path: '/fhir/Patient/_history', headers: FHIR, body: patient() }, { status: 405, allow: ['GET'] }],
  ['POST on a version', { method: 'POST', path: '/fhir/Patient/1/_history/1', headers: FHIR, body: patient() }, { status: 405, allow: ['GET'] }],
  ['GET on the base (no system search)', { method: 'GET', path: '/fhir' }, { status: 405, allow: ['POST'] }],
  // --- media types (415) and Accept (406)
  ['a text/plain body', { method: 'POST', path: '/fhir/Patient', headers: { 'Content-Type': 'text/plain' }, body: patient() },
    { status: 415, code: 'not-supported', diagnostics: /text\/plain/ }],
  // FHIR XML is read (fhir/xml.c); XML outside the FHIR namespace is not FHIR
  ['an XML body that is not FHIR', { method: 'POST', path: '/fhir/Patient', headers: { 'Content-Type': 'application/fhir+xml' }, body: '<Patient/>' },
    { status: 400, code: 'structure' }],
  ['a body without a Content-Type', { method: 'POST', path: '/fhir/Patient', headers: {}, body: new Uint8Array(Buffer.from(patient())) },
    { status: 415, code: 'not-supported' }],
  ['a resource sent as a patch', { method: 'PATCH', path: '/fhir/Patient/1', headers: FHIR, body: '[]' }, { status: 415, code: 'not-supported' }],
  ['a patch sent as a resource', { method: 'PUT', path: '/fhir/Patient/jp', headers: JSON_PATCH, body: patient({ id: 'jp' }) },
    { status: 415, code: 'not-supported', absent: '/fhir/Patient/jp' }],
  ['a form _search that is not a form', { method: 'POST', path: '/fhir/Patient/_search', headers: FHIR, body: patient() }, { status: 415 }],
  ['Accept: application/fhir+xml', { method: 'GET', path: '/fhir/metadata', headers: { Accept: 'application/fhir+xml' } }, { status: 406, code: 'not-supported' }],
  ['Accept: text/html only', { method: 'GET', path: '/fhir/Patient', headers: { Accept: 'text/html' } }, { status: 406 }],
  ['_format=xml', { method: 'GET', path: '/fhir/Patient?_format=xml' }, { status: 406 }],
  // --- the base takes transaction and batch Bundles only
  ['POST of a resource to the base', { method: 'POST', path: '/fhir', headers: FHIR, body: patient() }, { status: 400, code: 'invalid' }],
  ['POST of a collection Bundle to the base', { method: 'POST', path: '/fhir', headers: FHIR, body: '{"resourceType":"Bundle","type":"collection"}' },
    { status: 400, code: 'invalid', expression: 'Bundle.type' }],
];

let srv;
let api;
before(async () => {
  srv = await startServer();
  api = client(srv);
});
after(async () => {
  await stopClean(srv);
});

describe('error classes', () => {
  for (const [name, req, want] of CASES) {
    test(`${name} -> ${want.status}`, async () => {
      const before = (await api.get('/fhir/_history?_count=0')).json.total;
      const res = await api.call(req.method, req.path, req.body, req.headers || {});
      const issue = assertOutcome(res, want.status, want);
      if (want.offset !== undefined) {
        const at = Number(issue.diagnostics.match(/byte (\d+)/)[1]);
        // 0-based index of the bad byte, or the count of bytes read up to it
        assert.ok(at === want.offset || at === want.offset + 1, `offset ${at}, the bad byte is at ${want.offset}`);
      }
      if (want.allow) {
        const allow = (res.headers.get('allow') || '').split(',').map((s) => s.trim()).filter(Boolean);
        assert.deepEqual(allow.sort(), [...want.allow].sort(), 'Allow lists the methods that work here');
        assert.ok(!allow.includes(req.method));
      }
      if (want.absent) assert.equal((await api.get(want.absent)).status, 404, `${want.absent} was not written`);
      assert.equal((await api.get('/fhir/_history?_count=0')).json.total, before, 'a refused request writes nothing');
    });
  }

  test('media types that are JSON are all taken', async () => {
    for (const ct of ['application/fhir+json', 'application/json', 'application/fhir+json; charset=utf-8', 'application/fhir+json;fhirVersion=4.0']) {
      const res = await api.post('/fhir/Patient', patient(), { 'Content-Type': ct });
      assert.equal(res.status, 201, `${ct}: ${res.text}`);
    }
    for (const accept of ['application/fhir+json', 'application/json', '*/*', 'text/html, */*;q=0.8']) {
      assert.equal((await api.get('/fhir/metadata', { Accept: accept })).status, 200, accept);
    }
    assert.equal((await api.get('/fhir/metadata?_format=json')).status, 200);
    assert.equal((await api.get('/fhir/metadata?_format=application/fhir%2Bjson')).status, 200);
  });

  test('a read of a deleted resource is 410, not 404', async () => {
    const p = (await api.post('/fhir/Patient', patient(), FHIR)).json;
    assert.equal((await api.delete(`/fhir/Patient/${p.id}`)).status, 204);
    assertOutcome(await api.get(`/fhir/Patient/${p.id}`), 410, { code: 'deleted' });
  });
});

// Body limits: a server of its own with --max-body 4096.
describe('body limit (--max-body 4096)', () => {
  let small;
  let sapi;
  before(async () => {
    small = await startServer({ args: ['--max-body', '4096'] });
    sapi = client(small);
  });
  after(async () => {
    await stopClean(small);
  });

  // A valid Patient of exactly n bytes (padded inside a string).
  const sized = (n) => {
    const shell = JSON.stringify({ resourceType: 'Patient', name: [{ family: '' }] });
    const body = shell.replace('"family":""', `"family":"${'x'.repeat(n - shell.length)}"`);
    assert.equal(Buffer.byteLength(body), n);
    return body;
  };

  test('a body of exactly the limit is taken, one byte more is 413', async () => {
    assert.equal((await sapi.post('/fhir/Patient', sized(4096), FHIR)).status, 201);
    const res = await sapi.post('/fhir/Patient', sized(4097), FHIR);
    assertOutcome(res, 413, { code: 'too-long' });
    assert.equal((await sapi.get('/fhir/Patient?_count=0')).json.total, 1, 'nothing written');
  });

  test('a large declared body is 413 and the server keeps serving', async () => {
    const res = await sapi.post('/fhir/Patient', sized(100000), FHIR);
    assertOutcome(res, 413, { code: 'too-long' });
    assert.equal((await sapi.get('/fhir/metadata')).status, 200);
  });

  test('a chunked body without Content-Length is cut off at the limit too', async () => {
    const res = await new Promise((resolve, reject) => {
      const req = http.request(`${small.base}/fhir/Patient`, { method: 'POST', headers: { ...FHIR, 'Transfer-Encoding': 'chunked' } }, (r) => {
        let text = '';
        r.setEncoding('utf8');
        r.on('data', (d) => { text += d; });
        r.on('end', () => resolve({ status: r.statusCode, headers: new Headers(r.headers), text, json: text ? JSON.parse(text) : undefined }));
      });
      req.on('error', reject);
      const body = sized(20000);
      // Several chunks, so the limit is crossed while streaming.
      for (let i = 0; i < body.length; i += 1000) req.write(body.slice(i, i + 1000));
      req.end();
    });
    checkBody(res);
    assertOutcome(res, 413, { code: 'too-long' });
    assert.equal((await sapi.get('/fhir/Patient?_count=0')).json.total, 1);
  });
});
