// staff.test.mjs - the staff workspace in a real browser, auth on, the demo's
// stories: the home-care nurse's worklist, the citizen overview with the team
// and its coordinator on top, a task moved on, and Gurli's unconfirmed
// medication change confirmed by the nursing-home nurse.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorld, settled } from './lib/world.mjs';
import { shot } from './lib/shots.mjs';

let w;
before(async () => { w = await startWorld(); });
after(async () => { await w?.stop(); });

test('the municipal nurse logs in: her tasks and her organisation\'s, overdue first, with countdowns', async () => {
  const page = await w.page();
  await w.axe(page, 'login');
  await shot(page, 'login');
  await w.login(page, 'birgit');
  const mine = page.locator('[data-list="mine-h"] li.task');
  assert.deepEqual(await mine.evaluateAll((els) => els.map((e) => e.dataset.id)), ['t-hanne-visit']);
  assert.match(await mine.first().innerText(), /Hanne Nielsen/);
  assert.match(await mine.first().locator('.badge').first().innerText(), /due in/);
  const org = page.locator('[data-list="org-h"] li.task');
  assert.equal(await org.first().getAttribute('data-id'), 't-hanne-aids', 'the overdue task comes first');
  assert.match(await org.first().locator('.badge.overdue').innerText(), /overdue/);
  // Notifications of her organisation's inbox: the tasks the demo gave it.
  const notes = await page.locator('#notes-h').locator('..').innerText();
  assert.match(notes, /New task/);
  assert.match(notes, /Bestil rollator og badebænk/);
  await w.axe(page, 'worklist');
  await shot(page, 'worklist');
});

test('she accepts her task and marks a notification read; the server has both', async () => {
  const page = await w.page();
  await w.login(page, 'birgit');
  const row = page.locator('li.task[data-id="t-hanne-visit"]').first();
  await row.locator('button[data-next="accepted"]').click();
  await page.locator('li.task[data-id="t-hanne-visit"] button[data-next="in-progress"]').first().waitFor();
  const note = page.locator('#notes-h').locator('..').locator('li.unread button').first();
  await note.click();
  await page.locator('#notes-h').locator('..').locator('.badge.ok').first().waitFor();
  // What the browser did is what the server holds (read with her own session).
  const task = await page.evaluate(() => fetch('/fhir/Task/t-hanne-visit').then((r) => r.json()));
  assert.equal(task.status, 'accepted');
  const inbox = await page.evaluate(() => fetch('/notifications?organization=Organization/dk-morso-hjemmepleje').then((r) => r.json()));
  assert.ok(inbox.notifications.some((n) => n.read), 'one notification is read');
});

test('she opens the citizen: who she is, the team with the coordinator on top and how to reach them, the plan by life area', async () => {
  const page = await w.page();
  await w.login(page, 'birgit');
  await page.locator('li.task[data-id="t-hanne-visit"] a').first().click();
  await settled(page);
  assert.equal(await page.locator('h1').innerText(), 'Hanne Nielsen');
  const team = page.locator('[data-list="team"] > li');
  await team.nth(2).waitFor({ timeout: 15000 }); // the team is drawn when $team answers
  assert.ok(await team.count() >= 3);
  const first = team.first();
  assert.match(await first.innerText(), /Coordinator/);
  assert.match(await first.innerText(), /Anne Mikkelsen/);
  assert.equal(await first.locator('a[href^="tel:"]').first().getAttribute('href'), 'tel:+4587000011');
  assert.equal(await team.nth(1).locator('.badge.coordinator').count(), 0, 'one coordinator');
  const plan = await page.locator('#plan-h').locator('..').innerText();
  for (const area of ['Work', 'Health', 'Leisure']) assert.match(plan, new RegExp(area));
  assert.match(plan, /Jeg vil blive ved med at arbejde/);
  assert.match(plan, /Genoptræning: balance og gang/);
  const meds = await page.locator('[data-list="meds"]').innerText();
  assert.match(meds, /Baclofen/);
  const stays = await page.locator('#stays-h').locator('..').innerText();
  assert.match(stays, /Sclerosehospitalet i Ry/);
  assert.match(await page.locator('[data-list="messages"]').innerText(), /baclofen/);
  await w.axe(page, 'citizen overview');
  await shot(page, 'citizen');
});

test('she writes a message to the coordinator; it is stored as a Communication', async () => {
  const page = await w.page();
  await w.login(page, 'birgit');
  await page.goto(`${w.srv.base}/#/citizen/dk-hanne-ms`);
  await settled(page);
  const form = page.locator('#messages-h').locator('..').locator('form');
  await form.locator('select').selectOption('PractitionerRole/dk-anne-ms-koordinator-ry');
  await form.locator('textarea').fill('Rollator er bestilt.');
  await form.locator('button[type="submit"]').click();
  await page.locator('[data-list="messages"] li', { hasText: 'Rollator er bestilt.' }).waitFor();
  const found = await page.evaluate(() => fetch('/fhir/Communication?subject=Patient/dk-hanne-ms&recipient=PractitionerRole/dk-anne-ms-koordinator-ry').then((r) => r.json()));
  const c = found.entry.map((e) => e.resource).find((r) => r.payload?.[0]?.contentString === 'Rollator er bestilt.');
  assert.ok(c, 'the message is on the server');
  assert.equal(c.sender.reference, 'PractitionerRole/dk-birgit-hjemmepleje');
});

test('Gurli: the nurse sees the unconfirmed medication change and confirms it', async () => {
  const page = await w.page();
  await w.login(page, 'karen');
  await page.goto(`${w.srv.base}/#/citizen/dk-gurli`);
  await settled(page);
  const row = page.locator('[data-list="meds"] li', { hasText: 'Furosemid' });
  await row.locator('.badge.pending').waitFor();
  await row.locator('button[data-confirm="ms-gurli-furosemid"]').click();
  await page.locator('[data-list="meds"] li', { hasText: 'Furosemid' }).locator('.badge:not(.pending)').waitFor();
  const ms = await page.evaluate(() => fetch('/fhir/MedicationStatement/ms-gurli-furosemid').then((r) => r.json()));
  assert.equal(ms.status, 'active');
});

test('the discharge board lists the stays of her citizens; the inbox shows threads', async () => {
  const page = await w.page();
  await w.login(page, 'eva');
  await page.goto(`${w.srv.base}/#/discharge`);
  await settled(page);
  const board = await page.locator('main').innerText();
  assert.match(board, /Bengt Olsson/);
  assert.match(board, /Skånes universitetssjukhus Malmö/);
  await w.axe(page, 'discharge board');
  await shot(page, 'discharge');
  await page.goto(`${w.srv.base}/#/inbox`);
  await settled(page);
  assert.match(await page.locator('main').innerText(), /Bengt är utskrivningsklar/);
  await w.axe(page, 'inbox');
});

test('logout ends the session: the api answers 401 and the login form is back; the cookie is not readable by script', async () => {
  const page = await w.page();
  await w.login(page, 'birgit');
  assert.equal(await page.evaluate(() => document.cookie), '', 'the session cookie is HttpOnly');
  await page.locator('#logout').click();
  await page.locator('#username').waitFor();
  const status = await page.evaluate(() => fetch('/fhir/Task/t-hanne-visit').then((r) => r.status));
  assert.equal(status, 401);
  assert.deepEqual(w.consoleErrors, []);
});
