// access_log.js - "who looked at my data": GET /fhir/Patient/{id}/$access-log
// (docs/access.md), one row per access by someone else; break-the-glass marked.
import { get } from '../api.js';
import { h, section } from '../dom.js';
import { t, tCode, fmtDateTime } from '../i18n.js';
import { nameOf } from '../fhir.js';
import { errorText } from '../ui.js';

// A Parameters row (parameter with parts) as {name: value}.
function rowOf(p) {
  const o = {};
  for (const part of p.part || []) {
    const key = Object.keys(part).find((k) => k.startsWith('value'));
    o[part.name] = key ? part[key] : part.resource;
    if (o[part.name] && typeof o[part.name] === 'object' && 'reference' in o[part.name]) o[part.name] = o[part.name];
  }
  return o;
}

const text = (v) => (v && typeof v === 'object' ? v.display || v.reference || v.code || '' : v ?? '');

export async function accessLogView(main, ctx) {
  main.append(h('h1', {}, t('access.title')), h('p', {}, t('access.intro')));
  const sec = section('log', t('access.list'), t('app.loading'));
  main.append(sec.el);
  try {
    const j = await get(`/fhir/Patient/${encodeURIComponent(ctx.patientId)}/$access-log`);
    const rows = (j.parameter || []).map(rowOf);
    if (!rows.length) return sec.fill(h('p', { class: 'muted' }, t('access.none')));
    // the organisations' names, once each, before the list is drawn
    const names = new Map();
    for (const r of rows) {
      const ref = (r.organisation || r.organization)?.reference;
      if (ref && !names.has(ref)) names.set(ref, nameOf({ reference: ref }).catch(() => ref));
    }
    for (const [ref, p] of names) names.set(ref, await p);
    sec.fill(h('ul', { class: 'list', 'data-list': 'access' }, rows.map((r) => {
      const orgRef = r.organisation || r.organization; // the server's part is "organisation"
      const org = h('strong', {}, (orgRef && (orgRef.display || names.get(orgRef.reference))) || text(orgRef) || t('access.unknownOrg'));
      const btg = r.breakTheGlass === true || String(text(r.purpose)).toUpperCase() === 'ETREAT';
      return h('li', {}, h('span', { class: 'grow' }, org, r.role ? [' · ', tCode('role', text(r.role), text(r.role))] : null, h('br'),
        h('span', { class: 'muted' }, tCode('action', text(r.action), text(r.action)))),
        btg ? h('span', { class: 'badge overdue' }, t('access.btg')) : null,
        h('span', {}, fmtDateTime(r.time || r.when || r.recorded)));
    })));
  } catch (e) {
    sec.fill(e.status === 404 ? h('p', { class: 'muted' }, t('access.unavailable')) : h('p', { class: 'error' }, errorText(e)));
  }
}
