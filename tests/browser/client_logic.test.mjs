// The browser client's logic without a browser: `node --test tests/browser/client_logic.test.mjs`
// (tests/browser/test_client_logic.py runs it under pytest). Fakes stand in for fetch,
// sessionStorage, WebSocket, the clock and (for dom.js) the document.

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';

import { Api, ApiError } from '../../gateway/static/gateway/api.js';
import { el } from '../../gateway/static/gateway/dom.js';
import {
  clientMsgId,
  deviceId,
  errorText,
  formatTime,
  isRetryable,
  parseIds,
  roleName,
  safeHttpUrl,
} from '../../gateway/static/gateway/format.js';
import { createLifecycle } from '../../gateway/static/gateway/lifecycle.js';
import { mentionCandidates, mentionQuery, mentionsIn } from '../../gateway/static/gateway/mentions.js';
import { describeArrivals } from '../../gateway/static/gateway/messages.js';
import { QUICK_REACTIONS, reactedByMe, toggledOn } from '../../gateway/static/gateway/reactions.js';
import { snippet } from '../../gateway/static/gateway/replies.js';
import { ChatSocket } from '../../gateway/static/gateway/socket.js';
import * as S from '../../gateway/static/gateway/state.js';
import {
  Timeline,
  backoffDelay,
  historyStatus,
  messageFromFrame,
  messageFromSendReply,
  reconnectDelay,
} from '../../gateway/static/gateway/timeline.js';

globalThis.window = { location: { origin: 'http://chat.test', href: 'http://chat.test/', protocol: 'http:' } };

const message = (id, seq, extra = {}) => ({
  id,
  room_id: 1,
  sender_id: 2,
  seq,
  client_msg_id: null,
  created_at: '2026-11-23T10:04:05.123Z',
  content: { type: 'text', text: `m${seq}` },
  ...extra,
});

describe('Timeline', () => {
  test('keeps seq order whatever order messages come in, and drops a repeated id', () => {
    const timeline = new Timeline();
    assert.equal(timeline.add(message(13, 3)), 0);
    assert.equal(timeline.add(message(11, 1)), 0);
    assert.equal(timeline.add(message(12, 2)), 1);
    assert.equal(timeline.add(message(14, 4)), 3);
    assert.equal(timeline.add(message(12, 2)), -1);
    assert.deepEqual(
      timeline.messages.map((m) => m.seq),
      [1, 2, 3, 4],
    );
    assert.equal(timeline.oldestSeq, 1);
    assert.equal(timeline.newestSeq, 4);
    assert.equal(timeline.after(timeline.byId.get(12)).id, 13);
    assert.equal(timeline.after(timeline.byId.get(14)), null);
  });

  test('an empty timeline has no seq bounds and expects older history until told otherwise', () => {
    const timeline = new Timeline();
    assert.equal(timeline.oldestSeq, null);
    assert.equal(timeline.newestSeq, null);
    assert.equal(timeline.hasOlder, true);
    assert.equal(timeline.historyLoaded, false);
  });

  test('finds this client’s own message by client_msg_id', () => {
    const timeline = new Timeline();
    timeline.add(message(21, 1, { client_msg_id: 'web-a' }));
    timeline.add(message(22, 2, { client_msg_id: 'web-b' }));
    assert.equal(timeline.findByClientId('web-a').id, 21);
    assert.equal(timeline.findByClientId('web-z'), null);
    assert.equal(timeline.findByClientId(null), null);
  });

  test('a chat frame becomes the message object of the HTTP API', () => {
    const frame = {
      id: 7,
      type: 'chat',
      room_id: 3,
      sender_id: 4,
      seq: 9,
      created_at: '2026-11-23T10:04:05.123Z',
      client_msg_id: 'c1',
      reply_to: 5,
      mentions: [2],
      mention_all: false,
      edited_at: null,
      deleted: false,
      reactions: [{ key: '👍', count: 1, user_ids: [2] }],
      pinned: true,
      payload: { type: 'text', text: 'hi' },
    };
    assert.deepEqual(messageFromFrame(frame), {
      id: 7,
      room_id: 3,
      sender_id: 4,
      seq: 9,
      client_msg_id: 'c1',
      created_at: '2026-11-23T10:04:05.123Z',
      content: { type: 'text', text: 'hi' },
      reply_to: 5,
      mentions: [2],
      mention_all: false,
      edited_at: null,
      deleted: false,
      reactions: [{ key: '👍', count: 1, user_ids: [2] }],
      pinned: true,
    });
  });

  test('a chat frame of the original design gets the fields of a message nothing happened to', () => {
    const frame = { id: 7, type: 'chat', room_id: 3, sender_id: 4, seq: 9, created_at: 'x', payload: { type: 'text', text: 'hi' } };
    const message = messageFromFrame(frame);
    assert.deepEqual(
      [message.reply_to, message.mentions, message.mention_all, message.edited_at, message.deleted, message.reactions, message.pinned],
      [null, [], false, null, false, [], false],
    );
    assert.notEqual(message.mentions, messageFromFrame(frame).mentions); // never shared between messages
  });

  test('an update takes a known message’s newer state in place, and ignores one not loaded', () => {
    const timeline = new Timeline();
    timeline.add(message(11, 1));
    timeline.add(message(12, 2));
    const stored = timeline.byId.get(11);
    const edited = timeline.update(message(11, 1, { content: { type: 'text', text: 'new' }, edited_at: 'later' }));
    assert.equal(edited, stored);
    assert.equal(timeline.messages[0].content.text, 'new');
    assert.deepEqual(timeline.messages.map((m) => m.id), [11, 12]);
    assert.equal(timeline.update(message(99, 5)), null);
    assert.equal(timeline.has(99), false);
  });
});

describe('backoffDelay', () => {
  test('doubles per attempt, anywhere from nothing to the whole ceiling, and stops at the cap', () => {
    assert.equal(backoffDelay(0, { random: () => 0 }), 0);
    assert.equal(backoffDelay(0, { random: () => 1 }), 500);
    assert.equal(backoffDelay(3, { random: () => 0.25 }), 1000);
    assert.equal(backoffDelay(3, { random: () => 1 }), 4000);
    assert.equal(backoffDelay(20, { random: () => 1 }), 30000);
    assert.equal(backoffDelay(20, { random: () => 0 }), 0);
    assert.equal(backoffDelay(1000, { random: () => 0.5 }), 15000);
  });

  test('a restarted gateway (1012) or one going away (1001) is left within a second, once', () => {
    assert.equal(reconnectDelay(1012, 0, { random: () => 1 }), 1000);
    assert.equal(reconnectDelay(1001, 0, { random: () => 0.3 }), 300);
    assert.equal(reconnectDelay(1012, 4, { random: () => 1 }), 8000); // failing again: back off
    assert.equal(reconnectDelay(1013, 0, { random: () => 1 }), 500);
    assert.equal(reconnectDelay(1006, 6, { random: () => 1 }), 30000);
  });
});

