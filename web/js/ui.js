// ui.js - messages to the user: a polite live region for what just happened,
// and errors (OperationOutcomes) in the user's language.
import { t } from './i18n.js';

let timer = null;
export function status(text) {
  const s = document.getElementById('status');
  if (!s) return;
  s.textContent = text || '';
  clearTimeout(timer);
  timer = setTimeout(() => (s.textContent = ''), 5000);
}

export function errorText(e) {
  if (e?.status === 401) return t('error.401');
  if (e?.status === 403) return t('error.403');
  if (e?.status === 404) return t('error.404');
  if (e?.status === 409 || e?.status === 412) return t('error.conflict');
  if (e?.status >= 500) return t('error.server');
  if (e?.issues?.length) return `${t('error.refused')}: ${e.message}`;
  return t('error.network');
}

// Re-renders the current screen (after a change).
export function refresh() {
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}
