// tasks.js - one task as a list row: deadline with countdown (overdue first in
// every list), citizen, owner, and the next step of the task workflow
// (docs/coordination.md) as a button.
import { patch } from '../api.js';
import { h } from '../dom.js';
import { t, tCode, fmtDateTime, fmtRelative } from '../i18n.js';
import { nameOf, display, refId } from '../fhir.js';

const NEXT = { requested: 'accepted', received: 'accepted', accepted: 'in-progress', ready: 'in-progress', 'in-progress': 'completed', 'on-hold': 'in-progress' };

export const deadlineOf = (task) => task.restriction?.period?.end || null;

// Overdue first (most overdue on top), then by deadline, tasks without one last.
export function byDeadline(a, b, now = Date.now()) {
  const da = deadlineOf(a) ? Date.parse(deadlineOf(a)) : Infinity;
  const db = deadlineOf(b) ? Date.parse(deadlineOf(b)) : Infinity;
  const oa = da < now, ob = db < now;
  if (oa !== ob) return oa ? -1 : 1;
  return da - db;
}

export function countdown(deadline, now = Date.now()) {
  if (!deadline) return h('span', { class: 'badge' }, t('task.noDeadline'));
  const ms = Date.parse(deadline) - now;
  const cls = ms < 0 ? 'overdue' : ms < 24 * 3600e3 ? 'soon' : 'ok';
  const label = ms < 0 ? t('task.overdue', { when: fmtRelative(deadline, now) }) : t('task.due', { when: fmtRelative(deadline, now) });
  return h('span', { class: `badge ${cls}`, title: fmtDateTime(deadline) }, label);
}

export function taskRow(task, { patients, showCitizen = true, onChange, canAct = true }) {
  const pid = refId(task.for);
  const patient = patients?.get(`Patient/${pid}`);
  const owner = h('span', { class: 'muted' });
  nameOf(task.owner).then((n) => (owner.textContent = n ? t('task.owner', { who: n }) : ''));
  const next = NEXT[task.status];
  const button = next && canAct
    ? h('button', { type: 'button', class: 'secondary', 'data-task': task.id, 'data-next': next }, tCode('task.action', next))
    : null;
  button?.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await patch(`/fhir/Task/${task.id}`, [{ op: 'replace', path: '/status', value: next }], `W/"${task.meta?.versionId}"`);
      onChange?.(t('task.changed', { status: tCode('task.status', next) }));
    } catch (e) {
      onChange?.(null, e);
      button.disabled = false;
    }
  });
  return h('li', { class: 'task', 'data-id': task.id },
    countdown(deadlineOf(task)),
    h('span', { class: 'grow' },
      h('strong', {}, task.description || task.code?.text || t('task.untitled')),
      showCitizen && pid ? [' · ', h('a', { href: `#/citizen/${encodeURIComponent(pid)}` }, patient ? display(patient) : pid)] : null,
      h('br'), owner),
    h('span', { class: 'badge' }, tCode('task.status', task.status)),
    button);
}
