// results.test.mjs - the results screen: an indicator per month as an SVG bar
// chart and a table, filtered by organisation and period; every number shown
// is the one the server's $evaluate-measure gives for that month and filter
// (read by the test with the same session), and a masked count is shown as
// hidden, never as a number.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorld, settled } from './lib/world.mjs';
import { shot } from './lib/shots.mjs';

let w;
// Minimum cell 1: the demo has a single case per organisation and month (the
// default 5 would mask them all; masking is compared with the server all the same).
before(async () => { w = await startWorld({ args: ['--min-cell', '1'] }); });
after(async () => { await w?.stop(); });

const pad = (n) => String(n).padStart(2, '0');

test('a manager reads task deadlines kept per month for Morsø home care; chart and table match the server', async () => {
  const page = await w.page();
  await w.login(page, 'anne');
  await page.locator('nav a[href="#/results"]').click();
  await page.locator('#results-form').waitFor();
  await settled(page);
  await page.locator('#res-indicator').selectOption('task-deadlines-kept');
  await page.locator('#res-org').selectOption('Organization/dk-morso-hjemmepleje');
  const now = new Date();
  const from = new Date(now.getFullYear(), now.getMonth() - 2, 1);
  const months = [0, 1, 2].map((i) => { const d = new Date(from.getFullYear(), from.getMonth() + i, 1); return `${d.getFullYear()}-${pad(d.getMonth() + 1)}`; });
  await page.locator('#res-from').fill(months[0]);
  await page.locator('#res-to').fill(months[2]);
  await page.locator('#results-form button[type="submit"]').click();
  await page.waitForFunction((n) => document.querySelectorAll('[data-list="results"] tbody tr').length === n && !document.querySelector('[aria-busy="true"]'), 3);
  let shown = 0;
  for (const m of months) {
    const [y, mo] = m.split('-').map(Number);
    const end = `${m}-${pad(new Date(y, mo, 0).getDate())}`;
    const r = await page.evaluate((p) => fetch(p).then((x) => x.json()),
      `/fhir/Measure/task-deadlines-kept/$evaluate-measure?periodStart=${m}-01&periodEnd=${end}&organization=Organization/dk-morso-hjemmepleje`);
    const s = r.group[0].measureScore;
    const cell = await page.locator(`[data-list="results"] tr[data-month="${m}"] td`).nth(2).innerText();
    const bar = page.locator(`svg.chart rect[data-month="${m}"]`);
    if (s?.extension?.some((e) => e.valueCode === 'masked')) {
      assert.equal(cell, 'hidden (few cases)', m);
      assert.equal(await bar.count(), 0, `${m}: no bar for a masked value`);
    } else if (typeof s?.value === 'number') {
      assert.equal(cell, `${Math.round(s.value * 1000) / 10} %`, m);
      assert.equal(await bar.count(), 1, `${m}: a bar`);
      shown++;
    } else {
      assert.equal(cell, 'no cases', m);
    }
  }
  assert.ok(shown >= 1, 'at least one month has a number (the overdue home-care task)');
  await w.axe(page, 'results');
  await shot(page, 'results');
  assert.deepEqual(w.consoleErrors, []);
});
