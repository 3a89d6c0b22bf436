// cases.mjs - the bad-input catalogue for hostile.test.mjs, as data.
//
// Each case is one request sent on its own connection through a raw socket
// (lib/raw.mjs), so that anything can be sent: NUL bytes, broken framing, floods.
//   name, group
//   method, target, version ('HTTP/1.1'), headers ([[name, value]...]), body (string or
//     Buffer), noHost, close (default true: "Connection: close" is sent)
//   parts: the request as a list of Buffers written with pauseMs between them (instead
//     of method/target/...)
//   expect:
//     'refused' (default): a 4xx OperationOutcome, or the connection closed without an
//        answer.  With transport: true, libmicrohttpd may refuse before the request
//        reaches samverka: a 4xx of its own (not FHIR), and the connection closed.
//     'empty': a search that must find nothing (the text is no data of ours): a 200
//        searchset without entries, or a 4xx OperationOutcome.
//     'batch-errors': a 200 batch-response whose every entry failed with a 4xx.
//     'served': a read that must be answered normally (2xx), e.g. over HTTP/1.0.
//     'closed': the connection closed without an answer (framing that cannot be trusted).
//   status: the exact status (or list) when the answer is known.
//   allow5xx: the one 5xx that is right (with the reason).
//   mayClose: with status set, closing without an answer is still accepted (the reason).
//   idle: the request is incomplete by design, so only the server's idle timeout (30 s)
//     ends it (the reason); these run concurrently from the start, bounded to 45 s.
//   todo: a known finding still open; the case runs, but its failure is not fatal.
// Every case must not write: hostile.test.mjs checks the data after each one.
//
// The seeded data the cases aim at is made by hostile.test.mjs (SEED below).

export const SEED = {
  patient: 'seed-patient',
  observation: 'seed-obs',
  organization: 'seed-org',
  encounter: 'seed-enc',
  deleted: 'seed-deleted',
};

const FHIR = ['Content-Type', 'application/fhir+json'];
const PATCH = ['Content-Type', 'application/json-patch+json'];
const FORM = ['Content-Type', 'application/x-www-form-urlencoded'];
const latin1 = (s) => Buffer.from(s, 'latin1');
const bytes = (...parts) => Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p, 'utf8'))));
const enc = encodeURIComponent;

const withBody = (method, contentType, target, body, extra = {}) => {
  const { headers = [], ...rest } = extra;
  return { method, target, headers: [contentType, ...headers], body, ...rest };
};
const post = (target, body, extra) => withBody('POST', FHIR, target, body, extra);
const put = (target, body, extra) => withBody('PUT', FHIR, target, body, extra);
const patch = (target, body, extra) => withBody('PATCH', PATCH, target, typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body), extra);
const json = (v) => JSON.stringify(v);
const patient = (extra = {}) => json({ resourceType: 'Patient', ...extra });
const seedPatient = (extra = {}) => json({ resourceType: 'Patient', id: SEED.patient, name: [{ family: 'Overwritten' }], ...extra });
const tx = (entry, type = 'transaction') => json({ resourceType: 'Bundle', type, entry });
const txPost = (resource, url = resource.resourceType, fullUrl) => ({ ...(fullUrl ? { fullUrl } : {}), resource, request: { method: 'POST', url } });
const INVALID = { resourceType: 'Patient', gender: 'robot' }; // one entry that must fail

// Payloads for every string a client controls.
export const INJECTIONS = [
  "' OR 1=1 --",
  '"; DROP TABLE resource;--',
  "'); DELETE FROM resource; --",
  '1 UNION SELECT name FROM sqlite_master',
  "%' OR '%'='",
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  '${7*7}{{7*7}}',
  '\\',
  '%',
  '_',
  '*',
];

function truncations(text, n) {
  const out = [];
  for (let i = 1; i <= n; i++) out.push(text.slice(0, Math.floor((text.length * i) / (n + 1))));
  return out;
}

