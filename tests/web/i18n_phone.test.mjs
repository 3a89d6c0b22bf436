// i18n_phone.test.mjs - the nurse's story in Danish, Swedish and English at a
// phone's viewport: every text from web/i18n/{lang}.json, dates and countdowns
// from Intl in that locale, nothing wider than the screen, axe clean; the
// language switch; and the three translation files hold the same keys.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startWorld, settled } from './lib/world.mjs';
import { ROOT } from '../http/lib/server.mjs';
import { shot } from './lib/shots.mjs';

const texts = Object.fromEntries(['da', 'sv', 'en'].map((l) => [l, JSON.parse(readFileSync(join(ROOT, 'web', 'i18n', `${l}.json`), 'utf8'))]));
const LOCALE = { da: 'da-DK', sv: 'sv-SE', en: 'en-GB' };

let w;
before(async () => { w = await startWorld(); });
after(async () => { await w?.stop(); });

test('the translation files have the same keys and no empty text', () => {
  const keys = (l) => Object.keys(texts[l]).sort();
  assert.deepEqual(keys('da'), keys('en'));
  assert.deepEqual(keys('sv'), keys('en'));
  for (const l of ['da', 'sv', 'en']) for (const [k, v] of Object.entries(texts[l])) assert.ok(v.trim(), `${l} ${k}`);
});

async function noOverflow(page, what) {
  const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
  assert.ok(scroll <= width, `${what}: content ${scroll}px wide on a ${width}px screen`);
}

for (const lang of ['da', 'sv', 'en']) {
  test(`on a phone in ${lang}: login, worklist, citizen with team and plan`, async () => {
    const T = texts[lang];
    const page = await w.page({ lang, phone: true });
    assert.equal(await page.locator('h1').innerText(), T['login.title']);
    assert.equal(await page.evaluate(() => document.documentElement.lang), lang);
    await noOverflow(page, 'login');
    await w.login(page, 'birgit');
    assert.equal(await page.locator('h1').innerText(), T['worklist.title']);
    assert.equal(await page.locator('#mine-h').innerText(), T['worklist.mine']);
    await noOverflow(page, 'worklist');
    await w.axe(page, `worklist (${lang}, phone)`);
    if (lang === 'da') await shot(page, 'worklist-phone-da');
    // The citizen: the team's coordinator label and the life areas in this language,
    // the birth date as Intl writes it in this locale.
    await page.goto(`${w.srv.base}/#/citizen/dk-hanne-ms`);
    await settled(page);
    await page.locator('[data-list="team"] > li').first().waitFor({ timeout: 15000 });
    assert.match(await page.locator('[data-list="team"] > li').first().innerText(), new RegExp(T['team.coordinator']));
    const plan = await page.locator('#plan-h').locator('..').innerText();
    for (const area of ['work', 'health', 'leisure']) assert.match(plan, new RegExp(T[`area.${area}`]));
    const born = new Intl.DateTimeFormat(LOCALE[lang], { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' }).format(new Date('1971-04-12'));
    assert.match(await page.locator('#who-h').locator('..').innerText(), new RegExp(born.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    await noOverflow(page, 'citizen');
    await w.axe(page, `citizen (${lang}, phone)`);
  });
}

test('the language switch changes every text at once and is remembered', async () => {
  const page = await w.page({ lang: 'en' });
  await w.login(page, 'birgit');
  await page.locator('#lang').selectOption('sv');
  await page.waitForFunction((title) => document.querySelector('h1')?.textContent === title, texts.sv['worklist.title']);
  assert.equal(await page.locator('#logout').innerText(), texts.sv['app.logout']);
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  await settled(page);
  assert.equal(await page.locator('h1').innerText(), texts.sv['worklist.title']);
});

test('the keyboard reaches the login form in order and logs in with Enter', async () => {
  const page = await w.page({ lang: 'en' });
  // The username field has the focus on arrival; Tab goes on to the password.
  assert.equal(await page.evaluate(() => document.activeElement.id), 'username');
  await page.keyboard.type('birgit');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'password');
  await page.keyboard.type(w.logins.birgit);
  await page.keyboard.press('Enter');
  await page.locator('#logout').waitFor();
  assert.equal(await page.locator('h1').innerText(), texts.en['worklist.title']);
  // From the top of the page, the first Tab stop is the skip link to the content.
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'skip-link');
});
