// The browser client: accounts, rooms, the live chat view, members and join requests.
// Plain ES modules, no build step. User content only ever reaches the page as textContent.

import { Api, ApiError } from './api.js';
import { ChatSocket } from './socket.js';
import { Timeline } from './timeline.js';

const HISTORY_PAGE = 50;
const REFRESH_EVERY_MS = 30000;
const TOAST_MS = 8000;
const ROLE_NAMES = { 0: 'owner', 1: 'admin', 2: 'member' };
const NEAR_BOTTOM_PX = 80;
const NEAR_TOP_PX = 120;

const $ = (id) => document.getElementById(id);

/** An element with text content (never HTML) and attributes. */
function el(tag, { className, text, attrs } = {}, children = []) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function clientMsgId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes); // randomUUID needs a secure context; this does not
  return `web-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

function safeHttpUrl(raw) {
  try {
    const url = new URL(String(raw));
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

function formatTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const today = new Date();
  const sameDay = date.toDateString() === today.toDateString();
  return sameDay
    ? date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : date.toLocaleString([], { dateStyle: 'short', timeStyle: 'short' });
}

function errorText(error) {
  return error instanceof ApiError ? error.describe() : 'Something went wrong. Please try again.';
}

function parseIds(raw) {
  const parts = raw.split(/[\s,;]+/).filter(Boolean);
  if (!parts.every((part) => /^[0-9]{1,15}$/.test(part) && Number(part) > 0)) {
    throw new ApiError(400, 'User ids are whole numbers, like 2, 5');
  }
  return [...new Set(parts.map(Number))];
}

// --- State ---------------------------------------------------------------------------

const state = {
  rooms: new Map(), // room_id -> {id, name, is_group, role, last_seq}
  roomNames: new Map(), // room_id -> name, also of rooms seen only in search results
  timelines: new Map(), // room_id -> Timeline
  members: new Map(), // room_id -> [member]
  names: new Map(), // user_id -> display name
  unread: new Map(), // room_id -> count
  requests: new Map(), // room_id -> Map(request_id -> request)
  pending: new Map(), // client_msg_id -> {client_msg_id, room_id, content, status, error}
  current: null, // the open room's id
  messageEls: new Map(), // message id -> element, for the open room
  pendingEls: new Map(), // client_msg_id -> element, for the open room
  connectedOnce: false,
  roomsLoaded: false,
};

const api = new Api({ onLogout: (reason) => leaveApp(reason) });
const socket = new ChatSocket({
  api,
  onStatus: showConnection,
  onOpen: socketOpened,
  onMessages: receiveMessages,
  onAck: receiveAck,
  onNotice: receiveNotice,
  onError: (payload) => toast(`The server refused a frame: ${payload.msg || 'unknown error'}`),
});
let refreshTimer = null;
let roomsRefreshTimer = null;
let membersRefreshTimer = null;

const me = () => api.session?.user_id;
const timelineOf = (roomId) => {
  if (!state.timelines.has(roomId)) state.timelines.set(roomId, new Timeline());
  return state.timelines.get(roomId);
};
const isManager = (room) => Boolean(room && room.is_group && room.role <= 1);
/** A group's name; for a private chat, the other person's name once the members are known
 * (the stored name was made up by whoever started it). */
function roomLabel(room) {
  if (!room.is_group) {
    const other = (state.members.get(room.id) || []).find((m) => m.user_id !== me());
    if (other) return `${other.nickname || other.username} (private)`;
  }
  return room.name;
}

const roomName = (roomId) => {
  const room = state.rooms.get(roomId);
  return room ? roomLabel(room) : (state.roomNames.get(roomId) ?? `room #${roomId}`);
};

function userName(userId, roomId = state.current) {
  if (userId === me()) return 'You';
  const member = (state.members.get(roomId) || []).find((m) => m.user_id === userId);
  if (member) return member.nickname || member.username;
  return state.names.get(userId) ?? `user #${userId}`;
}

// --- Small UI helpers ------------------------------------------------------------------

function showConnection(stateName, text) {
  const node = $('connection');
  node.dataset.state = stateName;
  node.textContent = text;
}

function toast(text) {
  const item = el('li', { text });
  $('toasts').append(item);
  setTimeout(() => item.remove(), TOAST_MS);
}

