// The one store of client state (rooms, timelines, members, names, unread and mention counts,
// who is typing, join requests, unsent messages, the open room) and the small functions that
// read or change it.
// No DOM and no network: the other modules call these, then draw what changed. The open
// room's message elements are kept here too, as plain Maps, so that a logout forgets all in one.

import { Timeline } from './timeline.js';

export function createState() {
  return {
    me: null, // the logged-in user's id
    rooms: new Map(), // room_id -> {id, name, is_group, role, last_seq, read_seq, last_message, last_activity_at}
    roomNames: new Map(), // room_id -> name, also of rooms seen only in search results
    timelines: new Map(), // room_id -> Timeline
    members: new Map(), // room_id -> [member]
    names: new Map(), // user_id -> display name
    unread: new Map(), // room_id -> count
    mentions: new Map(), // room_id -> how many of the unread mention this user
    typing: new Map(), // room_id -> Map(user_id -> time (ms) their typing ends)
    divider: null, // {roomId, afterSeq}: the open room had unread messages after afterSeq
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
    state.mentions,
    state.typing,
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
  state.divider = null;
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

/**
 * The joined rooms as the server lists them (most recently active first), with their exact
 * unread and mention counts; the open room has none (it is being read). Returns the previous
 * Map of rooms.
 */
export function setRooms(state, rooms) {
  state.roomsLoaded = true;
  const previous = state.rooms;
  state.rooms = new Map();
  for (const room of rooms) {
    state.rooms.set(room.id, room);
    state.roomNames.set(room.id, room.name);
    const known = previous.get(room.id);
    if (known && (known.last_seq || 0) > (room.last_seq || 0)) {
      // Frames overtook this listing: what they brought stays, counts included.
      Object.assign(room, { last_seq: known.last_seq, last_message: known.last_message, last_activity_at: known.last_activity_at });
      continue;
    }
    if (room.unread === undefined || room.id === state.current) continue;
    setCount(state.unread, room.id, room.unread);
    setCount(state.mentions, room.id, room.mentions || 0);
  }
  return previous;
}

function setCount(map, roomId, count) {
  if (count > 0) map.set(roomId, count);
  else map.delete(roomId);
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
  const other = room.is_group ? null : otherMember(state, room.id);
  if (other) return `${other.nickname || other.username} (private)`;
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

/**
 * Open a room: it becomes current and its unread and mention counts go; when it had unread
 * messages, the "New messages" divider is to go above the first after its read position.
 * Null when it is not joined.
 */
export function selectRoom(state, roomId) {
  const room = state.rooms.get(roomId);
  if (!room) return null;
  const hadUnread = (state.unread.get(roomId) || 0) > 0;
  state.divider = hadUnread && typeof room.read_seq === 'number' ? { roomId, afterSeq: room.read_seq } : null;
  state.current = roomId;
  state.unread.delete(roomId);
  state.mentions.delete(roomId);
  return room;
}

/** No room is open any more; its elements are gone from the page. */
export function deselectRoom(state) {
  state.current = null;
  state.divider = null;
  state.messageEls.clear();
  state.pendingEls.clear();
}

/** This user left a room (or was removed): its messages and unread count are forgotten. */
export function forgetRoom(state, roomId) {
  state.timelines.delete(roomId);
  state.unread.delete(roomId);
  state.mentions.delete(roomId);
  state.typing.delete(roomId);
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
 * counted unread (someone else's, in a room that is not open, newer than what the rooms list
 * counted already). The room becomes the most recently active, with this as its last message;
 * our own message marks the room read up to it (the server does so too).
 */
export function acceptMessage(state, message) {
  if (timelineOf(state, message.room_id).add(message) < 0) return null;
  const settled = message.client_msg_id && state.pending.has(message.client_msg_id);
  const settledNode = settled ? dropPending(state, message.client_msg_id) : null;
  const room = state.rooms.get(message.room_id);
  const counted = room ? room.last_seq || 0 : 0; // the list's counts cover up to its last_seq
  if (room && message.seq > counted) room.last_seq = message.seq;
  const mine = message.sender_id === state.me;
  const unread = !mine && message.room_id !== state.current && message.seq > counted;
  if (unread) {
    bump(state.unread, message.room_id);
    if (message.mention_all || (message.mentions || []).includes(state.me)) bump(state.mentions, message.room_id);
  }
  if (room) {
    noteActivity(room, message.created_at);
    if (!room.last_message || message.seq >= room.last_message.seq) room.last_message = message;
    if (mine) {
      room.read_seq = Math.max(room.read_seq || 0, message.seq);
      if (message.seq >= room.last_seq) {
        state.unread.delete(room.id);
        state.mentions.delete(room.id);
      }
    }
  }
  return { settledNode, knownRoom: Boolean(room), mine, unread };
}

const bump = (map, roomId) => map.set(roomId, (map.get(roomId) || 0) + 1);

function noteActivity(room, at) {
  const when = Date.parse(at ?? '');
  if (!Number.isNaN(when) && !(Date.parse(room.last_activity_at ?? '') >= when)) room.last_activity_at = at;
}

/**
 * An `update` frame (API.md §7.1): activity in its room, which keeps up its last_seq; when it
 * changed the room's last message (an edit, a delete), the preview shows it as it is now.
 * True when the room is in the joined list.
 */
export function acceptUpdate(state, frame) {
  const room = state.rooms.get(frame.room_id);
  if (!room) return false;
  if (frame.seq > (room.last_seq || 0)) room.last_seq = frame.seq;
  noteActivity(room, frame.created_at);
  const target = frame.payload?.message;
  if (target && room.last_message && target.id === room.last_message.id) room.last_message = { ...room.last_message, ...target };
  return true;
}

// --- Read positions, typing, presence (API.md §7.3, §7.4) ----------------------------------

/**
 * A `read` frame: this user read a room on some device (its position moves; when that is the
 * room's end, its counts go; `refresh`: the counts must be read again), or another member did
 * (their position in the room's members list moves: `receipt`).
 */
export function acceptRead(state, frame) {
  const { user_id: userId, read_seq: readSeq } = frame.payload || {};
  const roomId = frame.room_id;
  if (typeof readSeq !== 'number') return { mine: false, receipt: false, refresh: false };
  if (userId === state.me) {
    const room = state.rooms.get(roomId);
    if (!room) return { mine: true, receipt: false, refresh: false };
    room.read_seq = Math.max(room.read_seq || 0, readSeq);
    const counted = state.unread.has(roomId) || state.mentions.has(roomId);
    if (readSeq >= (room.last_seq || 0)) {
      state.unread.delete(roomId);
      state.mentions.delete(roomId);
      return { mine: true, receipt: false, refresh: false };
    }
    return { mine: true, receipt: false, refresh: counted && roomId !== state.current };
  }
  const member = (state.members.get(roomId) || []).find((m) => m.user_id === userId);
  if (!member || (member.read_seq ?? -1) >= readSeq) return { mine: false, receipt: false, refresh: false };
  member.read_seq = readSeq;
  return { mine: false, receipt: true, refresh: false };
}

/** A `typing` frame: `userId` types in the room until `until` (ms). */
export function noteTyping(state, roomId, userId, until) {
  if (!state.typing.has(roomId)) state.typing.set(roomId, new Map());
  state.typing.get(roomId).set(userId, until);
}

/** `userId` stopped typing in the room (their message came). True when they were typing. */
export function stopTyping(state, roomId, userId) {
  return Boolean(state.typing.get(roomId)?.delete(userId));
}

/** A `presence` frame: the user's entry in every members list known. Returns the ids of the
 * rooms whose lists changed. */
export function acceptPresence(state, { user_id: userId, online, last_seen: lastSeen }) {
  const changed = [];
  for (const [roomId, members] of state.members) {
    const member = members.find((m) => m.user_id === userId);
    if (!member) continue;
    member.online = Boolean(online);
    member.last_seen = online ? null : (lastSeen ?? member.last_seen ?? null);
    changed.push(roomId);
  }
  return changed;
}

/** The other person of a private chat, once its members are known. */
export function otherMember(state, roomId) {
  return (state.members.get(roomId) || []).find((m) => m.user_id !== state.me) ?? null;
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
