// consent.test.mjs - Lars decides in the portal, and the municipal nurse's
// view follows: she sees his housing goal (social data) while his consent for
// Københavns Kommune permits it, not after he withdraws it, and again after
// he allows it again.  Also: the portal's team, plan and messages; a
// relative with a proxy grant; "who looked at my data".
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorld, settled } from './lib/world.mjs';
import { shot } from './lib/shots.mjs';

let w;
before(async () => { w = await startWorld(); });
after(async () => { await w?.stop(); });

const HOUSING = 'Jeg vil have min egen lejlighed';
const HEALTH = 'Såret på benet skal hele';

async function nurseSeesLars(page) {
  await page.goto(`${w.srv.base}/#/citizen/dk-lars`);
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  await settled(page);
  return page.locator('#plan-h').locator('..').innerText();
}

test('the citizen portal: my coordinator on top with contact details, my plan and goals, what happens next', async () => {
  const page = await w.page();
  await w.login(page, 'hanne');
  assert.equal(await page.locator('h1').innerText(), 'My page');
  const team = page.locator('[data-list="team"] > li');
  assert.match(await team.first().innerText(), /Coordinator[\s\S]*Anne Mikkelsen/);
  assert.ok(await team.first().locator('a[href^="tel:"]').count() >= 1);
  const plan = await page.locator('#plan-h').locator('..').innerText();
  assert.match(plan, /Jeg vil ikke falde derhjemme/);
  const next = await page.locator('#next-h').locator('..').innerText();
  assert.match(next, /Hjemmebesøg: faldforebyggelse og hjælpemidler/);
  await w.axe(page, 'portal');
  await shot(page, 'portal');
});

test('Lars withdraws and gives again his consent for social data; the municipal nurse\'s view changes each time', async () => {
  const nurse = await w.page();
  await w.login(nurse, 'sofie');
  let plan = await nurseSeesLars(nurse);
  assert.match(plan, new RegExp(HOUSING), 'with the permit she sees the housing goal');
  assert.match(plan, new RegExp(HEALTH));

  const lars = await w.page();
  await w.login(lars, 'lars');
  await lars.locator('a[href="#/consents"]').click();
  await settled(lars);
  const kbh = lars.locator('[data-org="dk-kobenhavn"] tr[data-cat="social"]');
  assert.equal(await kbh.locator('[data-state]').getAttribute('data-state'), 'allowed');
  await w.axe(lars, 'consents');
  await shot(lars, 'consents');
  await kbh.locator('button').click();
  await lars.locator('[data-org="dk-kobenhavn"] tr[data-cat="social"] [data-state="refused"]').waitFor();

  plan = await nurseSeesLars(nurse);
  assert.doesNotMatch(plan, new RegExp(HOUSING), 'after the revocation the social goal is gone');
  assert.match(plan, new RegExp(HEALTH), 'coordination data stay');
  const direct = await nurse.evaluate(() => fetch('/fhir/Goal/g-lars-housing').then((r) => r.status));
  assert.equal(direct, 404);

  await lars.locator('[data-org="dk-kobenhavn"] tr[data-cat="social"] button').click();
  await lars.locator('[data-org="dk-kobenhavn"] tr[data-cat="social"] [data-state="allowed"]').waitFor();
  plan = await nurseSeesLars(nurse);
  assert.match(plan, new RegExp(HOUSING), 'allowed again');
});

test('Lars refuses the municipality his health information: a deny Consent for exactly that organisation and category, the others untouched', async () => {
  const lars = await w.page();
  await w.login(lars, 'lars');
  await lars.goto(`${w.srv.base}/#/consents`);
  await settled(lars);
  const row = lars.locator('[data-org="dk-kobenhavn"] tr[data-cat="clinical"]');
  assert.equal(await row.locator('[data-state]').getAttribute('data-state'), 'allowed');
  await row.locator('button').click();
  await lars.locator('[data-org="dk-kobenhavn"] tr[data-cat="clinical"] [data-state="refused"]').waitFor();
  assert.equal(await lars.locator('[data-org="dk-kobenhavn"] tr[data-cat="coordination"] [data-state]').getAttribute('data-state'), 'allowed');
  // What the page wrote is a deny Consent for exactly that organisation and category.
  const consents = await lars.evaluate(() => fetch('/fhir/Consent?patient=Patient/dk-lars&status=active').then((r) => r.json()));
  const deny = consents.entry.map((e) => e.resource).find((c) => c.provision?.type === 'deny');
  assert.deepEqual(deny.provision.actor.map((a) => a.reference.reference), ['Organization/dk-kobenhavn']);
  assert.deepEqual(deny.provision.securityLabel.map((l) => l.code), ['clinical']);
});

test('a relative with a proxy grant sees the child\'s team and plan, and cannot change consents', async () => {
  const page = await w.page({ lang: 'sv' });
  await w.login(page, 'lina');
  assert.match(await page.locator('h1').innerText(), /Emma/);
  assert.match(await page.locator('[data-list="team"] > li').first().innerText(), /Samordnare[\s\S]*Sara Nyström/);
  assert.match(await page.locator('#plan-h').locator('..').innerText(), /rasterna/);
  await page.goto(`${w.srv.base}/#/consents`);
  await settled(page);
  assert.equal(await page.locator('.consent-table button').count(), 0);
  await w.axe(page, 'relative portal');
});

test('who looked at my data: the nurse\'s reads of Lars appear in his access log', async (t) => {
  const lars = await w.page();
  await w.login(lars, 'lars');
  const status = await lars.evaluate(() => fetch('/fhir/Patient/dk-lars/$access-log').then((r) => r.status));
  if (status === 404) {
    t.skip('GET /fhir/Patient/{id}/$access-log is not on this server yet (docs/access.md); the screen says so');
    await lars.goto(`${w.srv.base}/#/access`);
    await settled(lars);
    assert.match(await lars.locator('main').innerText(), /not available/);
    return;
  }
  await lars.goto(`${w.srv.base}/#/access`);
  await settled(lars);
  const log = await lars.locator('[data-list="access"]').innerText();
  assert.match(log, /Københavns Kommune/);
  await w.axe(lars, 'access log');
  await shot(lars, 'access-log');
});
