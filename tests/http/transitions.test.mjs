// transitions.test.mjs - hospital stays over HTTP on the real binary with the
// test clock (--test-endpoints on): a Swedish discharge (inskrivningsmeddelande,
// discharge-ready, SIP meeting called, the municipality's payment responsibility
// counted in calendar days across Easter, discharged) with every deadline
// checked, and a Danish admission and discharge through MedCom with the 7-day
// rehabilitation start tracked to overdue and escalation.  docs/transitions.md.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, ROOT } from './lib/server.mjs';

const SYS = 'http://samverka.org/fhir/';
const IMP = { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' };
let srv;

before(async () => {
  srv = await startServer({ args: ['--watchdog', '0', '--test-endpoints', 'on'] });
});
after(async () => { await srv.stop(); srv.cleanup(); });

const put = async (r) => {
  const res = await srv.fetch(`/fhir/${r.resourceType}/${r.id}`, { method: 'PUT', json: r });
  assert.ok(res.status === 200 || res.status === 201, `${r.resourceType}/${r.id}: ${res.text}`);
  return res;
};
const clock = (now) => srv.fetch('/admin/clock', { method: 'POST', json: { now },
  headers: { 'Content-Type': 'application/json' } });
const tick = async () => (await srv.fetch('/admin/watchdog/tick', { method: 'POST' })).json;
const inbox = async (q) => (await srv.fetch(`/notifications?${q}&_count=500`)).json.notifications;
const kinds = async (q) => (await inbox(q)).map((n) => n.kind);
async function task(patient, code) {
  const res = await srv.fetch(`/fhir/Task?patient=${patient}&code=${SYS}CodeSystem/stay-task|${code}`);
  assert.equal(res.status, 200);
  assert.equal(res.json.total ?? res.json.entry?.length ?? 0, 1, `one ${code} task`);
  return res.json.entry[0].resource;
}
const deadline = (t) => t.restriction.period.end;
const board = async (org) => {
  const res = await srv.fetch(`/fhir/Organization/${org}/$discharge-board`);
  assert.equal(res.status, 200, res.text);
  return res.json;
};

test('a Swedish discharge: every deadline of Lag 2017:612 with the test clock', async () => {
  await clock('2026-03-30T08:00:00Z'); // Monday 10:00 in Malmö
  await put({ resourceType: 'Organization', id: 'se-sus', name: 'SUS Malmö',
    identifier: [{ system: 'urn:oid:1.2.752.29.4.19', value: 'SE2321000255-0002' }] });
  await put({ resourceType: 'Organization', id: 'se-malmo', name: 'Malmö stad',
    identifier: [{ system: `${SYS}sid/se-municipality-code`, value: '1280' }] });
  await put({ resourceType: 'Organization', id: 'se-vc', name: 'Vårdcentralen' });
  await put({ resourceType: 'PractitionerRole', id: 'se-vc-lead', organization: { reference: 'Organization/se-vc' },
    code: [{ coding: [{ system: `${SYS}CodeSystem/staff-role`, code: 'lead' }] }] });
  await put({ resourceType: 'Patient', id: 'bengt', name: [{ family: 'Nilsson', given: ['Bengt'] }],
    managingOrganization: { reference: 'Organization/se-malmo' },
    generalPractitioner: [{ reference: 'Organization/se-vc' }] });
  const stay = { resourceType: 'Encounter', id: 'bengt-stay', status: 'in-progress', class: IMP,
    subject: { reference: 'Patient/bengt' }, serviceProvider: { reference: 'Organization/se-sus' },
    period: { start: '2026-03-30T10:00:00+02:00' },
    extension: [{ url: `${SYS}StructureDefinition/expected-discharge`, valueDate: '2026-04-06' }] };
  await put(stay);

  // inskrivningsmeddelande: at admission (well within 24 h), with the expected date
  let n = await inbox('organization=Organization/se-malmo');
  assert.deepEqual(n.map((x) => x.kind), ['stay-admitted']);
  assert.equal(n[0].created, '2026-03-30T08:00:00.000Z');
  assert.match(n[0].text, /expected discharge 2026-04-06/);
  assert.deepEqual(await kinds('organization=Organization/se-vc'), ['task-new', 'stay-admitted']);
  // the date was given: no task to give it; primary care names the fast vårdkontakt
  let res = await srv.fetch(`/fhir/Task?patient=Patient/bengt&code=${SYS}CodeSystem/stay-task|se-expected-discharge-date`);
  assert.equal(res.json.entry?.length ?? 0, 0);
  const contact = await task('Patient/bengt', 'se-fast-vardkontakt');
  assert.equal(contact.owner.reference, 'Organization/se-vc');
  assert.equal(deadline(contact), '2026-03-31T10:00:00.000+02:00');

  // Skärtorsdag 10:00: discharge-ready
  await clock('2026-04-02T08:00:00Z');
  stay.extension.push({ url: `${SYS}StructureDefinition/discharge-ready`, extension: [
    { url: 'time', valueDateTime: '2026-04-02T10:00:00+02:00' }, { url: 'expectedDischarge', valueDate: '2026-04-07' }] });
  await put(stay);
  assert.equal((await kinds('organization=Organization/se-malmo'))[0], 'task-new');
  assert.ok((await kinds('organization=Organization/se-malmo')).includes('stay-discharge-ready'));
  const sip = await task('Patient/bengt', 'se-sip-meeting');
  assert.equal(sip.owner.reference, 'Organization/se-vc');
  assert.equal(deadline(sip), '2026-04-05T10:00:00.000+02:00'); // 3 days, unconfirmed start
  const reception = await task('Patient/bengt', 'se-municipal-reception');
  assert.equal(reception.owner.reference, 'Organization/se-malmo');
  assert.equal(deadline(reception), '2026-04-05T00:00:00.000+02:00'); // Easter Sunday counts

  // the fast vårdkontakt was not named by Tuesday: overdue, not silent
  let t = await tick();
  assert.equal(t.overdue, 1);
  assert.equal((await task('Patient/bengt', 'se-fast-vardkontakt')).businessStatus.coding[0].code, 'overdue');
  assert.ok((await kinds('recipient=PractitionerRole/se-vc-lead')).includes('task-escalated'));

  let b = await board('se-malmo');
  assert.equal(b.total, 1);
  let entry = b.entries[0];
  assert.equal(entry.patient.display, 'Bengt Nilsson');
  assert.equal(entry.dischargeReady, '2026-04-02T10:00:00.000+02:00');
  assert.equal(entry.expectedDischarge, '2026-04-07');
  assert.deepEqual(entry.payment.daysLeft, 3);
  assert.equal(entry.payment.from, '2026-04-05T00:00:00.000+02:00');
  assert.equal(entry.payment.confirmed, false);
  assert.deepEqual(entry.missing.map((m) => m.code).sort(),
    ['se-fast-vardkontakt', 'se-municipal-reception', 'se-sip-meeting']);
  assert.equal(entry.missing.find((m) => m.code === 'se-fast-vardkontakt').overdue, true);

  // Långfredag: the SIP meeting is called
  await clock('2026-04-03T09:00:00Z');
  await put({ resourceType: 'CarePlan', id: 'bengt-sip', status: 'active', intent: 'plan',
    category: [{ coding: [{ system: `${SYS}CodeSystem/careplan-category`, code: 'sip' }] }],
    subject: { reference: 'Patient/bengt' },
    contributor: [{ reference: 'Organization/se-malmo' }, { reference: 'Organization/se-vc' }],
    extension: [{ url: `${SYS}StructureDefinition/sip-step`, valueCode: 'call' }] });
  assert.equal((await task('Patient/bengt', 'se-sip-meeting')).status, 'completed');
  b = await board('se-malmo');
  assert.deepEqual(b.entries[0].ready.map((r) => r.code), ['se-sip-meeting']);
  assert.equal(b.entries[0].payment.daysLeft, 2); // Saturday and Sunday are days too

  // Easter Sunday 00:00: the payment responsibility starts; the reception is overdue
  await clock('2026-04-04T22:00:00Z');
  t = await tick();
  assert.equal(t.overdue, 1);
  assert.ok((await kinds('organization=Organization/se-malmo')).includes('task-overdue'));
  b = await board('se-malmo');
  assert.equal(b.entries[0].payment.daysLeft, 0);
  assert.equal(b.entries[0].payment.payingDays, 1);
  // Annandag påsk: the second paying day
  await clock('2026-04-06T08:00:00Z');
  assert.equal((await board('se-malmo')).entries[0].payment.payingDays, 2);

  // discharged home on Monday
  delete stay.extension;
  Object.assign(stay, { status: 'finished', period: { start: '2026-03-30T10:00:00+02:00', end: '2026-04-06T10:00:00+02:00' },
    hospitalization: { dischargeDisposition: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/discharge-disposition', code: 'home' }] } } });
  await put(stay);
  n = await inbox('organization=Organization/se-malmo');
  assert.equal(n[0].kind, 'stay-discharged');
  assert.match(n[0].text, /discharged \(inpatient\) at Organization\/se-sus to home/);
  assert.equal((await task('Patient/bengt', 'se-municipal-reception')).status, 'completed');
  assert.equal((await board('se-malmo')).total, 0);
  // nothing left for the watchdog to find about this stay but the open contact task
  t = await tick();
  assert.equal(t.failed, 0);
});

test('a Danish stay through MedCom: notified, discharged, rehabilitation within 7 days', async () => {
  await clock('2026-01-05T08:00:00Z');
  await put({ resourceType: 'Organization', id: 'dk-morso', name: 'Morsø Kommune',
    identifier: [{ system: `${SYS}sid/dk-municipality-code`, value: '773' }] });
  await put({ resourceType: 'PractitionerRole', id: 'dk-morso-lead', organization: { reference: 'Organization/dk-morso' },
    code: [{ coding: [{ system: `${SYS}CodeSystem/staff-role`, code: 'lead' }] }] });
  // the citizen of the MedCom test messages, known here with her home municipality
  await put({ resourceType: 'Patient', id: 'pa', identifier: [{ system: 'urn:oid:1.2.208.176.1.2', value: '0101401234' }],
    managingOrganization: { reference: 'Organization/dk-morso' } });
  const send = async (name, edit = (b) => b) => {
    const bundle = JSON.parse(readFileSync(join(ROOT, 'tests', 'data', 'medcom', name), 'utf8'));
    const res = await srv.fetch('/fhir/$process-message', { method: 'POST',
      body: JSON.stringify(edit(bundle)), headers: { 'Content-Type': 'application/fhir+json' } });
    assert.equal(res.headers.get('x-medcom-acknowledgement'), 'ok', res.text);
  };
  // the hospital asks for the admission report (MessageHeader.extension:reportOfAdmissionFlag)
  await send('a1_stin.json', (b) => {
    const header = b.entry[0].resource;
    assert.equal(header.resourceType, 'MessageHeader');
    header.extension = [...(header.extension || []), { url:
      'http://medcomfhir.dk/ig/hospitalnotification/StructureDefinition/medcom-messaging-reportOfAdmissionExtension',
    valueBoolean: true }];
    return b;
  });
  let n = await inbox('organization=Organization/dk-morso');
  assert.deepEqual(n.map((x) => x.kind), ['task-new', 'stay-admitted']);
  assert.match(n[1].text, /admitted \(inpatient\)/);
  const report = await task('Patient/pa', 'dk-admission-report');
  assert.equal(report.owner.reference, 'Organization/dk-morso');
  assert.equal(report.status, 'requested');
  // 24 h from the admission (Encounter.period.start 2026-01-05T10:00:00+01:00)
  assert.equal(Date.parse(deadline(report)), Date.parse('2026-01-06T10:00:00+01:00'));
  assert.equal((await tick()).stayEvents, 0); // acted on once, with the message

  await put({ resourceType: 'CarePlan', id: 'pa-gop', status: 'active', intent: 'plan',
    category: [{ coding: [{ system: `${SYS}CodeSystem/careplan-category`, code: 'rehabilitation' }] }],
    subject: { reference: 'Patient/pa' } });
  await clock('2026-01-09T10:05:00Z');
  await send('a5_slhj.json'); // discharged Friday 9 January 11:00
  assert.equal((await inbox('organization=Organization/dk-morso'))[0].kind, 'task-new');
  assert.ok((await kinds('organization=Organization/dk-morso')).includes('stay-discharged'));
  assert.equal((await task('Patient/pa', 'dk-admission-report')).status, 'completed'); // moot after discharge
  const rehab = await task('Patient/pa', 'dk-rehabilitation-start');
  assert.equal(rehab.owner.reference, 'Organization/dk-morso');
  assert.equal(deadline(rehab), '2026-01-16T23:59:59.999+01:00');
  const rule = rehab.extension.find((e) => e.url === `${SYS}StructureDefinition/stay-rule`);
  assert.deepEqual(rule.extension.map((e) => e.url), ['ruleset', 'rule', 'confirmed', 'source']);
  assert.equal(rule.extension[3].valueUri, 'https://www.retsinformation.dk/eli/lta/2023/1011');

  // a day before: reminded; at the end of the 7th day: overdue and escalated
  await clock('2026-01-15T23:00:00Z');
  assert.equal((await tick()).reminders, 1);
  await clock('2026-01-16T23:00:00Z');
  const t = await tick();
  assert.equal(t.overdue, 1);
  assert.ok((await kinds('recipient=PractitionerRole/dk-morso-lead')).includes('task-escalated'));
  assert.equal((await task('Patient/pa', 'dk-rehabilitation-start')).businessStatus.coding[0].code, 'overdue');
});

test('the board: unknown organisation, parameters, method', async () => {
  let res = await srv.fetch('/fhir/Organization/nope/$discharge-board');
  assert.equal(res.status, 404);
  assert.equal(res.json.resourceType, 'OperationOutcome');
  res = await srv.fetch('/fhir/Organization/se-malmo/$discharge-board?x=1');
  assert.equal(res.status, 400);
  assert.deepEqual(res.json.issue[0].expression, ['x']);
  res = await srv.fetch('/fhir/Organization/se-malmo/$discharge-board', { method: 'POST', json: {} });
  assert.equal(res.status, 405);
});
