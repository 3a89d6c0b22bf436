// rest.test.mjs - every FHIR REST interaction over HTTP against the real
// binary: metadata (and that what it claims works), create, read, vread,
// update (also as create and conditional), conditional create, patch, delete,
// history at the three levels with paging and _since, ETag/If-Match, Prefer,
// and the plain search.  Every body that comes back is validated as FHIR R4
// by an independent validator (lib/validate.mjs through lib/expect.mjs).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startServer } from './lib/server.mjs';
import { client, assertOutcome, locationOf, walkPages, entriesOf, stopClean } from './lib/expect.mjs';
import { minimal } from './lib/resources.mjs';

let srv;
let api;
before(async () => {
  srv = await startServer();
  api = client(srv);
});
after(async () => {
  await stopClean(srv);
});

// A marker no other test uses, to keep searches to this test's resources.
const uniq = () => randomUUID().slice(0, 8);
const ident = (system, value) => ({ system, value });

async function create(resource, headers) {
  const res = await api.post(`/fhir/${resource.resourceType}`, resource, headers);
  assert.equal(res.status, 201, res.text);
  return res.json;
}

describe('metadata', () => {
  test('is a valid R4 CapabilityStatement for this server', async () => {
    const res = await api.get('/fhir/metadata');
    assert.equal(res.status, 200);
    const cs = res.json;
    assert.equal(cs.resourceType, 'CapabilityStatement');
    assert.equal(cs.status, 'active');
    assert.equal(cs.kind, 'instance');
    assert.equal(cs.fhirVersion, '4.0.1');
    assert.ok(cs.format.includes('application/fhir+json') && cs.format.includes('json'));
    assert.deepEqual(cs.patchFormat, ['application/json-patch+json']);
    assert.equal(cs.implementation.url, srv.fhirBase);
    assert.equal(cs.rest.length, 1);
    assert.equal(cs.rest[0].mode, 'server');
    const system = cs.rest[0].interaction.map((i) => i.code);
    for (const must of ['transaction', 'batch', 'history-system']) assert.ok(system.includes(must), `${must} is claimed`);
  });

  // Each system-level interaction claimed is tried; a claim the test does
  // not know fails, so that a new claim comes with its test.
  test('every claimed system interaction works', async () => {
    const cs = (await api.get('/fhir/metadata')).json;
    const check = {
      transaction: async () => {
        const res = await api.post('/fhir', { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: minimal('Patient'), request: { method: 'POST', url: 'Patient' } }] });
        assert.equal(res.status, 200, res.text);
        assert.equal(res.json.type, 'transaction-response');
      },
      batch: async () => {
        const res = await api.post('/fhir', { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: 'Patient?_count=1' } }] });
        assert.equal(res.status, 200, res.text);
        assert.equal(res.json.type, 'batch-response');
      },
      'history-system': async () => {
        const res = await api.get('/fhir/_history?_count=1');
        assert.equal(res.status, 200);
        assert.equal(res.json.type, 'history');
      },
      'search-system': async () => {
        const res = await api.get('/fhir?_count=1');
        assert.equal(res.status, 200, res.text);
        assert.equal(res.json.type, 'searchset');
      },
    };
    for (const { code } of cs.rest[0].interaction) {
      assert.ok(check[code], `the statement claims '${code}', which this test does not try yet`);
      await check[code]();
    }
  });

  // The statement must tell the truth: every interaction it claims for a type
  // is exercised here on that type, for every type it lists.
  test('every claimed type answers every claimed interaction', async () => {
    const cs = (await api.get('/fhir/metadata')).json;
    const resources = cs.rest[0].resource;
    assert.ok(resources.length >= 30, `only ${resources.length} types claimed`);
    const known = new Set(['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'history-type', 'create', 'search-type']);
    for (const r of resources) {
      const codes = new Set(r.interaction.map((i) => i.code));
      for (const c of codes) assert.ok(known.has(c), `${r.type} claims '${c}', which this test does not try yet`);
      const t = r.type;
      const at = `${t}:`;
      let id;
      let body = minimal(t);
      if (!codes.has('create')) {
        // a read-only view (AuditEvent): searchable, and a write is refused
        assert.ok(codes.has('search-type'), `${at} claims neither create nor search`);
        const found = await api.get(`/fhir/${t}`);
        assert.equal(found.status, 200, `${at} search ${found.text}`);
        assert.equal(found.json.type, 'searchset');
        const refused = await api.post(`/fhir/${t}`, body);
        assert.equal(refused.status, 405, `${at} create of a read-only view ${refused.text}`);
        continue;
      }
      if (codes.has('create')) {
        const res = await api.post(`/fhir/${t}`, body);
        assert.equal(res.status, 201, `${at} create ${res.text}`);
        assert.equal(res.json.resourceType, t);
        id = res.json.id;
        assert.equal(locationOf(res).id, id, `${at} Location`);
      }
      assert.ok(id, `${at} create is claimed so the rest can be tested`);
      if (codes.has('read')) {
        const res = await api.get(`/fhir/${t}/${id}`);
        assert.equal(res.status, 200, `${at} read`);
        assert.equal(res.json.id, id);
      }
      if (codes.has('update')) {
        body = { ...body, id, language: 'da' };
        const res = await api.put(`/fhir/${t}/${id}`, body);
        assert.equal(res.status, 200, `${at} update ${res.text}`);
        assert.equal(res.json.meta.versionId, '2');
        assert.equal(res.json.language, 'da');
      }
      if (r.updateCreate) {
        const res = await api.put(`/fhir/${t}/uc-${id.slice(0, 8)}`, { ...minimal(t), id: `uc-${id.slice(0, 8)}` });
        assert.equal(res.status, 201, `${at} update as create ${res.text}`);
      }
      if (codes.has('patch')) {
        const res = await api.patch(`/fhir/${t}/${id}`, [{ op: 'replace', path: '/language', value: 'en' }]);
        assert.equal(res.status, 200, `${at} patch ${res.text}`);
        assert.equal(res.json.language, 'en');
      }
      if (codes.has('vread')) {
        const res = await api.get(`/fhir/${t}/${id}/_history/1`);
        assert.equal(res.status, 200, `${at} vread`);
        assert.equal(res.json.meta.versionId, '1');
        assert.equal(res.json.language, undefined);
      }
      if (codes.has('search-type')) {
        const res = await api.get(`/fhir/${t}?_id=${id}`);
        assert.equal(res.status, 200, `${at} search ${res.text}`);
        assert.equal(res.json.total, 1);
        assert.equal(res.json.entry[0].resource.id, id);
      }
      if (codes.has('history-instance')) {
        const res = await api.get(`/fhir/${t}/${id}/_history`);
        assert.equal(res.status, 200, `${at} history`);
        assert.ok(res.json.total >= 2);
      }
      if (codes.has('history-type')) {
        const res = await api.get(`/fhir/${t}/_history?_count=1`);
        assert.equal(res.status, 200, `${at} type history`);
        assert.ok(res.json.total >= 2);
      }
      if (codes.has('delete')) {
        const res = await api.delete(`/fhir/${t}/${id}`);
        assert.equal(res.status, 204, `${at} delete ${res.text}`);
        assert.equal((await api.get(`/fhir/${t}/${id}`)).status, 410, `${at} read after delete`);
      }
    }
  });

  test('every claimed search parameter is accepted (200 and a searchset)', async () => {
    const cs = (await api.get('/fhir/metadata')).json;
    const value = {
      // a bare id: 'Patient/p1' is refused (400) where the parameter cannot refer to a Patient
      string: 'x', token: 'http://example.org|c', reference: 'p1', date: 'ge2020-01-01',
      number: '1', quantity: '5', uri: 'http://example.org/x',
    };
    let checked = 0;
    for (const r of cs.rest[0].resource) {
      for (const sp of r.searchParam || []) {
        assert.ok(value[sp.type], `${r.type}.${sp.name}: a search parameter type ${sp.type} the test does not know`);
        const res = await api.get(`/fhir/${r.type}?${encodeURIComponent(sp.name)}=${encodeURIComponent(value[sp.type])}`);
        assert.equal(res.status, 200, `${r.type}?${sp.name} (${sp.type}): ${res.text.slice(0, 300)}`);
        assert.equal(res.json.type, 'searchset');
        checked++;
      }
    }
    assert.ok(checked > 100, `only ${checked} parameters claimed`);
  });

  test('conditional update works as claimed', async () => {
    const cs = (await api.get('/fhir/metadata')).json;
    const patient = cs.rest[0].resource.find((r) => r.type === 'Patient');
    assert.equal(patient.conditionalUpdate, true);
    const sys = `http://cu.example/${uniq()}`;
    const body = { resourceType: 'Patient', identifier: [ident(sys, '1')] };
    const q = `/fhir/Patient?identifier=${encodeURIComponent(`${sys}|1`)}`;
    const first = await api.put(q, body);
    assert.equal(first.status, 201, first.text);
    const id = first.json.id;
    const second = await api.put(q, { ...body, active: true });
    assert.equal(second.status, 200, second.text);
    assert.equal(second.json.id, id);
    assert.equal(second.json.meta.versionId, '2');
    assert.equal(second.headers.get('etag'), 'W/"2"');
    // A body id that is not the match's id is refused.
    assertOutcome(await api.put(q, { ...body, id: 'someone-else' }), 400, { code: 'invalid', expression: 'Patient.id' });
    // Two matches: 412 and nothing written.
    await create({ resourceType: 'Patient', identifier: [ident(sys, '1')] });
    assertOutcome(await api.put(q, body), 412, { code: 'multiple-matches' });
    assert.equal((await api.get(`/fhir/Patient/${id}`)).json.meta.versionId, '2');
    // No match and a body id that is free: created with that id.
    const freeId = `cu-${uniq()}`;
    const asCreate = await api.put(`/fhir/Patient?identifier=${encodeURIComponent(`${sys}|2`)}`, { resourceType: 'Patient', id: freeId, identifier: [ident(sys, '2')] });
    assert.equal(asCreate.status, 201, asCreate.text);
    assert.equal(locationOf(asCreate).id, freeId);
    // No match and a body id that is taken by a resource the criteria miss: 409.
    assertOutcome(await api.put(`/fhir/Patient?identifier=${encodeURIComponent(`${sys}|3`)}`, { resourceType: 'Patient', id: freeId }), 409, { code: 'conflict', expression: 'Patient.id' });
    assert.equal((await api.get(`/fhir/Patient/${freeId}`)).json.meta.versionId, '1');
    // Without criteria a PUT on the type names no resource.
    assertOutcome(await api.put('/fhir/Patient', body), 400, { code: 'invalid' });
  });
});

