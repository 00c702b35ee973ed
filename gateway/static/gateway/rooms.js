// The rooms: loading the joined ones, the room list (most recently active first, each with its
// last message and its unread, mention and request badges, kept in order live), the open
// room's header (a private chat's: the other person's presence), creating groups and private
// chats, leaving a group, and finding groups by name to open, join or ask to join.

import { ApiError } from './api.js';
import { badgeLabel, orderRooms, presenceText, previewText } from './conversation.js';
import { $, el, onSubmit, rebuildKeepingFocus, setFormError } from './dom.js';
import { errorText, parseIds, roleName } from './format.js';
import { showUnreadInTitle, toast } from './notices.js';
import {
  forgetRoom,
  isManager,
  otherMember,
  rememberRoomNames,
  requestCount,
  roomLabel,
  roomName,
  roomsToFollowUp,
  setRooms,
  totalUnread,
  userName,
} from './state.js';

const REFRESH_DELAY_MS = 200;
const SEARCH_LIMIT = 20;

/**
 * Needs: layout (layout.js); openRoom(roomId) and closeRoom() (the entry module's, which
 * draw the whole room); loadMembers(roomId), loadRequests(roomId).
 */
export function createRooms({ state, api, layout, openRoom, closeRoom, loadMembers, loadRequests }) {
  let refreshTimer = null;
  const namesAsked = new Set(); // rooms whose members were read to name a preview's sender

  async function load() {
    const data = await api.get('/api/joined_rooms');
    const previous = setRooms(state, data.rooms || []);
    renderList();
    if (state.current !== null && !state.rooms.has(state.current)) {
      toast(`You are no longer a member of ${roomName(state, state.current)}.`);
      closeRoom();
    } else if (state.current !== null) {
      renderHeader();
    }
    // Pending join requests of the groups this user manages (filed while away, too), and who
    // is on the other side of each private chat.
    const followUp = roomsToFollowUp(state, previous);
    await Promise.all([
      ...followUp.requests.map((roomId) => loadRequests(roomId).catch(() => {})),
      ...followUp.members.map((roomId) => loadMembers(roomId).catch(() => {})),
    ]);
  }

  /** Read the rooms again shortly (several events in a burst make one request). */
  function scheduleRefresh() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => load().catch(() => {}), REFRESH_DELAY_MS);
  }

  function stop() {
    clearTimeout(refreshTimer);
  }

  function renderList() {
    rebuildKeepingFocus($('room-list'), 'data-room-id', fillList);
    $('room-list-empty').hidden = state.rooms.size > 0;
    showUnreadInTitle(totalUnread(state));
    nameSenders();
  }

  /** A preview whose sender is not known by name yet: read that room's members, once. */
  function nameSenders() {
    for (const room of state.rooms.values()) {
      const sender = room.last_message?.sender_id;
      if (sender === undefined || sender === state.me || state.names.has(sender) || namesAsked.has(room.id)) continue;
      namesAsked.add(room.id);
      loadMembers(room.id).then(renderList, () => {});
    }
  }

  function fillList() {
    const list = $('room-list');
    for (const room of orderRooms(state.rooms.values())) {
      const unread = state.unread.get(room.id) || 0;
      const mentions = state.mentions.get(room.id) || 0;
      const requests = requestCount(state, room);
      const button = el('button', {
        className: 'room',
        attrs: { type: 'button', 'data-room-id': room.id, 'aria-current': room.id === state.current ? 'true' : null },
      });
      const preview = previewText(room.last_message, {
        me: state.me,
        nameOf: (userId) => (state.names.has(userId) ? userName(state, userId, room.id) : null),
        isGroup: room.is_group,
      });
      button.append(
        el('span', { className: 'room-main' }, [
          el('span', { className: 'room-top' }, [
            el('span', { className: 'room-name', text: roomLabel(state, room) }),
            el('span', { className: 'room-kind', text: room.is_group ? 'group' : 'private' }),
          ]),
          preview ? el('span', { className: 'room-preview', text: preview, attrs: { title: preview } }) : null,
        ]),
      );
      if (mentions) button.append(el('span', { className: 'badge badge-mention', text: '@', attrs: { 'aria-hidden': 'true' } }));
      if (unread) button.append(el('span', { className: 'badge', text: unread, attrs: { 'aria-hidden': 'true' } }));
      if (unread || mentions) button.append(el('span', { className: 'visually-hidden', text: badgeLabel(unread, mentions) }));
      if (requests) {
        button.append(
          el('span', { className: 'badge badge-requests', text: `${requests}?`, attrs: { 'aria-hidden': 'true' } }),
          el('span', { className: 'visually-hidden', text: `, ${requests} join request${requests > 1 ? 's' : ''}` }),
        );
      }
      button.addEventListener('click', () => openRoom(room.id));
      list.append(el('li', {}, [button]));
    }
  }

  function renderHeader() {
    const room = state.rooms.get(state.current);
    if (!room) return;
    $('room-title').textContent = roomLabel(state, room);
    const members = state.members.get(room.id);
    const parts = [room.is_group ? 'Group' : 'Private chat', `you are ${roleName(room.role)}`];
    const other = room.is_group ? null : otherMember(state, room.id);
    if (other) {
      parts.push(presenceText(other));
    } else if (members) {
      const online = members.filter((m) => m.online).length;
      parts.push(`${members.length} member${members.length === 1 ? '' : 's'}, ${online} online`);
    }
    $('room-presence').hidden = !other;
    $('room-presence').classList.toggle('online', Boolean(other?.online));
    $('room-subtitle').textContent = parts.join(' · ');
    $('requests-section').hidden = !isManager(room);
    $('add-member-section').hidden = !isManager(room);
    $('leave-room').hidden = !room.is_group;
  }

  /** The open room (state.current) is shown: marked in the list, its header, the chat view. */
  function showRoom() {
    renderList();
    renderHeader();
    layout.setView('chat');
  }

  /** No room is open. */
  function showNoRoom() {
    $('room-title').textContent = 'No room open';
    $('room-subtitle').textContent = 'Pick a room on the left, create one, or find a group.';
    $('room-presence').hidden = true;
    $('requests-section').hidden = true;
    $('add-member-section').hidden = true;
    $('leave-room').hidden = true;
    layout.setView('rooms');
    renderList();
  }

  function focusFirst() {
    const first = document.querySelector('#room-list button');
    (first || $('create-summary')).focus();
  }

  /** Logout: the list and the search results go. */
  function clear() {
    namesAsked.clear();
    $('room-list').replaceChildren();
    $('search-results').replaceChildren();
    $('search-summary').textContent = '';
  }

  // --- Creating and leaving rooms ----------------------------------------------------------

  onSubmit('create-group-form', 'create-group-error', async (form) => {
    try {
      const body = {
        name: form.name.value.trim(),
        is_group: true,
        member_ids: parseIds(form.members.value),
        join_policy: form.policy.value,
      };
      const data = await api.post('/api/chat/group/create', body);
      form.reset();
      await load();
      await openRoom(data.room_id);
    } catch (error) {
      setFormError('create-group-error', errorText(error));
    }
  });

  onSubmit('create-private-form', 'create-private-error', async (form) => {
    try {
      const [other] = parseIds(form.user.value);
      if (!other) throw new ApiError(400, 'Enter the user id of the person to chat with.');
      const otherName = state.names.get(other) ?? `#${other}`;
      const data = await api.post('/api/chat/group/create', {
        name: `${api.session.username} & ${otherName}`.slice(0, 100),
        is_group: false,
        member_ids: [other],
      });
      form.reset();
      await load();
      await openRoom(data.room_id);
    } catch (error) {
      setFormError('create-private-error', errorText(error));
    }
  });

  $('leave-room').addEventListener('click', async () => {
    const roomId = state.current;
    if (roomId === null || !window.confirm(`Leave ${roomName(state, roomId)}?`)) return;
    try {
      await api.post('/api/chat/group/remove_member', { room_id: roomId, target_user_id: state.me });
      forgetRoom(state, roomId);
      closeRoom();
      await load();
    } catch (error) {
      toast(errorText(error));
    }
  });

  // --- Finding groups ------------------------------------------------------------------------

  onSubmit('search-form', 'search-error', async (form) => {
    try {
      const data = await api.get('/api/chat/group/search', { q: form.q.value.trim(), limit: SEARCH_LIMIT });
      renderSearch(data.rooms || [], data.total ?? 0);
    } catch (error) {
      setFormError('search-error', errorText(error));
    }
  });

  function renderSearch(rooms, total) {
    const list = $('search-results');
    list.replaceChildren();
    $('search-summary').textContent = total
      ? `${total} group${total === 1 ? '' : 's'} found${total > rooms.length ? `, showing ${rooms.length}` : ''}.`
      : 'No group matches.';
    rememberRoomNames(state, rooms);
    for (const room of rooms) list.append(searchResult(room));
  }

  function searchResult(room) {
    const approval = room.join_policy === 'approval';
    const item = el('li', { className: 'search-result', attrs: { 'data-room-id': room.id } }, [
      el('p', { className: 'room-name', text: room.name }),
      el('p', {
        className: 'member-detail',
        text: `${room.member_count} member${room.member_count === 1 ? '' : 's'} · ${approval ? 'approval needed' : 'open to all'}`,
      }),
    ]);
    const status = el('p', { className: 'form-error', attrs: { role: 'status' } });
    if (state.rooms.has(room.id)) {
      const open = el('button', { text: 'Open', attrs: { type: 'button', 'aria-label': `Open ${room.name}` } });
      open.addEventListener('click', () => openRoom(room.id));
      item.append(el('p', { className: 'actions' }, [open]));
    } else if (!approval) {
      const join = el('button', { text: 'Join', attrs: { type: 'button', 'aria-label': `Join ${room.name}` } });
      join.addEventListener('click', async () => {
        join.disabled = true;
        try {
          await api.post('/api/chat/group/join', { room_id: room.id });
          await load();
          await openRoom(room.id);
        } catch (error) {
          status.textContent = errorText(error);
          join.disabled = false;
        }
      });
      item.append(el('p', { className: 'actions' }, [join]));
    } else {
      const messageId = `join-message-${room.id}`;
      const message = el('input', { attrs: { id: messageId, maxlength: 500, autocomplete: 'off' } });
      const ask = el('button', { text: 'Ask to join', attrs: { type: 'button', 'aria-label': `Ask to join ${room.name}` } });
      ask.addEventListener('click', async () => {
        ask.disabled = true;
        try {
          await api.post('/api/chat/group/join/request', { room_id: room.id, message: message.value.trim() });
          status.textContent = 'Request sent. You will be let in once an admin approves.';
          message.disabled = true;
        } catch (error) {
          status.textContent = errorText(error);
          ask.disabled = false;
        }
      });
      item.append(
        el('label', { text: `Message for the admins of ${room.name} (optional)`, attrs: { for: messageId } }),
        message,
        el('p', { className: 'actions' }, [ask]),
      );
    }
    item.append(status);
    return item;
  }

  return { load, scheduleRefresh, stop, renderList, renderHeader, showRoom, showNoRoom, focusFirst, clear };
}
