// The browser client's entry module (gateway/templates/gateway/index.html loads it): it makes
// the one state store, the HTTP client and the socket, creates the modules with what each
// needs, and wires them together; it also opens and closes rooms and starts and ends a
// session, which touch every part. Plain ES modules, no build step; user content only ever
// reaches the page as textContent. What each module owns is said at its top.

import { Api } from './api.js';
import { createComposer } from './composer.js';
import { $ } from './dom.js';
import { createEvents } from './events.js';
import { deviceId, errorText } from './format.js';
import { createLayout } from './layout.js';
import { createLifecycle } from './lifecycle.js';
import { createMembers } from './members.js';
import { createMentionPicker, mentionsIn } from './mentions.js';
import { createMessages } from './messages.js';
import { clearNotices, showConnection, toast } from './notices.js';
import { createPeople } from './people.js';
import { createPins } from './pins.js';
import { createProfile } from './profile.js';
import { createReceipts } from './receipts.js';
import { createReplies } from './replies.js';
import { createRequests } from './requests.js';
import { createRooms } from './rooms.js';
import { createSafety } from './safety.js';
import { createSearch } from './search.js';
import { createSession } from './session.js';
import { createSettings } from './settings.js';
import { ChatSocket } from './socket.js';
import { createTyping } from './typing.js';
import { createUploads } from './uploads.js';
import { acceptUpdate, createState, deselectRoom, isManager, resetState, selectRoom, signIn, timelineOf } from './state.js';

const state = createState();
const api = new Api({ onLogout: (reason) => leaveApp(reason) });
const socket = new ChatSocket({
  api,
  deviceId: deviceId(window.sessionStorage),
  onStatus: showConnection,
  onOpen: () => {
    events.socketOpened();
    receipts.check(); // a read the socket could not take while it was down
  },
  onMessages: (batch, options) => receiveMessages(batch, options),
  onUpdates: (frames, options) => receiveUpdates(frames, options),
  onAck: (frame) => composer.receiveAck(frame),
  onNotice: (frame) => events.receiveNotice(frame),
  onError: (payload) => toast(`The server refused a frame: ${payload.msg || 'unknown error'}`),
  onRead: (frame) => receipts.receive(frame),
  onTyping: (frame) => typing.receive(frame),
  onPresence: (frame) => members.presence(frame.payload),
});
const sendFrame = (frame) => socket.send(frame);

const layout = createLayout({ state });
const rooms = createRooms({
  state,
  api,
  layout,
  openRoom,
  closeRoom,
  loadMembers: (roomId) => members.load(roomId),
  loadRequests: (roomId) => requests.load(roomId),
});
const messages = createMessages({
  state,
  api,
  drawPending: (entry) => composer.draw(entry),
  scheduleRoomsRefresh: rooms.scheduleRefresh,
  scheduleMembersRefresh: () => members.scheduleRefresh(),
  renderRoomList: rooms.renderList,
  decorate: (node, message) => {
    lifecycle.decorate(node, message); // what happened to it since: edits, reactions, pins
    safety.decorate(node, message); // what a reader may do about it: report, block
    receipts.decorate(node, message); // one's own: sent or seen, and by whom
  },
  drawn: (options) => receipts.drawn(options),
});
const receipts = createReceipts({ state, sendFrame, renderRoomList: rooms.renderList, scheduleRoomsRefresh: rooms.scheduleRefresh });
const typing = createTyping({ state, sendFrame });
const jump = (roomId, messageId, seq) => lifecycle.jump(roomId, messageId, seq);
const replies = createReplies({ state, jump, focusComposer: () => composer.focus() });
const pins = createPins({ state, api, jump });
const lifecycle = createLifecycle({
  state,
  api,
  redraw: messages.redraw,
  reveal: messages.reveal,
  openRoom,
  replies,
  pinsChanged: pins.changed,
});
const search = createSearch({ state, api, jump });
// Owners and admins may mention everyone (@all).
const canMentionAll = () => (state.rooms.get(state.current)?.role ?? 2) <= 1;
const roomMembers = () => state.members.get(state.current) || [];
createMentionPicker({ input: $('composer-input'), form: $('composer'), members: roomMembers, canAll: canMentionAll, me: () => state.me });
const composer = createComposer({
  state,
  api,
  receive: (batch, options) => receiveMessages(batch, options),
  showUnsent: messages.showUnsent,
  extras: {
    take: (text) => {
      const { mentions, mention_all: all } = mentionsIn(text, roomMembers(), { canAll: canMentionAll() });
      return { ...replies.take(), ...(mentions.length ? { mentions } : {}), ...(all ? { mention_all: true } : {}) };
    },
  },
});
const profile = createProfile({ state, api });
const safety = createSafety({ state, api, blockedChanged: () => profile.loadBlocked().catch(() => {}) });
createUploads({ state, api, sendContent: composer.sendContent }); // the Attach button and dropped files
const settings = createSettings({
  state,
  api,
  loadRooms: rooms.load,
  openRoom,
  setComposerEnabled: composer.setEnabled,
  renderRoomHeader: rooms.renderHeader,
});
const people = createPeople({ state, api, openRoom, loadRooms: rooms.load, loadMembers: (roomId) => members.load(roomId) });
const members = createMembers({
  state,
  api,
  renderRoomList: rooms.renderList,
  renderRoomHeader: rooms.renderHeader,
  renameAuthors: (roomId) => {
    messages.renameAuthors(roomId);
    lifecycle.membersLoaded(roomId);
    if (state.current === roomId) {
      pins.render(); // the pins name their authors too
      typing.render();
    }
  },
  readsChanged: (roomId) => receipts.readsChanged(roomId),
});
const requests = createRequests({ state, api, renderRoomList: rooms.renderList, loadMembers: members.load });
const events = createEvents({
  state,
  api,
  loadRooms: rooms.load,
  scheduleRoomsRefresh: rooms.scheduleRefresh,
  loadMembers: members.load,
  membersChanged: members.changed,
  loadRequests: requests.load,
  requestArrived: requests.arrived,
  settingsChanged: settings.changed,
});
const session = createSession({ api, enterApp });