describe('create', () => {
  test('201 with Location, ETag, Last-Modified and server-assigned id and meta', async () => {
    const t0 = Date.now();
    const res = await api.post('/fhir/Patient', {
      resourceType: 'Patient',
      id: 'client-chosen-id',
      meta: { versionId: '99', lastUpdated: '2001-01-01T00:00:00Z', tag: [{ system: 'http://t', code: 'keep' }] },
      name: [{ family: 'Create', given: ['Ann'] }],
    });
    const t1 = Date.now();
    assert.equal(res.status, 201);
    const loc = locationOf(res);
    assert.equal(loc.type, 'Patient');
    assert.equal(loc.version, '1');
    assert.ok(loc.url.startsWith(`${srv.fhirBase}/Patient/`));
    assert.equal(res.headers.get('etag'), 'W/"1"');
    assert.ok(res.headers.get('last-modified'));
    const p = res.json;
    assert.equal(p.id, loc.id);
    assert.notEqual(p.id, 'client-chosen-id', 'the client id in a POST is ignored');
    assert.match(p.id, /^[A-Za-z0-9\-.]{1,64}$/);
    assert.equal(p.meta.versionId, '1', 'the client meta.versionId is ignored');
    const lu = Date.parse(p.meta.lastUpdated);
    assert.ok(lu >= t0 - 1000 && lu <= t1 + 1000, `lastUpdated ${p.meta.lastUpdated} is now`);
    assert.deepEqual(p.meta.tag, [{ system: 'http://t', code: 'keep' }], 'other meta elements are kept');
    assert.deepEqual(p.name, [{ family: 'Create', given: ['Ann'] }]);
    assert.equal(new Date(res.headers.get('last-modified')).getTime(), Math.floor(lu / 1000) * 1000);
    // The id the client sent names nothing.
    assertOutcome(await api.get('/fhir/Patient/client-chosen-id'), 404, { code: 'not-found' });
  });

  test('Prefer: return=minimal answers 201 with headers and an empty body', async () => {
    const res = await api.post('/fhir/Patient', minimal('Patient'), { Prefer: 'return=minimal' });
    assert.equal(res.status, 201);
    assert.equal(res.text, '');
    const loc = locationOf(res);
    assert.equal(res.headers.get('etag'), 'W/"1"');
    assert.equal((await api.get(`/fhir/Patient/${loc.id}`)).status, 200);
  });

  test('Prefer: return=OperationOutcome answers with an outcome', async () => {
    const res = await api.post('/fhir/Patient', minimal('Patient'), { Prefer: 'return=OperationOutcome' });
    assert.equal(res.status, 201);
    assert.equal(res.json.resourceType, 'OperationOutcome');
    assert.equal(res.json.issue[0].severity, 'information');
    const loc = locationOf(res);
    assert.match(res.json.issue[0].diagnostics, new RegExp(`Patient/${loc.id}`));
  });

  test('Prefer: return=representation answers with the resource', async () => {
    const res = await api.post('/fhir/Patient', minimal('Patient'), { Prefer: 'return=representation' });
    assert.equal(res.status, 201);
    assert.equal(res.json.resourceType, 'Patient');
    assert.equal(res.json.id, locationOf(res).id);
  });

  test('conditional create: 0 matches creates, 1 returns it, 2 is 412', async () => {
    const sys = `http://cc.example/${uniq()}`;
    const body = { resourceType: 'Patient', identifier: [ident(sys, 'A')] };
    const cond = { 'If-None-Exist': `identifier=${sys}|A` };
    const first = await api.post('/fhir/Patient', body, cond);
    assert.equal(first.status, 201);
    const id = first.json.id;
    const again = await api.post('/fhir/Patient', { ...body, active: true }, cond);
    assert.equal(again.status, 200, 'one match: 200 and the existing resource');
    assert.equal(again.json.id, id);
    assert.equal(again.json.active, undefined, 'the match is not changed');
    assert.equal(again.headers.get('etag'), 'W/"1"');
    const search = await api.get(`/fhir/Patient?identifier=${encodeURIComponent(`${sys}|`)}`);
    assert.equal(search.json.total, 1, 'no new resource');
    assert.equal((await api.get(`/fhir/Patient/${id}/_history`)).json.total, 1, 'no new version');
    await create(body); // a second match, made without the condition
    const third = await api.post('/fhir/Patient', body, cond);
    assertOutcome(third, 412, { code: 'multiple-matches' });
    assert.equal((await api.get(`/fhir/Patient?identifier=${encodeURIComponent(`${sys}|`)}`)).json.total, 2);
  });

  test('If-None-Exist with an unknown search parameter is 400, nothing created', async () => {
    const marker = uniq();
    const res = await api.post('/fhir/Patient', { resourceType: 'Patient', name: [{ family: marker }] }, { 'If-None-Exist': 'nonsense=1' });
    // an unknown parameter is a feature the server does not have: not-supported
    assertOutcome(res, 400, { code: 'not-supported' });
    assert.equal((await api.get(`/fhir/Patient?family=${marker}`)).json.total, 0);
  });
});

