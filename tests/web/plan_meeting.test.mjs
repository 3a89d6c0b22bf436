// plan_meeting.test.mjs - seed 000's plan meeting through the UI, auth on:
// the MS coordinator (anne, Sclerosehospitalet i Ry) opens Hanne, calls the
// meeting, records a goal in Hanne's own words, assigns an activity to Morsø
// home care and marks the meeting held; Hanne sees in the portal that her plan
// awaits her agreement and agrees; anne sees who agreed to which version, and
// after a change the earlier agreement is shown as asked again.  Each step is
// checked on the server too (read with the acting user's own session).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorld, settled } from './lib/world.mjs';
import { shot } from './lib/shots.mjs';

let w;
before(async () => { w = await startWorld(); });
after(async () => { await w?.stop(); });

const HANNE = 'Patient/dk-hanne-ms';
const GOAL = 'Jeg vil have overskud til mine børnebørn i weekenden.';
const ACTIVITY = 'Hjælp til rengøring hver anden uge';
const day = (n) => new Date(Date.now() + n * 86400e3).toISOString().slice(0, 10);
const fetchJson = (page, path) => page.evaluate((p) => fetch(p).then((r) => r.json()), path);

test('the coordinator holds the plan meeting, Hanne agrees in the portal, the coordinator sees it', async () => {
  const anne = await w.page();
  await w.login(anne, 'anne');
  // Her worklist task "call the follow-up plan meeting" leads to Hanne, and from her to the meeting.
  await anne.locator('li.task[data-id="t-hanne-meeting"] a').first().click();
  await settled(anne);
  assert.equal(await anne.locator('h1').innerText(), 'Hanne Nielsen');
  await anne.locator('#open-meeting').click();
  await anne.locator('#call-form').waitFor();
  await settled(anne);
  assert.equal(await anne.locator('h1').innerText(), 'Plan meeting: Hanne Nielsen');
  assert.equal(await anne.locator('[data-list="meetings"]').count(), 0, 'no meeting called yet');

  // Call: tomorrow at 10, Hanne and the team's people.
  await anne.locator('#call-start').fill(`${day(1)}T10:00`);
  const hanneBox = anne.locator(`#call-form input[value="${HANNE}"]`);
  assert.ok(await hanneBox.isChecked(), 'the citizen is called');
  assert.ok(await anne.locator('#call-form input[value="PractitionerRole/dk-birgit-hjemmepleje"]').isChecked());
  await anne.locator('#call-form button[type="submit"]').click();
  await anne.locator('[data-list="meetings"] li').first().waitFor();
  await settled(anne);
  let found = await fetchJson(anne, '/fhir/Appointment?supporting-info=CarePlan/cp-hanne');
  assert.equal(found.entry?.length, 1);
  const meeting = found.entry[0].resource;
  assert.equal(meeting.status, 'booked');
  const actors = meeting.participant.map((p) => p.actor.reference);
  for (const a of [HANNE, 'PractitionerRole/dk-birgit-hjemmepleje', 'PractitionerRole/dk-anne-ms-koordinator-ry']) assert.ok(actors.includes(a), a);
  assert.equal(new Date(meeting.start).getTime(), new Date(`${day(1)}T10:00`).getTime(), 'start as chosen, local time');

  // A goal in Hanne's words, under a life area.
  await anne.locator('#goal-area').selectOption('relationships');
  await anne.locator('#goal-text').fill(GOAL);
  await anne.locator('#goal-form button[type="submit"]').click();
  await anne.locator('.area[data-area="relationships"] .quote', { hasText: GOAL }).waitFor();
  await settled(anne);
  let plan = await fetchJson(anne, '/fhir/CarePlan/cp-hanne');
  const goals = await fetchJson(anne, '/fhir/Goal?subject=Patient/dk-hanne-ms&_count=50');
  const goal = goals.entry.map((e) => e.resource).find((g) => g.description.text === GOAL);
  assert.ok(goal, 'the goal is on the server');
  assert.equal(goal.category[0].coding[0].code, 'relationships');
  assert.equal(goal.expressedBy.reference, HANNE);
  assert.ok(plan.goal.some((g) => g.reference === `Goal/${goal.id}`), 'the plan names the goal');

  // An activity for Morsø home care, for that goal, from a date.
  await anne.locator('#act-what').fill(ACTIVITY);
  await anne.locator('#act-who').selectOption('Organization/dk-morso-hjemmepleje');
  await anne.locator('#act-goal').selectOption(`Goal/${goal.id}`);
  await anne.locator('#act-start').fill(day(3));
  await anne.locator('#act-end').fill(day(60));
  await anne.locator('#activity-form button[type="submit"]').click();
  await anne.locator('[data-list="activities"] li', { hasText: ACTIVITY }).waitFor();
  await settled(anne);
  assert.match(await anne.locator('[data-list="activities"] li', { hasText: ACTIVITY }).innerText(), /Morsø Kommune, Hjemmeplejen/);
  plan = await fetchJson(anne, '/fhir/CarePlan/cp-hanne');
  const act = plan.activity.find((a) => a.detail?.description === ACTIVITY);
  assert.deepEqual(act.detail.performer, [{ reference: 'Organization/dk-morso-hjemmepleje' }]);
  assert.deepEqual(act.detail.scheduledPeriod, { start: day(3), end: day(60) });
  assert.deepEqual(act.detail.goal, [{ reference: `Goal/${goal.id}` }]);

  // The meeting was held.
  await anne.locator(`button[data-held="${meeting.id}"]`).click();
  await anne.locator(`[data-list="meetings"] li[data-id="${meeting.id}"]`, { hasText: 'held' }).waitFor();
  await settled(anne);
  assert.equal((await fetchJson(anne, `/fhir/Appointment/${meeting.id}`)).status, 'fulfilled');
  assert.equal(await anne.locator(`button[data-held="${meeting.id}"]`).count(), 0);

  // Hanne has not agreed yet; the screen says so.
  const hanneRow = anne.locator(`[data-list="agreements"] li[data-party="${HANNE}"]`);
  assert.equal(await hanneRow.getAttribute('data-agreed'), 'false');
  assert.match(await hanneRow.innerText(), /awaiting agreement/);
  await w.axe(anne, 'plan meeting');
  await shot(anne, 'meeting');

  // Hanne in the portal: her plan awaits her agreement; it is shown by life area.
  const hanne = await w.page();
  await w.login(hanne, 'hanne');
  assert.equal(await hanne.locator('#agreement-h').innerText(), 'Your plan awaits your agreement');
  const planText = await hanne.locator('#plan-h').locator('..').innerText();
  assert.match(planText, /Relationships[\s\S]*overskud til mine børnebørn[\s\S]*Hjælp til rengøring/);
  const inbox = await fetchJson(hanne, `/notifications?recipient=${HANNE}`);
  assert.ok(inbox.notifications.some((n) => n.kind === 'meeting-called'), 'she was called');
  await w.axe(hanne, 'portal awaiting agreement');
  await shot(hanne, 'portal-agreement');
  await hanne.locator('button[data-agree="cp-hanne"]').click();
  await hanne.locator('[data-list="agreement"] li[data-plan="cp-hanne"][data-agreed="true"]').waitFor();
  await settled(hanne);
  assert.match(await hanne.locator('#agreement-h').innerText(), /My agreement to the plan/);
  const view = await fetchJson(hanne, '/fhir/CarePlan/cp-hanne/$agreement');
  const mine = view.parties.find((p) => p.party.reference === HANNE);
  assert.equal(mine.agreed, true);
  const prov = await fetchJson(hanne, `/fhir/${mine.provenance.reference}`);
  assert.deepEqual(prov.agent.map((a) => a.who.reference), [HANNE]);
  assert.equal(prov.target[0].reference, `CarePlan/cp-hanne/_history/${view.version}`);

  // Anne sees Hanne's agreement to this version, and agrees for her hospital.
  await anne.reload();
  await anne.waitForSelector('body[data-ready="true"]');
  await settled(anne);
  const agreedRow = anne.locator(`[data-list="agreements"] li[data-party="${HANNE}"]`);
  assert.equal(await agreedRow.getAttribute('data-agreed'), 'true');
  assert.match(await agreedRow.innerText(), new RegExp(`agreed to version ${view.version}`));
  await anne.locator('#agree-org').click();
  await anne.locator('[data-list="agreements"] li[data-party="Organization/dk-ms-ry"][data-agreed="true"]').waitFor();
  await settled(anne);

  // A change to the plan: the earlier agreements are shown as asked again.
  await anne.locator('#act-what').fill('Opfølgende samtale om hjælpemidler');
  await anne.locator('#act-who').selectOption('PractitionerRole/dk-birgit-hjemmepleje');
  await anne.locator('#act-start').fill(day(14));
  await anne.locator('#activity-form button[type="submit"]').click();
  await anne.locator('[data-list="activities"] li', { hasText: 'Opfølgende samtale' }).waitFor();
  await settled(anne);
  const again = anne.locator(`[data-list="agreements"] li[data-party="${HANNE}"]`);
  assert.equal(await again.getAttribute('data-agreed'), 'false');
  assert.match(await again.innerText(), new RegExp(`agreed to version ${view.version}; asked again`));
  assert.deepEqual(w.consoleErrors, []);
});

test('the plan meeting screen in Danish at phone size: texts from the files, nothing wider than the screen, axe', async () => {
  const page = await w.page({ lang: 'da', phone: true });
  await w.login(page, 'anne');
  await page.goto(`${w.srv.base}/#/meeting/dk-hanne-ms`);
  await page.locator('#call-form').waitFor();
  await settled(page);
  assert.equal(await page.locator('h1').innerText(), 'Planmøde: Hanne Nielsen');
  assert.equal(await page.locator('#goals-h').innerText(), 'Behov og mål med Hanne Nielsens egne ord');
  const wide = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  assert.equal(wide, false, 'no horizontal overflow at 375 px');
  await w.axe(page, 'plan meeting, da, phone');
});
