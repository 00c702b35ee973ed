// The user's own account: the display name (POST /api/me), the password (POST
// /api/me/password: other devices' sessions end, this one gets new tokens), whether others see
// their read receipts (/api/me/settings) and the people they block, with Unblock.

import { $, el, onSubmit, setFormError } from './dom.js';
import { errorText } from './format.js';
import { toast } from './notices.js';

export function createProfile({ state, api }) {
  async function load() {
    const [me, blocked, settings] = await Promise.all([api.get('/api/me'), api.get('/api/users/blocked'), api.get('/api/me/settings')]);
    $('profile-nickname').value = me.nickname || '';
    $('share-receipts').checked = Boolean(settings.share_read_receipts);
    renderBlocked(blocked.users || []);
  }

  async function loadBlocked() {
    const data = await api.get('/api/users/blocked');
    renderBlocked(data.users || []);
  }

  function renderBlocked(users) {
    const list = $('blocked-list');
    list.replaceChildren();
    $('blocked-empty').hidden = users.length > 0;
    for (const user of users) {
      const name = user.nickname || user.username;
      const unblock = el('button', { className: 'secondary', text: 'Unblock', attrs: { type: 'button', 'aria-label': `Unblock ${name}` } });
      unblock.addEventListener('click', async () => {
        unblock.disabled = true;
        try {
          await api.post('/api/users/block', { user_id: user.user_id, blocked: false });
          toast(`You unblocked ${name}.`);
          await loadBlocked();
        } catch (error) {
          toast(errorText(error));
          unblock.disabled = false;
        }
      });
      list.append(
        el('li', { className: 'member', attrs: { 'data-user-id': user.user_id } }, [
          el('span', { className: 'member-name', text: name }),
          el('span', { className: 'member-detail', text: `@${user.username}` }),
          unblock,
        ]),
      );
    }
  }

  $('profile-panel').addEventListener('toggle', () => {
    if ($('profile-panel').open) load().catch((error) => toast(errorText(error)));
  });

  onSubmit('nickname-form', 'nickname-error', async (form) => {
    try {
      const me = await api.post('/api/me', { nickname: form.nickname.value.trim() });
      state.names.set(me.user_id, me.nickname || me.username);
      toast('Your display name is saved.');
    } catch (error) {
      setFormError('nickname-error', errorText(error));
    }
  });

  // Saved as soon as it is switched; a refusal switches it back.
  $('share-receipts').addEventListener('change', async () => {
    const box = $('share-receipts');
    const wanted = box.checked;
    setFormError('receipts-error', '');
    box.disabled = true;
    try {
      const data = await api.post('/api/me/settings', { share_read_receipts: wanted });
      box.checked = Boolean(data.share_read_receipts);
      toast(box.checked ? 'Others now see when you have read their messages.' : 'Your read receipts are now private.');
    } catch (error) {
      box.checked = !wanted;
      setFormError('receipts-error', errorText(error));
    } finally {
      box.disabled = false;
    }
  });
  $('receipts-form').addEventListener('submit', (event) => event.preventDefault());

  onSubmit('password-form', 'password-error', async (form) => {
    try {
      const data = await api.post('/api/me/password', { old_password: form.old.value, new_password: form.new.value });
      api.saveSession({ ...api.session, token: data.token, refresh: data.refresh });
      form.reset();
      toast('Your password is changed. Your other devices will have to log in again.');
    } catch (error) {
      setFormError('password-error', errorText(error));
    }
  });

  function clear() {
    $('blocked-list').replaceChildren();
    $('profile-nickname').value = '';
    $('share-receipts').checked = false;
    $('profile-panel').open = false;
  }

  return { loadBlocked, clear };
}
