// world.mjs - the browser tests' world: a fresh database loaded by the real
// `samverka demo` (its printed logins are the users' passwords), the real
// server with auth on serving web/, and Debian's chromium driven headless by
// playwright-core.  axe-core runs inside the page.
//
//   const w = await startWorld();
//   const page = await w.page({ lang: 'da', phone: true });
//   await w.login(page, 'birgit');
//   await w.axe(page);   // fails on serious or critical violations
//   await w.stop();
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';
import { startServer, BIN, ROOT } from '../../http/lib/server.mjs';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
export const CHROMIUM = process.env.CHROMIUM || ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find(existsSync);

// The logins `samverka demo` prints: "  name  password  description".
export function parseLogins(stdout) {
  const logins = {};
  const at = stdout.indexOf('demo logins');
  assert.ok(at >= 0, `samverka demo printed no logins:\n${stdout}`);
  for (const line of stdout.slice(at).split('\n').slice(1)) {
    const m = line.match(/^ {2}(\S+)\s+(\S{24})\s/);
    if (m) logins[m[1]] = m[2];
  }
  return logins;
}

export async function startWorld({ args = [] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'samverka-web-'));
  const db = join(dir, 'test.db');
  const out = execFileSync(BIN, ['demo', '--db', db, '--data', join(ROOT, 'data')], { encoding: 'utf8' });
  const logins = parseLogins(out);
  const srv = await startServer({ dir, args: ['--auth', 'on', '--web', join(ROOT, 'web'), '--watchdog', '0', ...args] });
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  const pages = [];
  const consoleErrors = [];
  return {
    srv, logins, browser, consoleErrors,
    async page({ lang = 'en', phone = false } = {}) {
      const context = await browser.newContext({
        locale: { da: 'da-DK', sv: 'sv-SE', en: 'en-GB' }[lang],
        viewport: phone ? { width: 375, height: 740 } : { width: 1280, height: 900 },
        isMobile: phone, hasTouch: phone,
      });
      const page = await context.newPage();
      page.on('pageerror', (e) => consoleErrors.push(String(e)));
      page.on('console', (m) => {
        // A 4xx of a fetch the app handles (404 for what one may not see) is logged
        // by chromium as a resource error; only script errors count.
        if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) consoleErrors.push(m.text());
      });
      pages.push(page);
      await page.goto(srv.base + '/');
      await page.waitForSelector('body[data-ready="true"]');
      return page;
    },
    async login(page, username) {
      assert.ok(logins[username], `no demo login ${username}`);
      await page.locator('#username').fill(username);
      await page.locator('#password').fill(logins[username]);
      await page.locator('form button[type="submit"]').click();
      await page.locator('#logout').waitFor();
      await settled(page);
    },
    async axe(page, what) {
      await settled(page);
      // Through the devtools protocol: the page's CSP forbids inline script, rightly.
      if (!(await page.evaluate(() => Boolean(window.axe)))) await page.evaluate(AXE);
      const result = await page.evaluate(async () => {
        const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
        return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
      });
      const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
      assert.deepEqual(bad, [], `axe on ${what}: ${JSON.stringify(bad, null, 1)}`);
      return result;
    },
    async stop() {
      await browser.close();
      const exit = await srv.stop();
      assert.deepEqual(exit, { code: 0, signal: null }, `server exit; stderr:\n${srv.stderr().slice(-2000)}`);
      srv.cleanup();
    },
  };
}

// Waits until no section of the screen is still loading.
export async function settled(page) {
  await page.waitForFunction(() => document.body.dataset.ready === 'true' && !document.querySelector('[aria-busy="true"]'));
}
