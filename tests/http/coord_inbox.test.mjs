// coord_inbox.test.mjs - coordination over HTTP on the real binary: a Task's
// refused transition is a 422 OperationOutcome naming Task.status; a deadline
// rule fills restriction.period.end; the test clock and one watchdog tick mark
// the task overdue and fill the inboxes; /notifications lists and marks; the
// admin endpoints exist only with --test-endpoints; $team and $diff answer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';

const SYS = 'http://samverka.org/fhir/';
let srv;

before(async () => {
  srv = await startServer({ args: ['--watchdog', '0', '--test-endpoints', 'on'] });
});
after(async () => { await srv.stop(); srv.cleanup(); });

const put = (r) => srv.fetch(`/fhir/${r.resourceType}/${r.id}`, { method: 'PUT', json: r });
const clock = (now) => srv.fetch('/admin/clock', { method: 'POST', json: { now }, headers: { 'Content-Type': 'application/json' } });

test('a task through its workflow, its deadline, overdue and the inbox', async () => {
  assert.equal((await clock('2026-03-27T10:00:00Z')).status, 200);
  await put({ resourceType: 'Patient', id: 'hanne', name: [{ family: 'Jensen', given: ['Hanne'] }] });
  await put({ resourceType: 'Organization', id: 'morso', name: 'Morsø Kommune' });
  await put({ resourceType: 'PractitionerRole', id: 'lead', organization: { reference: 'Organization/morso' },
    code: [{ coding: [{ system: `${SYS}CodeSystem/staff-role`, code: 'lead' }] }] });
  let res = await srv.fetch('/fhir/Task', { method: 'POST', json: {
    resourceType: 'Task', status: 'requested', intent: 'order', description: 'start rehabilitation',
    for: { reference: 'Patient/hanne' }, owner: { reference: 'Organization/morso' },
    extension: [{ url: `${SYS}StructureDefinition/deadline-rule`, extension: [
      { url: 'amount', valueInteger: 3 }, { url: 'unit', valueCode: 'working-days' }, { url: 'country', valueCode: 'DK' }] }],
  } });
  assert.equal(res.status, 201);
  const id = res.json.id;
  // Friday 11:00 local; the switch to summer time on Sunday; 3 working days later
  assert.equal(res.json.restriction.period.end, '2026-04-01T11:00:00.000+02:00');

  res = await srv.fetch(`/fhir/Task/${id}`, { method: 'PATCH', body: JSON.stringify([{ op: 'replace', path: '/status', value: 'completed' }]),
    headers: { 'Content-Type': 'application/json-patch+json' } });
  assert.equal(res.status, 422);
  assert.equal(res.json.resourceType, 'OperationOutcome');
  assert.deepEqual(res.json.issue[0].expression, ['Task.status']);

  res = await srv.fetch('/notifications?organization=Organization/morso&unread=true');
  assert.equal(res.status, 200);
  assert.equal(res.json.unread, 1);
  assert.equal(res.json.notifications[0].kind, 'task-new');
  assert.equal(res.json.notifications[0].focus.reference, `Task/${id}`);

  await clock('2026-04-01T09:00:00Z');
  res = await srv.fetch('/admin/watchdog/tick', { method: 'POST' });
  assert.equal(res.status, 200);
  assert.equal(res.json.overdue, 1);
  assert.equal(res.json.escalations, 1);
  res = await srv.fetch(`/fhir/Task/${id}`);
  assert.equal(res.json.businessStatus.coding[0].code, 'overdue');
  res = await srv.fetch('/admin/watchdog/tick', { method: 'POST' });
  assert.equal(res.json.jobs, 0);

  res = await srv.fetch('/notifications?recipient=PractitionerRole/lead');
  assert.deepEqual(res.json.notifications.map((n) => n.kind), ['task-escalated']);
  const nid = res.json.notifications[0].id;
  assert.equal((await srv.fetch(`/notifications/${nid}/read`, { method: 'POST' })).status, 200);
  res = await srv.fetch('/notifications?recipient=PractitionerRole/lead&unread=true');
  assert.equal(res.json.unread, 0);
  assert.equal(res.json.notifications.length, 0);

  res = await srv.fetch(`/fhir/Task/${id}/$diff?from=1&to=2`);
  assert.equal(res.status, 200);
  assert.deepEqual(res.json.changes.map((c) => c.path), ['Task.businessStatus']);
});

test('inbox errors are OperationOutcomes with the parameter', async () => {
  let res = await srv.fetch('/notifications');
  assert.equal(res.status, 400);
  assert.equal(res.json.resourceType, 'OperationOutcome');
  res = await srv.fetch('/notifications?recipient=nobody');
  assert.equal(res.status, 400);
  assert.deepEqual(res.json.issue[0].expression, ['recipient']);
  res = await srv.fetch('/notifications?recipient=Patient/x&unread=maybe');
  assert.deepEqual(res.json.issue[0].expression, ['unread']);
  res = await srv.fetch('/notifications/999999/read', { method: 'POST' });
  assert.equal(res.status, 404);
  assert.equal(res.json.resourceType, 'OperationOutcome');
  res = await srv.fetch('/fhir/Patient/nobody/$team');
  assert.equal(res.status, 404);
  assert.equal(res.json.resourceType, 'OperationOutcome');
});

test('the admin endpoints need --test-endpoints', async () => {
  const plain = await startServer({ args: ['--watchdog', '0'] });
  try {
    const res = await plain.fetch('/admin/watchdog/tick', { method: 'POST' });
    assert.equal(res.status, 404);
    assert.equal(res.json.resourceType, 'OperationOutcome');
  } finally { await plain.stop(); plain.cleanup(); }
});

test('$team: coordinator first, with who to call', async () => {
  await put({ resourceType: 'Practitioner', id: 'anne', name: [{ family: 'Mikkelsen', given: ['Anne'] }],
    telecom: [{ system: 'phone', value: '+45 87 00 00 11' }] });
  await put({ resourceType: 'Organization', id: 'ry', name: 'Sclerosehospitalet' });
  await put({ resourceType: 'PractitionerRole', id: 'anne-ry', practitioner: { reference: 'Practitioner/anne' }, organization: { reference: 'Organization/ry' } });
  const team = { resourceType: 'CareTeam', id: 'hanne-team', status: 'active',
    category: [{ coding: [{ system: `${SYS}CodeSystem/care-team-category`, code: 'coordination' }] }],
    subject: { reference: 'Patient/hanne' },
    participant: [
      { role: [{ text: 'municipal lead' }], member: { reference: 'PractitionerRole/lead' } },
      { role: [{ coding: [{ system: `${SYS}CodeSystem/care-team-role`, code: 'coordinator' }] }], member: { reference: 'PractitionerRole/anne-ry' } }] };
  let res = await put(team);
  assert.equal(res.status, 201);
  res = await srv.fetch('/fhir/Patient/hanne/$team');
  assert.equal(res.status, 200);
  assert.equal(res.json.members[0].member.reference, 'PractitionerRole/anne-ry');
  assert.equal(res.json.members[0].coordinator, true);
  assert.equal(res.json.members[0].telecom[0].value, '+45 87 00 00 11');
  assert.equal(res.json.members[0].organization.display, 'Sclerosehospitalet');
  // a second coordinator is refused
  team.participant[0].role = team.participant[1].role;
  res = await put(team);
  assert.equal(res.status, 422);
  assert.deepEqual(res.json.issue[0].expression, ['CareTeam.participant']);
});