describe('Timeline paging', () => {
  test('the newest page loads the history; an older page adds only new messages, in place', () => {
    const timeline = new Timeline();
    assert.equal(timeline.canLoadOlder, false); // no history read yet
    timeline.add(message(60, 60)); // a live message that came first
    timeline.addLatestPage([message(59, 59), message(60, 60)], true);
    assert.equal(timeline.historyLoaded, true);
    assert.equal(timeline.hasOlder, true);
    assert.equal(timeline.canLoadOlder, true);
    timeline.loadingOlder = true;
    assert.equal(timeline.canLoadOlder, false);
    timeline.loadingOlder = false;

    const placed = [];
    timeline.addOlderPage([message(57, 57), message(58, 58), message(59, 59)], true, (m) => {
      // Each one is placed before the next is added, so `after` names a placed message.
      placed.push([m.seq, timeline.after(m)?.seq ?? null]);
    });
    assert.deepEqual(placed, [
      [57, 59],
      [58, 59],
    ]);
    assert.deepEqual(
      timeline.messages.map((m) => m.seq),
      [57, 58, 59, 60],
    );
    assert.equal(timeline.hasOlder, true);
    timeline.addOlderPage([], true);
    assert.equal(timeline.hasOlder, false, 'an empty page ends the history even if has_more says otherwise');
    assert.equal(timeline.canLoadOlder, false);
  });

  test('a latest page without more leaves nothing older to ask for', () => {
    const timeline = new Timeline();
    timeline.addLatestPage([], false);
    assert.equal(timeline.hasOlder, false);
    assert.equal(timeline.canLoadOlder, false);
  });

  test('the history status says what is loading, where the conversation starts, or nothing', () => {
    assert.deepEqual(historyStatus(undefined), { loaded: false, olderHidden: true, olderDisabled: null, text: 'Loading messages…' });
    const timeline = new Timeline();
    assert.equal(historyStatus(timeline).text, 'Loading messages…');
    timeline.addLatestPage([], false);
    assert.deepEqual(historyStatus(timeline), { loaded: true, olderHidden: true, olderDisabled: false, text: 'No messages yet. Say hello!' });
    const longer = new Timeline();
    longer.addLatestPage([message(5, 5)], true);
    assert.deepEqual(historyStatus(longer), { loaded: true, olderHidden: false, olderDisabled: false, text: '' });
    longer.loadingOlder = true;
    assert.deepEqual(historyStatus(longer), { loaded: true, olderHidden: false, olderDisabled: true, text: 'Loading older messages…' });
    longer.loadingOlder = false;
    longer.hasOlder = false;
    assert.equal(historyStatus(longer).text, 'Start of the conversation.');
  });

  test('the send reply becomes the message object, sent by this user', () => {
    const reply = { msgID: 31, room_id: 4, seq: 12, client_msg_id: 'web-1', created_at: '2026-11-23T10:04:05Z' };
    assert.deepEqual(messageFromSendReply(reply, { type: 'text', text: 'hi' }, 9, { reply_to: 30, mentions: [3] }), {
      id: 31,
      room_id: 4,
      sender_id: 9,
      seq: 12,
      client_msg_id: 'web-1',
      created_at: '2026-11-23T10:04:05Z',
      content: { type: 'text', text: 'hi' },
      reply_to: 30,
      mentions: [3],
      mention_all: false,
      edited_at: null,
      deleted: false,
      reactions: [],
      pinned: false,
    });
  });
});

// --- The client's state ------------------------------------------------------------------

const ME = 2;
const group = (id, extra = {}) => ({ id, name: `group ${id}`, is_group: true, role: 2, last_seq: 0, ...extra });
const privateChat = (id) => ({ id, name: 'made-up name', is_group: false, role: 0, last_seq: 0 });
const member = (userId, extra = {}) => ({ user_id: userId, username: `u${userId}`, nickname: '', role: 2, online: true, ...extra });

function signedIn() {
  const state = S.createState();
  S.signIn(state, { user_id: ME, username: 'me' });
  return state;
}