function announce(text) {
  const item = el('p', { text });
  const region = $('announcer');
  region.append(item);
  while (region.childElementCount > 5) region.firstElementChild.remove();
}

function setFormError(id, text) {
  $(id).textContent = text || '';
}

async function withBusy(form, action) {
  const buttons = form.querySelectorAll('button');
  buttons.forEach((button) => {
    button.disabled = true;
  });
  try {
    await action();
  } finally {
    buttons.forEach((button) => {
      button.disabled = false;
    });
  }
}

function updateTitle() {
  let total = 0;
  for (const count of state.unread.values()) total += count;
  document.title = total ? `(${total}) Chat` : 'Chat';
}

// --- Signing in and out ------------------------------------------------------------------

async function enterApp() {
  const session = api.session;
  $('auth-view').hidden = true;
  $('app-view').hidden = false;
  $('whoami').hidden = false;
  $('logout').hidden = false;
  $('me-name').textContent = session.username;
  $('me-id').textContent = String(session.user_id);
  state.names.set(session.user_id, session.username);
  document.querySelector('.app').dataset.view = 'rooms';
  setPanel(window.matchMedia('(min-width: 1100px)').matches);
  state.connectedOnce = false;
  state.roomsLoaded = false;
  try {
    await loadRooms();
  } catch (error) {
    if (api.loggedIn) toast(errorText(error));
  }
  if (!api.loggedIn) return;
  socket.start();
  clearInterval(refreshTimer);
  refreshTimer = setInterval(periodicRefresh, REFRESH_EVERY_MS);
  const first = document.querySelector('#room-list button');
  (first || $('create-summary')).focus();
}

function leaveApp(reason) {
  socket.stop();
  clearInterval(refreshTimer);
  clearTimeout(roomsRefreshTimer);
  clearTimeout(membersRefreshTimer);
  membersRefreshTimer = null;
  for (const map of [
    state.rooms,
    state.roomNames,
    state.timelines,
    state.members,
    state.names,
    state.unread,
    state.requests,
    state.pending,
    state.messageEls,
    state.pendingEls,
  ]) {
    map.clear();
  }
  state.current = null;
  for (const id of ['room-list', 'messages', 'member-list', 'request-list', 'search-results', 'toasts', 'announcer']) {
    $(id).replaceChildren();
  }
  $('search-summary').textContent = '';
  closeRoomView();
  $('app-view').hidden = true;
  $('whoami').hidden = true;
  $('logout').hidden = true;
  $('auth-view').hidden = false;
  showConnection('offline', 'Offline');
  updateTitle();
  setFormError('login-error', reason || '');
  $('login-username').focus();
}

$('login-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  setFormError('login-error', '');
  withBusy(form, async () => {
    try {
      await api.login(form.username.value.trim(), form.password.value);
      form.reset();
      await enterApp();
    } catch (error) {
      setFormError('login-error', errorText(error));
    }
  });
});

