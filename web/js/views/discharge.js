// discharge.js - the discharge board: citizens in a stay now (in progress or on
// leave) that this user may see, with days admitted and the nearest open
// deadline of their tasks ("days left").
import { search } from '../api.js';
import { h, section } from '../dom.js';
import { t, fmtDate, fmtNumber } from '../i18n.js';
import { humanName, nameOf, refId, OPEN_TASK } from '../fhir.js';
import { countdown, deadlineOf, byDeadline } from './tasks.js';
import { errorText } from '../ui.js';

export async function dischargeView(main) {
  main.append(h('h1', {}, t('discharge.title')));
  const sec = section('board', t('discharge.current'), t('app.loading'));
  main.append(sec.el);
  try {
    const { matches, included } = await search('/fhir/Encounter?status=in-progress,onleave,arrived&_count=200&_include=Encounter:subject');
    if (!matches.length) return sec.fill(h('p', { class: 'muted' }, t('discharge.none')));
    const rows = await Promise.all(matches.map(async (enc) => {
      const pid = refId(enc.subject);
      const p = included.get(`Patient/${pid}`);
      const tasks = await search(`/fhir/Task?patient=Patient/${encodeURIComponent(pid)}&status=${OPEN_TASK}&_count=50`).catch(() => ({ matches: [] }));
      const next = tasks.matches.filter(deadlineOf).sort((a, b) => byDeadline(a, b))[0];
      const days = enc.period?.start ? Math.floor((Date.now() - Date.parse(enc.period.start)) / 86400e3) : null;
      return { enc, pid, p, next, days, where: await nameOf(enc.serviceProvider) };
    }));
    rows.sort((a, b) => (a.next && b.next ? byDeadline(a.next, b.next) : a.next ? -1 : 1));
    sec.fill(h('ul', { class: 'list' }, rows.map((r) => h('li', {},
      r.next ? countdown(deadlineOf(r.next)) : h('span', { class: 'badge' }, t('task.noDeadline')),
      h('span', { class: 'grow' }, h('a', { href: `#/citizen/${encodeURIComponent(r.pid)}` }, r.p ? humanName(r.p) : r.pid), ' · ', r.where,
        h('br'), h('span', { class: 'muted' }, t('discharge.admitted', { date: fmtDate(r.enc.period?.start), days: fmtNumber(r.days ?? 0) })),
        r.next ? [h('br'), h('span', {}, r.next.description || '')] : null),
      h('span', { class: 'badge' }, t(`encounter.status.${r.enc.status}`))))));
  } catch (e) {
    sec.fill(h('p', { class: 'error' }, errorText(e)));
  }
}
