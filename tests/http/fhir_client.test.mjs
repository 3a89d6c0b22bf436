// fhir_client.test.mjs - an independent FHIR client (npm fhir-kit-client)
// works against the server: capabilityStatement, create, read, vread, update,
// delete (a later read fails with 410), search, history and a transaction
// whose entries refer to each other by urn:uuid.  Every resource the client
// gets back is checked by the independent validator (lib/validate.mjs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Client, CapabilityTool } from 'fhir-kit-client';
import { startServer } from './lib/server.mjs';
import { assertValidFhir } from './lib/validate.mjs';

let srv;
let client;

before(async () => {
  srv = await startServer();
  client = new Client({ baseUrl: srv.fhirBase });
});

after(async () => {
  if (!srv) return;
  const exit = await srv.stop();
  srv.cleanup();
  assert.deepEqual(exit, { code: 0, signal: null }, `the server's exit: ${srv.stderr().slice(-2000)}`);
});

// The HTTP status and headers fhir-kit-client saw for a result.
const httpOf = (result) => Client.httpFor(result).response;

// Runs call, expects fhir-kit-client to throw for an HTTP error, and returns
// the status and the (validated) OperationOutcome it carried.
async function failure(call) {
  let error;
  try {
    await call();
  } catch (err) {
    error = err;
  }
  assert.ok(error?.response, `expected an HTTP error, got ${error ?? 'success'}`);
  assert.equal(error.response.data?.resourceType, 'OperationOutcome', JSON.stringify(error.response.data));
  assertValidFhir(error.response.data);
  return error.response;
}

const uniqueFamily = () => `Kit${randomUUID().replaceAll('-', '')}`;

test('capabilityStatement() returns a valid R4 CapabilityStatement the CapabilityTool can read', async () => {
  const cs = await client.capabilityStatement();
  assertValidFhir(cs);
  assert.equal(cs.resourceType, 'CapabilityStatement');
  assert.equal(cs.fhirVersion, '4.0.1');
  const tool = new CapabilityTool(cs);
  assert.equal(tool.serverCan('transaction'), true);
  for (const interaction of ['create', 'read', 'vread', 'update', 'delete', 'search-type', 'history-instance']) {
    assert.equal(tool.resourceCan('Patient', interaction), true, `Patient ${interaction}`);
  }
  assert.ok(tool.searchParamsFor({ resourceType: 'Patient' }).includes('family'));
});

test('create, read, vread, update, delete, then read fails with 410', async () => {
  const family = uniqueFamily();
  const created = await client.create({
    resourceType: 'Patient',
    body: { resourceType: 'Patient', name: [{ family, given: ['Ada'] }], birthDate: '1970-01-02' },
  });
  assertValidFhir(created);
  assert.equal(httpOf(created).status, 201);
  assert.match(httpOf(created).headers.get('location'), new RegExp(`/fhir/Patient/${created.id}/_history/1$`));
  assert.equal(created.meta.versionId, '1');
  assert.deepEqual(created.name, [{ family, given: ['Ada'] }]);

  const read = await client.read({ resourceType: 'Patient', id: created.id });
  assertValidFhir(read);
  assert.deepEqual(read, created);

  const updated = await client.update({
    resourceType: 'Patient', id: created.id, body: { ...read, active: true },
  });
  assertValidFhir(updated);
  assert.equal(httpOf(updated).status, 200);
  assert.equal(updated.meta.versionId, '2');
  assert.equal(updated.active, true);

  const first = await client.vread({ resourceType: 'Patient', id: created.id, version: '1' });
  assertValidFhir(first);
  assert.deepEqual(first, created);

  const deleted = await client.delete({ resourceType: 'Patient', id: created.id });
  assert.ok([200, 204].includes(httpOf(deleted).status), `delete answered ${httpOf(deleted).status}`);
  if (httpOf(deleted).status === 200 && Object.keys(deleted).length) assertValidFhir(deleted);

  const gone = await failure(() => client.read({ resourceType: 'Patient', id: created.id }));
  assert.equal(gone.status, 410);
  const missing = await failure(() => client.read({ resourceType: 'Patient', id: randomUUID() }));
  assert.equal(missing.status, 404);
});

