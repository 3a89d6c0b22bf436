// parts.js - the sections the staff overview and the citizen portal share:
// team ($team), plan by life area, stays, medication, messages, consents.
// Each fills a section() and shows an empty state or an error of its own.
import { get, search, post, patch } from '../api.js';
import { h } from '../dom.js';
import { t, tCode, fmtDate, fmtDateTime } from '../i18n.js';
import { nameOf, code, codes, refId, SYS, display } from '../fhir.js';
import { errorText, status, refresh } from '../ui.js';

const empty = (key) => h('p', { class: 'muted' }, t(key));
const failed = (e) => h('p', { class: 'error' }, errorText(e));

function telecomLinks(telecom) {
  return (telecom || []).filter((c) => c.value).map((c) => {
    const href = c.system === 'phone' ? `tel:${c.value.replace(/\s+/g, '')}` : c.system === 'email' ? `mailto:${c.value}` : null;
    const label = `${tCode('telecom', c.system, c.system)}: ${c.value}`;
    return href ? h('a', { href, class: 'telecom' }, label) : h('span', {}, label);
  });
}

export async function fillTeam(sec, patientId) {
  try {
    const team = await get(`/fhir/Patient/${encodeURIComponent(patientId)}/$team`);
    const members = team.members || [];
    if (!members.length) return sec.fill(empty('team.none'));
    sec.fill(h('ul', { class: 'list', 'data-list': 'team' }, members.map((m) => {
      const roles = codes(m.role, SYS.teamRole).filter((c) => c !== 'coordinator');
      const who = m.person?.display || m.member?.display || refId(m.member);
      return h('li', { class: m.coordinator ? 'coordinator' : '' },
        m.coordinator ? h('span', { class: 'badge coordinator' }, t('team.coordinator')) : null,
        h('span', { class: 'grow' }, h('strong', {}, who),
          m.organization?.display && m.organization.display !== who ? [h('br'), h('span', { class: 'muted' }, m.organization.display)] : null,
          roles.length ? [h('br'), h('span', { class: 'muted' }, roles.map((r) => tCode('teamrole', r)).join(', '))] : null),
        h('span', { class: 'actions' }, telecomLinks(m.telecom)));
    })));
  } catch (e) {
    sec.fill(e.status === 404 ? empty('team.none') : failed(e));
  }
}

// Goals grouped by life area, with the plan's activities under the goals they serve.
export async function fillPlan(sec, patientId) {
  try {
    const [plans, goals] = await Promise.all([
      search(`/fhir/CarePlan?subject=Patient/${encodeURIComponent(patientId)}&status=active,draft&_count=50`),
      search(`/fhir/Goal?subject=Patient/${encodeURIComponent(patientId)}&_count=200`),
    ]);
    if (!plans.matches.length && !goals.matches.length) return sec.fill(empty('plan.none'));
    const areas = new Map();
    for (const g of goals.matches) {
      const area = codes(g.category, SYS.lifeArea)[0] || 'other';
      if (!areas.has(area)) areas.set(area, { goals: [], activities: [] });
      areas.get(area).goals.push(g);
    }
    const areaOfGoal = new Map(goals.matches.map((g) => [`Goal/${g.id}`, codes(g.category, SYS.lifeArea)[0] || 'other']));
    const out = [];
    for (const plan of plans.matches) {
      out.push(h('p', {}, h('strong', {}, plan.title || tCode('plancat', code(plan.category?.[0]))), ' · ',
        h('span', { class: 'muted' }, tCode('plancat', code(plan.category?.[0], SYS.careplanCategory) || 'other'))));
      for (const a of plan.activity || []) {
        const g = a.detail?.goal?.[0]?.reference;
        const area = (g && areaOfGoal.get(g)) || 'other';
        if (!areas.has(area)) areas.set(area, { goals: [], activities: [] });
        areas.get(area).activities.push(a);
      }
    }
    for (const [area, { goals: gs, activities }] of areas) {
      out.push(h('div', { class: 'area' }, h('h3', {}, tCode('area', area)),
        gs.map((g) => h('p', { class: 'quote' }, `“${g.description?.text || ''}”`)),
        activities.length ? h('ul', { class: 'list' }, activities.map((a) => activityRow(a))) : null));
    }
    sec.fill(out);
  } catch (e) {
    sec.fill(failed(e));
  }
}

