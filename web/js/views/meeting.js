// meeting.js - the plan meeting (SIP) of one citizen, for staff: call the
// participants (an Appointment whose supportingInformation names the plan),
// record needs and goals in the citizen's own words per life area (Goals
// linked from the plan), assign activities (CarePlan.activity with who is
// responsible and when), mark the meeting held, and collect the agreements
// (Provenance per party and plan version).  docs/coordination.md has the rules
// the server applies: notices, SIP steps, asking again after a change.
import { get, post, patch, search } from '../api.js';
import { h, section } from '../dom.js';
import { t, tCode, fmtDate, fmtDateTime } from '../i18n.js';
import { humanName, nameOf, codes, refId, SYS } from '../fhir.js';
import { activePlans, agreementOf, agreementHistory, agree, sipStep, SIP_STEP, LIFE_AREAS } from '../plan.js';
import { errorText, status, refresh } from '../ui.js';

const LIVE = ['proposed', 'pending', 'booked', 'arrived', 'checked-in'];
const failed = (e) => h('p', { class: 'error', role: 'alert' }, errorText(e));
const etag = (r) => `W/"${r.meta?.versionId}"`;

export async function meetingView(main, ctx, [id]) {
  let patient;
  try {
    patient = await get(`/fhir/Patient/${encodeURIComponent(id)}`);
  } catch (e) {
    main.append(h('h1', {}, t('meeting.titleNone')), failed(e));
    return;
  }
  const name = humanName(patient) || id;
  main.append(h('h1', {}, t('meeting.title', { name })),
    h('p', {}, h('a', { href: `#/citizen/${encodeURIComponent(id)}` }, t('meeting.back', { name }))));
  const plan = (await activePlans(id))[0];
  if (!plan) {
    main.append(startPlan(id, name));
    return;
  }
  const step = sipStep(plan);
  main.append(h('p', { class: 'muted', 'data-plan': plan.id }, `${plan.title || tCode('plancat', 'sip')} · `,
    t('meeting.version', { v: plan.meta?.versionId }), step ? ` · ${t('meeting.step')}: ${tCode('sip', step)}` : ''));
  const members = await teamMembers(id);
  const call = section('call', t('meeting.call'), t('app.loading'));
  const goals = section('goals', t('meeting.goals', { name }), t('app.loading'));
  const acts = section('activities', t('meeting.activities'), t('app.loading'));
  const agreed = section('agreements', t('meeting.agreements'), t('app.loading'));
  main.append(call.el, goals.el, acts.el, agreed.el);
  const goalList = await search(`/fhir/Goal?subject=Patient/${encodeURIComponent(id)}&_count=200`).then((r) => r.matches).catch(() => []);
  await Promise.all([
    fillCall(call, ctx, plan, id, members),
    fillGoals(goals, plan, id, name, goalList),
    fillActivities(acts, plan, id, members, goalList),
    fillAgreements(agreed, ctx, plan),
  ]);
}

// The team as the meeting needs it: who may be called (PractitionerRole,
// Patient, RelatedPerson: an Appointment's actors) and who may be responsible
// (those and the organisations).
async function teamMembers(patientId) {
  try {
    const team = await get(`/fhir/Patient/${encodeURIComponent(patientId)}/$team`);
    return (team.members || []).map((m) => ({
      ref: m.member?.reference,
      org: m.organization?.reference || (m.member?.reference?.startsWith('Organization/') ? m.member.reference : null),
      label: [m.person?.display || m.member?.display, m.organization?.display].filter((x, i, a) => x && a.indexOf(x) === i).join(', '),
      orgLabel: m.organization?.display || m.member?.display,
      coordinator: m.coordinator,
    })).filter((m) => m.ref);
  } catch {
    return [];
  }
}

function startPlan(patientId, name) {
  const sec = section('plan', t('meeting.noPlan'), '');
  const button = h('button', { type: 'button', id: 'start-plan' }, t('meeting.startPlan'));
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await post('/fhir/CarePlan', {
        resourceType: 'CarePlan', status: 'active', intent: 'plan', title: t('meeting.planTitle', { name }),
        category: [{ coding: [{ system: SYS.careplanCategory, code: 'sip' }] }],
        extension: [{ url: SIP_STEP, valueCode: 'call' }],
        subject: { reference: `Patient/${patientId}` }, period: { start: new Date().toISOString().slice(0, 10) },
      });
      refresh();
    } catch (e) {
      status(errorText(e));
      button.disabled = false;
    }
  });
  sec.fill(h('p', {}, t('meeting.noPlanText')), button);
  return sec.el;
}

