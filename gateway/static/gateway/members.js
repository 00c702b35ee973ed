// The members of the open room in the side panel: loading them (which also names message
// authors and the other person of a private chat), their roles, online dots and "last seen"
// times (kept live by `presence` frames), reading them again when someone shown offline writes
// or the membership changes, adding a member.

import { ApiError } from './api.js';
import { presenceText } from './conversation.js';
import { $, el, onSubmit, setFormError } from './dom.js';
import { errorText, parseIds, roleName } from './format.js';
import { acceptPresence, membersChanged, setMembers } from './state.js';

const REFRESH_DELAY_MS = 500;

/** Needs: renderRoomList(), renderRoomHeader(), renameAuthors(roomId) (messages.js);
 * readsChanged(roomId), when the members' read positions may have moved (receipts.js). */
export function createMembers({ state, api, renderRoomList, renderRoomHeader, renameAuthors, readsChanged = () => {} }) {
  let refreshTimer = null;

  async function load(roomId) {
    const data = await api.get('/api/chat/group/members', { room_id: roomId });
    setMembers(state, roomId, data.members || []);
    if (state.rooms.get(roomId)?.is_group === false) renderRoomList(); // its label is the other's name
    if (state.current === roomId) {
      render();
      renderRoomHeader();
      renameAuthors(roomId);
      readsChanged(roomId);
    }
  }

  /** A `presence` frame: someone came online or went offline. */
  function presence(payload) {
    if (!acceptPresence(state, payload).includes(state.current)) return;
    render();
    renderRoomHeader();
  }

  /** Read the open room's members again soon (once, however many ask meanwhile). */
  function scheduleRefresh() {
    if (refreshTimer) return;
    const roomId = state.current;
    refreshTimer = setTimeout(() => {
      refreshTimer = null;
      if (state.current === roomId) load(roomId).catch(() => {});
    }, REFRESH_DELAY_MS);
  }

  /** Someone joined, left or changed role in the room. */
  function changed(roomId) {
    if (membersChanged(state, roomId)) load(roomId).catch(() => {});
  }

  function render() {
    const list = $('member-list');
    list.replaceChildren();
    for (const member of state.members.get(state.current) || []) {
      const name = member.nickname || member.username;
      const you = member.user_id === state.me ? ' (you)' : '';
      list.append(
        el('li', { className: member.online ? 'member online' : 'member', attrs: { 'data-user-id': member.user_id } }, [
          el('span', { className: 'presence', attrs: { 'aria-hidden': 'true' } }),
          el('span', { className: 'member-name', text: `${name}${you}` }),
          el('span', { className: 'member-detail', text: `@${member.username} · #${member.user_id}` }),
          el('span', { className: 'role', text: roleName(member.role) }),
          el('span', { className: 'member-presence', text: presenceText(member) }),
        ]),
      );
    }
  }

  function clear() {
    $('member-list').replaceChildren();
  }

  function stop() {
    clearTimeout(refreshTimer);
    refreshTimer = null;
  }

  onSubmit('add-member-form', 'add-member-error', async (form) => {
    const roomId = state.current;
    try {
      const [memberId] = parseIds(form.member.value);
      if (!memberId) throw new ApiError(400, 'Enter the user id of the person to add.');
      await api.post('/api/chat/group/add_member', { room_id: roomId, member_id: memberId });
      form.reset();
      await load(roomId);
    } catch (error) {
      setFormError('add-member-error', errorText(error));
    }
  });

  return { load, scheduleRefresh, changed, presence, render, clear, stop };
}