$('register-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  setFormError('register-error', '');
  withBusy(form, async () => {
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
});

$('logout').addEventListener('click', () => api.logout('You have logged out.'));

// --- Rooms -----------------------------------------------------------------------------

async function loadRooms() {
  const data = await api.get('/api/joined_rooms');
  state.roomsLoaded = true;
  const previous = state.rooms;
  state.rooms = new Map();
  for (const room of data.rooms || []) {
    state.rooms.set(room.id, room);
    state.roomNames.set(room.id, room.name);
  }
  renderRoomList();
  if (state.current !== null && !state.rooms.has(state.current)) {
    toast(`You are no longer a member of ${roomName(state.current)}.`);
    closeRoomView();
  } else if (state.current !== null) {
    renderRoomHeader();
  }
  // Pending join requests of the groups this user manages (filed while away, too), and who
  // is on the other side of each private chat.
  const rooms = [...state.rooms.values()];
  const managed = rooms.filter(isManager).filter((room) => !previous.has(room.id) || !state.requests.has(room.id));
  const privates = rooms.filter((room) => !room.is_group && !state.members.has(room.id));
  await Promise.all([
    ...managed.map((room) => loadRequests(room.id).catch(() => {})),
    ...privates.map((room) => loadMembers(room.id).catch(() => {})),
  ]);
}

function scheduleRoomsRefresh() {
  clearTimeout(roomsRefreshTimer);
  roomsRefreshTimer = setTimeout(() => loadRooms().catch(() => {}), 200);
}

/** Rebuild `list` with `fill`, keeping keyboard focus on the same control (by a data key). */
function rebuildKeepingFocus(list, key, fill) {
  const active = document.activeElement;
  const holder = active && list.contains(active) ? active.closest(`[${key}]`) : null;
  const wanted = holder ? holder.getAttribute(key) : null;
  const label = active ? active.textContent : '';
  list.replaceChildren();
  fill();
  if (wanted === null) return;
  const again = [...list.querySelectorAll(`[${key}]`)].find((node) => node.getAttribute(key) === wanted);
  const target = again && ([...again.querySelectorAll('button')].find((b) => b.textContent === label) || again.querySelector('button') || again);
  if (target) target.focus();
}

function renderRoomList() {
  rebuildKeepingFocus($('room-list'), 'data-room-id', fillRoomList);
  $('room-list-empty').hidden = state.rooms.size > 0;
  updateTitle();
}

function fillRoomList() {
  const list = $('room-list');
  for (const room of state.rooms.values()) {
    const unread = state.unread.get(room.id) || 0;
    const requests = isManager(room) ? state.requests.get(room.id)?.size || 0 : 0;
    const button = el('button', {
      className: 'room',
      attrs: { type: 'button', 'data-room-id': room.id, 'aria-current': room.id === state.current ? 'true' : null },
    });
    button.append(
      el('span', { className: 'room-name', text: roomLabel(room) }),
      el('span', { className: 'room-kind', text: room.is_group ? 'group' : 'private' }),
    );
    if (unread) {
      button.append(
        el('span', { className: 'badge', text: unread, attrs: { 'aria-hidden': 'true' } }),
        el('span', { className: 'visually-hidden', text: `, ${unread} unread` }),
      );
    }
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

async function openRoom(roomId) {
  const room = state.rooms.get(roomId);
  if (!room) return;
  state.current = roomId;
  state.unread.delete(roomId);
  renderRoomList();
  renderRoomHeader();
  document.querySelector('.app').dataset.view = 'chat';
  $('composer-input').disabled = false;
  $('composer-send').disabled = false;
  renderTimeline();
  renderMembers();
  renderRequests();
  $('composer-input').focus();
  const timeline = timelineOf(roomId);
  const loads = [loadMembers(roomId)];
  if (!timeline.historyLoaded) loads.push(loadLatest(roomId));
  if (isManager(room)) loads.push(loadRequests(roomId));
  const results = await Promise.allSettled(loads);
  const failed = results.find((result) => result.status === 'rejected');
  if (failed && api.loggedIn && state.current === roomId) toast(errorText(failed.reason));
}

function closeRoomView() {
  state.current = null;
  state.messageEls.clear();
  state.pendingEls.clear();
  $('messages').replaceChildren();
  $('member-list').replaceChildren();
  $('request-list').replaceChildren();
  $('room-title').textContent = 'No room open';
  $('room-subtitle').textContent = 'Pick a room on the left, create one, or find a group.';
  $('composer-input').disabled = true;
  $('composer-send').disabled = true;
  $('load-older').hidden = true;
  $('history-status').textContent = '';
  $('requests-section').hidden = true;
  $('add-member-section').hidden = true;
  $('leave-room').hidden = true;
  const app = document.querySelector('.app');
  if (app) app.dataset.view = 'rooms';
  renderRoomList();
}

function renderRoomHeader() {
  const room = state.rooms.get(state.current);
  if (!room) return;
  $('room-title').textContent = roomLabel(room);
  const members = state.members.get(room.id);
  const parts = [room.is_group ? 'Group' : 'Private chat', `you are ${ROLE_NAMES[room.role] || 'member'}`];
  if (members) {
    const online = members.filter((m) => m.online).length;
    parts.push(`${members.length} member${members.length === 1 ? '' : 's'}, ${online} online`);
  }
  $('room-subtitle').textContent = parts.join(' · ');
  $('requests-section').hidden = !isManager(room);
  $('add-member-section').hidden = !isManager(room);
  $('leave-room').hidden = !room.is_group;
}

$('back').addEventListener('click', () => {
  document.querySelector('.app').dataset.view = 'rooms';
  const current = document.querySelector(`#room-list button[data-room-id="${state.current}"]`);
  (current || $('create-summary')).focus();
});

function setPanel(open) {
  document.querySelector('.app').dataset.panel = open ? 'open' : 'closed';
  $('members-toggle').setAttribute('aria-expanded', String(open));
}

const panelOverlays = () => window.matchMedia('(max-width: 1099px)').matches;

$('members-toggle').addEventListener('click', () => {
  const open = document.querySelector('.app').dataset.panel !== 'open';
  setPanel(open);
  if (open && panelOverlays()) $('panel-close').focus();
});

function closePanel() {
  setPanel(false);
  $('members-toggle').focus();
}

$('panel-close').addEventListener('click', closePanel);
$('side-panel').addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && panelOverlays()) closePanel();
});

