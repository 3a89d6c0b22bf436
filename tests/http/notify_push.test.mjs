// notify_push.test.mjs - the notification long poll (GET /notifications?wait=N&since=C,
// docs/coordination.md) on the real binary with auth on:
//  - a waiting poll is answered by a notice that a write through another client
//    creates for the caller (not by the end of its wait: a timed-out poll answers
//    an empty list, so a missing wake-up fails the test);
//  - a poll whose time runs out answers 200 with no notices and the same cursor;
//  - another user's notice neither answers nor reaches the caller's poll, and
//    another user's inbox is refused as without wait;
//  - beyond the waiter limit (--long-polls) a poll is refused with a 429
//    OperationOutcome naming `wait`, and other requests are served meanwhile
//    (with two polls parked on a server of two worker threads);
//  - a parked poll answers at shutdown, which stays clean;
//  - on PostgreSQL (SAMVERKA_TEST_BACKEND=postgres): a poll waiting on process B
//    is answered when a write through process A creates the caller's notice
//    (LISTEN/NOTIFY, docs/postgres.md).
// Whether a poll is waiting is read from GET /metrics (samverka_notification_waiters),
// so the writes come while the poll waits, not before it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKEND, startServer } from './lib/server.mjs';
import { startWorld, ref as R } from './lib/access_fixture.mjs';
import { ROLE_SYSTEM } from './lib/access_oracle.mjs';

const MUNI = 'Organization/push-kommune';
const role = (code) => [{ coding: [{ system: ROLE_SYSTEM, code }] }];
const resources = [
  { resourceType: 'Organization', id: 'push-kommune', name: 'Kommune' },
  { resourceType: 'PractitionerRole', id: 'push-nurse', active: true, organization: R(MUNI), code: role('home-care') },
  { resourceType: 'PractitionerRole', id: 'push-social', active: true, organization: R(MUNI), code: role('social-worker') },
  { resourceType: 'Patient', id: 'push-lars', name: [{ family: 'Larsen', given: ['Lars'] }], managingOrganization: R(MUNI) },
];
const users = [
  { username: 'push-nurse', kind: 'practitioner', role: 'push-nurse' },
  { username: 'push-social', kind: 'practitioner', role: 'push-social' },
];
// at most 2 long polls wait at once; 2 workers, so waiting must not hold them
const serverArgs = ['--watchdog', '0', '--threads', '2', '--long-polls', '2'];
const NURSE = '/notifications?recipient=PractitionerRole/push-nurse';
const SOCIAL = '/notifications?recipient=PractitionerRole/push-social';

let w;
let B; // a second process on the same database (PostgreSQL only)
before(async () => {
  w = await startWorld({ users, resources, prefix: 'samverka-push-', serverArgs });
  if (BACKEND === 'postgres') B = await startServer({ dir: w.dir, db: w.dbPath, args: ['--auth', 'on', ...serverArgs] });
});
after(async () => {
  if (B) await B.stop();
  if (w) await w.stop();
});

async function waiters(srv) {
  const res = await srv.fetch('/metrics');
  assert.equal(res.status, 200);
  const m = res.text.match(/^samverka_notification_waiters (\d+)/m);
  assert.ok(m, 'samverka_notification_waiters in /metrics');
  return Number(m[1]);
}

// Resolves once n polls wait in srv (each check is one request; no sleeping).
async function untilWaiting(srv, n) {
  for (let i = 0; i < 2000; i++) {
    if ((await waiters(srv)) === n) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.fail(`${n} long polls never waited`);
}

async function cursorOf(user, inbox, srv = w.srv) {
  const res = await w.as(user, srv).get(inbox);
  assert.equal(res.status, 200, res.text);
  assert.match(res.json.cursor, /^\d+$/);
  return res.json.cursor;
}

async function taskFor(owner, description, srv = w.srv) {
  const res = await w.as('loader', srv).post('/fhir/Task', {
    resourceType: 'Task', status: 'requested', intent: 'order', description,
    for: R('Patient/push-lars'), owner: R(owner),
  });
  assert.equal(res.status, 201, res.text);
  return `Task/${res.json.id}`;
}

test('a waiting poll is answered by the notice a write through another client creates', async () => {
  const since = await cursorOf('push-nurse', NURSE);
  const poll = w.as('push-nurse').get(`${NURSE}&wait=60&since=${since}`);
  await untilWaiting(w.srv, 1);
  const focus = await taskFor('PractitionerRole/push-nurse', 'visit Lars');
  const res = await poll;
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json.notifications.map((n) => [n.kind, n.focus.reference]), [['task-new', focus]]);
  assert.ok(Number(res.json.cursor) > Number(since), 'the cursor moves past the notice');
  // with the new cursor, nothing is new: the notice is not answered twice
  const again = await w.as('push-nurse').get(`${NURSE}&wait=0&since=${res.json.cursor}`);
  assert.deepEqual(again.json.notifications, []);
  // an unread notice newer than the cursor answers at once (without waiting)
  const old = await w.as('push-nurse').get(`${NURSE}&wait=60&since=${since}`);
  assert.deepEqual(old.json.notifications.map((n) => n.focus.reference), [focus]);
});

