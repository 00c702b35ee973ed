// The conversation state's logic without a browser (API.md §7.3, §7.4): the chat list's order,
// badges and previews, typing lines, the read throttle, receipts and "seen by", presence and
// the client state's read, typing and presence transitions, and that the socket confirms none
// of the live-only frames. `node --test tests/browser/conversation_logic.test.mjs`
// (tests/browser/test_conversation_logic.py runs it under pytest).

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';

import * as C from '../../gateway/static/gateway/conversation.js';
import { ChatSocket } from '../../gateway/static/gateway/socket.js';
import * as S from '../../gateway/static/gateway/state.js';

globalThis.window = { location: { origin: 'http://chat.test', href: 'http://chat.test/', protocol: 'http:' } };

const ME = 5;
const at = (minute) => `2026-11-23T10:${String(minute).padStart(2, '0')}:00.000Z`;
const text = (id, seq, extra = {}) => ({
  id,
  room_id: 1,
  sender_id: 7,
  seq,
  client_msg_id: null,
  created_at: at(seq),
  content: { type: 'text', text: `m${seq}` },
  mentions: [],
  mention_all: false,
  deleted: false,
  ...extra,
});
const room = (id, extra = {}) => ({
  id,
  name: `room ${id}`,
  is_group: true,
  role: 2,
  last_seq: 0,
  read_seq: 0,
  unread: 0,
  mentions: 0,
  last_message: null,
  last_activity_at: at(0),
  ...extra,
});

function signedIn() {
  const state = S.createState();
  S.signIn(state, { user_id: ME, username: 'me' });
  return state;
}

describe('the chat list', () => {
  test('rooms come most recently active first; a tie puts the newer room first', () => {
    const rooms = [room(1, { last_activity_at: at(3) }), room(2, { last_activity_at: at(9) }), room(3, { last_activity_at: at(3) })];
    assert.deepEqual(
      C.orderRooms(rooms).map((r) => r.id),
      [2, 3, 1],
    );
  });

  test('a new message moves its room to the top with its preview and badge, a known one does not', () => {
    const state = signedIn();
    S.setRooms(state, [room(2, { last_seq: 4, last_activity_at: at(8) }), room(1, { last_seq: 3, unread: 1, last_activity_at: at(3) })]);
    assert.deepEqual(
      C.orderRooms(state.rooms.values()).map((r) => r.id),
      [2, 1],
    );
    assert.equal(state.unread.get(1), 1, 'the list’s exact count');
    // seq 3 was counted by the list already (a batch after the list was read): not twice.
    assert.equal(S.acceptMessage(state, text(30, 3, { created_at: at(3) })).unread, false);
    assert.equal(state.unread.get(1), 1);
    const taken = S.acceptMessage(state, text(31, 4, { created_at: at(12), mentions: [ME] }));
    assert.equal(taken.unread, true);
    assert.deepEqual([state.unread.get(1), state.mentions.get(1)], [2, 1]);
    assert.deepEqual(
      C.orderRooms(state.rooms.values()).map((r) => r.id),
      [1, 2],
    );
    assert.equal(state.rooms.get(1).last_message.id, 31);
    assert.equal(state.rooms.get(1).last_activity_at, at(12));
    // A listing read before seq 4 arrived but answered after: the frame's count and preview stay.
    S.setRooms(state, [room(2, { last_seq: 4, last_activity_at: at(8) }), room(1, { last_seq: 3, unread: 1, last_activity_at: at(3) })]);
    assert.deepEqual([state.unread.get(1), state.rooms.get(1).last_seq, state.rooms.get(1).last_message.id], [2, 4, 31]);
    assert.deepEqual(
      C.orderRooms(state.rooms.values()).map((r) => r.id),
      [1, 2],
    );
  });

  test('one’s own message marks the room read; an update of the last message changes the preview', () => {
    const state = signedIn();
    S.setRooms(state, [room(1, { last_seq: 2, unread: 2, mentions: 1 })]);
    S.acceptMessage(state, text(40, 3, { sender_id: ME }));
    assert.equal(state.unread.has(1) || state.mentions.has(1), false);
    assert.equal(state.rooms.get(1).read_seq, 3);
    const deleted = { ...text(40, 3, { sender_id: ME }), deleted: true, content: null };
    assert.equal(S.acceptUpdate(state, { id: 40, type: 'update', room_id: 1, seq: 4, created_at: at(20), payload: { event: 'delete', message: deleted } }), true);
    assert.equal(state.rooms.get(1).last_seq, 4);
    assert.equal(state.rooms.get(1).last_activity_at, at(20));
    assert.equal(C.previewText(state.rooms.get(1).last_message, { me: ME, nameOf: () => 'x' }), 'Message deleted');
    assert.equal(S.acceptUpdate(state, { id: 1, type: 'update', room_id: 99, seq: 1, payload: {} }), false, 'not a joined room');
  });

  test('previews name the sender in groups, say what an attachment is, and that a message was deleted', () => {
    const nameOf = (id) => ({ 7: 'Alice' })[id] ?? `user #${id}`;
    const options = { me: ME, nameOf };
    assert.equal(C.previewText(text(1, 1, { content: { type: 'text', text: 'Hi\n  there ' } }), options), 'Alice: Hi there');
    assert.equal(C.previewText(text(1, 1, { content: { type: 'image', url: 'u' } }), options), 'Alice: Photo');
    assert.equal(C.previewText(text(1, 1, { content: { type: 'file', url: 'u', file_name: 'a.pdf' } }), options), 'Alice: File');
    assert.equal(C.previewText(text(1, 1, { content: { type: 'voice', url: 'u' } }), options), 'Alice: Voice message');
    assert.equal(C.previewText(text(1, 1, { sender_id: ME }), options), 'You: m1');
    assert.equal(C.previewText(text(1, 1), { ...options, isGroup: false }), 'm1', 'a private chat is the person');
    assert.equal(C.previewText(text(1, 1), { me: ME, nameOf: () => null }), 'm1', 'a name not known yet');
    assert.equal(C.previewText(text(1, 1, { deleted: true, content: null }), options), 'Message deleted');
    assert.equal(C.previewText(null, options), '');
  });

  test('badges read out the unread and mention counts', () => {
    assert.equal(C.badgeLabel(0, 0), '');
    assert.equal(C.badgeLabel(3, 0), ', 3 unread');
    assert.equal(C.badgeLabel(3, 1), ', 3 unread, 1 mention');
    assert.equal(C.badgeLabel(4, 2), ', 4 unread, 2 mentions');
  });

  test('the open room takes no counts from the list, and opening one sets the divider at its read position', () => {
    const state = signedIn();
    S.setRooms(state, [room(1, { read_seq: 6, last_seq: 9, unread: 2 }), room(2, { read_seq: 4, last_seq: 4 })]);
    S.selectRoom(state, 1);
    assert.deepEqual(state.divider, { roomId: 1, afterSeq: 6 });
    assert.equal(state.unread.has(1), false);
    S.setRooms(state, [room(1, { read_seq: 6, last_seq: 9, unread: 2 }), room(2, { read_seq: 4, last_seq: 4 })]);
    assert.equal(state.unread.has(1), false, 'it is being read');
    S.selectRoom(state, 2);
    assert.equal(state.divider, null, 'nothing unread, no divider');
    const messages = [text(1, 5), text(2, 7, { sender_id: ME }), text(3, 8), text(4, 9)];
    assert.equal(C.firstUnread(messages, 6, ME).id, 3, 'one’s own messages are never unread');
    assert.equal(C.firstUnread(messages, 9, ME), null);
  });
});

