// messaging.test.mjs - messages between organisations about one citizen
// (docs/messaging.md) on the real binary: a thread, reply, forward, read
// receipts, attachment types sniffed from the bytes and the size limit
// (--max-attachment), and the answer time: an unanswered message becomes a
// Task for the receiving organisation at the watchdog tick after its expected
// answer time (test clock), also across a restart; an answer settles it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';

const SYS = 'http://samverka.org/fhir/';
const MC = 'http://medcomfhir.dk/ig/core/StructureDefinition/';
const CAT = 'http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-careCommunication-categoryCodes';
const LIMIT = 2000; // --max-attachment
let srv;

const put = (r) => srv.fetch(`/fhir/${r.resourceType}/${r.id}`, { method: 'PUT', json: r });
const post = (path, json) => srv.fetch(path, { method: 'POST', json });
const clock = (now) => srv.fetch('/admin/clock', { method: 'POST', json: { now }, headers: { 'Content-Type': 'application/json' } });
const tick = async () => (await srv.fetch('/admin/watchdog/tick', { method: 'POST' })).json;
const ext = (p, url) => (p.extension || []).find((e) => e.url === url);
const params = (...parameter) => ({ resourceType: 'Parameters', parameter });
const b64 = (bytes) => Buffer.from(bytes).toString('base64');
const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13];
const JPEG = [0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46];
const PDF = Buffer.from('%PDF-1.4\n%\xe2\xe3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n', 'latin1');

before(async () => {
  srv = await startServer({ args: ['--watchdog', '0', '--test-endpoints', 'on', '--max-attachment', String(LIMIT)] });
  await clock('2026-03-06T08:00:00Z'); // a Friday
  for (const r of [
    { resourceType: 'Patient', id: 'gurli', name: [{ family: 'Hansen', given: ['Gurli'] }] },
    { resourceType: 'Patient', id: 'other', name: [{ family: 'Other' }] },
    { resourceType: 'Organization', id: 'hosp', name: 'Regionshospitalet Viborg' },
    { resourceType: 'Organization', id: 'home', name: 'Plejecenter Solbakken' },
    { resourceType: 'Organization', id: 'gp', name: 'Lægehuset' },
    { resourceType: 'Practitioner', id: 'p-doc', name: [{ given: ['Mette'], family: 'Lund' }] },
    { resourceType: 'PractitionerRole', id: 'doc', practitioner: { reference: 'Practitioner/p-doc' },
      organization: { reference: 'Organization/hosp' }, code: [{ text: 'Overlæge' }],
      telecom: [{ system: 'phone', value: '+45 78 44 00 00' }] },
    { resourceType: 'Practitioner', id: 'p-nurse', name: [{ given: ['Kim'], family: 'Berg' }],
      telecom: [{ system: 'phone', value: '+45 87 87 54 55' }] },
    { resourceType: 'PractitionerRole', id: 'nurse', practitioner: { reference: 'Practitioner/p-nurse' },
      organization: { reference: 'Organization/home' }, code: [{ text: 'Sygeplejerske' }] },
  ]) assert.equal((await put(r)).status < 300, true, r.id);
});
after(async () => { await srv.stop(); srv.cleanup(); });

const message = (over = {}) => ({
  resourceType: 'Communication', status: 'completed',
  category: [{ coding: [{ system: CAT, code: 'discharge' }] }],
  subject: { reference: 'Patient/gurli' }, topic: { text: 'Udskrivelse' },
  sender: { reference: 'Organization/hosp' }, recipient: [{ reference: 'Organization/home' }],
  payload: [{ contentString: 'Gurli udskrives i morgen.',
    extension: [{ url: `${MC}medcom-core-practitioner-extension`, valueReference: { reference: 'PractitionerRole/doc' } }] }],
  ...over,
});

let first, reply;

