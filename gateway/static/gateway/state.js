// The one store of client state (rooms, timelines, members, names, unread counts, join
// requests, unsent messages, the open room) and the small functions that read or change it.
// No DOM and no network: the other modules call these, then draw what changed. The open
// room's message elements are kept here too, as plain Maps, so that a logout forgets all in one.

import { Timeline } from './timeline.js';

export function createState() {
  return {
    me: null, // the logged-in user's id
    rooms: new Map(), // room_id -> {id, name, is_group, role, last_seq}
    roomNames: new Map(), // room_id -> name, also of rooms seen only in search results
    timelines: new Map(), // room_id -> Timeline
    members: new Map(), // room_id -> [member]
    names: new Map(), // user_id -> display name
    unread: new Map(), // room_id -> count
    requests: new Map(), // room_id -> Map(request_id -> request)
    settings: new Map(), // room_id -> {name, join_policy, announcement_only, history_visible}
    pending: new Map(), // client_msg_id -> {client_msg_id, room_id, content, status, error, retryable}
    current: null, // the open room's id
    messageEls: new Map(), // message id -> element, for the open room
    pendingEls: new Map(), // client_msg_id -> element, for the open room
    connectedOnce: false, // a socket has opened since the sign-in
    roomsLoaded: false, // the joined rooms have been read since the sign-in
  };
}

/** A session starts: whose client this is; nothing was loaded or connected for it yet. */
export function signIn(state, session) {
  state.me = session.user_id;
  state.names.set(session.user_id, session.username);
  state.connectedOnce = false;
  state.roomsLoaded = false;
}

/** Logout: forget everything the session learnt. */
export function resetState(state) {
  for (const map of [
    state.rooms,
    state.roomNames,
    state.timelines,
    state.members,
    state.names,
    state.unread,
    state.requests,
    state.settings,
    state.pending,
    state.messageEls,
    state.pendingEls,
  ]) {
    map.clear();
  }
  state.me = null;
  state.current = null;
  state.connectedOnce = false;
  state.roomsLoaded = false;
}

/** The socket opened. True when the rooms must be read (again): after a reconnect (what changed
 * while it was down), or when the first read after the sign-in has not happened yet. */
export function noteSocketOpen(state) {
  const reread = state.connectedOnce || !state.roomsLoaded;
  state.connectedOnce = true;
  return reread;
}

// --- Rooms ---------------------------------------------------------------------------------

export function timelineOf(state, roomId) {
  if (!state.timelines.has(roomId)) state.timelines.set(roomId, new Timeline());
  return state.timelines.get(roomId);
}

/** Owners and admins of a group manage it (join requests, adding members). */
export const isManager = (room) => Boolean(room && room.is_group && room.role <= 1);

/** The joined rooms as the server lists them. Returns the previous Map of rooms. */
export function setRooms(state, rooms) {
  state.roomsLoaded = true;
  const previous = state.rooms;
  state.rooms = new Map();
  for (const room of rooms) {
    state.rooms.set(room.id, room);
    state.roomNames.set(room.id, room.name);
  }
  return previous;
}

/** Names of rooms seen outside the joined list (search results), for notices about them. */
export function rememberRoomNames(state, rooms) {
  for (const room of rooms) state.roomNames.set(room.id, room.name);
}

/**
 * After the rooms were read: the managed groups whose join requests must be read (new ones,
 * or never read), and the private chats whose members (the other person's name) are unknown.
 */
export function roomsToFollowUp(state, previous) {
  const rooms = [...state.rooms.values()];
  return {
    requests: rooms
      .filter(isManager)
      .filter((room) => !previous.has(room.id) || !state.requests.has(room.id))
      .map((room) => room.id),
    members: rooms.filter((room) => !room.is_group && !state.members.has(room.id)).map((room) => room.id),
  };
}

/** A group's name; for a private chat, the other person's name once the members are known
 * (the stored name was made up by whoever started it). */
export function roomLabel(state, room) {
  if (!room.is_group) {
    const other = (state.members.get(room.id) || []).find((m) => m.user_id !== state.me);
    if (other) return `${other.nickname || other.username} (private)`;
  }
  return room.name;
}

export function roomName(state, roomId) {
  const room = state.rooms.get(roomId);
  return room ? roomLabel(state, room) : (state.roomNames.get(roomId) ?? `room #${roomId}`);
}

export function userName(state, userId, roomId = state.current) {
  if (userId === state.me) return 'You';
  const member = (state.members.get(roomId) || []).find((m) => m.user_id === userId);
  if (member) return member.nickname || member.username;
  return state.names.get(userId) ?? `user #${userId}`;
}

/** Open a room: it becomes current and its unread count goes. Null when it is not joined. */
export function selectRoom(state, roomId) {
  const room = state.rooms.get(roomId);
  if (!room) return null;
  state.current = roomId;
  state.unread.delete(roomId);
  return room;
}