// --- Messages ----------------------------------------------------------------------------

function contentNode(content) {
  if (!content || typeof content !== 'object') return el('p', { className: 'text', text: '(empty message)' });
  if (content.type === 'text') return el('p', { className: 'text', text: content.text ?? '' });
  const labels = { image: 'Image', voice: 'Voice message', file: 'File' };
  const label = labels[content.type] || 'Attachment';
  const href = safeHttpUrl(content.url);
  const name = content.file_name || content.url || label;
  if (!href) return el('p', { className: 'text', text: `${label}: ${name}` });
  return el('p', { className: 'text' }, [
    `${label}: `,
    el('a', { text: name, attrs: { href, target: '_blank', rel: 'noopener noreferrer nofollow' } }),
  ]);
}

function messageNode(message) {
  const mine = message.sender_id === me();
  const node = el('li', {
    className: mine ? 'message mine' : 'message',
    attrs: { 'data-id': message.id, 'data-seq': message.seq, 'data-sender-id': message.sender_id },
  });
  const time = el('time', { text: formatTime(message.created_at), attrs: { datetime: message.created_at } });
  time.title = new Date(message.created_at).toLocaleString();
  node.append(
    el('p', { className: 'meta' }, [el('span', { className: 'author', text: userName(message.sender_id, message.room_id) }), ' ', time]),
    contentNode(message.content),
  );
  return node;
}

function pendingNode(entry) {
  const node = el('li', { className: 'message mine pending', attrs: { 'data-client-id': entry.client_msg_id } });
  const status = el('span', { className: 'status' });
  const meta = el('p', { className: 'meta' }, [el('span', { className: 'author', text: 'You' }), ' ', status]);
  node.append(meta, contentNode(entry.content));
  updatePendingNode(node, entry);
  return node;
}

function updatePendingNode(node, entry) {
  const status = node.querySelector('.status');
  node.querySelector('.actions')?.remove();
  node.classList.toggle('failed', entry.status === 'failed');
  if (entry.status === 'failed') {
    status.textContent = `Not sent: ${entry.error}`;
    const actions = el('p', { className: 'actions' });
    if (entry.retryable) {
      const retry = el('button', { text: 'Retry', attrs: { type: 'button' } });
      retry.addEventListener('click', () => deliverPending(entry));
      actions.append(retry);
    }
    const discard = el('button', { text: 'Discard', attrs: { type: 'button' } });
    discard.addEventListener('click', () => dropPending(entry.client_msg_id));
    actions.append(discard);
    node.append(actions);
  } else {
    status.textContent = entry.status === 'stored' ? 'sent' : 'sending…';
  }
}

function dropPending(id) {
  state.pending.delete(id);
  state.pendingEls.get(id)?.remove();
  state.pendingEls.delete(id);
}

function nearBottom() {
  const history = $('history');
  return history.scrollHeight - history.scrollTop - history.clientHeight < NEAR_BOTTOM_PX;
}

function scrollToBottom() {
  const history = $('history');
  history.scrollTop = history.scrollHeight;
}

