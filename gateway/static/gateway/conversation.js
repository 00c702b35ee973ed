// The conversation state's pure rules (API.md §7.3, §7.4): the chat list's order, its badges
// and last-message previews, who is typing and how to say it, when to send a `read` or a
// `typing` frame, who has seen a message, and "last seen" times. No DOM, no network, no state
// store: the modules that draw (rooms.js, receipts.js, typing.js, members.js) call these.

export const READ_EVERY_MS = 1000; // at most one `read` frame per room and second
export const TYPING_EVERY_MS = 3000; // at most one `typing` frame per room while typing
export const SEEN_BY_NAMES = 3; // "Seen by A, B, C and 2 others"

const time = (iso) => {
  const value = Date.parse(iso ?? '');
  return Number.isNaN(value) ? 0 : value;
};

/** The rooms most recently active first, as the server lists them (a tie: the newer room id). */
export function orderRooms(rooms) {
  return [...rooms].sort((a, b) => time(b.last_activity_at) - time(a.last_activity_at) || b.id - a.id);
}

/** What a message is, in a word or its text: for the chat list's preview. */
export function contentSummary(message) {
  if (!message) return '';
  if (message.deleted) return 'Message deleted';
  const content = message.content || {};
  if (content.type === 'text') return String(content.text ?? '').replace(/\s+/g, ' ').trim();
  return { image: 'Photo', voice: 'Voice message', file: 'File' }[content.type] || 'Attachment';
}

/**
 * The chat list's one-line preview of a room's last message ('' when none): "You: text" for
 * your own, "Alice: text" in a group, the text alone in a private chat (the room is the
 * person) or while the sender's name is not known (`nameOf` gives null). A deleted message
 * says so, without its sender.
 */
export function previewText(message, { me, nameOf, isGroup = true }) {
  if (!message) return '';
  const summary = contentSummary(message);
  if (message.deleted) return summary;
  if (message.sender_id === me) return `You: ${summary}`;
  const name = isGroup ? nameOf(message.sender_id) : null;
  return name ? `${name}: ${summary}` : summary;
}

/** What a screen reader hears for a room's badges: ", 3 unread, 1 mention" ('' for none). */
export function badgeLabel(unread, mentions) {
  let text = unread ? `, ${unread} unread` : '';
  if (mentions) text += `, ${mentions} mention${mentions === 1 ? '' : 's'}`;
  return text;
}

/** The line under the conversation for the people typing in it (their names, in order). */
export function typingLine(names) {
  if (!names.length) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return 'Several people are typing…';
}

/** The people typing in a room now: `typists` maps user id -> time their typing ends. */
export function typingNow(typists, now) {
  return [...(typists || new Map())].filter(([, until]) => until > now).map(([userId]) => userId);
}

/**
 * When to send `{"type": "read"}` frames: for each room, only a seq above the last one sent,
 * and at most one frame per `intervalMs`; a seq asked for meanwhile goes when the interval is
 * over (the highest asked). `send(roomId, seq)` returns whether it went out; one that did not
 * (the socket is down) is tried again on the next mark.
 */
export class ReadThrottle {
  constructor({
    send,
    intervalMs = READ_EVERY_MS,
    now = () => Date.now(),
    setTimer = (fn, ms) => setTimeout(fn, ms), // called unbound: a browser's setTimeout refuses another `this`
    clearTimer = (timer) => clearTimeout(timer),
  }) {
    Object.assign(this, { send, intervalMs, now, setTimer, clearTimer });
    this.rooms = new Map(); // room_id -> {sent, wanted, at, timer}
  }

  entry(roomId) {
    if (!this.rooms.has(roomId)) this.rooms.set(roomId, { sent: 0, wanted: 0, at: -Infinity, timer: null });
    return this.rooms.get(roomId);
  }

