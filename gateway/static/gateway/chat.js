// The browser client's entry module (gateway/templates/gateway/index.html loads it): it makes
// the one state store, the HTTP client and the socket, creates the modules with what each
// needs, and wires them together; it also opens and closes rooms and starts and ends a
// session, which touch every part. Plain ES modules, no build step; user content only ever
// reaches the page as textContent. What each module owns is said at its top.

import { Api } from './api.js';
import { createComposer } from './composer.js';
import { createEvents } from './events.js';
import { deviceId, errorText } from './format.js';
import { createLayout } from './layout.js';
import { createMembers } from './members.js';
import { createMessages } from './messages.js';
import { clearNotices, showConnection, toast } from './notices.js';
import { createPeople } from './people.js';
import { createProfile } from './profile.js';
import { createRequests } from './requests.js';
import { createRooms } from './rooms.js';
import { createSafety } from './safety.js';
import { createSession } from './session.js';
import { createSettings } from './settings.js';
import { ChatSocket } from './socket.js';
import { createUploads } from './uploads.js';
import { createState, deselectRoom, isManager, resetState, selectRoom, signIn, timelineOf } from './state.js';

const state = createState();
const api = new Api({ onLogout: (reason) => leaveApp(reason) });
const socket = new ChatSocket({
  api,
  deviceId: deviceId(window.sessionStorage),
  onStatus: showConnection,
  onOpen: () => events.socketOpened(),
  onMessages: (batch, options) => messages.receive(batch, options),
  onAck: (frame) => composer.receiveAck(frame),
  onNotice: (frame) => events.receiveNotice(frame),
  onError: (payload) => toast(`The server refused a frame: ${payload.msg || 'unknown error'}`),
});

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
  decorate: (node, message) => safety.decorate(node, message),
});
const composer = createComposer({ state, api, receive: messages.receive, showUnsent: messages.showUnsent });
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
  renameAuthors: messages.renameAuthors,
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

async function openRoom(roomId) {
  const room = selectRoom(state, roomId);
  if (!room) return;
  rooms.showRoom();
  composer.setEnabled(true);
  messages.render();
  members.render();
  requests.render();
  settings.render();
  people.render();
  composer.focus();
  const loads = [members.load(roomId)];
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
  clearNotices();
  closeRoom();
  session.showLoggedOut(reason);
  showConnection('offline', 'Offline');
}

window.addEventListener('online', () => socket.reconnectNow());

closeRoom();
if (api.loggedIn) enterApp();
else session.showForms();