function renderHistoryStatus() {
  const timeline = state.timelines.get(state.current);
  const olderButton = $('load-older');
  $('history').dataset.loaded = String(Boolean(timeline && timeline.historyLoaded));
  if (!timeline || !timeline.historyLoaded) {
    olderButton.hidden = true;
    $('history-status').textContent = 'Loading messages…';
    return;
  }
  olderButton.hidden = !timeline.hasOlder;
  olderButton.disabled = timeline.loadingOlder;
  if (timeline.loadingOlder) $('history-status').textContent = 'Loading older messages…';
  else if (!timeline.hasOlder) {
    $('history-status').textContent = timeline.messages.length ? 'Start of the conversation.' : 'No messages yet. Say hello!';
  } else $('history-status').textContent = '';
}

function renderTimeline() {
  const list = $('messages');
  list.replaceChildren();
  state.messageEls.clear();
  state.pendingEls.clear();
  const timeline = timelineOf(state.current);
  for (const message of timeline.messages) {
    const node = messageNode(message);
    state.messageEls.set(message.id, node);
    list.append(node);
  }
  for (const entry of state.pending.values()) {
    if (entry.room_id !== state.current) continue;
    const node = pendingNode(entry);
    state.pendingEls.set(entry.client_msg_id, node);
    list.append(node);
  }
  renderHistoryStatus();
  scrollToBottom();
}

/** Put one message of the open room where its seq says, before any unsent ones. */
function insertMessage(message) {
  const timeline = timelineOf(message.room_id);
  const node = messageNode(message);
  state.messageEls.set(message.id, node);
  const next = timeline.after(message);
  const before = (next && state.messageEls.get(next.id)) || $('messages').querySelector('.pending');
  $('messages').insertBefore(node, before || null);
}

async function loadLatest(roomId) {
  const data = await api.get('/api/chat/messages', { room_id: roomId, limit: HISTORY_PAGE });
  const timeline = timelineOf(roomId);
  for (const message of data.messages || []) timeline.add(message);
  timeline.historyLoaded = true;
  timeline.hasOlder = Boolean(data.has_more);
  if (state.current === roomId) {
    renderTimeline();
    fillViewport();
  }
}

/** With too few messages to scroll, no scroll event would ever ask for older ones. */
function fillViewport() {
  const history = $('history');
  if (history.scrollHeight <= history.clientHeight + NEAR_TOP_PX) loadOlder();
}

async function loadOlder() {
  const roomId = state.current;
  const timeline = state.timelines.get(roomId);
  if (!timeline || !timeline.historyLoaded || !timeline.hasOlder || timeline.loadingOlder) return;
  timeline.loadingOlder = true;
  renderHistoryStatus();
  let loaded = false;
  try {
    const query = { room_id: roomId, limit: HISTORY_PAGE };
    if (timeline.oldestSeq !== null) query.before_seq = timeline.oldestSeq;
    const data = await api.get('/api/chat/messages', query);
    const history = $('history');
    const fromBottom = history.scrollHeight - history.scrollTop;
    for (const message of data.messages || []) {
      if (timeline.add(message) >= 0 && state.current === roomId) insertMessage(message);
    }
    timeline.hasOlder = Boolean(data.has_more) && (data.messages || []).length > 0;
    // Keep what the reader was looking at in place while older messages appear above it.
    if (state.current === roomId) history.scrollTop = history.scrollHeight - fromBottom;
    loaded = true;
  } catch (error) {
    if (api.loggedIn) toast(errorText(error));
  } finally {
    timeline.loadingOlder = false;
    if (state.current === roomId) renderHistoryStatus();
  }
  if (loaded && state.current === roomId && timeline.hasOlder) fillViewport();
}

$('history').addEventListener('scroll', () => {
  if ($('history').scrollTop < NEAR_TOP_PX) loadOlder();
});
$('load-older').addEventListener('click', () => loadOlder());