describe('read, vread, update', () => {
  test('read returns the stored resource with its ETag', async () => {
    const p = await create({ resourceType: 'Patient', gender: 'female', birthDate: '1980-05-06' });
    const res = await api.get(`/fhir/Patient/${p.id}`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, p);
    assert.equal(res.headers.get('etag'), 'W/"1"');
    assert.ok(res.headers.get('last-modified'));
    assert.equal(res.headers.get('location'), null);
  });

  test('update: 200, version and lastUpdated advance, vread keeps each version', async () => {
    const p = await create({ resourceType: 'Patient', name: [{ family: 'One' }] });
    const res = await api.put(`/fhir/Patient/${p.id}`, { resourceType: 'Patient', id: p.id, name: [{ family: 'Two' }], meta: { versionId: '7' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('etag'), 'W/"2"');
    assert.equal(res.json.meta.versionId, '2');
    assert.ok(Date.parse(res.json.meta.lastUpdated) >= Date.parse(p.meta.lastUpdated));
    assert.equal(locationOf(res).version, '2');
    const third = await api.put(`/fhir/Patient/${p.id}`, { resourceType: 'Patient', id: p.id, name: [{ family: 'Three' }] });
    assert.equal(third.json.meta.versionId, '3');
    const expect = { 1: 'One', 2: 'Two', 3: 'Three' };
    for (const [v, family] of Object.entries(expect)) {
      const vr = await api.get(`/fhir/Patient/${p.id}/_history/${v}`);
      assert.equal(vr.status, 200);
      assert.equal(vr.json.name[0].family, family);
      assert.equal(vr.json.meta.versionId, v);
      assert.equal(vr.headers.get('etag'), `W/"${v}"`);
    }
    assert.equal((await api.get(`/fhir/Patient/${p.id}`)).json.name[0].family, 'Three');
    assertOutcome(await api.get(`/fhir/Patient/${p.id}/_history/4`), 404, { code: 'not-found' });
    assertOutcome(await api.get(`/fhir/Patient/${p.id}/_history/x`), 404, { code: 'not-found' });
  });

  test('update as create with a client id: 201 and Location', async () => {
    const id = `client-${uniq()}`;
    const res = await api.put(`/fhir/Patient/${id}`, { resourceType: 'Patient', id, active: true });
    assert.equal(res.status, 201);
    assert.deepEqual(locationOf(res), { type: 'Patient', id, version: '1', url: `${srv.fhirBase}/Patient/${id}/_history/1` });
    assert.equal(res.headers.get('etag'), 'W/"1"');
    assert.equal(res.json.id, id);
    assert.equal((await api.get(`/fhir/Patient/${id}`)).json.active, true);
  });

  test('Prefer on update: minimal, representation, OperationOutcome', async () => {
    const p = await create(minimal('Patient'));
    const body = { resourceType: 'Patient', id: p.id, active: true };
    const min = await api.put(`/fhir/Patient/${p.id}`, body, { Prefer: 'return=minimal' });
    assert.equal(min.status, 200);
    assert.equal(min.text, '');
    assert.equal(min.headers.get('etag'), 'W/"2"');
    const rep = await api.put(`/fhir/Patient/${p.id}`, body, { Prefer: 'return=representation' });
    assert.equal(rep.json.resourceType, 'Patient');
    assert.equal(rep.json.meta.versionId, '3');
    const oo = await api.put(`/fhir/Patient/${p.id}`, body, { Prefer: 'return=OperationOutcome' });
    assert.equal(oo.json.resourceType, 'OperationOutcome');
    assert.match(oo.json.issue[0].diagnostics, /version 4/);
  });

  test('If-Match: a stale version is 412 and changes nothing, the current one succeeds', async () => {
    const p = await create({ resourceType: 'Patient', name: [{ family: 'Etag' }] });
    const v2 = await api.put(`/fhir/Patient/${p.id}`, { resourceType: 'Patient', id: p.id, name: [{ family: 'Etag2' }] });
    assert.equal(v2.headers.get('etag'), 'W/"2"');
    const stale = await api.put(`/fhir/Patient/${p.id}`, { resourceType: 'Patient', id: p.id, name: [{ family: 'Lost' }] }, { 'If-Match': 'W/"1"' });
    assertOutcome(stale, 412, { code: 'conflict' });
    const cur = await api.get(`/fhir/Patient/${p.id}`);
    assert.equal(cur.json.meta.versionId, '2');
    assert.equal(cur.json.name[0].family, 'Etag2');
    const ok = await api.put(`/fhir/Patient/${p.id}`, { resourceType: 'Patient', id: p.id, name: [{ family: 'Won' }] }, { 'If-Match': cur.headers.get('etag') });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('etag'), 'W/"3"');
    assert.equal(ok.json.name[0].family, 'Won');
    // If-Match on a resource that does not exist cannot match.
    assertOutcome(await api.put(`/fhir/Patient/nobody-${uniq()}`, { resourceType: 'Patient', id: 'x' }, { 'If-Match': 'W/"1"' }), 400, { expression: 'Patient.id' });
    const nid = `nobody-${uniq()}`;
    assertOutcome(await api.put(`/fhir/Patient/${nid}`, { resourceType: 'Patient', id: nid }, { 'If-Match': 'W/"1"' }), 412, { code: 'conflict' });
    assertOutcome(await api.get(`/fhir/Patient/${nid}`), 404);
  });
});

describe('paths', () => {
  test('%2F inside a segment is no separator: it is part of that segment', async () => {
    const p = await create({ resourceType: 'Patient', name: [{ family: 'Slash' }] });
    assert.equal((await api.get(`/fhir/Patient/${p.id}/_history`)).status, 200);
    // Not the history of p, not p: an id or type with '/' is none.
    assertOutcome(await api.get(`/fhir/Patient/${p.id}%2F_history`), 404, { code: 'not-found' });
    assertOutcome(await api.get(`/fhir/Patient%2F${p.id}`), 404, { code: 'not-found' });
    assertOutcome(await api.delete(`/fhir/Patient/${p.id}%2fx`), 404);
    const body = { resourceType: 'Patient', id: `${p.id}/x` };
    assertOutcome(await api.put(`/fhir/Patient/${p.id}%2Fx`, body), 400, { code: 'invalid', diagnostics: /is not a valid resource id/ });
    assert.equal((await api.get(`/fhir/Patient/${p.id}`)).json.meta.versionId, '1');
    // Other escapes in a segment are still decoded.
    assert.equal((await api.get(`/fhir/Patient/${p.id.replace(/-/g, '%2D')}`)).status, 200);
  });
});

describe('patch', () => {
  const JP = { 'Content-Type': 'application/json-patch+json' };

  test('a JSON Patch applies and makes a new version', async () => {
    const p = await create({ resourceType: 'Patient', name: [{ family: 'Patch' }], active: false });
    const res = await api.patch(`/fhir/Patient/${p.id}`, [
      { op: 'test', path: '/active', value: false },
      { op: 'replace', path: '/active', value: true },
      { op: 'add', path: '/name/0/given', value: ['Pat'] },
    ]);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('etag'), 'W/"2"');
    assert.equal(res.json.active, true);
    assert.deepEqual(res.json.name, [{ family: 'Patch', given: ['Pat'] }]);
    assert.equal(res.json.meta.versionId, '2');
    assert.deepEqual((await api.get(`/fhir/Patient/${p.id}`)).json, res.json);
  });

  test('a failing test op is 422 and leaves the resource alone', async () => {
    const p = await create({ resourceType: 'Patient', active: false });
    const res = await api.patch(`/fhir/Patient/${p.id}`, [
      { op: 'test', path: '/active', value: true },
      { op: 'replace', path: '/active', value: true },
    ]);
    assertOutcome(res, 422);
    const cur = await api.get(`/fhir/Patient/${p.id}`);
    assert.equal(cur.json.meta.versionId, '1');
    assert.equal(cur.json.active, false);
  });

  test('a patch that changes the id is 422 at Patient.id', async () => {
    const p = await create(minimal('Patient'));
    assertOutcome(await api.patch(`/fhir/Patient/${p.id}`, [{ op: 'replace', path: '/id', value: 'other' }]), 422, { expression: 'Patient.id' });
    assertOutcome(await api.patch(`/fhir/Patient/${p.id}`, [{ op: 'remove', path: '/id' }]), 422, { expression: 'Patient.id' });
    assertOutcome(await api.get('/fhir/Patient/other'), 404);
    assert.equal((await api.get(`/fhir/Patient/${p.id}`)).json.meta.versionId, '1');
  });

  test('a patch that makes the resource invalid is 422 with the element', async () => {
    const p = await create(minimal('Patient'));
    assertOutcome(await api.patch(`/fhir/Patient/${p.id}`, [{ op: 'add', path: '/birthDate', value: '1970-13-01' }]), 422, { expression: 'Patient.birthDate' });
    assert.equal((await api.get(`/fhir/Patient/${p.id}`)).json.meta.versionId, '1');
  });

  test('If-Match on a patch, and patching what is not there', async () => {
    const p = await create(minimal('Patient'));
    const ops = [{ op: 'add', path: '/active', value: true }];
    assertOutcome(await api.patch(`/fhir/Patient/${p.id}`, ops, { 'If-Match': 'W/"9"' }), 412);
    assert.equal((await api.patch(`/fhir/Patient/${p.id}`, ops, { 'If-Match': 'W/"1"' })).status, 200);
    assertOutcome(await api.patch(`/fhir/Patient/missing-${uniq()}`, ops), 404, { code: 'not-found' });
    await api.delete(`/fhir/Patient/${p.id}`);
    assertOutcome(await api.patch(`/fhir/Patient/${p.id}`, ops), 410, { code: 'deleted' });
    // A FHIR resource is not a patch document.
    assertOutcome(await api.call('PATCH', `/fhir/Patient/${p.id}`, JSON.stringify(ops), { 'Content-Type': 'application/fhir+json' }), 415);
    assertOutcome(await api.call('PATCH', `/fhir/Patient/${p.id}`, '{"op":"add"}', JP), 400);
  });
});

