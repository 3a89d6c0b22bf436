// coord_sip.test.mjs - the SIP meeting and the citizen's reminders over HTTP
// on the real binary (issue 5): an Appointment linked to a plan tells its
// participants and moves the plan's SIP step forward, never back; reminders
// of the citizen's own activities are jobs in the database, so a restart in
// between loses none, and they reach the citizen's inbox.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';

const SYS = 'http://samverka.org/fhir/';
const ARGS = ['--watchdog', '0', '--test-endpoints', 'on'];
let srv;
before(async () => { srv = await startServer({ args: ARGS }); });
// A clean exit is part of the test: under ASan a leak at shutdown fails it.
after(async () => {
  const exit = await srv.stop();
  srv.cleanup();
  assert.deepEqual(exit, { code: 0, signal: null }, srv.stderr().slice(-3000));
});

const put = (r) => srv.fetch(`/fhir/${r.resourceType}/${r.id}`, { method: 'PUT', json: r });
const clock = (now) => srv.fetch('/admin/clock', { method: 'POST', json: { now }, headers: { 'Content-Type': 'application/json' } });
const tick = async () => (await srv.fetch('/admin/watchdog/tick', { method: 'POST' })).json;
const inbox = async (q) => (await srv.fetch(`/notifications?${q}&_count=500`)).json.notifications;
const step = (p) => p.extension?.find((e) => e.url === `${SYS}StructureDefinition/sip-step`)?.valueCode;
const R = (reference) => ({ reference });

const plan = {
  resourceType: 'CarePlan', id: 'sip1', status: 'active', intent: 'plan', title: 'Bengts SIP',
  category: [{ coding: [{ system: `${SYS}CodeSystem/careplan-category`, code: 'sip' }] }],
  subject: R('Patient/bengt'), contributor: [R('Organization/hospital'), R('Organization/malmo')],
  activity: [{ detail: { status: 'scheduled', description: 'walk to the post box', performer: [R('Patient/bengt')],
    scheduledTiming: { repeat: { periodUnit: 'd', timeOfDay: ['10:00:00'] } } } }],
};

test('a SIP meeting tells its participants and moves the plan forward', async () => {
  assert.equal((await clock('2026-03-02T08:00:00Z')).status, 200);
  for (const r of [
    { resourceType: 'Patient', id: 'bengt', name: [{ family: 'Olsson', given: ['Bengt'] }] },
    { resourceType: 'Organization', id: 'hospital', name: 'SUS Malmö' },
    { resourceType: 'Organization', id: 'malmo', name: 'Malmö stad' },
    { resourceType: 'PractitionerRole', id: 'eva', organization: R('Organization/hospital') },
    { resourceType: 'PractitionerRole', id: 'johan', organization: R('Organization/malmo') },
    plan,
  ]) assert.ok((await put(r)).status < 300);
  const meeting = { resourceType: 'Appointment', id: 'm1', status: 'booked', description: 'SIP-möte',
    start: '2026-03-04T09:00:00Z', end: '2026-03-04T10:00:00Z', supportingInformation: [R('CarePlan/sip1')],
    participant: [{ actor: R('PractitionerRole/eva'), status: 'accepted' }, { actor: R('PractitionerRole/johan'), status: 'needs-action' },
      { actor: R('Patient/bengt'), status: 'needs-action' }] };
  let res = await put({ ...meeting, id: 'm0', supportingInformation: [R('CarePlan/none')] });
  assert.equal(res.status, 422);
  assert.deepEqual(res.json.issue[0].expression, ['Appointment.supportingInformation[0]']);
  assert.equal((await put(meeting)).status, 201);
  for (const q of ['recipient=PractitionerRole/johan', 'organization=Organization/malmo', 'recipient=Patient/bengt', 'recipient=PractitionerRole/eva'])
    assert.deepEqual((await inbox(q)).filter((n) => n.kind.startsWith('meeting')).map((n) => [n.kind, n.focus.reference, n.subject.reference]),
      [['meeting-called', 'Appointment/m1', 'Patient/bengt']], q);
  res = await srv.fetch('/fhir/CarePlan/sip1');
  assert.equal(step(res.json), 'call');
  const v = res.json.meta.versionId;
  // moved: told again; the step stays
  assert.equal((await put({ ...meeting, start: '2026-03-05T09:00:00Z', end: '2026-03-05T10:00:00Z' })).status, 200);
  assert.equal((await inbox('recipient=Patient/bengt')).filter((n) => n.kind === 'meeting-changed').length, 1);
  assert.equal((await srv.fetch('/fhir/CarePlan/sip1')).json.meta.versionId, v);
  // held: the plan is made
  assert.equal((await put({ ...meeting, status: 'fulfilled' })).status, 200);
  res = await srv.fetch('/fhir/CarePlan/sip1');
  assert.equal(step(res.json), 'plan');
  // a step forward by hand, and none back
  assert.equal((await put({ ...res.json, meta: undefined, extension: [{ url: `${SYS}StructureDefinition/sip-step`, valueCode: 'evaluation' }] })).status, 200);
  res = await put({ ...plan, extension: [{ url: `${SYS}StructureDefinition/sip-step`, valueCode: 'needs' }] });
  assert.equal(res.status, 422);
  assert.deepEqual(res.json.issue[0].expression, ['CarePlan.extension']);
  res = await put(plan); // nor may the step be dropped
  assert.equal(res.status, 422);
});

test('citizen reminders survive a restart and reach the citizen', async () => {
  // The plan's walk is due at 10:00 local every day; the job was made when the
  // plan was written (Monday 09:00): Monday 10:00 = 09:00 UTC.
  await clock('2026-03-02T08:59:00Z');
  assert.equal((await tick()).citizenReminders, 0);
  await srv.restart();
  assert.equal((await clock('2026-03-02T09:00:00Z')).status, 200); // the clock is the process's
  const t = await tick();
  assert.equal(t.citizenReminders, 1);
  assert.equal((await tick()).citizenReminders, 0);
  const mine = (await inbox('recipient=Patient/bengt&unread=true')).filter((n) => n.kind === 'citizen-reminder');
  assert.deepEqual(mine.map((n) => [n.text, n.focus.reference]), [['walk to the post box', 'CarePlan/sip1']]);
  await clock('2026-03-03T09:00:00Z');
  assert.equal((await tick()).citizenReminders, 1);
  await clock(null);
});
