// What the socket says besides messages, and keeping the open room fresh: reading rooms and
// members again when the socket opens, the server's `notice` frames (join requests and their
// answers, members added or removed, role changes), and reading the open room's members and
// requests again every 30 s and whenever the tab is shown again.

import { roleName } from './format.js';
import { toast } from './notices.js';
import { forgetRoom, isManager, noteSocketOpen, roomName } from './state.js';

const REFRESH_EVERY_MS = 30000;

/**
 * Needs: loadRooms(), scheduleRoomsRefresh() (rooms.js); loadMembers(roomId),
 * membersChanged(roomId) (members.js); loadRequests(roomId), requestArrived(roomId, notice)
 * (requests.js).
 */
export function createEvents({ state, api, loadRooms, scheduleRoomsRefresh, loadMembers, membersChanged, loadRequests, requestArrived, settingsChanged = () => {} }) {
  let refreshTimer = null;

  function socketOpened() {
    // Whatever changed while the socket was down (rooms joined or left, who is online) is
    // read again; the messages owed come as batch frames on their own.
    if (noteSocketOpen(state)) loadRooms().catch(() => {});
    if (state.current !== null) loadMembers(state.current).catch(() => {});
  }

  function receiveNotice(frame) {
    const notice = frame.payload;
    const roomId = notice.room_id ?? frame.room_id;
    switch (notice.event) {
      case 'join_request':
        requestArrived(roomId, notice);
        break;
      case 'join_request_answered':
        toast(`Your request to join ${roomName(state, roomId)} was ${notice.status}.`);
        if (notice.status === 'approved') loadRooms().catch(() => {});
        break;
      case 'member_added':
        if ((notice.user_ids || []).includes(state.me)) {
          if (!state.rooms.has(roomId)) toast(`You were added to ${roomName(state, roomId)}.`);
          scheduleRoomsRefresh();
        }
        membersChanged(roomId);
        break;
      case 'member_removed':
        if (notice.user_id === state.me) {
          forgetRoom(state, roomId);
          scheduleRoomsRefresh();
        } else {
          membersChanged(roomId);
        }
        break;
      case 'role_changed':
        if (notice.user_id === state.me) {
          toast(`You are now ${roleName(notice.role)} of ${roomName(state, roomId)}.`);
          scheduleRoomsRefresh();
        }
        membersChanged(roomId);
        break;
      case 'settings_changed':
        settingsChanged(roomId, notice);
        break;
      default:
        break;
    }
  }

  function refreshOpenRoom() {
    if (!api.loggedIn || document.visibilityState !== 'visible' || state.current === null) return;
    const roomId = state.current;
    loadMembers(roomId).catch(() => {});
    if (isManager(state.rooms.get(roomId))) loadRequests(roomId).catch(() => {});
  }

  function start() {
    clearInterval(refreshTimer);
    refreshTimer = setInterval(refreshOpenRoom, REFRESH_EVERY_MS);
  }

  function stop() {
    clearInterval(refreshTimer);
  }

  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') refreshOpenRoom();
  });

  return { socketOpened, receiveNotice, start, stop };
}