describe('delete', () => {
  test('204; then read is 410, old versions stay readable, history shows the deletion', async () => {
    const p = await create({ resourceType: 'Patient', name: [{ family: 'Gone' }] });
    await api.put(`/fhir/Patient/${p.id}`, { resourceType: 'Patient', id: p.id, name: [{ family: 'Gone2' }] });
    const del = await api.delete(`/fhir/Patient/${p.id}`);
    assert.equal(del.status, 204);
    assert.equal(del.text, '');
    assert.equal(del.headers.get('etag'), 'W/"3"');
    assertOutcome(await api.get(`/fhir/Patient/${p.id}`), 410, { code: 'deleted' });
    const v1 = await api.get(`/fhir/Patient/${p.id}/_history/1`);
    assert.equal(v1.status, 200);
    assert.equal(v1.json.name[0].family, 'Gone');
    assert.equal((await api.get(`/fhir/Patient/${p.id}/_history/2`)).json.name[0].family, 'Gone2');
    assertOutcome(await api.get(`/fhir/Patient/${p.id}/_history/3`), 410);
    const hist = (await api.get(`/fhir/Patient/${p.id}/_history`)).json;
    assert.equal(hist.total, 3);
    const [gone, second, first] = hist.entry;
    assert.deepEqual(gone.request, { method: 'DELETE', url: `Patient/${p.id}` });
    assert.equal(gone.resource, undefined, 'a deletion has no resource');
    assert.equal(gone.response.etag, 'W/"3"');
    assert.equal(second.resource.meta.versionId, '2');
    assert.equal(first.resource.meta.versionId, '1');
    // Not found by search any more.
    assert.equal((await api.get(`/fhir/Patient?_id=${p.id}`)).json.total, 0);
    // Deleting again changes nothing; deleting what never was is 404.
    assert.equal((await api.delete(`/fhir/Patient/${p.id}`)).status, 204);
    assert.equal((await api.get(`/fhir/Patient/${p.id}/_history`)).json.total, 3);
    assertOutcome(await api.delete(`/fhir/Patient/never-${uniq()}`), 404);
    // An update brings it back as a new version (201: it is created again).
    const back = await api.put(`/fhir/Patient/${p.id}`, { resourceType: 'Patient', id: p.id, name: [{ family: 'Back' }] });
    assert.equal(back.status, 201);
    assert.equal(back.json.meta.versionId, '4');
    assert.equal((await api.get(`/fhir/Patient/${p.id}`)).json.name[0].family, 'Back');
  });

  test('If-Match: a stale version is 412 and deletes nothing, the current one deletes', async () => {
    const p = await create({ resourceType: 'Patient', name: [{ family: 'DelEtag' }] });
    await api.put(`/fhir/Patient/${p.id}`, { resourceType: 'Patient', id: p.id, name: [{ family: 'DelEtag2' }] });
    assertOutcome(await api.delete(`/fhir/Patient/${p.id}`, { 'If-Match': 'W/"1"' }), 412, { code: 'conflict' });
    assertOutcome(await api.delete(`/fhir/Patient/${p.id}`, { 'If-Match': 'W/"two"' }), 400);
    const cur = await api.get(`/fhir/Patient/${p.id}`);
    assert.equal(cur.status, 200);
    assert.equal(cur.json.meta.versionId, '2');
    const del = await api.delete(`/fhir/Patient/${p.id}`, { 'If-Match': cur.headers.get('etag') });
    assert.equal(del.status, 204);
    assertOutcome(await api.get(`/fhir/Patient/${p.id}`), 410);
    // Deleted: no version left to match, not even the deletion's.
    assertOutcome(await api.delete(`/fhir/Patient/${p.id}`, { 'If-Match': 'W/"3"' }), 412);
  });
});