async function fillCall(sec, ctx, plan, patientId, members) {
  try {
    const { matches } = await search(`/fhir/Appointment?supporting-info=CarePlan/${encodeURIComponent(plan.id)}&_sort=-date&_count=20`);
    const list = matches.length ? h('ul', { class: 'list', 'data-list': 'meetings' }, matches.map((a) => meetingRow(a))) : h('p', { class: 'muted' }, t('meeting.noMeetings'));
    sec.fill(list, callForm(ctx, plan, patientId, members));
  } catch (e) {
    sec.fill(failed(e));
  }
}

function meetingRow(a) {
  const who = h('span', { class: 'muted' });
  Promise.all((a.participant || []).map((p) => nameOf(p.actor))).then((ns) => (who.textContent = ns.filter(Boolean).join('; ')));
  const live = LIVE.includes(a.status);
  const held = live ? h('button', { type: 'button', class: 'secondary', 'data-held': a.id, 'aria-label': t('meeting.markHeldOn', { when: fmtDateTime(a.start) }) }, t('meeting.markHeld')) : null;
  held?.addEventListener('click', async () => {
    held.disabled = true;
    try {
      await patch(`/fhir/Appointment/${a.id}`, [{ op: 'replace', path: '/status', value: 'fulfilled' }], etag(a));
      status(t('meeting.held'));
      refresh();
    } catch (e) {
      status(errorText(e));
      held.disabled = false;
    }
  });
  return h('li', { 'data-id': a.id }, h('span', { class: 'grow' }, h('strong', {}, fmtDateTime(a.start)), ' · ', a.description || '', h('br'), who),
    h('span', { class: `badge ${a.status === 'fulfilled' ? 'ok' : ''}` }, tCode('appointment.status', a.status)), held);
}

function callForm(ctx, plan, patientId, members) {
  const callable = members.filter((m) => /^(PractitionerRole|Patient|RelatedPerson)\//.test(m.ref));
  const when = h('input', { id: 'call-start', type: 'datetime-local', required: true });
  const minutes = h('input', { id: 'call-minutes', type: 'number', min: 15, max: 480, step: 15, value: 60, required: true });
  const what = h('input', { id: 'call-what', type: 'text', value: t('meeting.defaultDescription') });
  const boxes = callable.map((m, i) => h('div', { class: 'check' },
    h('input', { type: 'checkbox', id: `call-p${i}`, value: m.ref, checked: true }),
    h('label', { for: `call-p${i}` }, m.ref.startsWith('Patient/') ? `${m.label} (${t('meeting.theCitizen')})` : m.label)));
  const err = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'stack', id: 'call-form' },
    h('h3', {}, t('meeting.callNew')),
    h('div', { class: 'field' }, h('label', { for: 'call-what' }, t('meeting.what')), what),
    h('div', { class: 'field' }, h('label', { for: 'call-start' }, t('meeting.when')), when),
    h('div', { class: 'field' }, h('label', { for: 'call-minutes' }, t('meeting.minutes')), minutes),
    h('fieldset', {}, h('legend', {}, t('meeting.participants')), boxes.length ? boxes : h('p', { class: 'muted' }, t('team.none'))),
    h('button', { type: 'submit' }, t('meeting.callSubmit')), err);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    const start = new Date(when.value);
    const chosen = [...form.querySelectorAll('input[type=checkbox]:checked')].map((b) => b.value);
    if (!when.value || Number.isNaN(start.getTime())) return invalid(err, when, t('meeting.needWhen'));
    if (!chosen.length) return invalid(err, null, t('meeting.needParticipants'));
    const end = new Date(start.getTime() + Number(minutes.value || 60) * 60e3);
    try {
      await post('/fhir/Appointment', {
        resourceType: 'Appointment', status: 'booked', description: what.value.trim() || t('meeting.defaultDescription'),
        start: start.toISOString(), end: end.toISOString(), created: new Date().toISOString().slice(0, 10),
        supportingInformation: [{ reference: `CarePlan/${plan.id}` }],
        participant: chosen.map((ref) => ({ actor: { reference: ref }, status: ref === ctx.roleRef ? 'accepted' : 'needs-action' })),
      });
      status(t('meeting.called'));
      refresh();
    } catch (e) {
      err.textContent = errorText(e);
    }
  });
  return form;
}

function invalid(err, field, text) {
  err.textContent = text;
  field?.focus();
}