/** Messages from the socket (live or owed) and from our own send replies. */
function receiveMessages(messages, { live }) {
  const bottom = nearBottom();
  const fresh = [];
  let roomsChanged = false;
  for (const message of messages) {
    const timeline = timelineOf(message.room_id);
    if (timeline.add(message) < 0) continue; // seen already: a redelivery or an overlap
    if (message.client_msg_id && state.pending.has(message.client_msg_id)) dropPending(message.client_msg_id);
    const room = state.rooms.get(message.room_id);
    if (!room) scheduleRoomsRefresh();
    else if (message.seq > (room.last_seq || 0)) room.last_seq = message.seq;
    if (message.room_id === state.current) insertMessage(message);
    if (live && message.room_id === state.current && memberShownOffline(message)) scheduleMembersRefresh();
    if (message.sender_id !== me()) {
      fresh.push(message);
      if (message.room_id !== state.current) {
        state.unread.set(message.room_id, (state.unread.get(message.room_id) || 0) + 1);
        roomsChanged = true;
      }
    }
  }
  if (state.current !== null && (bottom || messages.some((m) => m.sender_id === me() && m.room_id === state.current))) {
    scrollToBottom();
  }
  if (roomsChanged) renderRoomList();
  if (state.current !== null) renderHistoryStatus();
  if (fresh.length > 3) announce(`${fresh.length} new messages${live ? '' : ' from while you were away'}.`);
  else {
    for (const message of fresh) {
      const text = message.content?.type === 'text' ? message.content.text : `sent a ${message.content?.type || 'message'}`;
      const where = message.room_id === state.current ? '' : ` in ${roomName(message.room_id)}`;
      announce(`${userName(message.sender_id, message.room_id)}${where}: ${text}`);
    }
  }
}

function receiveAck(frame) {
  const entry = state.pending.get(frame.client_msg_id);
  if (!entry || entry.status === 'failed') return;
  entry.status = 'stored';
  const node = state.pendingEls.get(entry.client_msg_id);
  if (node) updatePendingNode(node, entry);
}

async function deliverPending(entry) {
  entry.status = 'sending';
  const node = state.pendingEls.get(entry.client_msg_id);
  if (node) updatePendingNode(node, entry);
  try {
    const data = await api.post('/api/chat/send_message', {
      room_id: entry.room_id,
      content: entry.content,
      client_msg_id: entry.client_msg_id,
    });
    receiveMessages(
      [
        {
          id: data.msgID,
          room_id: data.room_id,
          sender_id: me(),
          seq: data.seq,
          client_msg_id: data.client_msg_id,
          created_at: data.created_at,
          content: entry.content,
        },
      ],
      { live: true },
    );
  } catch (error) {
    if (!api.loggedIn || !state.pending.has(entry.client_msg_id)) return;
    entry.status = 'failed';
    entry.error = errorText(error);
    // The same client_msg_id makes a retry safe: the server stores the message once.
    entry.retryable = error instanceof ApiError && (error.status === 0 || error.status === 429 || error.status >= 500);
    const current = state.pendingEls.get(entry.client_msg_id);
    if (current) updatePendingNode(current, entry);
  }
}

function sendText() {
  const input = $('composer-input');
  const text = input.value.trim();
  if (!text || state.current === null) return;
  if (text.length > 4000) {
    toast('A message holds at most 4000 characters.');
    return;
  }
  const entry = { client_msg_id: clientMsgId(), room_id: state.current, content: { type: 'text', text }, status: 'sending' };
  state.pending.set(entry.client_msg_id, entry);
  const node = pendingNode(entry);
  state.pendingEls.set(entry.client_msg_id, node);
  $('messages').append(node);
  scrollToBottom();
  input.value = '';
  deliverPending(entry);
}

$('composer').addEventListener('submit', (event) => {
  event.preventDefault();
  sendText();
});

$('composer-input').addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    sendText();
  }
});

// --- Members and join requests -------------------------------------------------------------

async function loadMembers(roomId) {
  const data = await api.get('/api/chat/group/members', { room_id: roomId });
  state.members.set(roomId, data.members || []);
  for (const member of data.members || []) state.names.set(member.user_id, member.nickname || member.username);
  if (state.rooms.get(roomId)?.is_group === false) renderRoomList(); // its label is the other's name
  if (state.current === roomId) {
    renderMembers();
    renderRoomHeader();
    // Messages drawn before the list arrived (or under an old nickname) get their names now.
    for (const node of state.messageEls.values()) {
      node.querySelector('.author').textContent = userName(Number(node.dataset.senderId), roomId);
    }
  }
}

/** Someone writing now is online, whatever the members list said a while ago. */
function memberShownOffline(message) {
  const member = (state.members.get(message.room_id) || []).find((m) => m.user_id === message.sender_id);
  return Boolean(member && !member.online);
}

