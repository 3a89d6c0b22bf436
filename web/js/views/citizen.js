// citizen.js - the staff overview of one citizen: who they are, consent,
// team (coordinator first, how to reach each), plan by life area, stays on a
// timeline, medication, messages, tasks.  What the user may not see is
// simply absent (the server filters; docs/access.md).
import { get, search } from '../api.js';
import { h, section } from '../dom.js';
import { t, tCode, fmtDate, age } from '../i18n.js';
import { humanName, nameOf, SYS, refId } from '../fhir.js';
import { fillTeam, fillPlan, fillStays, fillMeds, fillMessages, teamRecipients } from './parts.js';
import { loadRules, CATEGORIES } from '../consent.js';
import { taskRow, byDeadline } from './tasks.js';
import { errorText, status, refresh } from '../ui.js';

export async function citizenView(main, ctx, [id]) {
  let patient;
  try {
    patient = await get(`/fhir/Patient/${encodeURIComponent(id)}`);
  } catch (e) {
    main.append(h('h1', {}, t('citizen.title')), h('p', { class: 'error', role: 'alert' }, errorText(e)));
    return;
  }
  main.append(h('h1', {}, humanName(patient) || id),
    h('p', {}, h('a', { class: 'btn', href: `#/meeting/${encodeURIComponent(id)}`, id: 'open-meeting' }, t('meeting.open'))));
  const who = section('who', t('citizen.who'), t('app.loading'));
  const consent = section('consent', t('citizen.consent'), t('app.loading'));
  const team = section('team', t('citizen.team'), t('app.loading'));
  const plan = section('plan', t('citizen.plan'), t('app.loading'));
  const stays = section('stays', t('citizen.stays'), t('app.loading'));
  const meds = section('meds', t('citizen.meds'), t('app.loading'));
  const msgs = section('messages', t('citizen.messages'), t('app.loading'));
  const tasks = section('tasks', t('citizen.tasks'), t('app.loading'));
  main.append(h('div', { class: 'grid' }, who.el, team.el), plan.el, h('div', { class: 'grid' }, tasks.el, meds.el), h('div', { class: 'grid' }, stays.el, consent.el), msgs.el);
  await Promise.all([
    fillWho(who, patient),
    fillConsent(consent, patient),
    fillTeam(team, id),
    fillPlan(plan, id),
    fillStays(stays, id),
    fillMeds(meds, id, { canConfirm: true }),
    teamRecipients(id).then((recipients) => fillMessages(msgs, id, { from: ctx.roleRef, recipients })),
    fillTasks(tasks, id),
  ]);
}

async function fillWho(sec, p) {
  const ident = (p.identifier || []).find((i) => i.system === SYS.cpr || i.system === SYS.personnummer);
  const addr = p.address?.[0];
  const [home, gp] = await Promise.all([
    p.managingOrganization ? nameOf(p.managingOrganization) : '',
    p.generalPractitioner?.[0] ? nameOf(p.generalPractitioner[0]) : '',
  ]);
  const a = age(p.birthDate);
  const rows = [
    [t('citizen.born'), p.birthDate ? `${fmtDate(p.birthDate)}${a !== null ? ` (${t('citizen.age', { n: a })})` : ''}` : ''],
    [ident?.system === SYS.personnummer ? t('citizen.personnummer') : t('citizen.cpr'), ident?.value],
    [t('citizen.address'), addr ? [...(addr.line || []), [addr.postalCode, addr.city].filter(Boolean).join(' ')].join(', ') : ''],
    [t('citizen.phone'), (p.telecom || []).map((c) => c.value).join(', ')],
    [t('citizen.home'), home],
    [t('citizen.gp'), gp],
  ].filter(([, v]) => v);
  sec.fill(h('dl', { class: 'kv' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])));
}

// Consent status: each active rule in words, and what it means for social data.
async function fillConsent(sec, p) {
  try {
    const rules = (await loadRules(p.id)).filter((r) => r.live);
    if (!rules.length) return sec.fill(h('p', {}, t('consent.noneStaff')));
    const items = await Promise.all(rules.map(async (r) => {
      const actors = r.actors.length ? (await Promise.all(r.actors.map(nameOf))).join(', ') : t('consent.everyone');
      const cats = (r.categories.length ? r.categories : CATEGORIES).map((c) => tCode('cat', c)).join(', ');
      return h('li', {}, h('span', { class: `badge ${r.type === 'deny' ? 'denied' : 'ok'}` }, t(`consent.${r.type}`)),
        h('span', { class: 'grow' }, `${actors}: ${cats}`));
    }));
    sec.fill(h('ul', { class: 'list' }, items));
  } catch (e) {
    sec.fill(h('p', { class: 'error' }, errorText(e)));
  }
}

async function fillTasks(sec, id) {
  try {
    const { matches } = await search(`/fhir/Task?patient=Patient/${encodeURIComponent(id)}&_count=100`);
    const open = matches.filter((x) => !['completed', 'cancelled', 'rejected', 'failed', 'entered-in-error'].includes(x.status));
    open.sort((a, b) => byDeadline(a, b));
    const onChange = (text, e) => {
      status(e ? errorText(e) : text);
      if (!e) refresh();
    };
    sec.fill(open.length ? h('ul', { class: 'list' }, open.map((x) => taskRow(x, { showCitizen: false, onChange }))) : h('p', { class: 'muted' }, t('worklist.none')));
  } catch (e) {
    sec.fill(h('p', { class: 'error' }, errorText(e)));
  }
}

export { refId };
