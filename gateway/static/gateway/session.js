// Accounts on the page: the login and registration forms, the logout button, and switching
// between the signed-out view and the app (what starts and stops with the app is the entry
// module's business). Tokens themselves are api.js's.

import { $, onSubmit, setFormError } from './dom.js';
import { errorText } from './format.js';

/** Needs: enterApp() once logged in. */
export function createSession({ api, enterApp }) {
  onSubmit('login-form', 'login-error', async (form) => {
    try {
      await api.login(form.username.value.trim(), form.password.value);
      form.reset();
      await enterApp();
    } catch (error) {
      setFormError('login-error', errorText(error));
    }
  });

  onSubmit('register-form', 'register-error', async (form) => {
    const username = form.username.value.trim();
    const password = form.password.value;
    const body = { username, password };
    if (form.nickname.value.trim()) body.nickname = form.nickname.value.trim();
    try {
      await api.request('POST', '/register', { body, auth: false });
      await api.login(username, password);
      form.reset();
      await enterApp();
    } catch (error) {
      setFormError('register-error', errorText(error));
    }
  });

  $('logout').addEventListener('click', () => api.logout('You have logged out.'));

  /** The app instead of the forms, with who is logged in (name and user id) at the top. */
  function showApp(session) {
    $('auth-view').hidden = true;
    $('app-view').hidden = false;
    $('whoami').hidden = false;
    $('logout').hidden = false;
    $('me-name').textContent = session.username;
    $('me-id').textContent = String(session.user_id);
  }

  /** The forms on a fresh page without a session. */
  function showForms() {
    $('auth-view').hidden = false;
  }

  /** The forms after a logout, saying why, with the focus on the username. */
  function showLoggedOut(reason) {
    $('app-view').hidden = true;
    $('whoami').hidden = true;
    $('logout').hidden = true;
    $('auth-view').hidden = false;
    setFormError('login-error', reason || '');
    $('login-username').focus();
  }

  return { showApp, showForms, showLoggedOut };
}