describe('history', () => {
  // Its own server, so that type and system history hold only what we wrote.
  let hs;
  let h;
  let ids;
  before(async () => {
    hs = await startServer();
    h = client(hs);
    const post = async (r) => (await h.post(`/fhir/${r.resourceType}`, r)).json;
    const a = await post({ resourceType: 'Patient', name: [{ family: 'A' }] });
    const o = await post(minimal('Observation'));
    const b = await post({ resourceType: 'Patient', name: [{ family: 'B' }] });
    await h.put(`/fhir/Patient/${a.id}`, { resourceType: 'Patient', id: a.id, name: [{ family: 'A2' }] });
    await h.put(`/fhir/Observation/${o.id}`, { ...minimal('Observation'), id: o.id, status: 'amended' });
    await h.delete(`/fhir/Patient/${b.id}`);
    await h.put(`/fhir/Patient/${a.id}`, { resourceType: 'Patient', id: a.id, name: [{ family: 'A3' }] });
    ids = { a: a.id, b: b.id, o: o.id };
  });
  after(async () => {
    await stopClean(hs);
  });

  const key = (e) => `${e.request.url.split('/')[0]}/${e.fullUrl.split('/').pop()}@${e.response.etag}`;

  test('system history: every version, newest first', async () => {
    const res = await h.get('/fhir/_history');
    assert.equal(res.status, 200);
    const b = res.json;
    assert.equal(b.type, 'history');
    assert.equal(b.total, 7);
    assert.deepEqual(entriesOf(b).map(key), [
      `Patient/${ids.a}@W/"3"`, `Patient/${ids.b}@W/"2"`, `Observation/${ids.o}@W/"2"`, `Patient/${ids.a}@W/"2"`,
      `Patient/${ids.b}@W/"1"`, `Observation/${ids.o}@W/"1"`, `Patient/${ids.a}@W/"1"`,
    ]);
    assert.deepEqual(b.entry.map((e) => e.request.method), ['PUT', 'DELETE', 'PUT', 'PUT', 'POST', 'POST', 'POST']);
    assert.deepEqual(b.entry.map((e) => e.response.status), ['200', '204', '200', '200', '201', '201', '201']);
    const lm = b.entry.map((e) => Date.parse(e.response.lastModified));
    for (let i = 1; i < lm.length; i++) assert.ok(lm[i - 1] >= lm[i], 'newest first');
    assert.equal(b.entry[2].resource.status, 'amended');
    assert.equal(b.entry[0].resource.name[0].family, 'A3');
  });

  test('type history: only that type, newest first', async () => {
    const b = (await h.get('/fhir/Patient/_history')).json;
    assert.equal(b.total, 5);
    assert.deepEqual(entriesOf(b).map(key), [
      `Patient/${ids.a}@W/"3"`, `Patient/${ids.b}@W/"2"`, `Patient/${ids.a}@W/"2"`, `Patient/${ids.b}@W/"1"`, `Patient/${ids.a}@W/"1"`,
    ]);
    const obs = (await h.get('/fhir/Observation/_history')).json;
    assert.deepEqual(entriesOf(obs).map(key), [`Observation/${ids.o}@W/"2"`, `Observation/${ids.o}@W/"1"`]);
    const none = (await h.get('/fhir/Task/_history')).json;
    assert.equal(none.total, 0);
    assert.equal(none.entry, undefined);
  });

  test('instance history: that resource only, newest first', async () => {
    const b = (await h.get(`/fhir/Patient/${ids.a}/_history`)).json;
    assert.equal(b.total, 3);
    assert.deepEqual(b.entry.map((e) => e.resource.name[0].family), ['A3', 'A2', 'A']);
    assertOutcome(await h.get('/fhir/Patient/nobody/_history'), 404);
  });

  for (const [level, path, total] of [['system', '/fhir/_history', 7], ['type', '/fhir/Patient/_history', 5], ['instance', null, 3]]) {
    for (const count of [1, 2, 3]) {
      test(`${level} history: _count=${count} next links walk the whole history once`, async () => {
        const base = path || `/fhir/Patient/${ids.a}/_history`;
        const all = entriesOf((await h.get(base)).json).map(key);
        assert.equal(all.length, total);
        const first = await h.get(`${base}?_count=${count}`);
        const pages = await walkPages(h, hs, first.json);
        assert.equal(pages.length, Math.ceil(total / count));
        for (const p of pages) {
          assert.equal(p.total, total);
          assert.ok(entriesOf(p).length <= count);
          assert.equal(p.link.find((l) => l.relation === 'self').url.startsWith(hs.fhirBase), true);
        }
        assert.equal(pages.at(-1).link.find((l) => l.relation === 'next'), undefined, 'the last page has no next');
        assert.deepEqual(pages.flatMap((p) => entriesOf(p).map(key)), all);
      });
    }
  }

  test('_since keeps the versions at or after the instant, also across pages', async () => {
    const all = entriesOf((await h.get('/fhir/_history')).json);
    const future = (await h.get('/fhir/_history?_since=2999-01-01T00:00:00Z')).json;
    assert.equal(future.total, 0);
    assert.equal(future.entry, undefined);
    const past = (await h.get('/fhir/_history?_since=2000-01-01T00:00:00Z')).json;
    assert.equal(past.total, 7);
    for (const e of all) {
      const since = e.response.lastModified;
      const expect = all.filter((x) => Date.parse(x.response.lastModified) >= Date.parse(since)).map(key);
      const got = (await h.get(`/fhir/_history?_since=${encodeURIComponent(since)}`)).json;
      assert.equal(got.total, expect.length, `_since=${since}`);
      assert.deepEqual(entriesOf(got).map(key), expect);
      const pages = await walkPages(h, hs, (await h.get(`/fhir/_history?_count=1&_since=${encodeURIComponent(since)}`)).json);
      assert.deepEqual(pages.flatMap((p) => entriesOf(p).map(key)), expect, `paged _since=${since}`);
    }
  });

  test('_since with a time-zone offset is the same instant, and so are its next links', async () => {
    const all = entriesOf((await h.get('/fhir/_history')).json);
    const oldest = new Date(Date.parse(all.at(-1).response.lastModified));
    // The same instant written at +01:00: 2024-01-01T10:00:00Z is 2024-01-01T11:00:00+01:00.
    const plus1 = new Date(oldest.getTime() + 3600 * 1000).toISOString().replace('Z', '+01:00');
    const first = await h.get(`/fhir/_history?_count=2&_since=${encodeURIComponent(plus1)}`);
    assert.equal(first.status, 200, first.text);
    assert.equal(first.json.total, 7);
    const pages = await walkPages(h, hs, first.json);
    assert.equal(pages.flatMap((p) => entriesOf(p)).length, 7);
  });

  test('history parameters are checked', async () => {
    assertOutcome(await h.get('/fhir/_history?_since=yesterday'), 400, { code: 'invalid', expression: '_since' });
    assertOutcome(await h.get('/fhir/_history?_count=-1'), 400, { code: 'invalid', expression: '_count' });
    assertOutcome(await h.get('/fhir/_history?name=x'), 400, { code: 'invalid' });
  });
});