test('a new message: thread id, message id and time, author with name, title and phone', async () => {
  const res = await post('/fhir/Communication', message());
  assert.equal(res.status, 201, res.text);
  first = res.json;
  assert.match(first.identifier[0].value, /^urn:uuid:[0-9a-f-]{36}$/);
  const p0 = first.payload[0];
  assert.match(ext(p0, `${MC}medcom-core-identifier-extension`).valueIdentifier.value, /^urn:uuid:/);
  assert.equal(ext(p0, `${MC}medcom-core-datetime-extension`).valueDateTime, first.sent);
  assert.equal(ext(p0, `${MC}medcom-core-practitioner-extension`).valueReference.reference, '#author');
  assert.equal(ext(p0, `${MC}medcom-core-contact-extension`).valueContactPoint.value, '+45 78 44 00 00');
  const role = first.contained.find((c) => c.id === 'author');
  const person = first.contained.find((c) => c.id === 'author-person');
  assert.equal(role.code[0].text, 'Overlæge');
  assert.equal(person.name[0].family, 'Lund');
  const inbox = await srv.fetch('/notifications?organization=Organization/home');
  assert.equal(inbox.json.notifications[0].kind, 'message-received');
  assert.equal(inbox.json.notifications[0].focus.reference, `Communication/${first.id}`);
});

test('a message without author, text or one receiving organisation is refused with the path', async () => {
  const cases = [
    [message({ payload: [{ contentString: 'x' }] }), 'Communication.payload[0].extension'],
    [message({ payload: [{ contentAttachment: { contentType: 'application/pdf', data: b64(PDF) } }] }), 'Communication.payload[0].contentString'],
    [message({ recipient: [] }), 'Communication.recipient'],
    [message({ subject: { reference: 'Group/g' } }), 'Communication.subject'],
  ];
  for (const [body, path] of cases) {
    const res = await post('/fhir/Communication', body);
    assert.equal(res.status, 422, res.text);
    assert.equal(res.json.resourceType, 'OperationOutcome');
    assert.deepEqual(res.json.issue[0].expression, [path]);
  }
});

test('reply: the same thread, to the sender, inResponseTo the message', async () => {
  const res = await post(`/fhir/Communication/${first.id}/$reply`, params(
    { name: 'text', valueString: 'Modtaget, vi er klar.' },
    { name: 'author', valueReference: { reference: 'PractitionerRole/nurse' } }));
  assert.equal(res.status, 201, res.text);
  reply = res.json;
  assert.equal(reply.identifier[0].value, first.identifier[0].value);
  assert.deepEqual(reply.inResponseTo, [{ reference: `Communication/${first.id}` }]);
  assert.equal(reply.sender.reference, 'Organization/home');
  assert.deepEqual(reply.recipient, [{ reference: 'Organization/hosp' }]);
  // the nurse's phone comes from her Practitioner when the role has none
  assert.equal(ext(reply.payload[0], `${MC}medcom-core-contact-extension`).valueContactPoint.value, '+45 87 87 54 55');
  const thread = await srv.fetch(`/fhir/Communication?identifier=${encodeURIComponent(first.identifier[0].value)}`);
  assert.equal(thread.json.entry.length, 2);
  // a reply in another citizen's name never joins the thread
  const wrong = await post('/fhir/Communication', message({ subject: { reference: 'Patient/other' },
    inResponseTo: [{ reference: `Communication/${first.id}` }] }));
  assert.equal(wrong.status, 422);
  assert.deepEqual(wrong.json.issue[0].expression, ['Communication.inResponseTo[0]']);
});

