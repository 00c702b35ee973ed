// One room's messages as the client knows them: deduplicated by message id, kept in seq order,
// with the state of its history paging. Pure data, no DOM: the view (messages.js) asks where a
// message goes and what the history status is, and renders that. Also the socket's back-off.

/** A message object (API.md §3, §8.1) from a `chat` frame, whose content travels as `payload`. */
export function messageFromFrame(frame) {
  return {
    id: frame.id,
    room_id: frame.room_id,
    sender_id: frame.sender_id,
    seq: frame.seq,
    client_msg_id: frame.client_msg_id ?? null,
    created_at: frame.created_at,
    content: frame.payload,
    ...lifeFields(frame),
  };
}

/** The fields of §8.1 taken from `source`, defaulting to a message nothing has happened to. */
function lifeFields(source) {
  const out = { reply_to: null, mentions: [], mention_all: false, edited_at: null, deleted: false, reactions: [], pinned: false };
  for (const name of Object.keys(out)) if (source[name] !== undefined && source[name] !== null) out[name] = source[name];
  return out;
}

/** The message object of our own message from the send call's reply (API.md §3); `fields`
 * are the reply_to, mentions and mention_all it was sent with. */
export function messageFromSendReply(data, content, senderId, fields = {}) {
  return {
    id: data.msgID,
    room_id: data.room_id,
    sender_id: senderId,
    seq: data.seq,
    client_msg_id: data.client_msg_id,
    created_at: data.created_at,
    content,
    ...lifeFields(fields),
  };
}

export class Timeline {
  constructor() {
    /** @type {Map<number, object>} */
    this.byId = new Map();
    /** @type {object[]} sorted by seq */
    this.messages = [];
    this.historyLoaded = false;
    this.hasOlder = true;
    this.loadingOlder = false;
  }

  has(id) {
    return this.byId.has(id);
  }

  get oldestSeq() {
    return this.messages.length ? this.messages[0].seq : null;
  }

  get newestSeq() {
    return this.messages.length ? this.messages[this.messages.length - 1].seq : null;
  }

  /**
   * Add one message. Returns -1 when it is already here (same id: a redelivery or an overlap
   * of history and live frames), else the index it now has in seq order.
   */
  add(message) {
    if (this.byId.has(message.id)) return -1;
    this.byId.set(message.id, message);
    let index = this.messages.length;
    // Live messages arrive in order, so the search from the end usually stops at once.
    while (index > 0 && this.messages[index - 1].seq > message.seq) index -= 1;
    this.messages.splice(index, 0, message);
    return index;
  }

  /**
   * A known message's newer state (edited, reacted to, pinned, deleted: API.md §8), taken in
   * place. Returns the stored message, or null when it is not here (not loaded).
   */
  update(message) {
    const known = this.byId.get(message.id);
    if (!known) return null;
    Object.assign(known, message);
    return known;
  }

  /** The message that follows `message` in seq order, or null when it is the newest. */
  after(message) {
    const index = this.messages.indexOf(message);
    return index >= 0 && index + 1 < this.messages.length ? this.messages[index + 1] : null;
  }

  /** Whether an older page may be asked for now (history read, more of it, no request out). */
  get canLoadOlder() {
    return this.historyLoaded && this.hasOlder && !this.loadingOlder;
  }

  /** The newest page of history: its messages, and whether older ones remain. */
  addLatestPage(messages, hasMore) {
    for (const message of messages) this.add(message);
    this.historyLoaded = true;
    this.hasOlder = Boolean(hasMore);
  }

  /**
   * A page of older history. `onAdded(message)` is called for each new one right after it is
   * added, so that `after()` then names only messages already placed. An empty page ends it.
   */
  addOlderPage(messages, hasMore, onAdded = () => {}) {
    for (const message of messages) if (this.add(message) >= 0) onAdded(message);
    this.hasOlder = Boolean(hasMore) && messages.length > 0;
  }

  /** Whether a message from this client (matched by its client_msg_id) is already stored. */
  findByClientId(clientMsgId) {
    if (!clientMsgId) return null;
    for (let i = this.messages.length - 1; i >= 0; i -= 1) {
      if (this.messages[i].client_msg_id === clientMsgId) return this.messages[i];
    }
    return null;
  }
}

/**
 * What the top of the conversation says about the history of `timeline` (undefined: none
 * yet): `loaded`; the "Load older messages" button's `olderHidden` and `olderDisabled` (null:
 * leave as is); the status `text`.
 */
export function historyStatus(timeline) {
  if (!timeline || !timeline.historyLoaded) {
    return { loaded: false, olderHidden: true, olderDisabled: null, text: 'Loading messages…' };
  }
  let text = '';
  if (timeline.loadingOlder) text = 'Loading older messages…';
  else if (!timeline.hasOlder) text = timeline.messages.length ? 'Start of the conversation.' : 'No messages yet. Say hello!';
  return { loaded: true, olderHidden: !timeline.hasOlder, olderDisabled: timeline.loadingOlder, text };
}

/**
 * Reconnection delay for the given failed attempt (0, 1, 2, ... since the last welcome):
 * exponential from `base`, capped, with "full jitter" (anywhere from 0 to all of it) so that
 * the many clients refused at once (1013, the registry answering 503 or not at all) come back
 * spread out rather than in waves (docs/websocket.md, "Reconnecting").
 */
export function backoffDelay(attempt, { base = 500, cap = 30000, random = Math.random } = {}) {
  const ceiling = Math.min(cap, base * 2 ** Math.max(0, Math.min(attempt, 30)));
  return Math.round(random() * ceiling);
}

export const RESTART_JITTER_MS = 1000;
const RESTART_CODES = new Set([1001, 1012]);

/**
 * The delay before reconnecting after a close with `code` on failed attempt `attempt`: a
 * gateway that restarts or fenced itself (1012) or goes away (1001) sends its clients back
 * through the registry at once, spread over up to a second; a second failure in a row, and
 * every other close, backs off.
 */
export function reconnectDelay(code, attempt, { random = Math.random } = {}) {
  if (RESTART_CODES.has(code) && attempt === 0) return Math.round(random() * RESTART_JITTER_MS);
  return backoffDelay(attempt, { random });
}