describe('client state', () => {
  test('a sign-in names this user; a reset forgets everything the session learnt', () => {
    const state = signedIn();
    assert.equal(state.me, ME);
    assert.equal(state.names.get(ME), 'me');
    S.setRooms(state, [group(1)]);
    S.noteSocketOpen(state);
    S.selectRoom(state, 1);
    S.timelineOf(state, 1).add(message(1, 1));
    state.messageEls.set(1, {});
    S.resetState(state);
    assert.equal(state.me, null);
    assert.equal(state.current, null);
    assert.equal(state.connectedOnce, false);
    assert.equal(state.roomsLoaded, false);
    for (const key of ['rooms', 'roomNames', 'timelines', 'members', 'names', 'unread', 'requests', 'pending', 'messageEls', 'pendingEls']) {
      assert.equal(state[key].size, 0, key);
    }
  });

  test('rooms are read again after a reconnect, or when not read yet, not on the first open', () => {
    const state = signedIn();
    assert.equal(S.noteSocketOpen(state), true, 'rooms not read yet');
    const fresh = signedIn();
    S.setRooms(fresh, []);
    assert.equal(S.noteSocketOpen(fresh), false, 'first open after the rooms were read');
    assert.equal(S.noteSocketOpen(fresh), true, 'a reconnect');
  });

  test('the rooms list replaces the last one, keeps names, and says what to read next', () => {
    const state = signedIn();
    const first = S.setRooms(state, [group(1, { role: 1 }), privateChat(2)]);
    assert.equal(first.size, 0);
    assert.equal(state.roomsLoaded, true);
    assert.deepEqual(S.roomsToFollowUp(state, first), { requests: [1], members: [2] });
    S.setRequests(state, 1, []);
    S.setMembers(state, 2, [member(ME), member(7)]);
    const previous = S.setRooms(state, [group(1, { role: 1 }), privateChat(2), group(3, { role: 0 }), group(4)]);
    assert.deepEqual([...previous.keys()], [1, 2]);
    assert.deepEqual(S.roomsToFollowUp(state, previous), { requests: [3], members: [] });
    S.setRooms(state, [group(4)]);
    assert.equal(S.roomName(state, 1), 'group 1', 'a room left is still named');
    S.rememberRoomNames(state, [{ id: 9, name: 'found' }]);
    assert.equal(S.roomName(state, 9), 'found');
    assert.equal(S.roomName(state, 10), 'room #10');
  });

  test('a private chat is labelled with the other person; people by nickname, username or id', () => {
    const state = signedIn();
    S.setRooms(state, [privateChat(2), group(3)]);
    assert.equal(S.roomLabel(state, state.rooms.get(2)), 'made-up name');
    S.setMembers(state, 2, [member(ME), member(7, { nickname: 'Ada' })]);
    assert.equal(S.roomName(state, 2), 'Ada (private)');
    assert.equal(S.roomName(state, 3), 'group 3');
    assert.equal(S.userName(state, ME, 2), 'You');
    assert.equal(S.userName(state, 7, 2), 'Ada');
    S.setMembers(state, 3, [member(8)]);
    assert.equal(S.userName(state, 8, 3), 'u8');
    assert.equal(S.userName(state, 7, 3), 'Ada', 'known from another room');
    assert.equal(S.userName(state, 99, 3), 'user #99');
    S.selectRoom(state, 3);
    assert.equal(S.userName(state, 8), 'u8', 'the open room by default');
  });

  test('opening a room clears its unread count; closing forgets its elements; leaving, its messages', () => {
    const state = signedIn();
    S.setRooms(state, [group(1), group(2)]);
    state.unread.set(1, 2);
    state.unread.set(2, 3);
    assert.equal(S.totalUnread(state), 5);
    assert.equal(S.selectRoom(state, 5), null);
    assert.equal(state.current, null);
    assert.equal(S.selectRoom(state, 1).id, 1);
    assert.equal(state.current, 1);
    assert.equal(S.totalUnread(state), 3);
    state.messageEls.set(1, {});
    state.pendingEls.set('web-a', {});
    S.deselectRoom(state);
    assert.equal(state.current, null);
    assert.equal(state.messageEls.size + state.pendingEls.size, 0);
    S.timelineOf(state, 2).add(message(1, 1));
    S.forgetRoom(state, 2);
    assert.equal(state.timelines.has(2), false);
    assert.equal(S.totalUnread(state), 0);
  });

  test('a message is taken once, counted unread only when someone else’s in another room', () => {
    const state = signedIn();
    S.setRooms(state, [group(1), group(2)]);
    S.selectRoom(state, 1);
    const inOpen = S.acceptMessage(state, message(10, 4, { room_id: 1, sender_id: 7 }));
    assert.deepEqual(inOpen, { settledNode: null, knownRoom: true, mine: false, unread: false });
    assert.equal(state.rooms.get(1).last_seq, 4);
    assert.equal(S.acceptMessage(state, message(10, 4, { room_id: 1, sender_id: 7 })), null, 'a redelivery');
    S.acceptMessage(state, message(9, 3, { room_id: 1, sender_id: 7 }));
    assert.equal(state.rooms.get(1).last_seq, 4, 'an older message leaves last_seq');
    assert.equal(S.acceptMessage(state, message(11, 1, { room_id: 2, sender_id: 7 })).unread, true);
    assert.equal(state.unread.get(2), 1);
    // Sending marks the room read up to one's message (API.md §7.3): the count goes.
    assert.equal(S.acceptMessage(state, message(12, 2, { room_id: 2, sender_id: ME })).unread, false);
    assert.equal(state.unread.has(2), false);
    assert.equal(state.unread.has(1), false);
    assert.deepEqual(S.acceptMessage(state, message(13, 1, { room_id: 8, sender_id: 7 })), {
      settledNode: null,
      knownRoom: false,
      mine: false,
      unread: true,
    });
  });

  test('an unsent message is sending, then stored or failed; the stored copy settles it', () => {
    const state = signedIn();
    S.setRooms(state, [group(1)]);
    const entry = S.addPending(state, { clientMsgId: 'web-a', roomId: 1, content: { type: 'text', text: 'hi' } });
    assert.deepEqual(entry, { client_msg_id: 'web-a', room_id: 1, content: { type: 'text', text: 'hi' }, status: 'sending' });
    S.addPending(state, { clientMsgId: 'web-b', roomId: 2, content: { type: 'text', text: 'elsewhere' } });
    assert.deepEqual(
      S.pendingIn(state, 1).map((e) => e.client_msg_id),
      ['web-a'],
    );
    assert.equal(S.markStored(state, 'web-a'), entry);
    assert.equal(entry.status, 'stored');
    assert.equal(S.markStored(state, 'web-z'), null);

    S.markFailed(entry, 'offline', true);
    assert.deepEqual([entry.status, entry.error, entry.retryable], ['failed', 'offline', true]);
    assert.equal(S.markStored(state, 'web-a'), null, 'a late ack does not hide the failure');
    S.markSending(entry);
    assert.equal(entry.status, 'sending');

    const node = { removed: false };
    state.pendingEls.set('web-a', node);
    const taken = S.acceptMessage(state, message(20, 1, { room_id: 1, sender_id: ME, client_msg_id: 'web-a' }));
    assert.equal(taken.settledNode, node);
    assert.equal(taken.mine, true);
    assert.equal(state.pending.has('web-a'), false);
    assert.equal(state.pendingEls.has('web-a'), false);
    assert.equal(S.dropPending(state, 'web-b'), null, 'not shown: nothing to remove');
    assert.equal(state.pending.size, 0);
  });

  test('members name people; one shown offline who writes is stale; changes reload lists on show', () => {
    const state = signedIn();
    S.setRooms(state, [group(1), group(2), privateChat(3)]);
    S.setMembers(state, 1, [member(7, { nickname: 'Ada', online: false }), member(8)]);
    assert.equal(state.names.get(7), 'Ada');
    assert.equal(state.names.get(8), 'u8');
    assert.equal(S.memberShownOffline(state, message(1, 1, { room_id: 1, sender_id: 7 })), true);
    assert.equal(S.memberShownOffline(state, message(2, 2, { room_id: 1, sender_id: 8 })), false);
    assert.equal(S.memberShownOffline(state, message(3, 3, { room_id: 1, sender_id: 9 })), false);

    S.selectRoom(state, 1);
    S.setMembers(state, 2, []);
    S.setMembers(state, 3, []);
    assert.equal(S.membersChanged(state, 1), true, 'the open room');
    assert.equal(S.membersChanged(state, 3), true, 'a private chat: its label');
    assert.equal(S.membersChanged(state, 2), false);
    assert.equal(state.members.has(2), false, 'a list not on show is forgotten');
    assert.equal(S.membersChanged(state, 4), false);
  });

  test('join requests are listed per room, added from notices, removed, and counted for managers', () => {
    const state = signedIn();
    S.setRooms(state, [group(1, { role: 1 }), group(2, { role: 2 }), privateChat(3)]);
    assert.equal(S.isManager(state.rooms.get(1)), true);
    assert.equal(S.isManager(state.rooms.get(2)), false);
    assert.equal(S.isManager(state.rooms.get(3)), false);
    assert.equal(S.isManager(undefined), false);
    S.setRequests(state, 1, [{ id: 5, room_id: 1, username: 'ann' }]);
    const request = S.addRequest(state, 1, {
      event: 'join_request',
      request_id: 6,
      user_id: 9,
      username: 'bo',
      nickname: 'Bo',
      message: 'hi',
      created_at: 't',
    });
    assert.deepEqual(request, { id: 6, room_id: 1, user_id: 9, username: 'bo', nickname: 'Bo', message: 'hi', created_at: 't' });
    assert.deepEqual(
      S.requestsOf(state, 1).map((r) => r.id),
      [5, 6],
    );
    assert.equal(S.requestCount(state, state.rooms.get(1)), 2);
    S.addRequest(state, 2, { request_id: 7 });
    assert.equal(S.requestCount(state, state.rooms.get(2)), 0, 'only managers see the count');
    S.removeRequest(state, request);
    assert.deepEqual(
      S.requestsOf(state, 1).map((r) => r.id),
      [5],
    );
    assert.deepEqual(S.requestsOf(state, 4), []);
  });

  test('arrivals are announced one by one with where they are, or summed up past three', () => {
    const state = signedIn();
    S.setRooms(state, [group(1), group(2)]);
    S.setMembers(state, 1, [member(7, { nickname: 'Ada' })]);
    S.selectRoom(state, 1);
    const here = message(1, 1, { room_id: 1, sender_id: 7, content: { type: 'text', text: 'hello' } });
    const there = message(2, 1, { room_id: 2, sender_id: 7, content: { type: 'image', url: 'http://x/y.png' } });
    assert.deepEqual(describeArrivals(state, [here, there], true), ['Ada: hello', 'Ada in group 2: sent a image']);
    assert.deepEqual(describeArrivals(state, [here, here, here, here], true), ['4 new messages.']);
    assert.deepEqual(describeArrivals(state, [here, here, here, here], false), ['4 new messages from while you were away.']);
    assert.deepEqual(describeArrivals(state, [], true), []);
  });
});