test('forward: to a third organisation, in the thread, the original payloads and authors kept', async () => {
  const res = await post(`/fhir/Communication/${reply.id}/$forward`, params(
    { name: 'recipient', valueReference: { reference: 'Organization/gp' } },
    { name: 'text', valueString: 'Til orientering.' },
    { name: 'author', valueReference: { reference: 'PractitionerRole/nurse' } }));
  assert.equal(res.status, 201, res.text);
  const fwd = res.json;
  assert.equal(fwd.identifier[0].value, first.identifier[0].value);
  assert.deepEqual(fwd.partOf, [{ reference: `Communication/${reply.id}` }]);
  assert.deepEqual(fwd.recipient, [{ reference: 'Organization/gp' }]);
  assert.equal(fwd.payload[0].contentString, 'Til orientering.');
  assert.equal(fwd.payload[1].contentString, 'Modtaget, vi er klar.');
  assert.equal(ext(fwd.payload[1], `${MC}medcom-core-practitioner-extension`).valueReference.reference, '#fwd-author');
  assert.equal(fwd.contained.find((c) => c.id === 'fwd-author-person').name[0].family, 'Berg');
  // only a party of the message forwards it
  const res2 = await post(`/fhir/Communication/${reply.id}/$forward`, params(
    { name: 'recipient', valueReference: { reference: 'Organization/hosp' } },
    { name: 'sender', valueReference: { reference: 'Organization/gp' } },
    { name: 'author', valueReference: { reference: 'PractitionerRole/nurse' } }));
  assert.equal(res2.status, 422);
});

test('read receipts: per receiving organisation, the first read kept, never removed', async () => {
  let res = await post(`/fhir/Communication/${first.id}/$read`, params(
    { name: 'organization', valueReference: { reference: 'Organization/home' } },
    { name: 'reader', valueReference: { reference: 'PractitionerRole/nurse' } }));
  assert.equal(res.status, 200, res.text);
  const receipt = ext(res.json, `${SYS}StructureDefinition/read-receipt`);
  assert.equal(ext(receipt, 'organization').valueReference.reference, 'Organization/home');
  assert.equal(ext(receipt, 'reader').valueReference.reference, 'PractitionerRole/nurse');
  assert.equal(ext(receipt, 'time').valueDateTime, '2026-03-06T08:00:00.000Z');
  const version = res.json.meta.versionId;
  await clock('2026-03-06T09:00:00Z');
  res = await post(`/fhir/Communication/${first.id}/$read`, params({ name: 'organization', valueReference: { reference: 'Organization/home' } }));
  assert.equal(res.json.meta.versionId, version);
  res = await post(`/fhir/Communication/${first.id}/$read`, params({ name: 'organization', valueReference: { reference: 'Organization/gp' } }));
  assert.equal(res.status, 422);
  assert.deepEqual(res.json.issue[0].expression, ['Communication.recipient']);
  // a sent message does not change, and its receipt cannot be dropped
  const cur = (await srv.fetch(`/fhir/Communication/${first.id}`)).json;
  res = await put({ ...cur, extension: [] });
  assert.equal(res.status, 422);
  res = await put({ ...cur, payload: [{ ...cur.payload[0], contentString: 'changed' }] });
  assert.equal(res.status, 422);
  assert.deepEqual(res.json.issue[0].expression, ['Communication']);
});