  /** The reader has seen room `roomId` up to `seq`. */
  mark(roomId, seq) {
    const entry = this.entry(roomId);
    if (seq <= entry.sent || seq <= entry.wanted) {
      if (entry.wanted > entry.sent && entry.timer === null) this.flush(roomId); // a failed send
      return;
    }
    entry.wanted = seq;
    const wait = entry.at + this.intervalMs - this.now();
    if (wait <= 0) this.flush(roomId);
    else if (entry.timer === null) entry.timer = this.setTimer(() => this.flush(roomId), wait);
  }

  /** The server says the room is read up to `seq` (another device, or a send): nothing below it is sent. */
  known(roomId, seq) {
    const entry = this.entry(roomId);
    entry.sent = Math.max(entry.sent, seq);
  }

  flush(roomId) {
    const entry = this.entry(roomId);
    entry.timer = null;
    if (entry.wanted <= entry.sent) return;
    if (this.send(roomId, entry.wanted)) {
      entry.sent = entry.wanted;
      entry.at = this.now();
    }
  }

  /** Logout: nothing more goes out. */
  reset() {
    for (const entry of this.rooms.values()) if (entry.timer !== null) this.clearTimer(entry.timer);
    this.rooms.clear();
  }
}

/** Whether a `typing` frame is due for the room: none went out for it in the last `everyMs`.
 * `sent` maps room id -> when the last went out, and is updated when due. */
export function typingDue(sent, roomId, now, everyMs = TYPING_EVERY_MS) {
  const last = sent.get(roomId);
  if (last !== undefined && now - last < everyMs) return false;
  sent.set(roomId, now);
  return true;
}

/** The members other than `me` who have read up to `seq` (a null `read_seq`: not shared). */
export function seenBy(members, me, seq) {
  return (members || []).filter((m) => m.user_id !== me && m.read_seq !== null && m.read_seq !== undefined && m.read_seq >= seq);
}

/** The receipt of one's own message: 'seen' when someone else has read it, else 'sent'. */
export const receiptOf = (members, me, seq) => (seenBy(members, me, seq).length ? 'seen' : 'sent');

/** The line under one's last message: "Seen by Alice, Bob" ('' when nobody has seen it). */
export function seenByLine(names, limit = SEEN_BY_NAMES) {
  if (!names.length) return '';
  if (names.length <= limit) {
    return `Seen by ${names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`}`;
  }
  const others = names.length - limit;
  return `Seen by ${names.slice(0, limit).join(', ')} and ${others} other${others === 1 ? '' : 's'}`;
}

/** The message the "New messages" divider goes above: the first after `readSeq` that someone
 * else sent (null: none, or nothing was unread). */
export function firstUnread(messages, readSeq, me) {
  if (readSeq === null || readSeq === undefined) return null;
  return messages.find((m) => m.seq > readSeq && m.sender_id !== me) ?? null;
}

/** "last seen just now", "… 5 minutes ago", "… 3 hours ago", "… yesterday", "… 4 days ago",
 * else a date; '' when never seen. */
export function lastSeenText(iso, now = Date.now()) {
  const at = time(iso);
  if (!at) return '';
  const minutes = Math.floor(Math.max(0, now - at) / 60000);
  const plural = (n, unit) => `${n} ${unit}${n === 1 ? '' : 's'} ago`;
  let when;
  if (minutes < 1) when = 'just now';
  else if (minutes < 60) when = plural(minutes, 'minute');
  else if (minutes < 24 * 60) when = plural(Math.floor(minutes / 60), 'hour');
  else if (minutes < 48 * 60) when = 'yesterday';
  else if (minutes < 7 * 24 * 60) when = `${Math.floor(minutes / (24 * 60))} days ago`;
  else when = `on ${new Date(at).toLocaleDateString([], { dateStyle: 'medium' })}`;
  return `last seen ${when}`;
}

/** What someone's presence reads as: "online", "last seen …", or "offline" (never seen). */
export function presenceText(member, now = Date.now()) {
  if (!member) return '';
  if (member.online) return 'online';
  return lastSeenText(member.last_seen, now) || 'offline';
}
