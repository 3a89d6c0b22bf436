// medcom_batch.test.mjs - messages that arrive together share one write transaction
// (docs/medcom.md "Group commit"); a message refused for its content after it had
// written (here: a new citizen created, then the stay found to belong to another
// CPR-nummer) must leave nothing behind, wherever it was in its transaction (the
// transaction is undone and the others applied again without it), and the others must
// keep everything.  Which messages share a
// transaction depends on timing; what is asserted holds for every grouping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, ROOT } from './lib/server.mjs';

const template = JSON.stringify(
  JSON.parse(readFileSync(join(ROOT, 'tests', 'data', 'medcom', 'a1_stin.json'), 'utf8')),
);
const CPR_SYSTEM = 'urn:oid:1.2.208.176.1.2';

// An admission: message n, stay episode, citizen with CPR 010140 + serial (even: female).
function admission(n, episode, serial) {
  return template
    .replaceAll('a0000000-0000-4000-8000-000000000001', `a0000000-0000-4000-8000-${String(n).padStart(12, '0')}`)
    .replaceAll('episode-A', episode)
    .replaceAll('0101401234', `010140${serial}`);
}

async function post(srv, body) {
  const res = await srv.fetch('/fhir/$process-message', {
    method: 'POST', body, headers: { 'Content-Type': 'application/fhir+json' },
  });
  assert.equal(res.status, 200, res.text);
  return res;
}

const code = (res) => res.json.entry[0].resource.response.code;

async function count(srv, path) {
  const res = await srv.fetch(path);
  assert.equal(res.status, 200, res.text);
  return res.json.total;
}

test('$process-message: a refusal after writes leaves nothing, alone or in a batch', async () => {
  const srv = await startServer();
  try {
    const first = await post(srv, admission(1, 'episode-0', '1200'));
    assert.equal(code(first), 'ok');

    // alone: the stay episode-0 is 1200's; 1202 is created, then refused
    const alone = await post(srv, admission(2, 'episode-0', '1202'));
    assert.equal(code(alone), 'fatal-error');
    assert.match(JSON.stringify(alone.json), /does not match the citizen of this stay/);
    assert.equal(await count(srv, `/fhir/Patient?identifier=${CPR_SYSTEM}|0101401202`), 0);

    let next = 10;
    let serial = 1210;
    for (let round = 0; round < 4; round++) {
      const sends = [];
      const good = [];
      for (let i = 0; i < 6; i++) {
        const s = String(serial);
        serial += 2;
        good.push(s);
        sends.push(post(srv, admission(next++, `episode-${round}-${i}`, s)));
      }
      const refused = String(serial);
      serial += 2;
      sends.splice(3, 0, post(srv, admission(next++, 'episode-0', refused)));
      sends.push(post(srv, admission(1, 'episode-0', '1200'))); // the first message again
      const answers = await Promise.all(sends);
      const duplicate = answers.pop();
      const [bad] = answers.splice(3, 1);
      assert.equal(code(bad), 'fatal-error');
      assert.equal(duplicate.text, first.text);
      assert.equal(duplicate.headers.get('x-medcom-duplicate'), 'true');
      for (const a of answers) assert.equal(code(a), 'ok');
      assert.equal(await count(srv, `/fhir/Patient?identifier=${CPR_SYSTEM}|010140${refused}`), 0);
      for (const s of good)
        assert.equal(await count(srv, `/fhir/Patient?identifier=${CPR_SYSTEM}|010140${s}`), 1);
    }
    // 1 + 4 x 6 citizens and stays; the refused ones left no Patient, no Encounter
    assert.equal(await count(srv, '/fhir/Patient'), 25);
    assert.equal(await count(srv, '/fhir/Encounter'), 25);

    // The writer's counters in /metrics: every message (34, duplicates and refusals too)
    // was applied in one of its batches, and the five refused ones are counted.
    const metrics = await srv.fetch('/metrics');
    assert.equal(metrics.status, 200);
    const metric = (name) => {
      const m = metrics.text.match(new RegExp(`^${name} (\\d+)$`, 'm'));
      assert.ok(m, `${name} in /metrics`);
      return Number(m[1]);
    };
    const batches = metric('samverka_medcom_batches_total');
    assert.equal(metric('samverka_medcom_batch_messages_total'), 34);
    assert.ok(batches >= 1 && batches <= 34, `${batches} batches`);
    assert.equal(metric('samverka_medcom_refusals_total'), 5);
  } finally {
    await srv.stop();
  }
});

