// inbox.js - messages to me and my organisation, as threads (inResponseTo),
// newest first, each with its citizen.
import { search } from '../api.js';
import { h, section } from '../dom.js';
import { t } from '../i18n.js';
import { humanName, refId } from '../fhir.js';
import { messageRow } from './parts.js';
import { errorText } from '../ui.js';

export async function inboxView(main, ctx) {
  main.append(h('h1', {}, t('inbox.title')));
  const sec = section('inbox', t('inbox.received'), t('app.loading'));
  main.append(sec.el);
  const to = [ctx.roleRef, ctx.orgRef].filter(Boolean).join(',');
  try {
    const { matches, included } = await search(`/fhir/Communication?recipient=${encodeURIComponent(to)}&_sort=-sent&_count=100&_include=Communication:subject`);
    const sent = await search(`/fhir/Communication?sender=${encodeURIComponent(ctx.roleRef)}&_sort=-sent&_count=100&_include=Communication:subject`);
    const all = new Map([...matches, ...sent.matches].map((c) => [c.id, c]));
    for (const [k, v] of sent.included) included.set(k, v);
    // A thread: a message and the replies to it, under the first message.
    const rootOf = (c) => {
      let cur = c;
      for (let i = 0; i < 10 && cur.inResponseTo?.[0]; i++) {
        const parent = all.get(refId(cur.inResponseTo[0]));
        if (!parent) break;
        cur = parent;
      }
      return cur.id;
    };
    const threads = new Map();
    for (const c of all.values()) {
      const r = rootOf(c);
      if (!threads.has(r)) threads.set(r, []);
      threads.get(r).push(c);
    }
    if (!threads.size) return sec.fill(h('p', { class: 'muted' }, t('messages.none')));
    const latest = (list) => list.reduce((m, c) => (String(c.sent) > m ? String(c.sent) : m), '');
    const ordered = [...threads.values()].sort((a, b) => latest(b).localeCompare(latest(a)));
    sec.fill(ordered.map((list) => {
      list.sort((a, b) => String(a.sent).localeCompare(String(b.sent)));
      const pid = refId(list[0].subject);
      const p = included.get(`Patient/${pid}`);
      return h('article', { class: 'card' }, h('h3', {}, h('a', { href: `#/citizen/${encodeURIComponent(pid)}` }, p ? humanName(p) : pid)),
        h('ul', { class: 'list' }, list.map(messageRow)));
    }));
  } catch (e) {
    sec.fill(h('p', { class: 'error' }, errorText(e)));
  }
}