test('a poll whose time runs out answers no notices and the same cursor', async () => {
  const since = await cursorOf('push-nurse', NURSE);
  const res = await w.as('push-nurse').get(`${NURSE}&wait=1&since=${since}`);
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json.notifications, []);
  assert.equal(res.json.cursor, since);
});

test("another user's notice neither answers nor reaches the caller's poll", async () => {
  const since = await cursorOf('push-nurse', NURSE);
  const poll = w.as('push-nurse').get(`${NURSE}&wait=2&since=${since}`);
  await untilWaiting(w.srv, 1);
  const focus = await taskFor('PractitionerRole/push-social', 'for the social worker');
  const res = await poll;
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json.notifications, [], 'the poll answered with a notice of another user');
  assert.equal(res.json.cursor, since);
  // the notice is the social worker's, and their inbox is not the nurse's to wait on
  const theirs = await w.as('push-social').get(`${SOCIAL}&wait=0`);
  assert.ok(theirs.json.notifications.some((n) => n.focus.reference === focus));
  const refused = await w.as('push-nurse').get(`${SOCIAL}&wait=1`);
  assert.equal(refused.status, 403, refused.text);
  assert.equal(refused.json.resourceType, 'OperationOutcome');
});

test('parameters of the long poll are checked', async () => {
  for (const [query, expression] of [['wait=61', 'wait'], ['wait=-1', 'wait'], ['wait=x', 'wait'],
    ['since=abc', 'since'], ['wait=1&unread=false', 'unread']]) {
    const res = await w.as('push-nurse').get(`${NURSE}&${query}`);
    assert.equal(res.status, 400, `${query}: ${res.text}`);
    assert.equal(res.json.resourceType, 'OperationOutcome');
    assert.deepEqual(res.json.issue[0].expression, [expression], query);
  }
});

test('beyond the waiter limit a poll is refused with a 429 OperationOutcome', async () => {
  const nurseSince = await cursorOf('push-nurse', NURSE);
  const socialSince = await cursorOf('push-social', SOCIAL);
  const polls = [
    w.as('push-nurse').get(`${NURSE}&wait=60&since=${nurseSince}`),
    w.as('push-social').get(`${SOCIAL}&wait=60&since=${socialSince}`),
  ];
  await untilWaiting(w.srv, 2);
  const refused = await w.as('push-nurse').get(`${NURSE}&wait=60&since=${nurseSince}`);
  assert.equal(refused.status, 429, refused.text);
  assert.equal(refused.json.resourceType, 'OperationOutcome');
  assert.deepEqual(refused.json.issue[0].expression, ['wait']);
  assert.equal(refused.headers.get('retry-after'), '1');
  // other requests are still served while both wait
  assert.equal((await w.as('loader').get('/fhir/Patient/push-lars')).status, 200);
  await taskFor('PractitionerRole/push-nurse', 'wake the nurse');
  await taskFor('PractitionerRole/push-social', 'wake the social worker');
  for (const res of await Promise.all(polls)) {
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.notifications.length, 1);
  }
  assert.equal(await waiters(w.srv), 0);
});

test('on PostgreSQL a poll waiting on process B is answered by a write through process A',
  { skip: BACKEND === 'postgres' ? false : 'needs PostgreSQL: two processes share a database only there' }, async () => {
    const since = await cursorOf('push-nurse', NURSE, B);
    const poll = w.as('push-nurse', B).get(`${NURSE}&wait=60&since=${since}`);
    await untilWaiting(B, 1);
    const focus = await taskFor('PractitionerRole/push-nurse', 'through A', w.srv);
    const res = await poll;
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json.notifications.map((n) => n.focus.reference), [focus]);
  });

test('a parked poll answers (empty) when the server stops, and the server exits cleanly', async () => {
  const srv = await startServer({ args: ['--watchdog', '0'] });
  try {
    const poll = srv.fetch('/notifications?recipient=Patient/nobody&wait=60&since=0');
    await untilWaiting(srv, 1);
    const exit = srv.stop();
    const res = await poll;
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json.notifications, []);
    assert.deepEqual(await exit, { code: 0, signal: null }, srv.stderr().slice(-2000));
  } finally {
    srv.cleanup();
  }
});
