// i18n.js - every text of the app comes from web/i18n/{da,sv,en}.json; dates,
// numbers, weekday names and countdowns come from Intl in the chosen locale.
export const LANGS = ['da', 'sv', 'en'];
const LOCALE = { da: 'da-DK', sv: 'sv-SE', en: 'en-GB' };
let lang = 'en';
let texts = {};
let fallback = {};

export function currentLang() {
  return lang;
}

export function initialLang() {
  const saved = localStorage.getItem('samverka.lang');
  if (LANGS.includes(saved)) return saved;
  for (const l of navigator.languages || [navigator.language || 'en']) {
    const base = String(l).slice(0, 2).toLowerCase();
    if (base === 'nb' || base === 'no') return 'da';
    if (LANGS.includes(base)) return base;
  }
  return 'en';
}

async function fetchTexts(l) {
  const res = await fetch(`/i18n/${l}.json`, { credentials: 'same-origin' });
  if (!res.ok) throw new Error(`i18n ${l}: ${res.status}`);
  return res.json();
}

export async function setLang(l) {
  if (!LANGS.includes(l)) l = 'en';
  const [t, f] = await Promise.all([fetchTexts(l), l === 'en' ? null : fetchTexts('en')]);
  texts = t;
  fallback = f || t;
  lang = l;
  localStorage.setItem('samverka.lang', l);
  document.documentElement.lang = l;
}

// t('worklist.title'), t('task.due', {when: '…'}); a missing key shows English, then the key.
export function t(key, vars) {
  let s = texts[key] ?? fallback[key] ?? key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  return s;
}

// t() for a code with a fallback display: t('kind.task-new') or the given text.
export function tCode(prefix, code, display) {
  const key = `${prefix}.${code}`;
  return texts[key] ?? fallback[key] ?? display ?? code;
}

const loc = () => LOCALE[lang];

export function fmtDate(value) {
  if (!value) return '';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return new Intl.DateTimeFormat(loc(), { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' }).format(d);
}

export function fmtDateTime(value) {
  if (!value) return '';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return new Intl.DateTimeFormat(loc(), { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' }).format(d);
}

export function fmtNumber(n) {
  return new Intl.NumberFormat(loc()).format(n);
}

// "in 2 days", "3 hours ago" in the locale: the unit that reads best.
export function fmtRelative(value, now = Date.now()) {
  const ms = new Date(value).getTime() - now;
  const abs = Math.abs(ms);
  const rtf = new Intl.RelativeTimeFormat(loc(), { numeric: 'auto' });
  if (abs < 3600e3) return rtf.format(Math.round(ms / 60e3), 'minute');
  if (abs < 48 * 3600e3) return rtf.format(Math.round(ms / 3600e3), 'hour');
  return rtf.format(Math.round(ms / 86400e3), 'day');
}

export function age(birthDate, now = new Date()) {
  if (!birthDate) return null;
  const b = new Date(birthDate);
  let a = now.getFullYear() - b.getFullYear();
  if (now.getMonth() < b.getMonth() || (now.getMonth() === b.getMonth() && now.getDate() < b.getDate())) a--;
  return a;
}