describe('format helpers', () => {
  test('user ids typed in a form: whole positive numbers, repeats dropped, else an ApiError', () => {
    assert.deepEqual(parseIds(' 2, 5;5 7 '), [2, 5, 7]);
    assert.deepEqual(parseIds(''), []);
    for (const bad of ['abc', '0', '-3', '2.5', '1234567890123456']) {
      assert.throws(
        () => parseIds(bad),
        (error) => error instanceof ApiError && error.status === 400,
        bad,
      );
    }
  });

  test('links only when http(s)', () => {
    assert.equal(safeHttpUrl('https://example.com/a b'), 'https://example.com/a%20b');
    assert.equal(safeHttpUrl('http://example.com'), 'http://example.com/');
    for (const bad of ['javascript:alert(1)', 'data:text/html,x', 'not a url', null]) assert.equal(safeHttpUrl(bad), null, String(bad));
  });

  test('client message ids are fresh, web- and 32 hex digits', () => {
    const a = clientMsgId();
    assert.match(a, /^web-[0-9a-f]{32}$/);
    assert.notEqual(clientMsgId(), a);
  });

  test('errors: the server’s wording, a generic line otherwise; retries only when it may help', () => {
    assert.equal(errorText(new ApiError(400, 'bad name')), 'bad name');
    assert.equal(errorText(new ApiError(400, '', { name: ['too long'] })), 'name: too long');
    assert.equal(errorText(new TypeError('x')), 'Something went wrong. Please try again.');
    for (const status of [0, 429, 500, 503]) assert.equal(isRetryable(new ApiError(status, '')), true, String(status));
    for (const status of [400, 403, 404, 409]) assert.equal(isRetryable(new ApiError(status, '')), false, String(status));
    assert.equal(isRetryable(new TypeError('x')), false);
  });

  test('role names, and no time for what is not a date', () => {
    assert.deepEqual([0, 1, 2, 7].map(roleName), ['owner', 'admin', 'member', 'member']);
    assert.equal(formatTime('not a date'), '');
    assert.notEqual(formatTime(new Date().toISOString()), '');
  });
});