describe('search', () => {
  // One set of patients (and observations about them) for every search test,
  // told apart from the rest of the file's data by its identifier system.
  let sys;
  let p;
  before(async () => {
    sys = `http://search.example/${uniq()}`;
    const mk = (family, given, birthDate, value, extra = {}) => create({
      resourceType: 'Patient', name: [{ family, given: [given] }], birthDate, identifier: [ident(sys, value)], ...extra,
    });
    p = {
      soren: await mk('Søren', 'Kierkegaard', '1813-05-05', 'k1'),
      sorensen: await mk('Sørensen', 'Inger', '1970-02-03', 'k2'),
      anna: await mk('Andersen', 'Anna', '1970-12-31', 'k3', { gender: 'female' }),
      hans: await mk('Hansen', 'Søren', '1990-06-15', 'k4'),
      jens: await mk('Jensen', 'Jens', '2001-01-01', 'shared'),
    };
    for (const who of [p.soren, p.soren, p.anna]) {
      await create({ ...minimal('Observation'), subject: { reference: `Patient/${who.id}` }, identifier: [ident(sys, 'obs')] });
    }
  });

  const ids = (bundle) => entriesOf(bundle).map((e) => e.resource.id).sort();
  const search = async (type, q) => {
    const res = await api.get(`/fhir/${type}?${q}`);
    assert.equal(res.status, 200, `${type}?${q}: ${res.text.slice(0, 300)}`);
    assert.equal(res.json.type, 'searchset');
    for (const e of entriesOf(res.json)) {
      assert.equal(e.search.mode, 'match');
      assert.equal(e.fullUrl, `${srv.fhirBase}/${type}/${e.resource.id}`);
    }
    return res.json;
  };
  const mine = () => `identifier=${encodeURIComponent(`${sys}|`)}`;

  test('_id', async () => {
    assert.deepEqual(ids(await search('Patient', `_id=${p.anna.id}`)), [p.anna.id]);
    assert.deepEqual(ids(await search('Patient', `_id=${p.anna.id},${p.hans.id}`)), [p.anna.id, p.hans.id].sort());
    assert.equal((await search('Patient', '_id=no-such-id')).total, 0);
  });

  test('token: system|code, code alone, system| and |code', async () => {
    assert.deepEqual(ids(await search('Patient', `identifier=${encodeURIComponent(`${sys}|k2`)}`)), [p.sorensen.id]);
    assert.deepEqual(ids(await search('Patient', `identifier=${encodeURIComponent('http://other.example|k2')}`)), []);
    assert.deepEqual(ids(await search('Patient', `${mine()}`)), Object.values(p).map((x) => x.id).sort());
    const byCode = ids(await search('Patient', 'identifier=k3'));
    assert.deepEqual(byCode, [p.anna.id]);
    assert.deepEqual(ids(await search('Patient', `identifier=${encodeURIComponent('|k3')}`)), [], '|code wants no system');
    assert.deepEqual(ids(await search('Patient', `gender=female&${mine()}`)), [p.anna.id]);
  });

  test('string: prefix, case- and accent-insensitive', async () => {
    const names = (q) => search('Patient', `${q}&${mine()}`).then(ids);
    const both = [p.soren.id, p.sorensen.id].sort();
    assert.deepEqual(await names('family=soren'), both, '"soren" finds "Søren" and "Sørensen"');
    assert.deepEqual(await names('family=SØR'), both);
    assert.deepEqual(await names('family=s%C3%B8ren'), both);
    assert.deepEqual(await names('family=sorensen'), [p.sorensen.id]);
    assert.deepEqual(await names('family=ren'), [], 'prefix, not substring');
    assert.deepEqual(await names('family:contains=ren'), both);
    assert.deepEqual(await names(`family:exact=${encodeURIComponent('Søren')}`), [p.soren.id]);
    assert.deepEqual(await names('family:exact=soren'), []);
    // name covers given names too: Hans Hansen's given name is Søren.
    assert.deepEqual(await names('name=soren'), [p.soren.id, p.sorensen.id, p.hans.id].sort());
    assert.deepEqual(await names('name=soren,jens'), [p.soren.id, p.sorensen.id, p.hans.id, p.jens.id].sort(), 'a comma is OR');
    assert.deepEqual(await names('name=soren&gender=female'), [], 'parameters are AND');
  });

  test('reference: Type/id, id alone, and the patient parameter', async () => {
    const s = (q) => search('Observation', `${q}&${mine()}`);
    const bySubject = await s(`subject=Patient/${p.soren.id}`);
    assert.equal(bySubject.total, 2);
    for (const e of bySubject.entry) assert.equal(e.resource.subject.reference, `Patient/${p.soren.id}`);
    assert.equal((await s(`subject=${p.soren.id}`)).total, 2);
    assert.equal((await s(`patient=${p.anna.id}`)).total, 1);
    assert.equal((await s(`subject=${encodeURIComponent(`${srv.fhirBase}/Patient/${p.anna.id}`)}`)).total, 1);
    assert.equal((await s(`subject=Patient/${p.hans.id}`)).total, 0);
  });

  test('date: precision and prefixes', async () => {
    const d = (q) => search('Patient', `${q}&${mine()}`).then(ids);
    assert.deepEqual(await d('birthdate=1970-02-03'), [p.sorensen.id]);
    assert.deepEqual(await d('birthdate=1970'), [p.sorensen.id, p.anna.id].sort());
    assert.deepEqual(await d('birthdate=1970-12'), [p.anna.id]);
    assert.deepEqual(await d('birthdate=lt1900'), [p.soren.id]);
    assert.deepEqual(await d('birthdate=ge1990-06-15'), [p.hans.id, p.jens.id].sort());
    assert.deepEqual(await d('birthdate=gt1990-06-15'), [p.jens.id]);
    assert.deepEqual(await d('birthdate=ge1970&birthdate=lt1971'), [p.sorensen.id, p.anna.id].sort());
  });

  test('_count, _total and next links that walk every match once', async () => {
    const first = await search('Patient', `${mine()}&_count=2`);
    assert.equal(first.total, 5);
    assert.equal(first.entry.length, 2);
    const pages = await walkPages(api, srv, first);
    assert.equal(pages.length, 3);
    assert.deepEqual(pages.map((pg) => entriesOf(pg).length), [2, 2, 1]);
    for (const pg of pages) {
      assert.equal(pg.total, 5);
      assert.ok(pg.link.find((l) => l.relation === 'self'));
    }
    const walked = pages.flatMap((pg) => entriesOf(pg).map((e) => e.resource.id));
    assert.equal(new Set(walked).size, 5, 'no match twice');
    assert.deepEqual(walked.sort(), Object.values(p).map((x) => x.id).sort());
    // _total=none leaves the total out; accurate gives it.
    const none = await search('Patient', `${mine()}&_total=none`);
    assert.equal(none.total, undefined);
    assert.equal(none.entry.length, 5);
    assert.equal((await search('Patient', `${mine()}&_total=accurate&_count=1`)).total, 5);
    // _count=0 is the count alone; _summary=count too.
    const zero = await search('Patient', `${mine()}&_count=0`);
    assert.equal(zero.total, 5);
    assert.equal(zero.entry, undefined);
    const summary = await search('Patient', `${mine()}&_summary=count`);
    assert.equal(summary.total, 5);
    assert.equal(summary.entry, undefined);
  });

  test('POST _search is the same search', async () => {
    const res = await api.call('POST', '/fhir/Patient/_search', `identifier=${encodeURIComponent(`${sys}|k2`)}`, { 'Content-Type': 'application/x-www-form-urlencoded' });
    assert.equal(res.status, 200);
    assert.deepEqual(ids(res.json), [p.sorensen.id]);
    // A search writes nothing: Prefer: return= does not empty its Bundle.
    const min = await api.call('POST', '/fhir/Patient/_search', `identifier=${encodeURIComponent(`${sys}|k2`)}`, {
      'Content-Type': 'application/x-www-form-urlencoded', Prefer: 'return=minimal',
    });
    assert.equal(min.status, 200);
    assert.deepEqual(ids(min.json), [p.sorensen.id]);
  });

  test('bad search input is 400 naming the parameter', async () => {
    assertOutcome(await api.get('/fhir/Patient?nonsense=1'), 400, { code: 'not-supported', expression: 'nonsense' });
    assertOutcome(await api.get('/fhir/Patient?birthdate=notadate'), 400, { code: 'invalid', expression: 'birthdate' });
    assertOutcome(await api.get('/fhir/Patient?_count=many'), 400, { code: 'invalid', expression: '_count' });
    assertOutcome(await api.get('/fhir/Patient?_total=some'), 400, { code: 'invalid', expression: '_total' });
    // Prefer: handling=lenient ignores what it does not know.
    const lenient = await api.get(`/fhir/Patient?nonsense=1&${mine()}`, { Prefer: 'handling=lenient' });
    assert.equal(lenient.status, 200);
    assert.equal(lenient.json.total, 5);
  });
});