function fillGoals(sec, plan, patientId, name, goalList) {
  const linked = new Set((plan.goal || []).map((g) => g.reference));
  const goals = goalList.filter((g) => linked.has(`Goal/${g.id}`));
  const byArea = new Map();
  for (const g of goals) {
    const area = codes(g.category, SYS.lifeArea)[0] || 'other';
    if (!byArea.has(area)) byArea.set(area, []);
    byArea.get(area).push(g);
  }
  const shown = [...byArea].map(([area, gs]) => h('div', { class: 'area', 'data-area': area }, h('h3', {}, tCode('area', area)),
    gs.map((g) => h('p', { class: 'quote' }, `“${g.description?.text || ''}”`))));
  const area = h('select', { id: 'goal-area', required: true }, LIFE_AREAS.map((a) => h('option', { value: a }, tCode('area', a))));
  const text = h('textarea', { id: 'goal-text', rows: 3, required: true });
  const err = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'stack', id: 'goal-form' },
    h('h3', {}, t('meeting.goalNew')),
    h('div', { class: 'field' }, h('label', { for: 'goal-area' }, t('meeting.area')), area),
    h('div', { class: 'field' }, h('label', { for: 'goal-text' }, t('meeting.inWords', { name })), text),
    h('button', { type: 'submit' }, t('meeting.goalSubmit')), err);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    if (!text.value.trim()) return invalid(err, text, t('meeting.needWords'));
    try {
      const goal = await post('/fhir/Goal', {
        resourceType: 'Goal', lifecycleStatus: 'active',
        category: [{ coding: [{ system: SYS.lifeArea, code: area.value }] }],
        description: { text: text.value.trim() }, subject: { reference: `Patient/${patientId}` },
        expressedBy: { reference: `Patient/${patientId}` }, startDate: new Date().toISOString().slice(0, 10),
      });
      const ref = { reference: `Goal/${goal.id}` };
      await patch(`/fhir/CarePlan/${plan.id}`, plan.goal ? [{ op: 'add', path: '/goal/-', value: ref }] : [{ op: 'add', path: '/goal', value: [ref] }], etag(plan));
      status(t('meeting.goalRecorded'));
      refresh();
    } catch (e) {
      err.textContent = errorText(e);
    }
  });
  sec.fill(shown.length ? shown : h('p', { class: 'muted' }, t('meeting.noGoals')), form);
}

function fillActivities(sec, plan, patientId, members, goalList) {
  const goalLabel = new Map(goalList.map((g) => [`Goal/${g.id}`, `${tCode('area', codes(g.category, SYS.lifeArea)[0] || 'other')}: ${g.description?.text || ''}`]));
  const rows = (plan.activity || []).filter((a) => a.detail).map((a) => {
    const d = a.detail;
    const who = h('span', {});
    if (d.performer?.[0]) nameOf(d.performer[0]).then((n) => (who.textContent = n));
    const p = d.scheduledPeriod || {};
    const when = p.start ? (p.end && p.end !== p.start ? `${fmtDate(p.start)} – ${fmtDate(p.end)}` : fmtDate(p.start)) : '';
    const goal = d.goal?.[0]?.reference && goalLabel.get(d.goal[0].reference);
    return h('li', {}, h('span', { class: 'grow' }, h('strong', {}, d.description || ''), h('br'), t('meeting.responsible'), ': ', who,
      goal ? [h('br'), h('span', { class: 'muted' }, goal)] : null), when ? h('span', {}, when) : null,
    d.status ? h('span', { class: 'badge' }, tCode('activity.status', d.status)) : null);
  });
  const options = [];
  const seen = new Set();
  const add = (ref, label) => {
    if (ref && !seen.has(ref)) {
      seen.add(ref);
      options.push(h('option', { value: ref }, label));
    }
  };
  for (const m of members) {
    if (m.ref.startsWith('Patient/')) add(m.ref, `${m.label} (${t('meeting.theCitizen')})`);
    else add(m.ref, m.label);
    if (m.org) add(m.org, t('meeting.wholeOrg', { org: m.orgLabel || refId(m.org) }));
  }
  const what = h('input', { id: 'act-what', type: 'text', required: true });
  const who = h('select', { id: 'act-who', required: true }, options);
  const goal = h('select', { id: 'act-goal' }, h('option', { value: '' }, t('meeting.noGoal')),
    (plan.goal || []).map((g) => goalLabel.has(g.reference) ? h('option', { value: g.reference }, goalLabel.get(g.reference)) : null));
  const start = h('input', { id: 'act-start', type: 'date', required: true });
  const end = h('input', { id: 'act-end', type: 'date' });
  const err = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'stack', id: 'activity-form' },
    h('h3', {}, t('meeting.activityNew')),
    h('div', { class: 'field' }, h('label', { for: 'act-what' }, t('meeting.activityWhat')), what),
    h('div', { class: 'field' }, h('label', { for: 'act-who' }, t('meeting.responsible')), who),
    h('div', { class: 'field' }, h('label', { for: 'act-goal' }, t('meeting.forGoal')), goal),
    h('div', { class: 'field' }, h('label', { for: 'act-start' }, t('meeting.from')), start),
    h('div', { class: 'field' }, h('label', { for: 'act-end' }, t('meeting.to')), end),
    h('button', { type: 'submit' }, t('meeting.activitySubmit')), err);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    if (!what.value.trim()) return invalid(err, what, t('meeting.needWhat'));
    if (!start.value) return invalid(err, start, t('meeting.needDate'));
    if (end.value && end.value < start.value) return invalid(err, end, t('meeting.endBeforeStart'));
    const detail = {
      status: 'scheduled', description: what.value.trim(), performer: [{ reference: who.value }],
      scheduledPeriod: { start: start.value, end: end.value || start.value },
    };
    if (goal.value) detail.goal = [{ reference: goal.value }];
    try {
      await patch(`/fhir/CarePlan/${plan.id}`, plan.activity ? [{ op: 'add', path: '/activity/-', value: { detail } }] : [{ op: 'add', path: '/activity', value: [{ detail }] }], etag(plan));
      status(t('meeting.activityAdded'));
      refresh();
    } catch (e) {
      err.textContent = errorText(e);
    }
  });
  sec.fill(rows.length ? h('ul', { class: 'list', 'data-list': 'activities' }, rows) : h('p', { class: 'muted' }, t('meeting.noActivities')), form);
}