function scheduleMembersRefresh() {
  if (membersRefreshTimer) return;
  const roomId = state.current;
  membersRefreshTimer = setTimeout(() => {
    membersRefreshTimer = null;
    if (state.current === roomId) loadMembers(roomId).catch(() => {});
  }, 500);
}

function renderMembers() {
  const list = $('member-list');
  list.replaceChildren();
  for (const member of state.members.get(state.current) || []) {
    const name = member.nickname || member.username;
    const you = member.user_id === me() ? ' (you)' : '';
    list.append(
      el('li', { className: member.online ? 'member online' : 'member', attrs: { 'data-user-id': member.user_id } }, [
        el('span', { className: 'presence', attrs: { 'aria-hidden': 'true' } }),
        el('span', { className: 'member-name', text: `${name}${you}` }),
        el('span', { className: 'member-detail', text: `@${member.username} · #${member.user_id}` }),
        el('span', { className: 'role', text: ROLE_NAMES[member.role] || 'member' }),
        el('span', { className: 'visually-hidden', text: member.online ? ', online' : ', offline' }),
      ]),
    );
  }
}

async function loadRequests(roomId) {
  const data = await api.get('/api/chat/group/join/requests', { room_id: roomId });
  state.requests.set(roomId, new Map((data.requests || []).map((request) => [request.id, request])));
  renderRoomList();
  if (state.current === roomId) renderRequests();
}

function renderRequests() {
  const requests = [...(state.requests.get(state.current)?.values() || [])];
  rebuildKeepingFocus($('request-list'), 'data-request-id', () => fillRequests(requests));
  $('requests-empty').hidden = requests.length > 0;
}

function fillRequests(requests) {
  const list = $('request-list');
  for (const request of requests) {
    const name = request.nickname || request.username;
    const approve = el('button', { text: 'Approve', attrs: { type: 'button', 'aria-label': `Approve ${name}` } });
    const reject = el('button', { className: 'secondary', text: 'Reject', attrs: { type: 'button', 'aria-label': `Reject ${name}` } });
    approve.addEventListener('click', () => respond(request, true));
    reject.addEventListener('click', () => respond(request, false));
    list.append(
      el('li', { className: 'request', attrs: { 'data-request-id': request.id } }, [
        el('p', { className: 'member-name', text: `${name} (@${request.username})` }),
        request.message ? el('p', { className: 'request-message', text: `“${request.message}”` }) : null,
        el('p', { className: 'actions' }, [approve, ' ', reject]),
      ]),
    );
  }
}

async function respond(request, approve) {
  try {
    await api.post('/api/chat/group/join/respond', { request_id: request.id, approve });
    toast(`${request.username} was ${approve ? 'let in' : 'turned away'}.`);
  } catch (error) {
    if (!api.loggedIn) return;
    toast(errorText(error));
    if (!(error instanceof ApiError) || error.status !== 409) return; // answered already: drop it below
  }
  state.requests.get(request.room_id)?.delete(request.id);
  renderRoomList();
  if (state.current === request.room_id) renderRequests();
  if (approve && state.current === request.room_id) loadMembers(request.room_id).catch(() => {});
}

$('add-member-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const roomId = state.current;
  setFormError('add-member-error', '');
  withBusy(form, async () => {
    try {
      const [memberId] = parseIds(form.member.value);
      if (!memberId) throw new ApiError(400, 'Enter the user id of the person to add.');
      await api.post('/api/chat/group/add_member', { room_id: roomId, member_id: memberId });
      form.reset();
      await loadMembers(roomId);
    } catch (error) {
      setFormError('add-member-error', errorText(error));
    }
  });
});

$('leave-room').addEventListener('click', async () => {
  const roomId = state.current;
  if (roomId === null || !window.confirm(`Leave ${roomName(roomId)}?`)) return;
  try {
    await api.post('/api/chat/group/remove_member', { room_id: roomId, target_user_id: me() });
    state.timelines.delete(roomId);
    closeRoomView();
    await loadRooms();
  } catch (error) {
    toast(errorText(error));
  }
});

// --- Creating and finding rooms -------------------------------------------------------------