describe('the life of a message', () => {
  const members = [
    { user_id: 1, username: 'alice', nickname: 'Ali', role: 0 },
    { user_id: 2, username: 'bob', nickname: '', role: 2 },
    { user_id: 3, username: 'bobby.t', nickname: 'Rob', role: 1 },
  ];

  test('the @word being typed is found before the caret, not inside an address', () => {
    assert.deepEqual(mentionQuery('hi @bo', 6), { start: 3, query: 'bo' });
    assert.deepEqual(mentionQuery('@', 1), { start: 0, query: '' });
    assert.equal(mentionQuery('mail me@bob', 11), null);
    assert.equal(mentionQuery('hi @bob there', 13), null);
  });

  test('candidates: members by username or nickname prefix, all for managers, never oneself', () => {
    assert.deepEqual(mentionCandidates(members, 'bo', { me: 1 }).map((c) => c.username), ['bob', 'bobby.t']);
    assert.deepEqual(mentionCandidates(members, 'ro', { me: 1 }).map((c) => c.username), ['bobby.t']);
    assert.deepEqual(mentionCandidates(members, '', { me: 2, canAll: true }).map((c) => c.user_id), [null, 1, 3]);
    assert.deepEqual(mentionCandidates(members, 'a', { me: 2 }).map((c) => c.user_id), [1]);
  });

  test('a text’s mentions: members named once each, ascending; @all only for managers', () => {
    assert.deepEqual(mentionsIn('@bobby.t and @alice, and @bob. @bob @nobody', members), { mentions: [1, 2, 3], mention_all: false });
    assert.deepEqual(mentionsIn('@all come', members, { canAll: true }), { mentions: [], mention_all: true });
    assert.deepEqual(mentionsIn('@all come', members, { canAll: false }), { mentions: [], mention_all: false });
    assert.deepEqual(mentionsIn('no one', members), { mentions: [], mention_all: false });
  });

  test('reactions: mine when named, a pick toggles, and the quick ones are emoji', () => {
    const msg = message(1, 1, { reactions: [{ key: '👍', count: 2, user_ids: [5, 6] }] });
    assert.equal(reactedByMe(msg.reactions[0], 6), true);
    assert.equal(reactedByMe(msg.reactions[0], 7), false);
    assert.equal(toggledOn(msg, '👍', 6), false);
    assert.equal(toggledOn(msg, '👍', 7), true);
    assert.equal(toggledOn(msg, '🎉', 6), true);
    assert.equal(QUICK_REACTIONS.length, 6);
  });

  test('a snippet cuts text down and names other kinds; a deleted message says so', () => {
    assert.equal(snippet(message(1, 1, { content: { type: 'text', text: '  many\n words ' } })), 'many words');
    assert.equal(snippet(message(1, 1, { content: { type: 'text', text: 'x'.repeat(200) } })).length, 120);
    assert.equal(snippet(message(1, 1, { content: { type: 'file', url: 'https://x/y', file_name: 'r.pdf' } })), 'a file: r.pdf');
    assert.equal(snippet(message(1, 1, { deleted: true, content: null })), 'a deleted message');
  });

  test('updates are taken in once and never overtaken by an older state', () => {
    const state = S.createState();
    S.signIn(state, { user_id: 2, username: 'bob' });
    S.timelineOf(state, 1).add(message(11, 1));
    S.timelineOf(state, 1).add(message(12, 2, { reply_to: 11 }));
    const redrawn = [];
    const pinsSeen = [];
    const life = createLifecycle({
      state,
      api: {},
      redraw: (m) => redrawn.push(m.id),
      reveal: async () => null,
      openRoom: async () => {},
      replies: { changed: () => {} },
      pinsChanged: (m, event) => pinsSeen.push([m.id, event]),
    });
    const edited = (text, extra = {}) => message(11, 1, { content: { type: 'text', text }, edited_at: 'now', ...extra });
    life.receiveUpdates([{ id: 11, type: 'update', room_id: 1, sender_id: 3, seq: 5, payload: { event: 'edit', message: edited('v2') } }], { live: false });
    assert.equal(S.timelineOf(state, 1).byId.get(11).content.text, 'v2');
    assert.deepEqual(redrawn, [11, 12]); // the message, and the reply that quotes it
    life.apply(edited('v1'), 4, 'edit'); // the reply to an earlier call, overtaken: left out
    life.apply(edited('v2'), null, null); // a call that changed nothing: nothing newer to show
    assert.equal(S.timelineOf(state, 1).byId.get(11).content.text, 'v2');
    life.apply(edited('v2', { pinned: true }), 6, 'pin');
    assert.deepEqual(pinsSeen.at(-1), [11, 'pin']);
    const frameWithout = { id: 11, type: 'update', room_id: 1, sender_id: 3, seq: 7, payload: { event: 'reaction', message: null } };
    life.receiveUpdates([frameWithout], { live: false }); // a message this user may not see: nothing to draw
    assert.equal(S.timelineOf(state, 1).byId.get(11).pinned, true);
  });

  test('who may do what to a message', () => {
    const state = S.createState();
    S.signIn(state, { user_id: 3, username: 'bobby.t' });
    S.setRooms(state, [{ id: 1, name: 'g', is_group: true, role: 1, last_seq: 0 }]);
    S.setMembers(state, 1, members);
    const life = createLifecycle({ state, api: {}, redraw: () => {}, reveal: async () => null, openRoom: async () => {}, replies: {}, pinsChanged: () => {} });
    const by = (sender, extra = {}) => message(9, 1, { sender_id: sender, ...extra });
    assert.deepEqual(life.allowed(by(3)), { reply: true, react: true, edit: true, delete: true, pin: true });
    assert.deepEqual(life.allowed(by(2)), { reply: true, react: true, edit: false, delete: true, pin: true }); // an admin, a member's
    assert.deepEqual(life.allowed(by(1)), { reply: true, react: true, edit: false, delete: false, pin: true }); // the owner's
    assert.deepEqual(life.allowed(by(3, { deleted: true, content: null })), { reply: false, react: false, edit: false, delete: false, pin: false });
  });
});

describe('dom.el', () => {
  class FakeElement {
    constructor(tag) {
      this.tagName = tag;
      this.className = '';
      this.textContent = '';
      this.attributes = {};
      this.children = [];
    }
    setAttribute(name, value) {
      this.attributes[name] = value;
    }
    append(...nodes) {
      this.children.push(...nodes);
    }
    set innerHTML(_) {
      throw new Error('innerHTML must not be used');
    }
  }

  beforeEach(() => {
    globalThis.document = { createElement: (tag) => new FakeElement(tag) };
  });
  afterEach(() => {
    delete globalThis.document;
  });

  test('sets text as text, skips absent attributes, and appends only real children', () => {
    const child = el('span', { text: 0 });
    const node = el('li', { className: 'message', text: '<b>hi</b>', attrs: { 'data-id': 3, hidden: true, 'aria-current': null, off: false } }, [
      child,
      null,
      'plain',
    ]);
    assert.equal(node.textContent, '<b>hi</b>');
    assert.equal(node.className, 'message');
    assert.deepEqual(node.attributes, { 'data-id': '3', hidden: '' });
    assert.deepEqual(node.children, [child, 'plain']);
    assert.equal(child.textContent, '0');
  });
});

describe('client modules', () => {
  test('every module but the entry one loads without a page (no DOM touched on import)', async () => {
    const dir = new URL('../../gateway/static/gateway/', import.meta.url);
    const modules = readdirSync(dir).filter((name) => name.endsWith('.js') && name !== 'chat.js');
    assert.ok(modules.length >= 10, modules.join(', '));
    for (const name of modules) await import(new URL(name, dir));
  });
});

// --- Api ---------------------------------------------------------------------------------

class MemoryStorage {
  constructor(entries = {}) {
    this.map = new Map(Object.entries(entries));
  }
  getItem(key) {
    return this.map.has(key) ? this.map.get(key) : null;
  }
  setItem(key, value) {
    this.map.set(key, String(value));
  }
  removeItem(key) {
    this.map.delete(key);
  }
}

function reply(status, body) {
  return { status, ok: status >= 200 && status < 300, json: async () => body };
}

