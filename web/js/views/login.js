// login.js - username and password against POST /auth/login (the session
// cookie is HttpOnly; the CSRF token comes back in the body).
import * as api from '../api.js';
import { h } from '../dom.js';
import { t } from '../i18n.js';

export function loginView(main, { onLogin }) {
  const err = h('p', { class: 'error', role: 'alert', id: 'login-error' });
  const user = h('input', { id: 'username', name: 'username', autocomplete: 'username', required: true, autocapitalize: 'none' });
  const pass = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const button = h('button', { type: 'submit' }, t('login.submit'));
  const form = h('form', { class: 'stack', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'username' }, t('login.username')), user),
    h('div', { class: 'field' }, h('label', { for: 'password' }, t('login.password')), pass),
    button, err);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    if (!user.value || !pass.value) {
      err.textContent = t('login.missing');
      (user.value ? pass : user).focus();
      return;
    }
    button.disabled = true;
    try {
      const me = await api.login(user.value.trim(), pass.value);
      await onLogin(me);
    } catch (e) {
      err.textContent = e.status === 401 ? t('login.failed') : t('error.network');
      pass.value = '';
      pass.focus();
    } finally {
      button.disabled = false;
    }
  });
  main.append(h('div', { class: 'card login' }, h('h1', {}, t('login.title')), h('p', { class: 'muted' }, t('login.intro')), form));
  user.focus();
}
