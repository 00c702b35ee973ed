// The WebSocket side (API.md §5, §7.1): find a gateway through the registry, open `/api/ws?ack=1`
// with the token as the `bearer, <token>` subprotocol, confirm what arrived with cumulative
// acks per room, and come back with exponential back-off and full jitter when the socket drops
// (at once, spread over a second, when its gateway restarts: docs/websocket.md, "Reconnecting").
// The live-only frames of §7.3 and §7.4 (read, typing, presence) are handed on, never acked.

import { backoffDelay, messageFromFrame, reconnectDelay } from './timeline.js';

const PING_EVERY_MS = 25000;
const SILENCE_LIMIT_MS = 10000;
const ACK_DELAY_MS = 100;
const CLOSE_BAD_TOKEN = 4401;
const CLOSE_BANNED = 4403;
const CLOSE_TOO_MANY = 4409;
const CLOSE_POLICY = 1008;
const CLOSE_RESTART = 1012;

/**
 * Callbacks: onStatus(state, text) with state one of connecting, online, offline;
 * onOpen() after the welcome frame; onMessages(messages, {live}) with message objects
 * (live false for a `batch`); onUpdates(frames, {live}) with `update` frames (API.md §7.1);
 * onAck(frame); onNotice(frame); onError(payload); onRead(frame), onTyping(frame) and
 * onPresence(frame) with the live-only frames of API.md §7.3 and §7.4.
 */
export class ChatSocket {
  constructor({ api, deviceId = null, onStatus, onOpen, onMessages, onUpdates = () => {}, onAck, onNotice, onError, onRead = () => {}, onTyping = () => {}, onPresence = () => {} }) {
    this.api = api;
    this.deviceId = deviceId; // `?device_id=`: this client's own position in every room
    this.callbacks = { onStatus, onOpen, onMessages, onUpdates, onAck, onNotice, onError, onRead, onTyping, onPresence };
    this.ws = null;
    this.stopped = true;
    this.attempt = 0;
    this.reconnectTimer = null;
    this.keepaliveTimer = null;
    this.ackTimer = null;
    this.received = new Map(); // room_id -> highest seq written to this socket
    this.acked = new Map(); // room_id -> highest seq confirmed on this socket
    this.lastHeard = 0;
    this.pingSent = 0;
    this.connectId = 0;
    this.gatewayId = null; // the gateway of the latest attempt
    this.avoid = null; // a gateway this client lost or could not reach: the registry names another if it can
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.attempt = 0;
    this.connect();
  }