$('create-group-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  setFormError('create-group-error', '');
  withBusy(form, async () => {
    try {
      const body = {
        name: form.name.value.trim(),
        is_group: true,
        member_ids: parseIds(form.members.value),
        join_policy: form.policy.value,
      };
      const data = await api.post('/api/chat/group/create', body);
      form.reset();
      await loadRooms();
      await openRoom(data.room_id);
    } catch (error) {
      setFormError('create-group-error', errorText(error));
    }
  });
});

$('create-private-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  setFormError('create-private-error', '');
  withBusy(form, async () => {
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
      await loadRooms();
      await openRoom(data.room_id);
    } catch (error) {
      setFormError('create-private-error', errorText(error));
    }
  });
});

$('search-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  setFormError('search-error', '');
  withBusy(form, async () => {
    try {
      const data = await api.get('/api/chat/group/search', { q: form.q.value.trim(), limit: 20 });
      renderSearch(data.rooms || [], data.total ?? 0);
    } catch (error) {
      setFormError('search-error', errorText(error));
    }
  });
});

function renderSearch(rooms, total) {
  const list = $('search-results');
  list.replaceChildren();
  $('search-summary').textContent = total
    ? `${total} group${total === 1 ? '' : 's'} found${total > rooms.length ? `, showing ${rooms.length}` : ''}.`
    : 'No group matches.';
  for (const room of rooms) {
    state.roomNames.set(room.id, room.name);
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
          await loadRooms();
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
    list.append(item);
  }
}

// --- Socket events that change rooms and members --------------------------------------------

function socketOpened() {
  // Whatever changed while the socket was down (rooms joined or left, who is online) is
  // read again; the messages owed come as batch frames on their own.
  if (state.connectedOnce || !state.roomsLoaded) loadRooms().catch(() => {});
  state.connectedOnce = true;
  if (state.current !== null) loadMembers(state.current).catch(() => {});
}

function refreshMembersIfShown(roomId) {
  if (state.members.has(roomId)) {
    if (state.current === roomId || state.rooms.get(roomId)?.is_group === false) loadMembers(roomId).catch(() => {});
    else state.members.delete(roomId);
  }
}

function receiveNotice(frame) {
  const notice = frame.payload;
  const roomId = notice.room_id ?? frame.room_id;
  switch (notice.event) {
    case 'join_request': {
      const requests = state.requests.get(roomId) || new Map();
      requests.set(notice.request_id, {
        id: notice.request_id,
        room_id: roomId,
        user_id: notice.user_id,
        username: notice.username,
        nickname: notice.nickname,
        message: notice.message,
        created_at: notice.created_at,
      });
      state.requests.set(roomId, requests);
      renderRoomList();
      if (state.current === roomId) renderRequests();
      toast(`${notice.nickname || notice.username} asks to join ${roomName(roomId)}.`);
      break;
    }
    case 'join_request_answered':
      toast(`Your request to join ${roomName(roomId)} was ${notice.status}.`);
      if (notice.status === 'approved') loadRooms().catch(() => {});
      break;
    case 'member_added':
      if ((notice.user_ids || []).includes(me())) {
        if (!state.rooms.has(roomId)) toast(`You were added to ${roomName(roomId)}.`);
        scheduleRoomsRefresh();
      }
      refreshMembersIfShown(roomId);
      break;
    case 'member_removed':
      if (notice.user_id === me()) {
        state.timelines.delete(roomId);
        state.unread.delete(roomId);
        scheduleRoomsRefresh();
      } else {
        refreshMembersIfShown(roomId);
      }
      break;
    case 'role_changed':
      if (notice.user_id === me()) {
        toast(`You are now ${ROLE_NAMES[notice.role] || 'member'} of ${roomName(roomId)}.`);
        scheduleRoomsRefresh();
      }
      refreshMembersIfShown(roomId);
      break;
    default:
      break;
  }
}

function periodicRefresh() {
  if (!api.loggedIn || document.visibilityState !== 'visible' || state.current === null) return;
  const roomId = state.current;
  loadMembers(roomId).catch(() => {});
  if (isManager(state.rooms.get(roomId))) loadRequests(roomId).catch(() => {});
}

window.addEventListener('online', () => socket.reconnectNow());
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') periodicRefresh();
});

// --- Start -------------------------------------------------------------------------------------

closeRoomView();
if (api.loggedIn) enterApp();
else $('auth-view').hidden = false;