describe('read state', () => {
  test('the throttle sends at most one read per room and second, only higher, the highest asked', () => {
    let now = 0;
    const timers = [];
    const sent = [];
    const throttle = new C.ReadThrottle({
      send: (roomId, seq) => sent.push([roomId, seq]) > 0,
      now: () => now,
      setTimer: (fn, wait) => timers.push({ fn, due: now + wait }),
      clearTimer: () => {},
    });
    throttle.mark(1, 3);
    throttle.mark(2, 8);
    assert.deepEqual(sent, [
      [1, 3],
      [2, 8],
    ]);
    throttle.mark(1, 3); // nothing new
    throttle.mark(1, 2); // lower
    now = 300;
    throttle.mark(1, 4);
    throttle.mark(1, 6);
    assert.equal(sent.length, 2, 'within the second: held back');
    assert.equal(timers.length, 1, 'one timer for the room');
    assert.equal(timers[0].due, 1000);
    now = 1000;
    timers.shift().fn();
    assert.deepEqual(sent.at(-1), [1, 6], 'the highest seq asked for');
    throttle.known(1, 10); // another device read further
    now = 5000;
    throttle.mark(1, 9);
    assert.equal(sent.length, 3, 'never below what the server says is read');
    throttle.mark(1, 11);
    assert.deepEqual(sent.at(-1), [1, 11]);
  });

  test('a read the socket did not take goes on the next mark', () => {
    let open = false;
    const sent = [];
    const throttle = new C.ReadThrottle({ send: (roomId, seq) => open && sent.push(seq) > 0, now: () => 0 });
    throttle.mark(1, 4);
    assert.deepEqual(sent, []);
    open = true;
    throttle.mark(1, 4);
    assert.deepEqual(sent, [4]);
  });

  test('one’s own read frame clears the badge on other tabs; a partial one asks for the counts', () => {
    const state = signedIn();
    S.setRooms(state, [room(1, { last_seq: 9, read_seq: 2, unread: 4, mentions: 1 }), room(2, { last_seq: 9, read_seq: 2, unread: 3 })]);
    const frame = (roomId, userId, readSeq) => ({ id: -1, type: 'read', room_id: roomId, sender_id: userId, payload: { user_id: userId, read_seq: readSeq } });
    assert.deepEqual(S.acceptRead(state, frame(1, ME, 9)), { mine: true, receipt: false, refresh: false });
    assert.equal(state.unread.has(1) || state.mentions.has(1), false);
    assert.equal(state.rooms.get(1).read_seq, 9);
    assert.deepEqual(S.acceptRead(state, frame(2, ME, 5)), { mine: true, receipt: false, refresh: true });
    assert.equal(state.rooms.get(2).read_seq, 5);
  });

  test('others’ read frames move their receipts; seen-by names who read it, never oneself', () => {
    const state = signedIn();
    S.setMembers(state, 1, [
      { user_id: ME, username: 'me', read_seq: 9 },
      { user_id: 7, username: 'alice', nickname: 'Alice', read_seq: 2 },
      { user_id: 8, username: 'bob', read_seq: null }, // does not share receipts
    ]);
    const members = state.members.get(1);
    assert.equal(C.receiptOf(members, ME, 4), 'sent');
    assert.deepEqual(S.acceptRead(state, { room_id: 1, payload: { user_id: 7, read_seq: 4 } }), { mine: false, receipt: true, refresh: false });
    assert.equal(S.acceptRead(state, { room_id: 1, payload: { user_id: 7, read_seq: 3 } }).receipt, false, 'never lowered');
    assert.equal(C.receiptOf(members, ME, 4), 'seen');
    assert.equal(C.receiptOf(members, ME, 5), 'sent');
    assert.deepEqual(
      C.seenBy(members, ME, 4).map((m) => m.user_id),
      [7],
    );
    S.acceptRead(state, { room_id: 1, payload: { user_id: 8, read_seq: 6 } });
    assert.deepEqual(
      C.seenBy(members, ME, 4).map((m) => m.user_id),
      [7, 8],
    );
  });

  test('the seen-by line lists a few names, then counts the others', () => {
    assert.equal(C.seenByLine([]), '');
    assert.equal(C.seenByLine(['Alice']), 'Seen by Alice');
    assert.equal(C.seenByLine(['Alice', 'Bob']), 'Seen by Alice and Bob');
    assert.equal(C.seenByLine(['A', 'B', 'C']), 'Seen by A, B and C');
    assert.equal(C.seenByLine(['A', 'B', 'C', 'D']), 'Seen by A, B, C and 1 other');
    assert.equal(C.seenByLine(['A', 'B', 'C', 'D', 'E']), 'Seen by A, B, C and 2 others');
  });
});