/** Messages from the socket or our own sends: the conversation, the room list, who types. */
function receiveMessages(batch, options) {
  messages.receive(batch, options);
  typing.messagesArrived(batch);
}

/** Update frames: the messages they change, and the activity of their rooms. */
function receiveUpdates(frames, options) {
  lifecycle.receiveUpdates(frames, options);
  if (frames.map((frame) => acceptUpdate(state, frame)).some(Boolean)) rooms.renderList();
  receipts.check();
}

async function openRoom(roomId) {
  const room = selectRoom(state, roomId);
  if (!room) return;
  replies.cancel();
  lifecycle.reset();
  rooms.showRoom();
  composer.setEnabled(true);
  messages.render();
  members.render();
  requests.render();
  settings.render();
  people.render();
  pins.render();
  typing.render();
  composer.focus();
  const loads = [members.load(roomId), pins.load(roomId)];
  if (room.is_group) loads.push(settings.load(roomId));
  if (!timelineOf(state, roomId).historyLoaded) loads.push(messages.loadLatest(roomId));
  if (isManager(room)) loads.push(requests.load(roomId));
  const results = await Promise.allSettled(loads);
  const failed = results.find((result) => result.status === 'rejected');
  if (failed && api.loggedIn && state.current === roomId) toast(errorText(failed.reason));
}

function closeRoom() {
  deselectRoom(state);
  messages.clear();
  members.clear();
  requests.clear();
  settings.clear();
  pins.clear();
  replies.cancel();
  typing.render();
  composer.setEnabled(false);
  rooms.showNoRoom();
}

async function enterApp() {
  signIn(state, api.session);
  session.showApp(api.session);
  layout.setView('rooms');
  layout.setPanelForScreen();
  try {
    await rooms.load();
  } catch (error) {
    if (api.loggedIn) toast(errorText(error));
  }
  if (!api.loggedIn) return;
  socket.start();
  events.start();
  rooms.focusFirst();
  await settings.joinFromLink();
}

function leaveApp(reason) {
  socket.stop();
  events.stop();
  rooms.stop();
  members.stop();
  resetState(state);
  rooms.clear();
  people.clear();
  profile.clear();
  search.clear();
  pins.reset();
  lifecycle.forget();
  receipts.reset();
  typing.reset();
  clearNotices();
  closeRoom();
  session.showLoggedOut(reason);
  showConnection('offline', 'Offline');
}

window.addEventListener('online', () => socket.reconnectNow());

closeRoom();
if (api.loggedIn) enterApp();
else session.showForms();