// Who agreed to which version: each party of the current version, agreed or
// awaiting; a party whose agreement was to an earlier version shows that it
// was asked again (the server sends plan-awaiting-agreement after a change).
async function fillAgreements(sec, ctx, plan) {
  try {
    const [view, history] = await Promise.all([agreementOf(plan.id), agreementHistory(plan.id)]);
    const version = view.version;
    const rows = await Promise.all((view.parties || []).map(async (p) => {
      const ref = p.party.reference;
      const name = await nameOf(p.party);
      const earlier = history.find((x) => x.party === ref);
      let state;
      if (p.agreed) {
        const when = p.provenance?.recorded;
        const mine = history.find((x) => x.id === refId(p.provenance));
        state = h('span', { class: 'badge ok' }, t('agreement.agreedTo', { v: mine?.version ?? version, when: fmtDate(when) }));
      } else if (earlier) {
        state = h('span', { class: 'badge pending' }, t('agreement.askedAgain', { v: earlier.version }));
      } else {
        state = h('span', { class: 'badge soon' }, t('agreement.awaiting'));
      }
      return h('li', { 'data-party': ref, 'data-agreed': String(Boolean(p.agreed)) }, h('span', { class: 'grow' }, h('strong', {}, name),
        ref.startsWith('Patient/') ? [' ', h('span', { class: 'muted' }, `(${t('meeting.theCitizen')})`)] : null), state);
    }));
    const mineParty = (view.parties || []).find((p) => p.party.reference === ctx.orgRef);
    let button = null;
    if (mineParty && !mineParty.agreed) {
      button = h('button', { type: 'button', id: 'agree-org' }, t('agreement.agreeFor', { org: ctx.org?.name || refId(ctx.orgRef) }));
      button.addEventListener('click', async () => {
        button.disabled = true;
        try {
          await agree(view.plan.reference, ctx.roleRef);
          status(t('agreement.recorded'));
          refresh();
        } catch (e) {
          status(errorText(e));
          button.disabled = false;
        }
      });
    }
    sec.fill(h('p', {}, t('agreement.ofVersion', { v: version }), ' ',
      view.agreedByAll ? h('strong', { class: 'ok-text' }, t('agreement.all')) : t('agreement.count', { n: (view.parties || []).filter((p) => p.agreed).length, of: (view.parties || []).length })),
    h('ul', { class: 'list', 'data-list': 'agreements' }, rows), button,
    h('p', { class: 'muted' }, t('agreement.askAgainNote')));
  } catch (e) {
    sec.fill(failed(e));
  }
}
