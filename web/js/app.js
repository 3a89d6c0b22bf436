// app.js - the shell: who is logged in, the header (navigation, language,
// logout), and hash routes to the screens.  Every screen works only through
// the public API (api.js), as any integration could.
import * as api from './api.js';
import { h, clear } from './dom.js';
import { t, setLang, initialLang, currentLang, LANGS } from './i18n.js';
import { resetNames } from './fhir.js';
import { loginView } from './views/login.js';
import { worklistView } from './views/worklist.js';
import { citizensView } from './views/citizens.js';
import { citizenView } from './views/citizen.js';
import { meetingView } from './views/meeting.js';
import { inboxView } from './views/inbox.js';
import { dischargeView } from './views/discharge.js';
import { resultsView } from './views/results.js';
import { portalView } from './views/portal.js';
import { consentsView } from './views/consents.js';
import { accessLogView } from './views/access_log.js';
import { directoryView } from './views/directory.js';
import { loadContext } from './context.js';
import { status, errorText } from './ui.js';

const main = document.getElementById('main');
const top = document.getElementById('top');
let ctx = null; // {me, kind, role, org, patient, …} (context.js)

const STAFF = [
  ['worklist', 'nav.worklist', worklistView],
  ['citizens', 'nav.citizens', citizensView],
  ['inbox', 'nav.inbox', inboxView],
  ['discharge', 'nav.discharge', dischargeView],
  ['results', 'nav.results', resultsView],
];
const CITIZEN = [
  ['me', 'nav.me', portalView],
  ['consents', 'nav.consents', consentsView],
  ['access', 'nav.access', accessLogView],
];
const ADMIN = [['directory', 'nav.directory', directoryView]];

function navFor(kind) {
  if (kind === 'practitioner') return STAFF;
  if (kind === 'citizen' || kind === 'relative') return CITIZEN;
  return ADMIN;
}

function route() {
  const parts = (location.hash.replace(/^#\/?/, '') || '').split('/').map(decodeURIComponent);
  return { name: parts[0] || '', args: parts.slice(1) };
}

function languageSelect() {
  const sel = h('select', { id: 'lang', 'aria-label': t('app.language') },
    LANGS.map((l) => h('option', { value: l, selected: l === currentLang() }, t(`lang.${l}`))));
  sel.addEventListener('change', async () => {
    await setLang(sel.value);
    await render();
    document.getElementById('lang')?.focus();
  });
  return h('span', {}, sel);
}

function header(current) {
  clear(top);
  document.getElementById('skip-link').textContent = t('app.skip');
  top.append(h('a', { class: 'brand', href: '#/' }, 'samverka'));
  if (ctx) {
    const items = navFor(ctx.kind);
    top.append(h('nav', { 'aria-label': t('nav.label') }, h('ul', {},
      items.map(([name, key]) => h('li', {}, h('a', { href: `#/${name}`, 'aria-current': name === current ? 'page' : null }, t(key)))))));
  }
  top.append(languageSelect());
  if (ctx) {
    top.append(h('span', { class: 'who' }, ctx.whoText));
    top.append(h('button', { type: 'button', class: 'secondary', id: 'logout', onclick: logout }, t('app.logout')));
  }
}

async function logout() {
  await api.logout().catch(() => {});
  ctx = null;
  location.hash = '#/';
  await render();
}

async function render() {
  resetNames();
  const r = route();
  if (!ctx) {
    header('');
    clear(main);
    loginView(main, { onLogin: afterLogin });
    return;
  }
  const items = navFor(ctx.kind);
  let view = items.find(([name]) => name === r.name)?.[2];
  if (ctx.kind === 'practitioner' && r.name === 'citizen') view = citizenView;
  if (ctx.kind === 'practitioner' && r.name === 'meeting') view = meetingView;
  if (!view) {
    location.replace(`#/${items[0][0]}`);
    return;
  }
  header(r.name === 'citizen' || r.name === 'meeting' ? 'citizens' : r.name);
  clear(main);
  try {
    await view(main, ctx, r.args);
  } catch (e) {
    clear(main);
    main.append(h('h1', {}, t('app.error')), h('p', { class: 'error', role: 'alert' }, errorText(e)));
  }
  const h1 = main.querySelector('h1');
  document.title = `${h1 ? h1.textContent + ' – ' : ''}samverka`;
  if (render.navigated) main.focus();
  render.navigated = true;
}

async function afterLogin(me) {
  ctx = await loadContext(me);
  location.hash = `#/${navFor(ctx.kind)[0][0]}`;
  await render();
}

api.whenUnauthorized(() => {
  if (ctx) {
    ctx = null;
    status(t('error.401'));
    render();
  }
});

async function boot() {
  await setLang(initialLang());
  const me = await api.whoami().catch(() => null);
  if (me) ctx = await loadContext(me);
  window.addEventListener('hashchange', render);
  await render();
  document.body.dataset.ready = 'true';
}

boot();