function activityRow(a) {
  const d = a.detail || {};
  const who = h('span', { class: 'muted' });
  if (d.performer?.[0]) nameOf(d.performer[0]).then((n) => (who.textContent = n));
  const p = d.scheduledPeriod;
  const when = p ? (p.start === p.end || !p.end ? fmtDate(p.start) : `${fmtDate(p.start)} – ${fmtDate(p.end)}`) : '';
  return h('li', {}, h('span', { class: 'grow' }, d.description || d.code?.text || '', h('br'), who),
    when ? h('span', {}, when) : null, d.status ? h('span', { class: 'badge' }, tCode('activity.status', d.status)) : null);
}

// The upcoming activities of the plans (the citizen's "what happens next").
export async function fillNext(sec, patientId) {
  try {
    const plans = await search(`/fhir/CarePlan?subject=Patient/${encodeURIComponent(patientId)}&status=active&_count=50`);
    const today = new Date().toISOString().slice(0, 10);
    const acts = plans.matches.flatMap((p) => p.activity || [])
      .filter((a) => a.detail?.status !== 'completed' && a.detail?.status !== 'cancelled')
      .filter((a) => (a.detail?.scheduledPeriod?.end || a.detail?.scheduledPeriod?.start || today) >= today)
      .sort((a, b) => String(a.detail?.scheduledPeriod?.start).localeCompare(String(b.detail?.scheduledPeriod?.start)));
    sec.fill(acts.length ? h('ul', { class: 'list' }, acts.slice(0, 8).map(activityRow)) : empty('next.none'));
  } catch (e) {
    sec.fill(failed(e));
  }
}

export async function fillStays(sec, patientId) {
  try {
    const { matches } = await search(`/fhir/Encounter?subject=Patient/${encodeURIComponent(patientId)}&_sort=-date&_count=50`);
    if (!matches.length) return sec.fill(empty('stays.none'));
    sec.fill(h('ol', { class: 'timeline' }, matches.map((enc) => {
      const where = h('span', {});
      nameOf(enc.serviceProvider).then((n) => (where.textContent = n));
      const p = enc.period || {};
      return h('li', {}, h('strong', {}, tCode('encounter.status', enc.status)), ' · ', where, h('br'),
        h('span', { class: 'muted' }, `${fmtDateTime(p.start)}${p.end ? ' – ' + fmtDateTime(p.end) : ''}`));
    })));
  } catch (e) {
    sec.fill(failed(e));
  }
}

// Medication list; a statement not yet confirmed (status intended) is a pending
// reconciliation that staff confirm (status active) with one button.
export async function fillMeds(sec, patientId, { canConfirm = false } = {}) {
  try {
    const { matches } = await search(`/fhir/MedicationStatement?subject=Patient/${encodeURIComponent(patientId)}&_count=100`);
    if (!matches.length) return sec.fill(empty('meds.none'));
    matches.sort((a, b) => (a.status === 'intended' ? -1 : 0) - (b.status === 'intended' ? -1 : 0));
    sec.fill(h('ul', { class: 'list', 'data-list': 'meds' }, matches.map((m) => {
      const pending = m.status === 'intended';
      const confirm = pending && canConfirm ? h('button', { type: 'button', 'data-confirm': m.id }, t('meds.confirm')) : null;
      confirm?.addEventListener('click', async () => {
        confirm.disabled = true;
        try {
          await patch(`/fhir/MedicationStatement/${m.id}`, [{ op: 'replace', path: '/status', value: 'active' }], `W/"${m.meta?.versionId}"`);
          status(t('meds.confirmed'));
          refresh();
        } catch (e) {
          status(errorText(e));
          confirm.disabled = false;
        }
      });
      return h('li', {}, h('span', { class: 'grow' }, h('strong', {}, m.medicationCodeableConcept?.text || code(m.medicationCodeableConcept) || ''),
        h('br'), h('span', {}, (m.dosage || []).map((d) => d.text).join('; ')),
        (m.note || []).map((n) => [h('br'), h('span', { class: 'muted' }, n.text)])),
        pending ? h('span', { class: 'badge pending' }, t('meds.pending')) : h('span', { class: 'badge' }, tCode('meds.status', m.status)),
        confirm);
    })));
  } catch (e) {
    sec.fill(failed(e));
  }
}