/** No room is open any more; its elements are gone from the page. */
export function deselectRoom(state) {
  state.current = null;
  state.messageEls.clear();
  state.pendingEls.clear();
}

/** This user left a room (or was removed): its messages and unread count are forgotten. */
export function forgetRoom(state, roomId) {
  state.timelines.delete(roomId);
  state.unread.delete(roomId);
}

export function totalUnread(state) {
  let total = 0;
  for (const count of state.unread.values()) total += count;
  return total;
}

// --- Messages ------------------------------------------------------------------------------

/**
 * Take one message (live, batched, from history or our own send reply) into the store.
 * Returns null when it is known already (a redelivery or an overlap); else what happened:
 * `settledNode`, the element of the unsent message it stores, if shown (the caller removes
 * it); `knownRoom`, whether the room is in the joined list; `mine`; `unread`, whether it was
 * counted unread (someone else's, in a room that is not open).
 */
export function acceptMessage(state, message) {
  if (timelineOf(state, message.room_id).add(message) < 0) return null;
  const settled = message.client_msg_id && state.pending.has(message.client_msg_id);
  const settledNode = settled ? dropPending(state, message.client_msg_id) : null;
  const room = state.rooms.get(message.room_id);
  if (room && message.seq > (room.last_seq || 0)) room.last_seq = message.seq;
  const mine = message.sender_id === state.me;
  const unread = !mine && message.room_id !== state.current;
  if (unread) state.unread.set(message.room_id, (state.unread.get(message.room_id) || 0) + 1);
  return { settledNode, knownRoom: Boolean(room), mine, unread };
}

// --- Unsent messages -----------------------------------------------------------------------

/** A message typed in this client, shown as sending until the server stores it. */
export function addPending(state, { clientMsgId, roomId, content }) {
  const entry = { client_msg_id: clientMsgId, room_id: roomId, content, status: 'sending' };
  state.pending.set(entry.client_msg_id, entry);
  return entry;
}

export function pendingIn(state, roomId) {
  return [...state.pending.values()].filter((entry) => entry.room_id === roomId);
}

export function markSending(entry) {
  entry.status = 'sending';
}

/** The server acked it (stored). Returns the entry when that changed it, else null. */
export function markStored(state, clientMsgId) {
  const entry = state.pending.get(clientMsgId);
  if (!entry || entry.status === 'failed') return null;
  entry.status = 'stored';
  return entry;
}

/** Sending failed; `retryable` when the same message may be sent again. */
export function markFailed(entry, error, retryable) {
  entry.status = 'failed';
  entry.error = error;
  entry.retryable = retryable;
}

/** Forget an unsent message. Returns its element, if shown, for the caller to remove. */
export function dropPending(state, clientMsgId) {
  state.pending.delete(clientMsgId);
  const node = state.pendingEls.get(clientMsgId) ?? null;
  state.pendingEls.delete(clientMsgId);
  return node;
}

// --- Members -------------------------------------------------------------------------------

/** A room's members as the server lists them; their names serve elsewhere too. */
export function setMembers(state, roomId, members) {
  state.members.set(roomId, members);
  for (const member of members) state.names.set(member.user_id, member.nickname || member.username);
}

/** Someone writing now is online, whatever the members list said a while ago. */
export function memberShownOffline(state, message) {
  const member = (state.members.get(message.room_id) || []).find((m) => m.user_id === message.sender_id);
  return Boolean(member && !member.online);
}

/**
 * A room's members changed. True when its list is on show (the open room, or a private
 * chat's label) and must be read again; a list not on show is forgotten instead.
 */
export function membersChanged(state, roomId) {
  if (!state.members.has(roomId)) return false;
  if (state.current === roomId || state.rooms.get(roomId)?.is_group === false) return true;
  state.members.delete(roomId);
  return false;
}

// --- Join requests -------------------------------------------------------------------------

export function setRequests(state, roomId, requests) {
  state.requests.set(roomId, new Map(requests.map((request) => [request.id, request])));
}

/** A join request that arrived as a `notice` frame. Returns the request. */
export function addRequest(state, roomId, notice) {
  const requests = state.requests.get(roomId) || new Map();
  const request = {
    id: notice.request_id,
    room_id: roomId,
    user_id: notice.user_id,
    username: notice.username,
    nickname: notice.nickname,
    message: notice.message,
    created_at: notice.created_at,
  };
  requests.set(request.id, request);
  state.requests.set(roomId, requests);
  return request;
}

export function removeRequest(state, request) {
  state.requests.get(request.room_id)?.delete(request.id);
}

export function requestsOf(state, roomId) {
  return [...(state.requests.get(roomId)?.values() || [])];
}

/** The number of pending requests shown on a room's button (only to its managers). */
export function requestCount(state, room) {
  return isManager(room) ? state.requests.get(room.id)?.size || 0 : 0;
}
