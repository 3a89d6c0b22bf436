// shots.mjs - with SCREENSHOTS=1 the browser tests save the main screens to
// docs/screenshots/ (they are committed and shown in the README).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../http/lib/server.mjs';

export async function shot(page, name) {
  if (process.env.SCREENSHOTS !== '1') return;
  const dir = join(ROOT, 'docs', 'screenshots');
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}