test('attachments: pdf, png, jpeg, gif by their bytes; the declared type must match; the size limit', async () => {
  const att = (contentType, bytes) => ({ contentAttachment: { contentType, data: b64(bytes), title: 'a' } });
  const withAtt = (...a) => message({ payload: [message().payload[0], ...a] });
  let res = await post('/fhir/Communication', withAtt(att('application/pdf', PDF), att('image/png', PNG)));
  assert.equal(res.status, 201, res.text);
  assert.equal(res.json.payload[1].contentAttachment.size, PDF.length);
  res = await post('/fhir/Communication', withAtt(att('image/png', JPEG)));
  assert.equal(res.status, 422);
  assert.deepEqual(res.json.issue[0].expression, ['Communication.payload[1].contentAttachment.data']);
  assert.match(res.json.issue[0].diagnostics, /declared 'image\/png' but its bytes are image\/jpeg/);
  res = await post('/fhir/Communication', withAtt(att('image/bmp', [0x42, 0x4d, 0, 0])));
  assert.equal(res.status, 422);
  assert.deepEqual(res.json.issue[0].expression, ['Communication.payload[1].contentAttachment.contentType']);
  res = await post('/fhir/Communication', withAtt(att('application/pdf', Buffer.from('<html>not a pdf</html>'))));
  assert.equal(res.status, 422);
  const big = Buffer.concat([PDF, Buffer.alloc(LIMIT - PDF.length + 1, 0x20)]);
  res = await post('/fhir/Communication', withAtt(att('application/pdf', big)));
  assert.equal(res.status, 413, res.text);
  assert.equal(res.json.issue[0].code, 'too-long');
  const half = Buffer.concat([PDF, Buffer.alloc(LIMIT / 2 - PDF.length + 1, 0x20)]);
  res = await post('/fhir/Communication', withAtt(att('application/pdf', half), att('application/pdf', half)));
  assert.equal(res.status, 413, 'the limit holds for the attachments of a message together');
  const exact = Buffer.concat([PDF, Buffer.alloc(LIMIT - PDF.length, 0x20)]);
  res = await post('/fhir/Communication', withAtt(att('application/pdf', exact)));
  assert.equal(res.status, 201, 'exactly the limit is allowed');
});

test('answer time: unanswered past it (also across a restart) becomes a Task for the receiver; an answer settles it', async () => {
  await clock('2026-03-06T15:00:00Z'); // Friday 16:00 in Denmark
  const medicine = [{ coding: [{ system: CAT, code: 'medicine' }] }];
  let res = await post('/fhir/Communication', message({ category: medicine }));
  assert.equal(res.status, 201);
  const asked = res.json;
  res = await post('/fhir/Communication', message({ category: medicine }));
  const answeredInTime = res.json;
  res = await post(`/fhir/Communication/${answeredInTime.id}/$reply`, params(
    { name: 'text', valueString: 'Svar' }, { name: 'author', valueReference: { reference: 'PractitionerRole/nurse' } }));
  assert.equal(res.status, 201);
  // medicine: 1 working day -> Monday 16:00; the weekend does not count
  await srv.restart();
  await clock('2026-03-09T14:59:00Z');
  await tick(); // the earlier tests' discharge messages (due Monday 09:00) become tasks here
  assert.equal((await srv.fetch(`/fhir/Task?focus=Communication/${asked.id}`)).json.entry?.length ?? 0, 0);
  await clock('2026-03-09T15:00:00Z');
  const t = await tick();
  assert.equal(t.unanswered, 1, JSON.stringify(t));
  res = await srv.fetch(`/fhir/Task?focus=Communication/${asked.id}`);
  assert.equal(res.json.entry.length, 1);
  const task = res.json.entry[0].resource;
  assert.equal(task.code.coding[0].code, 'message-answer');
  assert.equal(task.owner.reference, 'Organization/home');
  assert.equal(task.status, 'requested');
  assert.ok(!task.description.includes('Gurli'), 'no message text in the task');
  assert.equal(task.restriction.period.end, '2026-03-10T16:00:00.000+01:00');
  assert.equal((await srv.fetch(`/fhir/Task?focus=Communication/${answeredInTime.id}`)).json.entry?.length ?? 0, 0);
  assert.equal((await tick()).unanswered, 0, 'the job fired once');
  // the answer completes the task; a follow-up by the sender would not
  res = await post(`/fhir/Communication/${asked.id}/$reply`, params(
    { name: 'text', valueString: 'Undskyld, svar nu' }, { name: 'author', valueReference: { reference: 'PractitionerRole/nurse' } }));
  assert.equal(res.status, 201);
  res = await srv.fetch(`/fhir/Task/${task.id}`);
  assert.equal(res.json.status, 'completed');
  // a notice of death expects no answer
  res = await post('/fhir/Communication', message({ category: [{ coding: [{ system: CAT, code: 'decease' }] }] }));
  await clock('2026-04-30T00:00:00Z');
  assert.equal((await tick()).unanswered, 0);
});