export function cases() {
  const list = [];
  const add = (group, name, c) => list.push({ group, name, ...c });

  // ---------------------------------------------------------------- bodies: not JSON
  const valid = json({ resourceType: 'Patient', name: [{ family: 'Trunc', given: ['A', 'B'] }], birthDate: '1970-01-01', telecom: [{ system: 'phone', value: '123' }] });
  truncations(valid, 8).forEach((t, i) => add('truncated', `POST a Patient cut at ${t.length} of ${valid.length} bytes`, post('/fhir/Patient', t, { status: 400 })));
  truncations(seedPatient(), 3).forEach((t) => add('truncated', `PUT over the seeded Patient cut at ${t.length} bytes`, put(`/fhir/Patient/${SEED.patient}`, t, { status: 400 })));
  add('truncated', 'a transaction cut in the middle of an entry', post('/fhir', tx([txPost({ resourceType: 'Patient' })]).slice(0, 60), { status: 400 }));
  add('truncated', 'a patch cut in the middle', patch(`/fhir/Patient/${SEED.patient}`, '[{"op":"replace","path":"/active","va', { status: 400 }));
  add('truncated', 'an empty body on POST', post('/fhir/Patient', '', { status: 400 }));
  add('truncated', 'an empty body on PUT', put(`/fhir/Patient/${SEED.patient}`, '', { status: 400 }));
  add('truncated', 'an empty body on PATCH', patch(`/fhir/Patient/${SEED.patient}`, '', { status: 400 }));
  add('truncated', 'an empty body on a transaction', post('/fhir', '', { status: 400 }));
  add('truncated', 'whitespace only', post('/fhir/Patient', ' \r\n\t ', { status: 400 }));
  for (const [what, body] of [
    ['null', 'null'], ['true', 'true'], ['a number', '0'], ['a string', '"Patient"'], ['an array', '[]'],
    ['an array of a resource', `[${patient()}]`], ['two objects', `${patient()}${patient()}`],
    ['trailing garbage', `${patient()} x`], ['a comment', '{/* c */"resourceType":"Patient"}'],
    ['single quotes', "{'resourceType':'Patient'}"], ['unquoted keys', '{resourceType:"Patient"}'],
    ['NaN', '{"resourceType":"Patient","multipleBirthInteger":NaN}'], ['Infinity', '{"resourceType":"Patient","multipleBirthInteger":Infinity}'],
    ['a hex number', '{"resourceType":"Patient","multipleBirthInteger":0x10}'], ['a leading zero', '{"resourceType":"Patient","multipleBirthInteger":007}'],
    ['a trailing comma', '{"resourceType":"Patient",}'], ['a missing colon', '{"resourceType" "Patient"}'],
    ['a bare word', '{"resourceType":Patient}'], ['an unterminated string', '{"resourceType":"Patient'],
    ['a raw newline in a string', '{"resourceType":"Patient","name":[{"family":"a\nb"}]}'],
    ['a raw control character', '{"resourceType":"Patient","name":[{"family":"a\u0001b"}]}'],
    ['a bad escape', '{"resourceType":"Patient","name":[{"family":"a\\xb"}]}'],
    ['a short unicode escape', '{"resourceType":"Patient","name":[{"family":"a\\u12"}]}'],
    ['an escaped NUL', '{"resourceType":"Patient","name":[{"family":"a\\u0000b"}]}'],
    ['a lone high surrogate escape', '{"resourceType":"Patient","name":[{"family":"a\\ud800b"}]}'],
    ['a lone low surrogate escape', '{"resourceType":"Patient","name":[{"family":"\\udc00"}]}'],
    ['a plus sign on a number', '{"resourceType":"Patient","multipleBirthInteger":+1}'],
    ['a number ending in a dot', '{"resourceType":"Patient","multipleBirthInteger":1.}'],
  ]) add('not json', `a body that is ${what}`, post('/fhir/Patient', body, { status: 400 }));

  // ---------------------------------------------------------------- bytes
  const withBytes = (b) => bytes('{"resourceType":"Patient","name":[{"family":"', b, '"}]}');
  for (const [what, b] of [
    ['0xff', latin1('\xff')], ['0xfe 0xff', latin1('\xfe\xff')], ['a lone continuation byte', latin1('\x80')],
    ['an overlong "/" (2 bytes)', latin1('\xc0\xaf')], ['an overlong "/" (3 bytes)', latin1('\xe0\x80\xaf')],
    ['an overlong "/" (4 bytes)', latin1('\xf0\x80\x80\xaf')], ['an overlong NUL', latin1('\xc0\x80')],
    ['a UTF-8 encoded surrogate', latin1('\xed\xa0\x80')], ['a code point past U+10FFFF', latin1('\xf4\x90\x80\x80')],
    ['a 5-byte sequence', latin1('\xf8\x88\x80\x80\x80')], ['a sequence cut short', latin1('\xe2\x82')],
    ['Latin-1 text', latin1('S\xf8ren')],
  ]) add('utf-8', `invalid UTF-8 in a string: ${what}`, post('/fhir/Patient', withBytes(b), { status: 400 }));
  add('utf-8', 'invalid UTF-8 in a member name', post('/fhir/Patient', bytes('{"resourceType":"Patient","', latin1('\xff'), '":1}'), { status: 400 }));
  add('utf-8', 'invalid UTF-8 outside strings', post('/fhir/Patient', bytes('{"resourceType":"Patient"', latin1('\xff'), '}'), { status: 400 }));
  add('utf-8', 'a UTF-8 byte order mark', post('/fhir/Patient', bytes(latin1('\xef\xbb\xbf'), patient()), { status: 400 }));
  add('utf-8', 'a UTF-16LE body with its byte order mark', post('/fhir/Patient', Buffer.concat([latin1('\xff\xfe'), Buffer.from(patient(), 'utf16le')]), { status: 400 }));
  add('utf-8', 'a UTF-16BE body', post('/fhir/Patient', Buffer.from(patient(), 'utf16le').swap16(), { status: 400 }));
  add('utf-8', 'a raw NUL byte in a string', post('/fhir/Patient', withBytes(latin1('a\x00b')), { status: 400 }));
  add('utf-8', 'a raw NUL byte between members', post('/fhir/Patient', bytes('{"resourceType":"Patient",', latin1('\x00'), '"active":true}'), { status: 400 }));
  add('utf-8', 'a NUL byte after the document', post('/fhir/Patient', bytes(patient(), latin1('\x00')), { status: 400 }));
  add('utf-8', 'invalid UTF-8 in a patch value', patch(`/fhir/Patient/${SEED.patient}`, bytes('[{"op":"replace","path":"/name/0/family","value":"', latin1('\xc0\xaf'), '"}]'), { status: 400 }));
  add('utf-8', 'invalid UTF-8 in a patch path', patch(`/fhir/Patient/${SEED.patient}`, bytes('[{"op":"add","path":"/', latin1('\xff'), '","value":1}]'), { status: 400 }));
  add('utf-8', 'a form search without a body (no parameters at all)', { method: 'POST', target: '/fhir/Patient/_search', expect: 'served' });
  add('utf-8', 'a form search with an empty form body', { method: 'POST', target: '/fhir/Patient/_search', headers: [FORM], body: '', expect: 'served' });
  add('utf-8', 'invalid UTF-8 in a form search', { method: 'POST', target: '/fhir/Patient/_search', headers: [FORM], body: bytes('name=', latin1('\xff\xfe')), expect: 'empty' });

  // ---------------------------------------------------------------- nesting
  const arrays = (n) => `${'['.repeat(n)}${']'.repeat(n)}`;
  const objects = (n) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
  const inExtension = (inner) => `{"resourceType":"Patient","extension":[{"url":"http://example.org/x","valueString":${inner}}]}`;
  for (const n of [65, 1000, 100000]) {
    add('nesting', `arrays nested ${n} deep as the body`, post('/fhir/Patient', arrays(n), { status: 400 }));
    add('nesting', `objects nested ${n} deep inside a Patient`, post('/fhir/Patient', inExtension(objects(n)), { status: 400 }));
    add('nesting', `arrays nested ${n} deep inside a Patient`, post('/fhir/Patient', inExtension(arrays(n)), { status: 400 }));
  }
  add('nesting', 'objects nested 100000 deep and never closed', post('/fhir/Patient', '{"a":'.repeat(100000), { status: 400 }));
  add('nesting', 'arrays nested 100000 deep in a PUT', put(`/fhir/Patient/${SEED.patient}`, inExtension(arrays(100000)), { status: 400 }));
  add('nesting', 'a patch value nested 100000 deep', patch(`/fhir/Patient/${SEED.patient}`, `[{"op":"add","path":"/extension","value":${arrays(100000)}}]`, { status: 400 }));
  add('nesting', 'a patch value nested 63 deep (under the parser limit, over the patch limit)', patch(`/fhir/Patient/${SEED.patient}`, `[{"op":"add","path":"/extension","value":${arrays(62)}}]`));
  add('nesting', 'a transaction entry nested 100000 deep', post('/fhir', `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":${inExtension(objects(100000))},"request":{"method":"POST","url":"Patient"}}]}`, { status: 400 }));
  add('nesting', 'contained resources inside contained resources', post('/fhir/Patient', json({ resourceType: 'Patient', contained: [{ resourceType: 'Patient', id: 'c1', contained: [{ resourceType: 'Patient', id: 'c2' }] }] })));
  add('nesting', 'a Bundle in a Bundle in a transaction (deep, with urn:uuid inside)', post('/fhir', json({
    resourceType: 'Bundle', type: 'transaction', entry: [txPost({
      resourceType: 'Bundle', type: 'transaction', entry: [txPost({ resourceType: 'Bundle', type: 'transaction', entry: [txPost(INVALID)] })],
    })],
  })));

  // ---------------------------------------------------------------- sizes
  const MB = 1024 * 1024;
  add('size', 'a body of 11 MB (over the 10 MB limit)', post('/fhir/Patient', `{"resourceType":"Patient","name":[{"family":"${'x'.repeat(11 * MB)}"}]}`, { status: 413, mayClose: 'the client is still sending when the 413 goes out and the server closes: the reset may discard the answer', timeoutMs: 60000 }));
  add('size', 'a Content-Length of 10^15 with no body sent', { method: 'POST', target: '/fhir/Patient', headers: [FHIR, ['Content-Length', '1000000000000000']], status: 413 });
  add('size', 'a Content-Length of 2^64 + 1', { method: 'POST', target: '/fhir/Patient', headers: [FHIR, ['Content-Length', '18446744073709551617']], body: patient(), transport: true });
  add('size', 'a 9 MB string in an id', put(`/fhir/Patient/${SEED.patient}`, json({ resourceType: 'Patient', id: 'x'.repeat(9 * MB) }), { timeoutMs: 60000 }));
  add('size', 'an unknown element holding a 9 MB array of numbers', post('/fhir/Patient', `{"resourceType":"Patient","junk":[${'1,'.repeat(4 * MB)}1]}`, { status: 422, timeoutMs: 60000 }));
  add('size', '200000 empty names (issues are capped)', post('/fhir/Patient', `{"resourceType":"Patient","name":[${'{},'.repeat(200000)}{}]}`, { status: 422, timeoutMs: 60000 }));
  add('size', '100000 unknown members', post('/fhir/Patient', `{"resourceType":"Patient",${Array.from({ length: 100000 }, (_, i) => `"m${i}":${i}`).join(',')}}`, { status: 422, timeoutMs: 60000 }));
  add('size', 'a 5 MB narrative (over the 4 MiB limit)', post('/fhir/Patient', json({ resourceType: 'Patient', text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${'a'.repeat(5 * MB)}` } }), { timeoutMs: 60000 }));
  add('size', 'a Content-Length shorter than the body (the rest is no request)', { method: 'POST', target: '/fhir/Patient', headers: [FHIR, ['Content-Length', '10']], body: patient() });
  add('size', 'a PATCH of 10001 operations', patch(`/fhir/Patient/${SEED.patient}`, Array.from({ length: 10001 }, () => ({ op: 'test', path: '/id', value: SEED.patient }))));
  add('size', 'a PATCH that copies a member into itself until it is huge', patch(`/fhir/Patient/${SEED.patient}`, [
    { op: 'add', path: '/name/0/given', value: ['x'.repeat(1000)] },
    ...Array.from({ length: 40 }, () => ({ op: 'copy', from: '/name/0/given', path: '/name/0/given/-' })),
    { op: 'test', path: '/id', value: 'not-the-id' },
  ]));
  add('size', 'a PATCH doubling the names 30 times', patch(`/fhir/Patient/${SEED.patient}`, Array.from({ length: 30 }, () => ({ op: 'copy', from: '/name', path: '/name/-' }))));
  add('size', 'a PATCH adding a 9 MB value', patch(`/fhir/Patient/${SEED.patient}`, [{ op: 'add', path: '/junk', value: 'x'.repeat(9 * MB) }], { timeoutMs: 60000 }));
  add('size', 'a transaction of 10001 entries', post('/fhir', tx(Array.from({ length: 10001 }, () => txPost({ resourceType: 'Patient' }))), { status: 413, timeoutMs: 60000 }));
  add('size', 'a transaction of 10000 entries, the last invalid', post('/fhir', tx([...Array.from({ length: 9999 }, () => txPost({ resourceType: 'Patient', active: true })), txPost(INVALID)]), { timeoutMs: 120000 }));
  add('size', 'a batch of 2000 invalid entries', post('/fhir', tx(Array.from({ length: 2000 }, () => txPost(INVALID)), 'batch'), { expect: 'batch-errors', timeoutMs: 60000 }));

  // ---------------------------------------------------------------- numbers
  for (const [what, v] of [['1e400', '1e400'], ['-1e400', '-1e400'], ['a 20-digit integer', '99999999999999999999'], ['-(2^63+1)', '-9223372036854775809']]) {
    add('numbers', `${what} as an integer`, post('/fhir/Patient', `{"resourceType":"Patient","multipleBirthInteger":${v}}`, { status: 400 }));
    add('numbers', `${what} as a decimal`, post('/fhir/Observation', `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":${v}}}`, { status: 400 }));
  }
  add('numbers', '2^31 as an integer', post('/fhir/Patient', '{"resourceType":"Patient","multipleBirthInteger":2147483648}', { status: 422 }));
  add('numbers', '-2^31 - 1 as an integer', post('/fhir/Patient', '{"resourceType":"Patient","multipleBirthInteger":-2147483649}', { status: 422 }));
  add('numbers', '2^63 - 1 as a positiveInt', post('/fhir/Observation', '{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueSampledData":{"origin":{"value":1},"period":1,"dimensions":9223372036854775807,"data":"1"}}', { status: 422 }));
  add('numbers', '1.5 as an integer', post('/fhir/Patient', '{"resourceType":"Patient","multipleBirthInteger":1.5}', { status: 422 }));
  add('numbers', '1e2 as an integer', post('/fhir/Patient', '{"resourceType":"Patient","multipleBirthInteger":1e2}', { status: 422 }));
  add('numbers', '-0 as an id', put(`/fhir/Patient/${SEED.patient}`, '{"resourceType":"Patient","id":-0}'));
  add('numbers', '-0 as a date', post('/fhir/Patient', '{"resourceType":"Patient","birthDate":-0}', { status: 422 }));
  add('numbers', '-0 as a boolean', post('/fhir/Patient', '{"resourceType":"Patient","active":-0}', { status: 422 }));
  add('numbers', 'a number as a string', post('/fhir/Patient', '{"resourceType":"Patient","multipleBirthInteger":"2"}', { status: 422 }));
  add('numbers', 'a 5000-digit number', post('/fhir/Patient', `{"resourceType":"Patient","multipleBirthInteger":${'9'.repeat(5000)}}`, { status: 400 }));
  add('numbers', 'a 5000-digit fraction', post('/fhir/Observation', `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":0.${'1'.repeat(5000)}},"junk":1}`, { status: 422 }));

  // ---------------------------------------------------------------- duplicate keys
  add('duplicates', 'resourceType twice', post('/fhir/Patient', '{"resourceType":"Patient","resourceType":"Patient"}', { status: 400 }));
  add('duplicates', 'resourceType twice, different types', post('/fhir/Patient', '{"resourceType":"Observation","resourceType":"Patient"}', { status: 400 }));
  add('duplicates', 'id twice in a PUT', put(`/fhir/Patient/${SEED.patient}`, `{"resourceType":"Patient","id":"${SEED.patient}","id":"other"}`, { status: 400 }));
  add('duplicates', 'a member twice deep inside', post('/fhir/Patient', '{"resourceType":"Patient","name":[{"family":"a","family":"b"}]}', { status: 400 }));
  add('duplicates', 'the same key with escapes ("a" and "\\u0061")', post('/fhir/Patient', '{"resourceType":"Patient","active":true,"\\u0061ctive":false}', { status: 400 }));
  add('duplicates', 'op twice in a patch operation', patch(`/fhir/Patient/${SEED.patient}`, '[{"op":"test","op":"remove","path":"/name"}]', { status: 400 }));
  add('duplicates', 'a duplicate in a transaction entry', post('/fhir', '{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"DELETE","method":"GET","url":"Patient/seed-patient"}}]}', { status: 400 }));
  add('duplicates', 'a duplicate inside a Binary patch in a transaction', post('/fhir', tx([{ resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: Buffer.from('[{"op":"remove","op":"remove","path":"/name"}]').toString('base64') }, request: { method: 'PATCH', url: `Patient/${SEED.patient}` } }])));

  // ---------------------------------------------------------------- wrong JSON types
  const types = [
    ['resourceType as a number', { resourceType: 1 }], ['resourceType as null', { resourceType: null }],
    ['resourceType as an array', { resourceType: ['Patient'] }], ['resourceType as an object', { resourceType: { value: 'Patient' } }],
    ['resourceType empty', { resourceType: '' }], ['resourceType in lower case', { resourceType: 'patient' }],
    ['id as a number', { resourceType: 'Patient', id: 5 }], ['id as an object', { resourceType: 'Patient', id: {} }],
    ['meta as a string', { resourceType: 'Patient', meta: 'x' }], ['meta.versionId as a number', { resourceType: 'Patient', meta: { versionId: 1 } }],
    ['meta.lastUpdated as a date of nonsense', { resourceType: 'Patient', meta: { lastUpdated: 'yesterday' } }],
    ['name as an object', { resourceType: 'Patient', name: { family: 'x' } }], ['name as a string', { resourceType: 'Patient', name: 'x' }],
    ['name[0] as a string', { resourceType: 'Patient', name: ['x'] }], ['family as an array', { resourceType: 'Patient', name: [{ family: ['x'] }] }],
    ['given as a string', { resourceType: 'Patient', name: [{ given: 'x' }] }], ['given[0] as a number', { resourceType: 'Patient', name: [{ given: [1] }] }],
    ['birthDate as a number', { resourceType: 'Patient', birthDate: 19700101 }], ['birthDate with a time', { resourceType: 'Patient', birthDate: '1970-01-01T00:00:00Z' }],
    ['active as a string', { resourceType: 'Patient', active: 'true' }], ['active as 1', { resourceType: 'Patient', active: 1 }],
    ['gender as a number', { resourceType: 'Patient', gender: 1 }], ['telecom as an object', { resourceType: 'Patient', telecom: { system: 'phone' } }],
    ['extension as an object', { resourceType: 'Patient', extension: { url: 'x' } }], ['extension without url', { resourceType: 'Patient', extension: [{ valueString: 'x' }] }],
    ['extension url as a number', { resourceType: 'Patient', extension: [{ url: 1, valueString: 'x' }] }],
    ['two value[x] in one extension', { resourceType: 'Patient', extension: [{ url: 'http://e.org/x', valueString: 'x', valueBoolean: true }] }],
    ['contained as an object', { resourceType: 'Patient', contained: { resourceType: 'Patient' } }],
    ['contained without resourceType', { resourceType: 'Patient', contained: [{ id: 'c' }] }],
    ['text.div as a number', { resourceType: 'Patient', text: { status: 'generated', div: 1 } }],
    ['_birthDate as a string', { resourceType: 'Patient', _birthDate: 'x' }], ['_given misaligned', { resourceType: 'Patient', name: [{ given: ['a'], _given: [null, { id: 'x' }] }] }],
    ['a reference as a number', { resourceType: 'Patient', managingOrganization: { reference: 5 } }],
    ['a reference to a non-type', { resourceType: 'Patient', managingOrganization: { reference: 'Spaceship/1' } }],
    ['a reference of the wrong target type', { resourceType: 'Patient', managingOrganization: { reference: 'Patient/1' } }],
    ['identifier as an array of strings', { resourceType: 'Patient', identifier: ['x'] }],
    ['an empty object', { resourceType: 'Patient', maritalStatus: {} }], ['an empty string', { resourceType: 'Patient', name: [{ family: '' }] }],
    ['an array of nulls', { resourceType: 'Patient', name: [null] }], ['a boolean member name', { resourceType: 'Patient', true: true }],
    ['an empty member name', { resourceType: 'Patient', '': 1 }], ['a member name with a dot', { resourceType: 'Patient', 'name.family': 'x' }],
    ['a member name with a NUL escape', JSON.parse('{"resourceType":"Patient","a\\u0000b":1}')],
  ];
  for (const [what, body] of types) add('types', what, post('/fhir/Patient', json(body)));
  add('types', 'Observation.valueQuantity.value as a string', post('/fhir/Observation', json({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueQuantity: { value: '1' } }), { status: 422 }));
  add('types', 'Observation.status as an array', post('/fhir/Observation', json({ resourceType: 'Observation', status: ['final'], code: { text: 'x' } }), { status: 422 }));
  add('types', 'Bundle.entry as an object', post('/fhir', json({ resourceType: 'Bundle', type: 'transaction', entry: { request: { method: 'DELETE', url: `Patient/${SEED.patient}` } } })));
  add('types', 'Bundle.entry[0] as a string', post('/fhir', json({ resourceType: 'Bundle', type: 'transaction', entry: ['DELETE Patient/seed-patient'] })));
  add('types', 'Bundle.type as a number', post('/fhir', json({ resourceType: 'Bundle', type: 1, entry: [{ request: { method: 'DELETE', url: `Patient/${SEED.patient}` } }] })));
  add('types', 'request.method as a number', post('/fhir', tx([{ request: { method: 1, url: `Patient/${SEED.patient}` } }])));
  add('types', 'request.url as an object', post('/fhir', tx([{ request: { method: 'DELETE', url: { path: `Patient/${SEED.patient}` } } }])));
  add('types', 'a patch op as a number', patch(`/fhir/Patient/${SEED.patient}`, [{ op: 1, path: '/active', value: true }]));
  add('types', 'a patch path as an array', patch(`/fhir/Patient/${SEED.patient}`, [{ op: 'remove', path: ['name'] }]));
  add('types', 'a patch that is an object', patch(`/fhir/Patient/${SEED.patient}`, { op: 'remove', path: '/name' }));
  add('types', 'a patch of strings', patch(`/fhir/Patient/${SEED.patient}`, ['remove /name']));

  // ---------------------------------------------------------------- resources that are wrong in FHIR terms
  add('fhir', 'a PUT whose id is not the url\'s', put(`/fhir/Patient/${SEED.patient}`, json({ resourceType: 'Patient', id: 'other' }), { status: 400 }));
  add('fhir', 'a PUT of an Observation to a Patient url', put(`/fhir/Patient/${SEED.patient}`, json({ resourceType: 'Observation', id: SEED.patient, status: 'final', code: { text: 'x' } }), { status: 400 }));
  add('fhir', 'a PUT with a stale If-Match', put(`/fhir/Patient/${SEED.patient}`, seedPatient(), { headers: [['If-Match', 'W/"1"']], status: 412 }));
  add('fhir', 'a PUT with a garbage If-Match', put(`/fhir/Patient/${SEED.patient}`, seedPatient(), { headers: [['If-Match', "W/\"1' OR 1=1 --\""]], status: 400 }));
  add('fhir', 'a PUT with a huge If-Match version', put(`/fhir/Patient/${SEED.patient}`, seedPatient(), { headers: [['If-Match', 'W/"99999999999999999999999"']] }));
  add('fhir', 'a PUT with a negative If-Match version', put(`/fhir/Patient/${SEED.patient}`, seedPatient(), { headers: [['If-Match', 'W/"-1"']] }));
  add('fhir', 'an update that changes nothing but is invalid', put(`/fhir/Patient/${SEED.patient}`, seedPatient({ gender: 'robot' }), { status: 422 }));
  add('fhir', 'a PATCH that changes the id', patch(`/fhir/Patient/${SEED.patient}`, [{ op: 'replace', path: '/id', value: 'other' }]));
  add('fhir', 'a PATCH that changes the resourceType', patch(`/fhir/Patient/${SEED.patient}`, [{ op: 'replace', path: '/resourceType', value: 'Observation' }]));
  add('fhir', 'a PATCH that removes the resourceType', patch(`/fhir/Patient/${SEED.patient}`, [{ op: 'remove', path: '/resourceType' }]));
  add('fhir', 'a PATCH that sets meta.versionId', patch(`/fhir/Patient/${SEED.patient}`, [{ op: 'replace', path: '/meta/versionId', value: '99' }, { op: 'add', path: '/gender', value: 'robot' }]));
  add('fhir', 'a PATCH that moves a member into its own child', patch(`/fhir/Patient/${SEED.patient}`, [{ op: 'move', from: '/name', path: '/name/0/x' }]));
  add('fhir', 'a PATCH whose last test fails', patch(`/fhir/Patient/${SEED.patient}`, [{ op: 'remove', path: '/name' }, { op: 'test', path: '/id', value: 'nope' }]));
  add('fhir', 'a PATCH with an index of 20 digits', patch(`/fhir/Patient/${SEED.patient}`, [{ op: 'add', path: '/name/99999999999999999999', value: { family: 'x' } }]));
  add('fhir', 'a PATCH with index -1', patch(`/fhir/Patient/${SEED.patient}`, [{ op: 'remove', path: '/name/-1' }]));
  add('fhir', 'a PATCH with a leading-zero index', patch(`/fhir/Patient/${SEED.patient}`, [{ op: 'remove', path: '/name/00' }]));
  add('fhir', 'a PATCH with an unknown op', patch(`/fhir/Patient/${SEED.patient}`, [{ op: 'exec', path: '/name', value: 'rm -rf /' }]));
  add('fhir', 'a PATCH copy without from', patch(`/fhir/Patient/${SEED.patient}`, [{ op: 'copy', path: '/name/-' }]));
  add('fhir', 'a PATCH with a path without a slash', patch(`/fhir/Patient/${SEED.patient}`, [{ op: 'remove', path: 'name' }]));
  add('fhir', 'a PATCH with bad ~ escapes', patch(`/fhir/Patient/${SEED.patient}`, [{ op: 'remove', path: '/name~2' }]));
  add('fhir', 'a PATCH of a deleted resource', patch(`/fhir/Patient/${SEED.deleted}`, [{ op: 'add', path: '/active', value: true }]));
  add('fhir', 'a PATCH of a resource that does not exist', patch('/fhir/Patient/no-such-patient', [{ op: 'add', path: '/active', value: true }], { status: 404 }));
  add('fhir', 'a PATCH leaving an invalid resource', patch(`/fhir/Patient/${SEED.patient}`, [{ op: 'add', path: '/gender', value: 'robot' }], { status: 422 }));
  add('fhir', 'a narrative that is not xhtml', post('/fhir/Patient', json({ resourceType: 'Patient', text: { status: 'generated', div: '<p>x</p>' } }), { status: 422 }));
  add('fhir', 'a narrative with a script', post('/fhir/Patient', json({ resourceType: 'Patient', text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></div>' } }), { status: 422 }));
  add('fhir', 'a narrative with an event handler', post('/fhir/Patient', json({ resourceType: 'Patient', text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"><img src="x" onerror="alert(1)"/></div>' } }), { status: 422 }));
  add('fhir', 'a narrative with a javascript: link', post('/fhir/Patient', json({ resourceType: 'Patient', text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"><a href="javascript:alert(1)">x</a></div>' } }), { status: 422 }));
  add('fhir', 'a narrative with an iframe', post('/fhir/Patient', json({ resourceType: 'Patient', text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"><iframe src="https://evil.example/"></iframe></div>' } }), { status: 422 }));
  add('fhir', 'a narrative with a DOCTYPE (entity expansion)', post('/fhir/Patient', json({ resourceType: 'Patient', text: { status: 'generated', div: '<!DOCTYPE d [<!ENTITY a "aaaa">]><div xmlns="http://www.w3.org/1999/xhtml">&a;</div>' } }), { status: 422 }));
  add('fhir', 'a 65-character id in the body of a create', post('/fhir/Patient', json({ resourceType: 'Patient', id: 'a'.repeat(65) })));
  add('fhir', 'meta.versionId in a contained resource', post('/fhir/Patient', json({ resourceType: 'Patient', contained: [{ resourceType: 'Organization', id: 'o', meta: { versionId: '1' } }] }), { status: 422 }));
  add('fhir', 'an unsupported resource type in the body', post('/fhir/Spaceship', json({ resourceType: 'Spaceship' }), { status: 404 }));
  add('fhir', 'a Danish CPR identifier that fails its check', post('/fhir/Patient', json({ resourceType: 'Patient', identifier: [{ system: 'urn:oid:1.2.208.176.1.2', value: '0101011234x' }] }), { status: 422 }));

  // ---------------------------------------------------------------- transactions
  const u = (n) => `urn:uuid:${String(n).padStart(8, '0')}-0000-4000-8000-000000000000`;
  add('transaction', 'circular urn:uuid references, one entry invalid (nothing written)', post('/fhir', tx([
    txPost({ resourceType: 'Patient', link: [{ other: { reference: u(2) }, type: 'seealso' }] }, 'Patient', u(1)),
    txPost({ resourceType: 'Patient', link: [{ other: { reference: u(1) }, type: 'seealso' }] }, 'Patient', u(2)),
    txPost(INVALID),
  ])));
  add('transaction', 'a self-reference through its own urn:uuid, invalid', post('/fhir', tx([
    txPost({ resourceType: 'Patient', gender: 'robot', link: [{ other: { reference: u(3) }, type: 'seealso' }] }, 'Patient', u(3)),
  ])));
  add('transaction', 'a reference to a urn:uuid that is in no entry', post('/fhir', tx([
    txPost({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: u(404) } }, 'Observation', u(4)),
  ])));
  add('transaction', 'a reference to a urn:oid that is in no entry', post('/fhir', tx([
    txPost({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'urn:oid:1.2.3.4' } }),
  ])));
  add('transaction', 'two entries with the same fullUrl', post('/fhir', tx([
    txPost({ resourceType: 'Patient', active: true }, 'Patient', u(5)), txPost({ resourceType: 'Patient', active: false }, 'Patient', u(5)),
  ])));
  add('transaction', 'a DELETE of the seeded Patient, then an invalid entry', post('/fhir', tx([{ request: { method: 'DELETE', url: `Patient/${SEED.patient}` } }, txPost(INVALID)])));
  add('transaction', 'a PUT over the seeded Patient, then an invalid entry', post('/fhir', tx([
    { resource: JSON.parse(seedPatient()), request: { method: 'PUT', url: `Patient/${SEED.patient}` } }, txPost(INVALID),
  ])));
  add('transaction', 'a DELETE and a PUT of the same resource', post('/fhir', tx([
    { request: { method: 'DELETE', url: `Patient/${SEED.patient}` } }, { resource: JSON.parse(seedPatient()), request: { method: 'PUT', url: `Patient/${SEED.patient}` } },
  ])));
  add('transaction', 'an entry type that is not its url\'s', post('/fhir', tx([txPost({ resourceType: 'Patient' }, 'Observation')]), { status: 400 }));
  add('transaction', 'an unknown method', post('/fhir', tx([{ resource: { resourceType: 'Patient' }, request: { method: 'FOO', url: 'Patient' } }]), { status: 400 }));
  add('transaction', 'a method in lower case', post('/fhir', tx([{ resource: { resourceType: 'Patient' }, request: { method: 'post', url: 'Patient' } }]), { status: 400 }));
  add('transaction', 'a url with ..', post('/fhir', tx([{ request: { method: 'DELETE', url: `Patient/../Patient/${SEED.patient}` } }])));
  add('transaction', 'a url of another server', post('/fhir', tx([{ request: { method: 'DELETE', url: `http://evil.example/fhir/Patient/${SEED.patient}` } }])));
  add('transaction', 'an empty url', post('/fhir', tx([{ request: { method: 'DELETE', url: '' } }]), { status: 400 }));
  add('transaction', 'a url of 10000 characters', post('/fhir', tx([{ request: { method: 'DELETE', url: `Patient/${'a'.repeat(10000)}` } }])));
  add('transaction', 'a PUT without an id', post('/fhir', tx([{ resource: { resourceType: 'Patient' }, request: { method: 'PUT', url: 'Patient' } }]), { status: 400 }));
  add('transaction', 'a POST without a resource', post('/fhir', tx([{ request: { method: 'POST', url: 'Patient' } }]), { status: 400 }));
  add('transaction', 'a conditional reference with SQL that matches nothing', post('/fhir', tx([
    txPost({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: "Patient?name=' OR 1=1 --" } }),
  ])));
  add('transaction', 'a conditional reference with an empty type', post('/fhir', tx([
    txPost({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: '?name=x' } }),
  ])));
  add('transaction', 'an ifNoneExist with SQL, then an invalid entry', post('/fhir', tx([
    { resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient', ifNoneExist: "name=' OR 1=1 --" } }, txPost(INVALID),
  ])));
  add('transaction', 'a conditional PUT with SQL criteria, invalid', post('/fhir', tx([{ resource: INVALID, request: { method: 'PUT', url: "Patient?name=x'; DROP TABLE resource;--" } }])));
  add('transaction', 'a PATCH whose Binary is not base64', post('/fhir', tx([{ resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: '!!!not base64!!!' }, request: { method: 'PATCH', url: `Patient/${SEED.patient}` } }])));
  add('transaction', 'a PATCH whose Binary holds a 3000-deep patch', post('/fhir', tx([{ resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: Buffer.from(`[{"op":"add","path":"/extension","value":${arrays(3000)}}]`).toString('base64') }, request: { method: 'PATCH', url: `Patient/${SEED.patient}` } }])));
  add('transaction', 'a PATCH whose Binary holds a 60-deep patch value', post('/fhir', tx([{ resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: Buffer.from(`[{"op":"add","path":"/extension","value":${arrays(60)}}]`).toString('base64') }, request: { method: 'PATCH', url: `Patient/${SEED.patient}` } }])));
  add('transaction', 'a PATCH whose Binary holds 2000 self-copies', post('/fhir', tx([{ resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: Buffer.from(json(Array.from({ length: 2000 }, () => ({ op: 'copy', from: '/name', path: '/name/-' })))).toString('base64') }, request: { method: 'PATCH', url: `Patient/${SEED.patient}` } }])));
  add('transaction', 'Bundle.type document', post('/fhir', json({ resourceType: 'Bundle', type: 'document', entry: [txPost({ resourceType: 'Patient' })] }), { status: 400 }));
  add('transaction', 'Bundle.type missing', post('/fhir', json({ resourceType: 'Bundle', entry: [txPost({ resourceType: 'Patient' })] }), { status: 400 }));
  add('transaction', 'a Patient posted to the base', post('/fhir', patient(), { status: 400 }));
  add('transaction', 'a batch of invalid entries and SQL urls', post('/fhir', tx([
    txPost(INVALID), { request: { method: 'DELETE', url: "Patient/' OR 1=1 --" } }, { request: { method: 'PATCH', url: "Patient?name=' OR 1=1 --" } },
    { request: { method: 'FOO', url: 'Patient' } }, txPost({ resourceType: 'Patient' }, 'Observation'),
  ], 'batch'), { expect: 'batch-errors' }));

  // ---------------------------------------------------------------- paths
  for (const [target, status] of [
    ['/fhir/../etc/passwd', 404], ['/../../../../etc/passwd', 404], ['/fhir/..%2f..%2fetc%2fpasswd', 404], ['/fhir/%2e%2e/%2e%2e/etc/passwd', 404],
    ['/fhir/Patient/..', 404], ['/fhir/Patient/.', 404], ['/fhir/Patient/%2e%2e', 404], [`/fhir/Patient/${SEED.patient}/..`, 404],
    ['/fhir/Patient/%c0%ae%c0%ae', 404], ['/fhir/Patient/%c0%af', 404], ['/fhir/Pati%ffent', 404], ['/fhir/Patient/a%ffb', 404],
    ['/fhir/Patient/%00', 404], ['/fhir/Patient/a%00b', 404], ['/fhir/Patient/%zz', 404], ['/fhir/Patient/%', 404],
    [`/fhir/Patient/${enc('æøå')}`, 404], [`/fhir/Patient/${enc('😀')}`, 404], [`/fhir/Patient/${'a'.repeat(65)}`, 404], ['/fhir/Patient/%20', 404],
    [`/fhir/Patient/${'a'.repeat(2000)}`, 404], [`/fhir/${'Patient/'.repeat(500)}`, 404], ['/fhir/Patient?', 200], ['//fhir//Patient', 404],
    ['/fhir//Patient', 404], ['/fhir/Patient//x', 404], ['/FHIR/metadata', 404], ['/fhir/METADATA', 404], ['/fhir/patient', 404],
    [`/fhir/Patient/${SEED.patient}/_history/0`, 404], [`/fhir/Patient/${SEED.patient}/_history/-1`, 404], [`/fhir/Patient/${SEED.patient}/_history/99999999999999999999`, 404],
    [`/fhir/Patient/${SEED.patient}/_history/1e3`, 404], [`/fhir/Patient/${SEED.patient}/_history/${enc("1' OR 1=1")}`, 404],
    [`/fhir/Patient/${enc("' OR 1=1 --")}`, 404], [`/fhir/Patient/${enc('"; DROP TABLE resource;--')}`, 404], [`/fhir/Patient/${enc('<script>alert(1)</script>')}`, 404],
    ['/fhir/_history/x', 404], ['/fhir/sqlite_master', 404], [`/fhir/${enc("Patient' OR '1'='1")}`, 404],
  ]) {
    if (status === 200) add('paths', `GET ${target.slice(0, 80)}`, { method: 'GET', target, expect: 'served' });
    else add('paths', `GET ${target.slice(0, 80)}${target.length > 80 ? '...' : ''}`, { method: 'GET', target, status });
  }
  add('paths', 'DELETE with an id of ..', { method: 'DELETE', target: '/fhir/Patient/..' });
  add('paths', 'DELETE with an empty id (trailing slash)', { method: 'DELETE', target: '/fhir/Patient/', status: 405 });
  add('paths', 'DELETE of an id in unicode', { method: 'DELETE', target: `/fhir/Patient/${enc('æøå')}` });
  add('paths', 'DELETE of an id of 65 characters', { method: 'DELETE', target: `/fhir/Patient/${'a'.repeat(65)}` });
  add('paths', 'DELETE of the seeded Patient through %2F', { method: 'DELETE', target: `/fhir/Patient%2F${SEED.patient}/x` });
  add('paths', 'DELETE with SQL as the id', { method: 'DELETE', target: `/fhir/Patient/${enc("x' OR '1'='1")}` });
  add('paths', 'DELETE with a quote-star id', { method: 'DELETE', target: `/fhir/Patient/${enc('*')}` });
  add('paths', 'PUT with an empty id', put('/fhir/Patient/', patient(), { status: 400 }));
  add('paths', 'PUT with a unicode id', put(`/fhir/Patient/${enc('æøå')}`, patient({ id: 'æøå' }), { status: 400 }));
  add('paths', 'PUT with an id of 65 characters', put(`/fhir/Patient/${'a'.repeat(65)}`, patient({ id: 'a'.repeat(65) }), { status: 400 }));
  add('paths', 'PUT with an id of ..', put('/fhir/Patient/..', patient({ id: '..' })));
  add('paths', 'PUT with an id holding a slash (%2F)', put(`/fhir/Patient/a%2Fb`, patient({ id: 'a/b' })));
  add('paths', 'PUT with a SQL id', put(`/fhir/Patient/${enc("x'--")}`, patient({ id: "x'--" }), { status: 400 }));
  add('paths', 'PUT with a raw space in the id', { method: 'PUT', target: '/fhir/Patient/a b', headers: [FHIR], body: patient({ id: 'a b' }) });
  add('paths', 'a raw NUL in the path', { method: 'DELETE', target: `/fhir/Patient/${SEED.patient}\x00x`, expect: 'closed' });
  add('paths', 'a raw NUL in the query', { method: 'GET', target: `/fhir/Patient?name=x\x00y`, expect: 'closed' });
  add('paths', 'a raw 0xff in the path', { method: 'GET', target: '/fhir/Patient/a\xffb', status: 404 });
  add('paths', 'a raw tab in the path', { method: 'GET', target: '/fhir/Patient/a\tb', status: 404 });
  add('paths', 'a raw control character in the path', { method: 'DELETE', target: `/fhir/Patient/${SEED.patient}\x01` });
  add('paths', 'a path of 70 KB', { method: 'GET', target: `/fhir/Patient/${'a'.repeat(70 * 1024)}`, transport: true, status: 414 });
  add('paths', 'a query of 70 KB', { method: 'GET', target: `/fhir/Patient?name=${'a'.repeat(70 * 1024)}`, transport: true, status: 414 });
  add('paths', 'a path of 1 MB', { method: 'GET', target: `/fhir/Patient/${'a'.repeat(1024 * 1024)}`, transport: true });
  add('paths', '5000 query parameters', { method: 'GET', target: `/fhir/Patient?${Array.from({ length: 5000 }, (_, i) => `p${i}=1`).join('&')}`, transport: true, idle: 'libmicrohttpd 0.9.75 runs out of connection memory while splitting the query and never sends its 431: the connection waits for the idle timeout' });
  add('paths', '300 query parameters', { method: 'GET', target: `/fhir/Patient?${Array.from({ length: 300 }, (_, i) => `name=${i}`).join('&')}`, status: 400 });

  // ---------------------------------------------------------------- injection in search parameters
  const params = ['name', 'family', 'given', 'identifier', '_id', 'gender', 'birthdate', 'address-city', 'telecom', 'general-practitioner',
    'organization', '_lastUpdated', 'name:exact', 'name:contains', 'identifier:text', '_sort', '_count', '_offset', '_include', '_revinclude',
    '_elements', '_summary', '_total', '_cursor', '_format', '_has:Observation:subject:code', 'link', '_tag', '_profile', '_text'];
  INJECTIONS.slice(0, 6).forEach((payload, k) => {
    for (const p of params) add('injection', `GET Patient?${p}=${payload}`, { method: 'GET', target: `/fhir/Patient?${enc(p).replace(/%3A/g, ':')}=${enc(payload)}`, expect: 'empty', group2: k });
  });
  for (const payload of INJECTIONS) {
    add('injection', `a parameter named ${payload}`, { method: 'GET', target: `/fhir/Patient?${enc(payload)}=1`, expect: 'empty' });
    add('injection', `Observation?subject=Patient/${payload}`, { method: 'GET', target: `/fhir/Observation?subject=${enc(`Patient/${payload}`)}`, expect: 'empty' });
    add('injection', `Observation?code=${payload}|${payload}`, { method: 'GET', target: `/fhir/Observation?code=${enc(`${payload}|${payload}`)}`, expect: 'empty' });
    add('injection', `Observation?value-quantity=${payload}`, { method: 'GET', target: `/fhir/Observation?value-quantity=${enc(payload)}`, expect: 'empty' });
    add('injection', `a form search with name=${payload}`, { method: 'POST', target: '/fhir/Patient/_search', headers: [FORM], body: `name=${enc(payload)}&family=${enc(payload)}`, expect: 'empty' });
    add('injection', `history _since=${payload}`, { method: 'GET', target: `/fhir/Patient/_history?_since=${enc(payload)}`, status: 400 });
    add('injection', `an If-None-Exist of ${payload} on an invalid create`, post('/fhir/Patient', json(INVALID), { headers: [['If-None-Exist', `name=${payload}`]] }));
    add('injection', `a conditional update on name=${payload}, invalid`, put(`/fhir/Patient?name=${enc(payload)}`, json(INVALID)));
  }
  add('injection', 'the whole query is SQL', { method: 'GET', target: `/fhir/Patient?${enc("1=1; DROP TABLE resource")}`, expect: 'empty' });
  add('injection', 'a conditional delete with SQL criteria', { method: 'DELETE', target: `/fhir/Patient?name=${enc("' OR 1=1 --")}` });
  add('injection', 'SQL as the resource type', { method: 'GET', target: `/fhir/${enc('resource; DROP TABLE resource')}?name=x`, status: 404 });
  add('injection', 'SQL in Content-Type', { method: 'POST', target: '/fhir/Patient', headers: [['Content-Type', "application/fhir+json'; DROP TABLE resource;--"]], body: patient(), status: 415 });
  add('injection', 'SQL in Accept', { method: 'GET', target: `/fhir/Patient/${SEED.patient}`, headers: [['Accept', "text/html'; DROP TABLE resource;--"]], status: 406 });
  add('injection', 'script in _format', { method: 'GET', target: `/fhir/metadata?_format=${enc('<script>alert(1)</script>')}`, status: 406 });
  add('injection', 'SQL in Prefer on an invalid create', post('/fhir/Patient', json(INVALID), { headers: [['Prefer', "return=minimal'; DROP TABLE resource;--"]], status: 422 }));

  // ---------------------------------------------------------------- methods, versions, targets
  for (const m of ['FOO', 'get', 'GETT', 'TRACE', 'CONNECT', 'PROPFIND', 'M'.repeat(10000), 'G\x01T']) {
    add('http', `method ${JSON.stringify(m.slice(0, 20))}${m.length > 20 ? '...' : ''} on an instance`, { method: m, target: `/fhir/Patient/${SEED.patient}`, transport: true });
  }
  add('http', 'OPTIONS *', { method: 'OPTIONS', target: '*', transport: true });
  add('http', 'CONNECT authority-form', { method: 'CONNECT', target: '127.0.0.1:80', transport: true });
  add('http', 'HTTP/1.0 GET of the seeded Patient', { method: 'GET', target: `/fhir/Patient/${SEED.patient}`, version: 'HTTP/1.0', noHost: true, close: false, expect: 'served' });
  add('http', 'HTTP/1.0 POST of a broken body', { method: 'POST', target: '/fhir/Patient', version: 'HTTP/1.0', headers: [FHIR], body: '{"resourceType":', close: false, status: 400 });
  add('http', 'HTTP/1.0 DELETE with a bad id', { method: 'DELETE', target: '/fhir/Patient/a_b', version: 'HTTP/1.0', noHost: true, close: false, status: 404 });
  add('http', 'HTTP/0.9 (no version)', { parts: [latin1(`GET /fhir/Patient/${SEED.patient}\r\n\r\n`)], transport: true });
  add('http', 'HTTP/9.9', { method: 'GET', target: '/fhir/metadata', version: 'HTTP/9.9', transport: true, allow5xx: [505, 'RFC 9110 15.6.6: 505 is the answer for an HTTP major version the server does not speak; libmicrohttpd sends it before samverka sees the request'] });
  add('http', 'HTTP/1.1 without a Host', { method: 'GET', target: `/fhir/Patient/${SEED.patient}`, noHost: true, expect: 'served', transport: true });
  add('http', 'an HTTP/2 preface', { parts: [latin1('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')], transport: true, allow5xx: [505, 'the HTTP/2 connection preface asks for HTTP major version 2 (RFC 9110 15.6.6)'] });
  add('http', 'a TLS ClientHello', { parts: [Buffer.from('16030100a5010000a103035a', 'hex')], transport: true, idle: 'no line end: the server waits for the rest of the request line until the idle timeout' });
  add('http', 'binary garbage', { parts: [Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 37) % 256))], transport: true });
  add('http', 'a request line of spaces', { parts: [latin1(' '.repeat(100) + '\r\n\r\n')], transport: true });
  add('http', 'an absolute-form target on another host, DELETE with a bad id', { method: 'DELETE', target: 'http://evil.example/fhir/Patient/a_b', status: 404 });
  add('http', 'an absolute-form target, GET of the seeded Patient', { method: 'GET', target: `http://127.0.0.1/fhir/Patient/${SEED.patient}`, expect: 'served' });
  add('http', 'an absolute-form target with userinfo and an invalid create', post(`http://user:pass@127.0.0.1:1/fhir/Patient`, json(INVALID), { status: 422 }));
  add('http', 'a target without a leading slash', { method: 'DELETE', target: `fhir/Patient/${SEED.patient}`, expect: 'closed' });
  add('http', 'two Content-Length headers that differ', { method: 'POST', target: '/fhir/Patient', headers: [FHIR, ['Content-Length', '5'], ['Content-Length', String(patient().length)]], body: patient(), expect: 'closed' });
  add('http', 'two equal Content-Length headers', { method: 'POST', target: '/fhir/Patient', headers: [FHIR, ['Content-Length', String(patient().length)], ['Content-Length', String(patient().length)]], body: patient(), expect: 'closed' });
  add('http', 'Content-Length as a list', { method: 'POST', target: '/fhir/Patient', headers: [FHIR, ['Content-Length', `${patient().length}, ${patient().length}`]], body: patient(), transport: true });
  for (const v of ['-1', '+26', '0x1a', '26 26', '', ' ', '1e2', '٢٦']) add('http', `Content-Length ${JSON.stringify(v)}`, { method: 'POST', target: '/fhir/Patient', headers: [FHIR, ['Content-Length', v]], body: patient(), transport: true });
  const smuggled = `DELETE /fhir/Patient/${SEED.patient} HTTP/1.1\r\nHost: x\r\n\r\n`;
  add('http', 'a smuggled DELETE behind two Content-Lengths (0 and n)', { parts: [latin1(`GET /fhir/metadata HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`)], expect: 'closed' });
  add('http', 'a smuggled DELETE behind Content-Length and chunked', { parts: [latin1(`POST /fhir/Patient/_search HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${5 + smuggled.length}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`)], expect: 'closed' });
  add('http', 'a smuggled DELETE behind Transfer-Encoding: xchunked', { parts: [latin1(`POST /fhir/Patient/_search HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: xchunked\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`)], expect: 'closed' });
  add('http', 'a smuggled DELETE behind Transfer-Encoding: chunked, identity', { parts: [latin1(`POST /fhir/Patient/_search HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n${smuggled}`)], expect: 'closed' });
  add('http', 'two Transfer-Encoding headers', { method: 'POST', target: '/fhir/Patient', headers: [FHIR, ['Transfer-Encoding', 'chunked'], ['Transfer-Encoding', 'chunked']], body: `${patient().length.toString(16)}\r\n${patient()}\r\n0\r\n\r\n`, expect: 'closed' });
  add('http', 'Transfer-Encoding: gzip', { method: 'POST', target: '/fhir/Patient', headers: [FHIR, ['Transfer-Encoding', 'gzip']], body: patient(), expect: 'closed' });
  const chunked = (body) => ({ method: 'POST', target: '/fhir/Patient', headers: [FHIR, ['Transfer-Encoding', 'chunked']], body, transport: true });
  add('http', 'a chunk size that is not hex', chunked(`zz\r\n${patient()}\r\n0\r\n\r\n`));
  add('http', 'a negative chunk size', chunked(`-1a\r\n${patient()}\r\n0\r\n\r\n`));
  add('http', 'a chunk size of 2^72', chunked(`ffffffffffffffffff\r\n${patient()}\r\n0\r\n\r\n`));
  add('http', 'a chunk size larger than the data, then the end', { ...chunked(`ff\r\n${json(INVALID)}\r\n0\r\n\r\n`), idle: 'the chunk is not complete: the server waits for the rest until the idle timeout' });
  add('http', 'a chunk without its CRLF', chunked(`1a\r\n${patient()}0\r\n\r\n`));
  add('http', 'a chunk extension with a NUL, invalid resource', chunked(`${json(INVALID).length.toString(16)};x=\x00\r\n${json(INVALID)}\r\n0\r\n\r\n`));
  add('http', 'chunks that make invalid JSON', chunked(`5\r\n{"res\r\n5\r\nource\r\n0\r\n\r\n`));
  add('http', 'chunks that split a UTF-8 character, the whole invalid', chunked(`${Buffer.byteLength('{"resourceType":"Patient","gender":"\xc3').toString(16)}\r\n{"resourceType":"Patient","gender":"\xc3\r\n5\r\n\xb8x"}\r\n0\r\n\r\n`));
  add('http', '100 chunks of one byte', chunked(`${'1\r\n{\r\n'.repeat(100)}0\r\n\r\n`));
  add('http', 'an Expect: 100-continue with a broken body', { method: 'POST', target: '/fhir/Patient', headers: [FHIR, ['Expect', '100-continue']], body: '{', status: 400 });
  add('http', 'an unknown Expect', { method: 'POST', target: '/fhir/Patient', headers: [FHIR, ['Expect', 'teapot']], body: '{', transport: true });

  // ---------------------------------------------------------------- headers
  add('headers', '500 headers on an invalid create', post('/fhir/Patient', json(INVALID), { headers: Array.from({ length: 500 }, (_, i) => [`X-Flood-${i}`, 'v'.repeat(20)]), status: 422 }));
  add('headers', '5000 headers', { method: 'GET', target: `/fhir/Patient/${SEED.patient}`, headers: Array.from({ length: 5000 }, (_, i) => [`X-Flood-${i}`, 'v'.repeat(20)]), transport: true });
  add('headers', 'one header of 100 KB', { method: 'GET', target: `/fhir/Patient/${SEED.patient}`, headers: [['X-Big', 'y'.repeat(100 * 1024)]], transport: true });
  add('headers', 'one header of 1 MB', { method: 'GET', target: `/fhir/Patient/${SEED.patient}`, headers: [['X-Big', 'y'.repeat(1024 * 1024)]], transport: true });
  add('headers', 'a Content-Type of 100 KB', { method: 'POST', target: '/fhir/Patient', headers: [['Content-Type', `application/fhir+json;${'x'.repeat(100 * 1024)}`]], body: json(INVALID), transport: true });
  add('headers', 'an If-None-Exist of 50 KB on an invalid create', post('/fhir/Patient', json(INVALID), { headers: [['If-None-Exist', `name=${'a'.repeat(50 * 1024)}`]], transport: true }));
  add('headers', 'a NUL in a header value (If-Match)', put(`/fhir/Patient/${SEED.patient}`, seedPatient(), { headers: [['If-Match', 'W/"1"\x00W/"3"']] }));
  add('headers', 'a NUL in a header name', { method: 'DELETE', target: `/fhir/Patient/${SEED.patient}`, headers: [['X-A\x00B', '1']], transport: true });
  add('headers', 'a NUL in Content-Type', { method: 'POST', target: '/fhir/Patient', headers: [['Content-Type', 'text/plain\x00application/fhir+json']], body: patient() });
  add('headers', 'a header without a colon', { parts: [latin1(`DELETE /fhir/Patient/${SEED.patient} HTTP/1.1\r\nHost: x\r\nNoColonHere\r\nConnection: close\r\n\r\n`)], transport: true });
  add('headers', 'a header name with a space', { parts: [latin1(`DELETE /fhir/Patient/${SEED.patient} HTTP/1.1\r\nHost: x\r\nX Forwarded: 1\r\nConnection: close\r\n\r\n`)], expect: 'closed' });
  add('headers', 'a space between a header name and its colon (If-Match lost)', { parts: [latin1(`PUT /fhir/Patient/${SEED.patient} HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\nIf-Match : W/"1"\r\nContent-Length: ${seedPatient().length}\r\nConnection: close\r\n\r\n${seedPatient()}`)], expect: 'closed' });
  add('headers', 'a bare CR inside a header', { parts: [latin1(`DELETE /fhir/Patient/${SEED.patient} HTTP/1.1\r\nHost: x\r\nX-A: a\rIf-Match: W/"1"\r\nConnection: close\r\n\r\n`)], expect: 'closed' });
  add('headers', 'an obs-folded If-Match (quotes)', { parts: [latin1(`PUT /fhir/Patient/${SEED.patient} HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\nIf-Match: W/"1"\r\n W/"3"\r\nContent-Length: ${seedPatient().length}\r\nConnection: close\r\n\r\n${seedPatient()}`)], expect: 'closed' });
  add('headers', 'an obs-folded If-Match (a token)', { parts: [latin1(`PUT /fhir/Patient/${SEED.patient} HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\nIf-Match: W/"1"\r\n\t2\r\nContent-Length: ${seedPatient().length}\r\nConnection: close\r\n\r\n${seedPatient()}`)], expect: 'closed' });
  add('headers', 'an obs-folded Content-Type', { parts: [latin1(`POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\n ; charset=utf-8\r\nContent-Length: ${json(INVALID).length}\r\nConnection: close\r\n\r\n${json(INVALID)}`)] });
  add('headers', 'two If-Match headers, the first stale', put(`/fhir/Patient/${SEED.patient}`, seedPatient(), { headers: [['If-Match', 'W/"1"'], ['If-Match', 'W/"3"']] }));
  add('headers', 'a Content-Type of application/json-patch+json on a PUT', { method: 'PUT', target: `/fhir/Patient/${SEED.patient}`, headers: [PATCH], body: seedPatient(), status: 415 });
  add('headers', 'a Content-Type with a charset of latin1 and latin1 bytes', { method: 'POST', target: '/fhir/Patient', headers: [['Content-Type', 'application/fhir+json; charset=iso-8859-1']], body: withBytes(latin1('S\xf8ren')), status: 400 });
  add('headers', 'Content-Encoding: gzip with plain bytes', post('/fhir/Patient', json(INVALID), { headers: [['Content-Encoding', 'gzip']] }));
  add('headers', 'a Prefer of 10 KB on an invalid create', post('/fhir/Patient', json(INVALID), { headers: [['Prefer', `return=${'representation'.repeat(700)}`]], status: 422 }));

  return list.filter(Boolean);
}
