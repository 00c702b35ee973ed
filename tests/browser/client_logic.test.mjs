// The browser client's logic without a browser: `node --test tests/browser/client_logic.test.mjs`
// (tests/browser/test_client_logic.py runs it under pytest). Fakes stand in for fetch,
// sessionStorage, WebSocket and the clock.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';

import { Api, ApiError } from '../../gateway/static/gateway/api.js';
import { ChatSocket } from '../../gateway/static/gateway/socket.js';
import { Timeline, backoffDelay, messageFromFrame } from '../../gateway/static/gateway/timeline.js';

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
    });
  });
});

describe('backoffDelay', () => {
  test('doubles per attempt between half and all of the ceiling, and stops at the cap', () => {
    assert.equal(backoffDelay(0, { random: () => 0 }), 250);
    assert.equal(backoffDelay(0, { random: () => 1 }), 500);
    assert.equal(backoffDelay(3, { random: () => 0 }), 2000);
    assert.equal(backoffDelay(3, { random: () => 1 }), 4000);
    assert.equal(backoffDelay(20, { random: () => 1 }), 30000);
    assert.equal(backoffDelay(20, { random: () => 0 }), 15000);
    assert.equal(backoffDelay(1000, { random: () => 0.5 }), 22500);
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
      get: async (path) => {
        assert.equal(path, '/registry/gateway/available');
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
    mock.timers.tick(374); // attempt 0: 500 ms ceiling, random 0.5 -> 375 ms
    await settle();
    assert.equal(FakeWebSocket.instances.length, 1);
    mock.timers.tick(1);
    await settle();
    assert.equal(FakeWebSocket.instances.length, 2);
    assert.equal(api.registryCalls, 2);
    FakeWebSocket.instances[1].serverCloses(1006);
    mock.timers.tick(749); // attempt 1: 1000 ms ceiling -> 750 ms
    await settle();
    assert.equal(FakeWebSocket.instances.length, 2);
    mock.timers.tick(1);
    await settle();
    assert.equal(FakeWebSocket.instances.length, 3);
    // A welcome resets the back-off.
    FakeWebSocket.instances[2].serverSends(WELCOME);
    FakeWebSocket.instances[2].serverCloses(1001);
    mock.timers.tick(375);
    await settle();
    assert.equal(FakeWebSocket.instances.length, 4);
    assert.equal(api.registryCalls, 4);
  });

  test('no gateway alive (503) is retried with back-off too', async () => {
    registryAnswers.push(Object.assign(new Error('none'), { status: 503 }));
    socket.start();
    await settle();
    assert.equal(FakeWebSocket.instances.length, 0);
    assert.deepEqual(events.at(-1), ['status', 'offline', 'No chat gateway is available. Retrying in 1 s…']);
    mock.timers.tick(375);
    await settle();
    assert.equal(FakeWebSocket.instances.length, 1);
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
    mock.timers.tick(375);
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
