// worklist.js - the staff start screen: my tasks and my organisation's, by
// deadline with overdue first, and the notifications of my organisation's inbox.
import { search, get, post } from '../api.js';
import { h, section } from '../dom.js';
import { t, tCode, fmtDateTime } from '../i18n.js';
import { OPEN_TASK, refId } from '../fhir.js';
import { taskRow, byDeadline } from './tasks.js';
import { status, errorText, refresh } from '../ui.js';

export async function worklistView(main, ctx) {
  main.append(h('h1', {}, t('worklist.title')));
  const mine = section('mine', t('worklist.mine'), t('app.loading'));
  const org = section('org', t('worklist.org'), t('app.loading'));
  const notes = section('notes', t('worklist.notifications'), t('app.loading'));
  main.append(h('div', { class: 'grid' }, h('div', {}, mine.el, org.el), notes.el));
  const rerender = (text, e) => {
    status(e ? errorText(e) : text);
    if (!e) refresh();
  };
  const q = (owner) => `/fhir/Task?owner=${encodeURIComponent(owner)}&status=${OPEN_TASK}&_sort=deadline&_count=200&_include=Task:patient`;
  const fill = async (sec, owner) => {
    if (!owner) return sec.fill(h('p', { class: 'muted' }, t('worklist.none')));
    try {
      const { matches, included } = await search(q(owner));
      matches.sort((a, b) => byDeadline(a, b));
      sec.fill(matches.length
        ? h('ul', { class: 'list', 'data-list': sec.el.getAttribute('aria-labelledby') }, matches.map((task) => taskRow(task, { patients: included, onChange: rerender })))
        : h('p', { class: 'muted' }, t('worklist.none')));
    } catch (e) {
      sec.fill(h('p', { class: 'error' }, errorText(e)));
    }
  };
  await Promise.all([fill(mine, ctx.roleRef), fill(org, ctx.orgRef), fillNotes(notes, ctx)]);
}

async function fillNotes(sec, ctx) {
  const inbox = ctx.orgRef ? `organization=${encodeURIComponent(ctx.orgRef)}` : `recipient=${encodeURIComponent(ctx.roleRef)}`;
  try {
    const j = await get(`/notifications?${inbox}&_count=30`);
    const list = j.notifications || [];
    if (!list.length) return sec.fill(h('p', { class: 'muted' }, t('worklist.noNotifications')));
    sec.fill(
      h('p', {}, t('worklist.unread', { n: j.unread })),
      h('ul', { class: 'list' }, list.map((n) => {
        const pid = refId(n.subject);
        const read = h('button', { type: 'button', class: 'secondary', 'aria-label': `${t('worklist.markRead')}: ${n.text || ''}` }, t('worklist.markRead'));
        read.addEventListener('click', async () => {
          read.disabled = true;
          try {
            await post(`/notifications/${encodeURIComponent(n.id)}/read`);
            read.replaceWith(h('span', { class: 'badge ok' }, t('worklist.read')));
          } catch (e) {
            status(errorText(e));
            read.disabled = false;
          }
        });
        return h('li', { class: n.read ? 'read' : 'unread' },
          h('span', { class: 'badge' }, tCode('kind', n.kind)),
          h('span', { class: 'grow' }, n.text || '', pid ? [n.text ? ' · ' : '', h('a', { href: `#/citizen/${encodeURIComponent(pid)}` }, t('worklist.openCitizen'))] : null,
            h('br'), h('span', { class: 'muted' }, fmtDateTime(n.created))),
          n.read ? h('span', { class: 'badge ok' }, t('worklist.read')) : read);
      })));
  } catch (e) {
    sec.fill(h('p', { class: 'error' }, errorText(e)));
  }
}