describe('typing and presence', () => {
  test('the typing line names one or two people, then says several', () => {
    assert.equal(C.typingLine([]), '');
    assert.equal(C.typingLine(['Alice']), 'Alice is typing…');
    assert.equal(C.typingLine(['Alice', 'Bob']), 'Alice and Bob are typing…');
    assert.equal(C.typingLine(['Alice', 'Bob', 'Carol']), 'Several people are typing…');
  });

  test('typing lasts until its time is up or the typist’s message comes', () => {
    const state = signedIn();
    S.noteTyping(state, 1, 7, 6000);
    S.noteTyping(state, 1, 8, 9000);
    assert.deepEqual(C.typingNow(state.typing.get(1), 5999), [7, 8]);
    assert.deepEqual(C.typingNow(state.typing.get(1), 6000), [8]);
    assert.equal(S.stopTyping(state, 1, 8), true);
    assert.equal(S.stopTyping(state, 1, 8), false);
    assert.deepEqual(C.typingNow(state.typing.get(1), 0), [7]);
    assert.deepEqual(C.typingNow(state.typing.get(2), 0), []);
  });

  test('a typing frame goes at most once per room every 3 s', () => {
    const sent = new Map();
    assert.equal(C.typingDue(sent, 1, 0), true);
    assert.equal(C.typingDue(sent, 1, 2999), false);
    assert.equal(C.typingDue(sent, 2, 2999), true, 'another room');
    assert.equal(C.typingDue(sent, 1, 3000), true);
    assert.equal(C.typingDue(sent, 1, 5000), false);
  });

  test('presence frames update every members list the user is in; last seen reads in plain words', () => {
    const state = signedIn();
    S.setMembers(state, 1, [{ user_id: 7, username: 'alice', online: true, last_seen: null }]);
    S.setMembers(state, 2, [{ user_id: 7, username: 'alice', online: true, last_seen: null }, { user_id: 8, username: 'b' }]);
    S.setMembers(state, 3, [{ user_id: 8, username: 'b' }]);
    assert.deepEqual(S.acceptPresence(state, { user_id: 7, online: false, last_seen: at(0) }), [1, 2]);
    assert.deepEqual(state.members.get(2)[0], { user_id: 7, username: 'alice', online: false, last_seen: at(0) });
    const now = Date.parse(at(0));
    assert.equal(C.presenceText(state.members.get(1)[0], now + 20_000), 'last seen just now');
    assert.equal(C.presenceText(state.members.get(1)[0], now + 5 * 60_000), 'last seen 5 minutes ago');
    assert.equal(C.lastSeenText(at(0), now + 60_000), 'last seen 1 minute ago');
    assert.equal(C.lastSeenText(at(0), now + 3 * 3600_000), 'last seen 3 hours ago');
    assert.equal(C.lastSeenText(at(0), now + 30 * 3600_000), 'last seen yesterday');
    assert.equal(C.lastSeenText(at(0), now + 4 * 86400_000), 'last seen 4 days ago');
    assert.match(C.lastSeenText(at(0), now + 30 * 86400_000), /^last seen on /);
    assert.equal(C.presenceText({ online: false, last_seen: null }), 'offline');
    S.acceptPresence(state, { user_id: 7, online: true, last_seen: null });
    assert.equal(C.presenceText(state.members.get(1)[0]), 'online');
    S.setRooms(state, [room(2, { is_group: false })]);
    state.me = 8;
    assert.equal(S.otherMember(state, 2).user_id, 7);
  });
});

