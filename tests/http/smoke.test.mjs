// smoke.test.mjs - the server starts, answers metadata, and stops cleanly on SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';

test('metadata is a CapabilityStatement and SIGTERM exits 0', async () => {
  const srv = await startServer();
  try {
    const res = await srv.fetch('/fhir/metadata');
    assert.equal(res.status, 200);
    assert.equal(res.json.resourceType, 'CapabilityStatement');
    assert.equal(res.json.fhirVersion, '4.0.1');
    const types = res.json.rest[0].resource.map((r) => r.type);
    assert.ok(types.includes('Patient') && types.includes('Task') && types.includes('CarePlan'));
    const exit = await srv.stop();
    assert.deepEqual(exit, { code: 0, signal: null });
  } finally {
    srv.cleanup();
  }
});
