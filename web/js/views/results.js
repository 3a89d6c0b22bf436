// results.js - indicators (Measures, docs/results.md) per month over a period,
// for an organisation or municipality: `$evaluate-measure` once per month, a
// bar chart drawn as SVG (no library) and the same numbers as a table.
// Counts below the server's minimum cell size come back masked and are shown
// as such, never as zero.
import { get, search } from '../api.js';
import { h, section, clear } from '../dom.js';
import { t, tCode, fmtNumber, currentLang } from '../i18n.js';
import { display } from '../fhir.js';
import { errorText } from '../ui.js';

// Which filter each indicator takes: those that count citizens refuse
// `organization` and are filtered by the citizen's municipality.
const INDICATORS = [
  ['task-deadlines-kept', 'organization'],
  ['coordinator-and-agreed-plan', 'municipality'],
  ['medication-changes-confirmed-on-time', 'organization'],
  ['discharge-ready-days', 'organization'],
  ['acute-readmission-30d', 'organization'],
];
const MASKED = 'masked';
const SVG = 'http://www.w3.org/2000/svg';
const pad = (n) => String(n).padStart(2, '0');
const monthOf = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}`;

function months(from, to) {
  const out = [];
  let [y, m] = from.split('-').map(Number);
  const [ty, tm] = to.split('-').map(Number);
  while ((y < ty || (y === ty && m <= tm)) && out.length < 24) {
    out.push(`${y}-${pad(m)}`);
    if (++m > 12) { m = 1; y++; }
  }
  return out;
}

const lastDay = (month) => {
  const [y, m] = month.split('-').map(Number);
  return `${month}-${pad(new Date(y, m, 0).getDate())}`;
};

const popCount = (group, code) => {
  const p = (group?.population || []).find((x) => x.code?.coding?.some((c) => c.code === code));
  if (!p) return undefined;
  return p._count?.extension?.some((e) => e.valueCode === MASKED) ? MASKED : p.count;
};

// One month: {month, score (number|null|'masked'), cases, unit}.
async function evaluate(id, filter, org, month) {
  const q = new URLSearchParams({ periodStart: `${month}-01`, periodEnd: lastDay(month) });
  if (org) q.set(filter, org);
  const r = await get(`/fhir/Measure/${encodeURIComponent(id)}/$evaluate-measure?${q}`);
  const g = r.group?.[0];
  const s = g?.measureScore;
  const score = s?.extension?.some((e) => e.valueCode === MASKED) ? MASKED : (s?.value ?? null);
  const cases = popCount(g, 'denominator') ?? popCount(g, 'measure-population') ?? popCount(g, 'initial-population');
  return { month, score, cases, unit: s?.unit || s?.code || '' };
}

export async function resultsView(main) {
  main.append(h('h1', {}, t('results.title')), h('p', {}, t('results.intro')));
  const now = new Date();
  const from = new Date(now.getFullYear(), now.getMonth() - 5, 1);
  const orgs = await search('/fhir/Organization?_count=200').then((r) => r.matches).catch(() => []);
  orgs.sort((a, b) => display(a).localeCompare(display(b), currentLang()));
  const indicator = h('select', { id: 'res-indicator' }, INDICATORS.map(([id]) => h('option', { value: id }, tCode('indicator', id))));
  const org = h('select', { id: 'res-org' }, h('option', { value: '' }, t('results.allOrgs')), orgs.map((o) => h('option', { value: `Organization/${o.id}` }, display(o))));
  const start = h('input', { id: 'res-from', type: 'month', value: monthOf(from), required: true });
  const end = h('input', { id: 'res-to', type: 'month', value: monthOf(now), required: true });
  const form = h('form', { class: 'filters', id: 'results-form' },
    h('div', { class: 'field' }, h('label', { for: 'res-indicator' }, t('results.indicator')), indicator),
    h('div', { class: 'field' }, h('label', { for: 'res-org' }, t('results.org')), org),
    h('div', { class: 'field' }, h('label', { for: 'res-from' }, t('results.from')), start),
    h('div', { class: 'field' }, h('label', { for: 'res-to' }, t('results.to')), end),
    h('button', { type: 'submit' }, t('results.show')));
  const out = section('result', t('results.result'), t('app.loading'));
  main.append(h('section', { class: 'card', 'aria-label': t('results.filters') }, form), out.el);
  const show = async () => {
    const [id, filter] = INDICATORS.find(([x]) => x === indicator.value);
    const list = months(start.value, end.value);
    out.el.querySelector('.section-body').setAttribute('aria-busy', 'true');
    out.el.querySelector('h2').textContent = tCode('indicator', id);
    try {
      if (!list.length) return out.fill(h('p', { class: 'error', role: 'alert' }, t('results.badPeriod')));
      const rows = await Promise.all(list.map((m) => evaluate(id, filter, org.value, m)));
      out.fill(chart(id, rows), table(rows));
    } catch (e) {
      out.fill(h('p', { class: 'error', role: 'alert' }, errorText(e)));
    }
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    show();
  });
  await show();
}

const isProportion = (rows) => rows.every((r) => typeof r.score !== 'number' || (r.score >= 0 && r.score <= 1)) && !rows.some((r) => r.unit);
const fmtScore = (r, prop) => (r.score === MASKED ? t('results.masked') : r.score === null ? t('results.none')
  : prop ? `${fmtNumber(Math.round(r.score * 1000) / 10)} %` : `${fmtNumber(Math.round(r.score * 10) / 10)}${r.unit ? ' ' + r.unit : ''}`);
const monthName = (m) => new Intl.DateTimeFormat({ da: 'da-DK', sv: 'sv-SE', en: 'en-GB' }[currentLang()], { month: 'short', year: '2-digit' }).format(new Date(`${m}-15`));

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

function chart(id, rows) {
  const prop = isProportion(rows);
  const values = rows.map((r) => (typeof r.score === 'number' ? (prop ? r.score * 100 : r.score) : null));
  const max = prop ? 100 : Math.max(1, ...values.filter((v) => v !== null)) * 1.1;
  const W = 600, H = 240, left = 40, bottom = 30, top = 20;
  const bw = (W - left) / rows.length;
  const y = (v) => top + (H - top - bottom) * (1 - v / max);
  const title = `${tCode('indicator', id)}: ${rows.map((r) => `${monthName(r.month)} ${fmtScore(r, prop)}`).join(', ')}`;
  const el = svg('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title },
    svg('line', { x1: left, x2: W, y1: y(0), y2: y(0), stroke: '#4d5661' }),
    svg('text', { x: 4, y: y(max) + 4 }, prop ? '100 %' : fmtNumber(Math.round(max))),
    svg('text', { x: 4, y: y(0) }, '0'));
  rows.forEach((r, i) => {
    const x = left + i * bw + bw * 0.15;
    const v = values[i];
    if (v !== null) el.append(svg('rect', { x, y: y(v), width: bw * 0.7, height: Math.max(0, y(0) - y(v)), fill: '#1d5b79', 'data-month': r.month }));
    el.append(svg('text', { x: x + bw * 0.35, y: v !== null ? y(v) - 4 : y(0) - 4, 'text-anchor': 'middle' }, v !== null ? fmtScore(r, prop) : r.score === MASKED ? '*' : '–'));
    el.append(svg('text', { x: x + bw * 0.35, y: H - 10, 'text-anchor': 'middle' }, monthName(r.month)));
  });
  return h('figure', {}, el, h('figcaption', { class: 'muted' }, t('results.maskedNote')));
}

function table(rows) {
  const prop = isProportion(rows);
  const cases = (r) => (r.cases === MASKED ? t('results.masked') : r.cases === undefined ? '' : fmtNumber(r.cases));
  return h('table', { class: 'consent-table', 'data-list': 'results' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('results.month')), h('th', { scope: 'col' }, t('results.cases')), h('th', { scope: 'col' }, t('results.score')))),
    h('tbody', {}, rows.map((r) => h('tr', { 'data-month': r.month }, h('td', {}, monthName(r.month)), h('td', {}, cases(r)), h('td', {}, fmtScore(r, prop))))));
}

export { clear };