function jwt(payload) {
  const encode = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(payload)}.signature`;
}

describe('Api', () => {
  let calls;
  let replies;
  beforeEach(() => {
    calls = [];
    replies = [];
    globalThis.fetch = async (url, init) => {
      calls.push({ url: String(url), method: init.method, headers: init.headers, body: init.body && JSON.parse(init.body) });
      const next = replies.shift();
      if (next instanceof Error) throw next;
      return next;
    };
  });

  const session = (token = 'old') =>
    new MemoryStorage({ 'chat.session': JSON.stringify({ token, refresh: 'r1', user_id: 5, username: 'ann' }) });

  test('login keeps the token pair in the storage and sends it as a Bearer header after', async () => {
    const storage = new MemoryStorage();
    const api = new Api({ storage });
    replies.push(reply(200, { code: 0, msg: 'logged in', data: { token: 't1', refresh: 'r1', user_id: 5, username: 'ann', expires_in: 7200 } }));
    replies.push(reply(200, { code: 0, msg: 'ok', data: { room_ids: [], rooms: [] } }));
    await api.login('ann', 'secret123');
    assert.deepEqual(JSON.parse(storage.getItem('chat.session')), { token: 't1', refresh: 'r1', user_id: 5, username: 'ann' });
    assert.deepEqual(await api.get('/api/joined_rooms'), { room_ids: [], rooms: [] });
    assert.equal(calls[0].headers.Authorization, undefined);
    assert.deepEqual(calls[0].body, { username: 'ann', password: 'secret123' });
    assert.equal(calls[1].headers.Authorization, 'Bearer t1');
    assert.equal(calls[1].url, 'http://chat.test/api/joined_rooms');
  });

  test('a 401 renews the access token once and repeats the call with it', async () => {
    const storage = session();
    const api = new Api({ storage });
    replies.push(reply(401, { code: 401, msg: 'the access token has expired' }));
    replies.push(reply(200, { code: 0, msg: 'token refreshed', data: { token: 'new', refresh: 'r2', expires_in: 7200 } }));
    replies.push(reply(200, { code: 0, msg: 'ok', data: { members: [] } }));
    assert.deepEqual(await api.get('/api/chat/group/members', { room_id: 3 }), { members: [] });
    assert.deepEqual(
      calls.map((c) => [c.method, c.url, c.headers.Authorization]),
      [
        ['GET', 'http://chat.test/api/chat/group/members?room_id=3', 'Bearer old'],
        ['POST', 'http://chat.test/api/token/refresh', undefined],
        ['GET', 'http://chat.test/api/chat/group/members?room_id=3', 'Bearer new'],
      ],
    );
    assert.deepEqual(calls[1].body, { refresh: 'r1' });
    assert.equal(JSON.parse(storage.getItem('chat.session')).token, 'new');
    // Refresh tokens work once: the new one replaces the spent one.
    assert.equal(JSON.parse(storage.getItem('chat.session')).refresh, 'r2');
  });

  test('a refused refresh token ends the session', async () => {
    const storage = session();
    const reasons = [];
    const api = new Api({ storage, onLogout: (reason) => reasons.push(reason) });
    replies.push(reply(401, { code: 401, msg: 'the access token has expired' }));
    replies.push(reply(401, { code: 401, msg: 'the refresh token has expired' }));
    await assert.rejects(api.get('/api/joined_rooms'), (error) => error instanceof ApiError && error.status === 401);
    assert.equal(storage.getItem('chat.session'), null);
    assert.equal(api.loggedIn, false);
    assert.deepEqual(reasons, ['Your session has expired. Please log in again.']);
  });

  test('two calls that meet an expired token share one refresh', async () => {
    const api = new Api({ storage: session() });
    let release;
    const gate = new Promise((resolve) => {
      release = resolve;
    });
    const queue = [
      reply(401, { code: 401, msg: 'expired' }),
      reply(401, { code: 401, msg: 'expired' }),
      gate.then(() => reply(200, { code: 0, msg: 'token refreshed', data: { token: 'new' } })),
      reply(200, { code: 0, msg: 'ok', data: { a: 1 } }),
      reply(200, { code: 0, msg: 'ok', data: { b: 2 } }),
    ];
    globalThis.fetch = async (url, init) => {
      calls.push({ url: String(url), headers: init.headers });
      return queue.shift();
    };
    const both = Promise.all([api.get('/one'), api.get('/two')]);
    await new Promise((resolve) => setTimeout(resolve, 10));
    release();
    const results = await both;
    assert.equal(calls.filter((c) => c.url.endsWith('/api/token/refresh')).length, 1);
    assert.equal(results.length, 2);
  });

  test('errors carry the envelope’s status, msg and field errors; no server means status 0', async () => {
    const api = new Api({ storage: session() });
    const errors = { name: ['this field is required'], member_ids: ['expected a list'] };
    replies.push(reply(400, { code: 400, msg: 'name: this field is required; member_ids: expected a list', errors }));
    await assert.rejects(api.post('/api/chat/group/create', {}), (error) => {
      assert.equal(error.status, 400);
      assert.deepEqual(error.errors, errors);
      assert.equal(error.describe(), 'name: this field is required; member_ids: expected a list');
      return true;
    });
    assert.equal(new ApiError(400, '', errors).describe(), 'name: this field is required; member_ids: expected a list');
    replies.push(reply(502, null));
    await assert.rejects(api.get('/api/joined_rooms'), (error) => error.status === 502 && error.message === 'The server answered 502.');
    replies.push(new TypeError('Failed to fetch'));
    await assert.rejects(api.get('/api/joined_rooms'), (error) => error.status === 0);
  });

  test('ensureFreshToken renews a token about to expire and keeps a fresh one', async () => {
    const now = Math.floor(Date.now() / 1000);
    const storage = session(jwt({ user_id: 5, exp: now + 3600 }));
    const api = new Api({ storage });
    assert.equal(await api.ensureFreshToken(), true);
    assert.equal(calls.length, 0);
    api.saveSession({ ...api.session, token: jwt({ user_id: 5, exp: now + 10 }) });
    replies.push(reply(200, { code: 0, msg: 'token refreshed', data: { token: 'renewed' } }));
    assert.equal(await api.ensureFreshToken(), true);
    assert.equal(api.session.token, 'renewed');
  });
});

// --- ChatSocket ------------------------------------------------------------------------------

class FakeWebSocket {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;
  static instances = [];

  constructor(url, protocols) {
    this.url = url;
    this.protocols = protocols;
    this.readyState = FakeWebSocket.CONNECTING;
    this.sent = [];
    FakeWebSocket.instances.push(this);
  }
  send(text) {
    this.sent.push(JSON.parse(text));
  }
  close(code = 1000) {
    this.readyState = FakeWebSocket.CLOSED;
    this.closedWith = code;
  }
  // test helpers
  serverSends(frame) {
    this.readyState = FakeWebSocket.OPEN;
    this.onmessage({ data: JSON.stringify(frame) });
  }
  serverCloses(code) {
    this.readyState = FakeWebSocket.CLOSED;
    this.onclose({ code });
  }
}

const WELCOME = { id: -1, type: 'system', room_id: -1, sender_id: -1, payload: 'Connected to WebSocket server' };
const chat = (id, roomId, seq) => ({
  id,
  type: 'chat',
  room_id: roomId,
  sender_id: 2,
  seq,
  created_at: '2026-11-23T10:04:05.123Z',
  client_msg_id: null,
  payload: { type: 'text', text: `m${seq}` },
});

describe('ChatSocket', () => {
  let api;
  let events;
  let socket;
  let registryAnswers;

  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
    mock.method(Math, 'random', () => 0.5);
    FakeWebSocket.instances = [];
    globalThis.WebSocket = FakeWebSocket;
    registryAnswers = [];
    events = [];
    api = {
      session: { token: 'tok-1', refresh: 'r1', user_id: 5 },
      registryCalls: 0,
      refreshes: 0,
      loggedOut: null,
      ensureFreshToken: async () => true,
      registryPaths: [],
      get: async (path) => {
        assert.match(path, /^\/registry\/gateway\/available(\?avoid=[A-Za-z0-9._-]+)?$/);
        api.registryPaths.push(path);
        api.registryCalls += 1;
        const answer = registryAnswers.shift() ?? { ws_url: 'ws://127.0.0.1:8084/api/ws' };
        if (answer instanceof Error) throw answer;
        return answer;
      },
      refreshToken: async () => {
        api.refreshes += 1;
        api.session.token = `tok-${api.refreshes + 1}`;
        return true;
      },
      logout: (reason) => {
        api.loggedOut = reason;
      },
    };
    socket = new ChatSocket({
      api,
      onStatus: (state, text) => events.push(['status', state, text]),
      onOpen: () => events.push(['open']),
      onMessages: (messages, { live }) => events.push(['messages', messages.map((m) => m.id), live]),
      onUpdates: (frames, { live }) => events.push(['updates', frames.map((f) => f.seq), live]),
      onAck: (frame) => events.push(['ack', frame.id]),
      onNotice: (frame) => events.push(['notice', frame.payload.event]),
      onError: (payload) => events.push(['error', payload.code]),
    });
  });

  afterEach(() => {
    socket.stop();
    mock.timers.reset();
    mock.restoreAll();
  });

  const settle = async () => {
    for (let i = 0; i < 5; i += 1) await Promise.resolve();
  };
  // The next attempt opens `ms` from now, not a millisecond earlier: then `sockets` are open.
  const nextAttemptAfter = async (ms, sockets) => {
    mock.timers.tick(ms - 1);
    await settle();
    assert.equal(FakeWebSocket.instances.length, sockets - 1);
    mock.timers.tick(1);
    await settle();
    assert.equal(FakeWebSocket.instances.length, sockets);
  };

  test('opens the gateway the registry names, in ack mode, with the token as subprotocol', async () => {
    registryAnswers.push({ ws_url: 'ws://10.0.0.7:8085/api/ws' });
    socket.start();
    await settle();
    const [ws] = FakeWebSocket.instances;
    assert.equal(ws.url, 'ws://10.0.0.7:8085/api/ws?ack=1');
    assert.deepEqual(ws.protocols, ['bearer', 'tok-1']);
    ws.serverSends(WELCOME);
    assert.deepEqual(events.slice(-2), [['status', 'online', 'Connected'], ['open']]);
  });

  test('after losing a gateway it asks the registry to avoid that one, until a welcome', async () => {
    registryAnswers.push(
      { gateway_id: 'gw-a', ws_url: 'ws://10.0.0.7:8084/api/ws' },
      { gateway_id: 'gw-a', ws_url: 'ws://10.0.0.7:8084/api/ws' }, // the registry does not know yet
      { gateway_id: 'gw-b', ws_url: 'ws://10.0.0.8:8084/api/ws' },
    );
    socket.start();
    await settle();
    FakeWebSocket.instances[0].serverSends(WELCOME);
    FakeWebSocket.instances[0].serverCloses(1006); // gw-a was killed
    await nextAttemptAfter(backoffDelay(0), 2);
    FakeWebSocket.instances[1].serverCloses(1006); // refused: still gw-a
    await nextAttemptAfter(backoffDelay(1), 3);
    FakeWebSocket.instances[2].serverSends(WELCOME); // welcomed on gw-b: nothing to avoid any more
    FakeWebSocket.instances[2].serverCloses(1000); // then gw-b is lost
    await nextAttemptAfter(backoffDelay(0), 4);
    assert.deepEqual(api.registryPaths, [
      '/registry/gateway/available',
      '/registry/gateway/available?avoid=gw-a',
      '/registry/gateway/available?avoid=gw-a',
      '/registry/gateway/available?avoid=gw-b',
    ]);
  });

  test('a tab keeps one device id in its storage', () => {
    const storage = new MemoryStorage();
    const first = deviceId(storage);
    assert.match(first, /^tab-[0-9a-f]{32}$/);
    assert.equal(deviceId(storage), first);
    storage.setItem('chat.device', 'not valid!');
    assert.notEqual(deviceId(storage), 'not valid!');
  });

  test('names its device when it has one, so the server owes it everything it has not confirmed', async () => {
    socket.deviceId = 'tab-0123abcd';
    registryAnswers.push({ ws_url: 'ws://10.0.0.7:8085/api/ws' });
    socket.start();
    await settle();
    assert.equal(FakeWebSocket.instances[0].url, 'ws://10.0.0.7:8085/api/ws?ack=1&device_id=tab-0123abcd');
  });

  test('a page served over https asks for wss even when the registry says ws', async (t) => {
    const saved = globalThis.window.location;
    globalThis.window.location = { origin: 'https://chat.test', href: 'https://chat.test/', protocol: 'https:' };
    t.after(() => {
      globalThis.window.location = saved;
    });
    registryAnswers.push({ ws_url: 'ws://chat.test:8084/api/ws' });
    socket.start();
    await settle();
    assert.equal(FakeWebSocket.instances[0].url, 'wss://chat.test:8084/api/ws?ack=1');
  });

  test('hands over live and batched messages, then acks each room once, cumulatively', async () => {
    socket.start();
    await settle();
    const [ws] = FakeWebSocket.instances;
    ws.serverSends(WELCOME);
    ws.serverSends({ id: -1, type: 'batch', room_id: 0, sender_id: 0, payload: [chat(11, 1, 1), chat(12, 1, 2), chat(31, 3, 7)] });
    ws.serverSends(chat(13, 1, 3));
    assert.deepEqual(
      events.filter((e) => e[0] === 'messages'),
      [
        ['messages', [11, 12, 31], false],
        ['messages', [13], true],
      ],
    );
    assert.deepEqual(ws.sent, []);
    mock.timers.tick(100);
    assert.deepEqual(ws.sent, [
      { type: 'ack', room_id: 1, seq: 3 },
      { type: 'ack', room_id: 3, seq: 7 },
    ]);
    ws.serverSends(chat(13, 1, 3)); // a redelivery: nothing new to confirm
    mock.timers.tick(100);
    assert.equal(ws.sent.length, 2);
  });

  test('hands over update frames, live and batched, and confirms them with the messages', async () => {
    socket.start();
    await settle();
    const [ws] = FakeWebSocket.instances;
    ws.serverSends(WELCOME);
    const update = (seq) => ({ id: 11, type: 'update', room_id: 1, sender_id: 3, seq, created_at: 'x', payload: { event: 'edit', message: null } });
    ws.serverSends({ id: -1, type: 'batch', room_id: 0, sender_id: 0, payload: [chat(11, 1, 1), update(2), chat(12, 1, 3), update(4)] });
    ws.serverSends(update(5));
    assert.deepEqual(
      events.filter((e) => e[0] === 'messages' || e[0] === 'updates'),
      [
        ['messages', [11, 12], false],
        ['updates', [2, 4], false],
        ['updates', [5], true],
      ],
    );
    mock.timers.tick(100);
    assert.deepEqual(ws.sent, [{ type: 'ack', room_id: 1, seq: 5 }]);
  });

  test('passes notices, acks and errors on, and ignores what it does not know', async () => {
    socket.start();
    await settle();
    const [ws] = FakeWebSocket.instances;
    ws.serverSends(WELCOME);
    ws.serverSends({ id: 99, type: 'ack', room_id: 1, sender_id: 0, seq: 4, client_msg_id: 'web-1', payload: null });
    ws.serverSends({ id: -1, type: 'notice', room_id: 1, sender_id: 0, payload: { event: 'member_added', room_id: 1 } });
    ws.serverSends({ id: -1, type: 'error', room_id: 0, sender_id: 0, payload: { code: 400, msg: 'no' } });
    ws.serverSends({ id: -1, type: 'pong', room_id: 0, sender_id: 0, payload: null });
    ws.onmessage({ data: 'not json' });
    assert.deepEqual(events.slice(-3), [['ack', 99], ['notice', 'member_added'], ['error', 400]]);
  });

  test('reconnects after a drop with growing, jittered delays, asking the registry each time', async () => {
    socket.start();
    await settle();
    FakeWebSocket.instances[0].serverCloses(1006);
    assert.deepEqual(events.at(-1), ['status', 'offline', 'Connection lost. Retrying in 1 s…']);
    await nextAttemptAfter(250, 2); // attempt 0: 500 ms ceiling, random 0.5 -> 250 ms
    assert.equal(api.registryCalls, 2);
    FakeWebSocket.instances[1].serverCloses(1013); // refused: not a gateway
    await nextAttemptAfter(500, 3); // attempt 1: 1000 ms ceiling -> 500 ms
    // A welcome resets the back-off.
    FakeWebSocket.instances[2].serverSends(WELCOME);
    FakeWebSocket.instances[2].serverCloses(1006);
    mock.timers.tick(250);
    await settle();
    assert.equal(FakeWebSocket.instances.length, 4);
    assert.equal(api.registryCalls, 4);
  });

  test('a gateway that restarted (1012) is left through the registry within a second, then backs off', async () => {
    socket.start();
    await settle();
    FakeWebSocket.instances[0].serverSends(WELCOME);
    FakeWebSocket.instances[0].serverCloses(1012);
    assert.deepEqual(events.at(-1), ['status', 'offline', 'The chat server restarted. Retrying in 1 s…']);
    await nextAttemptAfter(500, 2); // restart jitter: up to 1000 ms, random 0.5 -> 500 ms
    assert.equal(api.registryCalls, 2);
    FakeWebSocket.instances[1].serverCloses(1012); // again, before any welcome: back off
    await nextAttemptAfter(500, 3); // attempt 1: 1000 ms ceiling -> 500 ms
  });

  test('no gateway alive (503) is retried with back-off too', async () => {
    registryAnswers.push(Object.assign(new Error('none'), { status: 503 }));
    socket.start();
    await settle();
    assert.equal(FakeWebSocket.instances.length, 0);
    assert.deepEqual(events.at(-1), ['status', 'offline', 'No chat gateway is available. Retrying in 1 s…']);
    await nextAttemptAfter(250, 1);
  });

  test('a refused token (4401) is renewed and the socket reopened with the new one', async () => {
    socket.start();
    await settle();
    FakeWebSocket.instances[0].serverCloses(4401);
    await settle();
    assert.equal(api.refreshes, 1);
    mock.timers.tick(0);
    await settle();
    assert.deepEqual(FakeWebSocket.instances[1].protocols, ['bearer', 'tok-2']);
  });

  test('a banned user (4403) is logged out and not reconnected', async () => {
    socket.start();
    await settle();
    FakeWebSocket.instances[0].serverCloses(4403);
    assert.equal(api.loggedOut, 'This account is banned.');
    mock.timers.tick(60000);
    await settle();
    assert.equal(FakeWebSocket.instances.length, 1);
  });

  test('a silent connection is pinged, then dropped and reopened when no answer comes', async () => {
    socket.start();
    await settle();
    const [ws] = FakeWebSocket.instances;
    ws.serverSends(WELCOME);
    mock.timers.tick(25000);
    assert.deepEqual(ws.sent, [{ type: 'ping' }]);
    mock.timers.tick(10000); // 10 s without an answer is still tolerated
    assert.equal(ws.closedWith, undefined);
    mock.timers.tick(5000);
    assert.equal(ws.closedWith, 4000);
    mock.timers.tick(250);
    await settle();
    assert.equal(FakeWebSocket.instances.length, 2);
  });

  test('stop closes the socket and nothing reconnects', async () => {
    socket.start();
    await settle();
    const [ws] = FakeWebSocket.instances;
    socket.stop();
    assert.equal(ws.closedWith, 1000);
    mock.timers.tick(60000);
    await settle();
    assert.equal(FakeWebSocket.instances.length, 1);
  });
});
