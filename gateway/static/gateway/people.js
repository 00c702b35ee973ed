// Finding people by name (GET /api/users/search): a private chat with one of them, or adding
// them to the open group when this user manages it.

import { $, el, onSubmit, setFormError } from './dom.js';
import { errorText } from './format.js';
import { isManager } from './state.js';

const LIMIT = 20;

/** Needs: openRoom(roomId), loadRooms(), loadMembers(roomId). */
export function createPeople({ state, api, openRoom, loadRooms, loadMembers }) {
  let last = [];

  onSubmit('people-form', 'people-error', async (form) => {
    const q = form.q.value.trim();
    if (!q) {
      setFormError('people-error', 'Type the start of a name.');
      return;
    }
    try {
      const data = await api.get('/api/users/search', { q, limit: LIMIT });
      last = (data.users || []).filter((user) => user.user_id !== state.me);
      for (const user of last) state.names.set(user.user_id, user.nickname || user.username);
      $('people-summary').textContent = last.length
        ? `${last.length}${data.has_more ? '+' : ''} ${last.length === 1 ? 'person' : 'people'} found.`
        : 'Nobody matches.';
      render();
    } catch (error) {
      setFormError('people-error', errorText(error));
    }
  });

  /** The results again (the open room changed: who may be added to it). */
  function render() {
    const list = $('people-results');
    list.replaceChildren();
    const room = state.rooms.get(state.current);
    for (const user of last) list.append(person(user, isManager(room) ? room : null));
  }

  function person(user, group) {
    const name = user.nickname || user.username;
    const status = el('p', { className: 'form-error', attrs: { role: 'status' } });
    const message = el('button', { text: 'Message', attrs: { type: 'button', 'aria-label': `Message ${name}` } });
    message.addEventListener('click', async () => {
      message.disabled = true;
      try {
        const data = await api.post('/api/chat/group/create', {
          name: `${api.session.username} & ${user.username}`.slice(0, 100),
          is_group: false,
          member_ids: [user.user_id],
        });
        await loadRooms();
        await openRoom(data.room_id);
      } catch (error) {
        status.textContent = errorText(error);
      } finally {
        message.disabled = false;
      }
    });
    const actions = el('p', { className: 'actions' }, [message]);
    if (group) {
      const add = el('button', {
        className: 'secondary',
        text: `Add to ${group.name}`,
        attrs: { type: 'button', 'aria-label': `Add ${name} to ${group.name}` },
      });
      add.addEventListener('click', async () => {
        add.disabled = true;
        try {
          await api.post('/api/chat/group/add_member', { room_id: group.id, member_id: user.user_id });
          status.textContent = `${name} is a member of ${group.name}.`;
          await loadMembers(group.id);
        } catch (error) {
          status.textContent = errorText(error);
          add.disabled = false;
        }
      });
      actions.append(add);
    }
    return el('li', { className: 'person', attrs: { 'data-user-id': user.user_id } }, [
      el('p', { className: 'member-name', text: name }),
      el('p', { className: 'member-detail', text: `@${user.username}` }),
      actions,
      status,
    ]);
  }

  function clear() {
    last = [];
    $('people-results').replaceChildren();
    $('people-summary').textContent = '';
  }

  return { render, clear };
}