// Messages about the citizen, newest first, with a form to write one.  from is
// the author's reference; recipients [{reference, label}] the choices.
export async function fillMessages(sec, patientId, { from, recipients = [] }) {
  try {
    const { matches } = await search(`/fhir/Communication?subject=Patient/${encodeURIComponent(patientId)}&_sort=-sent&_count=50`);
    const list = matches.length ? h('ul', { class: 'list', 'data-list': 'messages' }, matches.map(messageRow)) : empty('messages.none');
    sec.fill(list, from && recipients.length ? messageForm(patientId, from, recipients) : null);
  } catch (e) {
    sec.fill(failed(e));
  }
}

export function messageRow(c) {
  const who = h('strong', {});
  const to = h('span', { class: 'muted' });
  nameOf(c.sender).then((n) => (who.textContent = n || t('messages.unknown')));
  Promise.all((c.recipient || []).map(nameOf)).then((ns) => (to.textContent = ns.length ? `→ ${ns.join(', ')}` : ''));
  const text = (c.payload || []).map((p) => p.contentString || p.contentAttachment?.title || '').filter(Boolean);
  const attachments = (c.payload || []).filter((p) => p.contentAttachment).map((p) => h('span', { class: 'badge' }, `📎 ${p.contentAttachment.title || t('messages.attachment')}`));
  return h('li', { class: `msg ${c.inResponseTo ? 'reply' : ''}` }, h('span', { class: 'grow' }, who, ' ', to, h('br'), text.map((s) => h('span', {}, s, h('br'))), attachments),
    h('span', { class: 'muted' }, fmtDateTime(c.sent)));
}

function messageForm(patientId, from, recipients) {
  const id = `msg-${Math.random().toString(36).slice(2, 8)}`;
  const to = h('select', { id: `${id}-to` }, recipients.map((r) => h('option', { value: r.reference }, r.label)));
  const text = h('textarea', { id: `${id}-text`, rows: 3, required: true });
  const err = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'stack' },
    h('div', { class: 'field' }, h('label', { for: `${id}-to` }, t('messages.to')), to),
    h('div', { class: 'field' }, h('label', { for: `${id}-text` }, t('messages.text')), text),
    h('button', { type: 'submit' }, t('messages.send')), err);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    if (!text.value.trim()) {
      err.textContent = t('messages.empty');
      text.focus();
      return;
    }
    try {
      await post('/fhir/Communication', {
        resourceType: 'Communication', status: 'completed', subject: { reference: `Patient/${patientId}` },
        sender: { reference: from }, recipient: [{ reference: to.value }], sent: new Date().toISOString(),
        payload: [{ contentString: text.value.trim() }],
      });
      status(t('messages.sent'));
      refresh();
    } catch (e) {
      err.textContent = errorText(e);
    }
  });
  return h('div', {}, h('h3', {}, t('messages.write')), form);
}

// Recipients for a message: the team's members.
export async function teamRecipients(patientId) {
  try {
    const team = await get(`/fhir/Patient/${encodeURIComponent(patientId)}/$team`);
    return (team.members || []).filter((m) => m.member?.reference && !m.member.reference.startsWith('Patient/')).map((m) => ({
      reference: m.member.reference,
      label: [m.person?.display || m.member.display, m.organization?.display].filter(Boolean).join(', ') + (m.coordinator ? ` (${t('team.coordinator')})` : ''),
    }));
  } catch {
    return [];
  }
}

export { display };