test('search finds what was created, as a valid searchset Bundle', async () => {
  const family = uniqueFamily();
  const ids = [];
  for (const given of ['Ann', 'Bo', 'Cy']) {
    const p = await client.create({ resourceType: 'Patient', body: { resourceType: 'Patient', name: [{ family, given: [given] }] } });
    ids.push(p.id);
  }
  await client.create({ resourceType: 'Patient', body: { resourceType: 'Patient', name: [{ family: uniqueFamily() }] } });

  const bundle = await client.search({ resourceType: 'Patient', searchParams: { family } });
  assertValidFhir(bundle);
  assert.equal(bundle.type, 'searchset');
  const found = (bundle.entry || []).map((e) => e.resource.id).sort();
  assert.deepEqual(found, [...ids].sort());
  if (bundle.total !== undefined) assert.equal(bundle.total, 3);
  for (const e of bundle.entry) {
    assert.equal(e.fullUrl, `${srv.fhirBase}/Patient/${e.resource.id}`);
    if (e.search) assert.equal(e.search.mode, 'match');
  }

  const byId = await client.search({ resourceType: 'Patient', searchParams: { _id: ids[1] } });
  assertValidFhir(byId);
  assert.deepEqual(byId.entry.map((e) => e.resource.id), [ids[1]]);

  const none = await client.search({ resourceType: 'Patient', searchParams: { family: uniqueFamily() } });
  assertValidFhir(none);
  assert.equal((none.entry || []).length, 0);
});

test('history lists every version, newest first, including the deletion', async () => {
  const family = uniqueFamily();
  const created = await client.create({ resourceType: 'Patient', body: { resourceType: 'Patient', name: [{ family }] } });
  await client.update({ resourceType: 'Patient', id: created.id, body: { ...created, active: false } });
  await client.delete({ resourceType: 'Patient', id: created.id });

  const history = await client.history({ resourceType: 'Patient', id: created.id });
  assertValidFhir(history);
  assert.equal(history.type, 'history');
  const entries = history.entry || [];
  assert.deepEqual(entries.map((e) => e.request?.method), ['DELETE', 'PUT', 'POST']);
  assert.equal(entries[0].resource, undefined, 'a deletion has no resource');
  assert.deepEqual(entries.slice(1).map((e) => e.resource.meta.versionId), ['2', '1']);
  assert.equal(entries[1].resource.active, false);
  for (const e of entries) assert.ok(e.response?.status, 'each history entry has a response');

  const typeHistory = await client.history({ resourceType: 'Patient' });
  assertValidFhir(typeHistory);
  assert.ok((typeHistory.entry || []).some((e) => e.resource?.id === created.id && e.resource.meta.versionId === '2'));

  const systemHistory = await client.history();
  assertValidFhir(systemHistory);
  assert.ok((systemHistory.entry || []).some((e) => e.fullUrl === `${srv.fhirBase}/Patient/${created.id}`));
});

test('a transaction with urn:uuid references creates both and resolves the reference', async () => {
  const patientUrn = `urn:uuid:${randomUUID()}`;
  const family = uniqueFamily();
  const response = await client.transaction({
    body: {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: `urn:uuid:${randomUUID()}`,
          resource: {
            resourceType: 'Observation',
            status: 'final',
            code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
            subject: { reference: patientUrn },
            valueQuantity: { value: 72, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
          },
          request: { method: 'POST', url: 'Observation' },
        },
        {
          fullUrl: patientUrn,
          resource: { resourceType: 'Patient', name: [{ family }] },
          request: { method: 'POST', url: 'Patient' },
        },
      ],
    },
  });
  assertValidFhir(response);
  assert.equal(httpOf(response).status, 200);
  assert.equal(response.type, 'transaction-response');
  assert.equal(response.entry.length, 2);
  const locations = response.entry.map((e) => {
    assert.match(e.response.status, /^201/);
    const m = e.response.location.match(/(?:^|\/)(Observation|Patient)\/([^/]+)\/_history\/1$/);
    assert.ok(m, `location ${e.response.location}`);
    return { type: m[1], id: m[2] };
  });
  assert.deepEqual(locations.map((l) => l.type), ['Observation', 'Patient'], 'entries answer in request order');

  const patient = await client.read({ resourceType: 'Patient', id: locations[1].id });
  assertValidFhir(patient);
  assert.deepEqual(patient.name, [{ family }]);
  const observation = await client.read({ resourceType: 'Observation', id: locations[0].id });
  assertValidFhir(observation);
  assert.equal(observation.subject.reference, `Patient/${patient.id}`);

  const found = await client.search({ resourceType: 'Observation', searchParams: { subject: `Patient/${patient.id}` } });
  assertValidFhir(found);
  assert.deepEqual(found.entry.map((e) => e.resource.id), [observation.id]);
});