  stop() {
    this.stopped = true;
    this.connectId += 1;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.keepaliveTimer);
    clearTimeout(this.ackTimer);
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close(1000, 'logged out');
    this.callbacks.onStatus('offline', 'Offline');
  }

  /** Reconnect at once (the browser came back online), forgetting the back-off so far. */
  reconnectNow() {
    if (this.stopped) return;
    this.attempt = 0;
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) return;
    this.connect();
  }

  async connect() {
    clearTimeout(this.reconnectTimer);
    if (this.stopped) return;
    // A newer attempt (reconnectNow while the registry is asked) makes this one give up.
    const attemptId = ++this.connectId;
    this.callbacks.onStatus('connecting', this.attempt ? 'Reconnecting…' : 'Connecting…');
    let gateway;
    try {
      if (!(await this.api.ensureFreshToken())) return;
      // Asked again on every attempt: the gateway we had may be the one that died, and the
      // registry may not know it yet (`avoid`).
      const query = this.avoid ? `?avoid=${encodeURIComponent(this.avoid)}` : '';
      gateway = await this.api.get(`/registry/gateway/available${query}`);
    } catch (error) {
      if (attemptId !== this.connectId) return;
      this.scheduleReconnect(error.status === 503 ? 'No chat gateway is available' : error.message);
      return;
    }
    if (this.stopped || !this.api.session || attemptId !== this.connectId) return;
    this.gatewayId = gateway.gateway_id;
    let url;
    try {
      url = new URL(gateway.ws_url, window.location.href);
      if (url.protocol === 'http:') url.protocol = 'ws:';
      if (url.protocol === 'https:') url.protocol = 'wss:';
      // A page served over TLS may not open plain ws:// (mixed content): ask for TLS instead.
      if (url.protocol === 'ws:' && window.location.protocol === 'https:') url.protocol = 'wss:';
      url.searchParams.set('ack', '1');
      if (this.deviceId) url.searchParams.set('device_id', this.deviceId);
    } catch {
      this.scheduleReconnect('The registry named a gateway address this page cannot use');
      return;
    }
    let ws;
    try {
      ws = new WebSocket(url.href, ['bearer', this.api.session.token]);
    } catch {
      this.scheduleReconnect('The gateway address was refused by the browser');
      return;
    }
    this.ws = ws;
    this.received = new Map();
    this.acked = new Map();
    ws.onmessage = (event) => {
      if (ws === this.ws) this.handle(event.data);
    };
    ws.onclose = (event) => {
      if (ws === this.ws) this.closed(event);
    };
  }

  closed(event) {
    this.ws = null;
    this.avoid = this.gatewayId;
    clearInterval(this.keepaliveTimer);
    clearTimeout(this.ackTimer);
    if (this.stopped) return;
    if (event.code === CLOSE_BANNED) {
      this.stopped = true;
      this.api.logout('This account is banned.');
      return;
    }
    if (event.code === CLOSE_BAD_TOKEN) {
      this.api.refreshToken().then(
        (renewed) => {
          if (renewed) this.scheduleReconnect('Signing in again', 0);
          else this.api.logout('Your session has expired. Please log in again.');
        },
        () => this.scheduleReconnect('The server cannot be reached'),
      );
      return;
    }
    let reason = 'Connection lost';
    if (event.code === CLOSE_TOO_MANY) reason = 'Too many open tabs for this account';
    if (event.code === CLOSE_POLICY) reason = 'The server refused this page (origin not allowed)';
    if (event.code === CLOSE_RESTART) reason = 'The chat server restarted';
    this.scheduleReconnect(reason, reconnectDelay(event.code, this.attempt));
  }

  scheduleReconnect(reason, delayOverride) {
    if (this.stopped) return;
    const delay = delayOverride ?? backoffDelay(this.attempt);
    this.attempt += 1;
    const seconds = Math.max(1, Math.round(delay / 1000));
    this.callbacks.onStatus('offline', `${reason}. Retrying in ${seconds} s…`);
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  send(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  handle(text) {
    this.lastHeard = Date.now();
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    if (!frame || typeof frame !== 'object') return;
    switch (frame.type) {
      case 'system':
        this.attempt = 0;
        this.avoid = null;
        this.startKeepalive();
        this.callbacks.onStatus('online', 'Connected');
        this.callbacks.onOpen();
        break;
      case 'chat':
      case 'update':
        this.deliver([frame], true);
        break;
      case 'batch':
        if (Array.isArray(frame.payload)) this.deliver(frame.payload.filter((f) => f && (f.type === 'chat' || f.type === 'update')), false);
        break;
      case 'ack':
        this.callbacks.onAck(frame);
        break;
      case 'notice':
        if (frame.payload && typeof frame.payload === 'object') this.callbacks.onNotice(frame);
        break;
      case 'error':
        this.callbacks.onError(frame.payload || {});
        break;
      // Live only, never stored nor owed (id -1, no seq): nothing to confirm.
      case 'read':
        if (frame.payload && typeof frame.payload === 'object') this.callbacks.onRead(frame);
        break;
      case 'typing':
        if (frame.sender_id !== this.api.session?.user_id) this.callbacks.onTyping(frame);
        break;
      case 'presence':
        if (frame.payload && typeof frame.payload === 'object') this.callbacks.onPresence(frame);
        break;
      default:
        break; // pong, and frame types a newer server may add
    }
  }

  deliver(frames, live) {
    if (!frames.length) return;
    for (const frame of frames) {
      const seq = this.received.get(frame.room_id) ?? 0;
      if (frame.seq > seq) this.received.set(frame.room_id, frame.seq);
    }
    // Messages first, then updates: frames served later (a batch) already show every
    // message as it is now, and live ones come one at a time.
    const chats = frames.filter((f) => f.type !== 'update');
    const updates = frames.filter((f) => f.type === 'update');
    if (chats.length) this.callbacks.onMessages(chats.map(messageFromFrame), { live });
    if (updates.length) this.callbacks.onUpdates(updates, { live });
    // One cumulative ack per room for a burst, updates included: the gateway writes each room
    // in seq order with no gap, so the highest seq written here covers everything below it.
    clearTimeout(this.ackTimer);
    this.ackTimer = setTimeout(() => this.flushAcks(), ACK_DELAY_MS);
  }

  flushAcks() {
    for (const [roomId, seq] of this.received) {
      if ((this.acked.get(roomId) ?? 0) >= seq) continue;
      if (this.send({ type: 'ack', room_id: roomId, seq })) this.acked.set(roomId, seq);
    }
  }

  startKeepalive() {
    clearInterval(this.keepaliveTimer);
    this.pingSent = 0;
    this.keepaliveTimer = setInterval(() => {
      const now = Date.now();
      if (this.pingSent > this.lastHeard) {
        // A ping is out: no answer within the limit means the connection died without the
        // browser noticing (a sleeping laptop, a dropped NAT mapping).
        if (now - this.pingSent > SILENCE_LIMIT_MS && this.ws) {
          const ws = this.ws;
          this.ws = null;
          ws.close(4000, 'no answer to ping');
          this.closed({ code: 4000 });
        }
        return;
      }
      if (now - this.lastHeard >= PING_EVERY_MS && this.send({ type: 'ping' })) this.pingSent = now;
    }, 5000);
  }
}