describe('the socket and the live-only frames', () => {
  class FakeWebSocket {
    static OPEN = 1;
    static instances = [];
    constructor(url) {
      this.url = url;
      this.readyState = 0;
      this.sent = [];
      FakeWebSocket.instances.push(this);
    }
    send(data) {
      this.sent.push(JSON.parse(data));
    }
    close() {
      this.readyState = 3;
    }
    serverSends(frame) {
      this.readyState = FakeWebSocket.OPEN;
      this.onmessage({ data: JSON.stringify(frame) });
    }
  }

  let socket;
  let events;

  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
    FakeWebSocket.instances = [];
    globalThis.WebSocket = FakeWebSocket;
    events = [];
    const api = { session: { token: 't', user_id: ME }, ensureFreshToken: async () => true, get: async () => ({ ws_url: 'ws://gw/api/ws' }) };
    socket = new ChatSocket({
      api,
      onStatus: () => {},
      onOpen: () => {},
      onMessages: (messages) => events.push(['messages', messages.map((m) => m.id)]),
      onAck: () => {},
      onNotice: () => {},
      onError: () => {},
      onRead: (frame) => events.push(['read', frame.payload.read_seq]),
      onTyping: (frame) => events.push(['typing', frame.sender_id]),
      onPresence: (frame) => events.push(['presence', frame.payload.online]),
    });
  });

  afterEach(() => {
    socket.stop();
    mock.timers.reset();
  });

  test('read, typing and presence frames are handed on and never acked; chat frames still are', async () => {
    socket.start();
    for (let i = 0; i < 5; i += 1) await Promise.resolve();
    const [ws] = FakeWebSocket.instances;
    ws.serverSends({ id: -1, type: 'system', room_id: -1, sender_id: -1, payload: 'Connected to WebSocket server' });
    ws.serverSends({ id: -1, type: 'read', room_id: 1, sender_id: 7, payload: { user_id: 7, read_seq: 4 } });
    ws.serverSends({ id: -1, type: 'typing', room_id: 1, sender_id: 7, payload: { expires_in_ms: 6000 } });
    ws.serverSends({ id: -1, type: 'presence', room_id: 0, sender_id: 0, payload: { user_id: 7, online: false, last_seen: at(1) } });
    mock.timers.tick(500);
    assert.deepEqual(events, [
      ['read', 4],
      ['typing', 7],
      ['presence', false],
    ]);
    assert.deepEqual(ws.sent, [], 'nothing to confirm');
    ws.serverSends({ id: 12, type: 'chat', room_id: 1, sender_id: 7, seq: 5, created_at: at(5), payload: { type: 'text', text: 'hi' } });
    mock.timers.tick(500);
    assert.deepEqual(ws.sent, [{ type: 'ack', room_id: 1, seq: 5 }]);
  });
});
