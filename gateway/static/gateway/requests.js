// Join requests to the groups this user manages: loading them, the list with Approve and
// Reject in the side panel, answering them, and requests arriving live as `notice` frames.

import { ApiError } from './api.js';
import { $, el, rebuildKeepingFocus } from './dom.js';
import { errorText } from './format.js';
import { toast } from './notices.js';
import { addRequest, removeRequest, requestsOf, roomName, setRequests } from './state.js';

/** Needs: renderRoomList() (its request badges), loadMembers(roomId) (someone let in). */
export function createRequests({ state, api, renderRoomList, loadMembers }) {
  async function load(roomId) {
    const data = await api.get('/api/chat/group/join/requests', { room_id: roomId });
    setRequests(state, roomId, data.requests || []);
    renderRoomList();
    if (state.current === roomId) render();
  }

  function render() {
    const requests = requestsOf(state, state.current);
    rebuildKeepingFocus($('request-list'), 'data-request-id', () => fill(requests));
    $('requests-empty').hidden = requests.length > 0;
  }

  function fill(requests) {
    const list = $('request-list');
    for (const request of requests) {
      const name = request.nickname || request.username;
      const approve = el('button', { text: 'Approve', attrs: { type: 'button', 'aria-label': `Approve ${name}` } });
      const reject = el('button', { className: 'secondary', text: 'Reject', attrs: { type: 'button', 'aria-label': `Reject ${name}` } });
      approve.addEventListener('click', () => respond(request, true));
      reject.addEventListener('click', () => respond(request, false));
      list.append(
        el('li', { className: 'request', attrs: { 'data-request-id': request.id } }, [
          el('p', { className: 'member-name', text: `${name} (@${request.username})` }),
          request.message ? el('p', { className: 'request-message', text: `“${request.message}”` }) : null,
          el('p', { className: 'actions' }, [approve, ' ', reject]),
        ]),
      );
    }
  }

  async function respond(request, approve) {
    try {
      await api.post('/api/chat/group/join/respond', { request_id: request.id, approve });
      toast(`${request.username} was ${approve ? 'let in' : 'turned away'}.`);
    } catch (error) {
      if (!api.loggedIn) return;
      toast(errorText(error));
      if (!(error instanceof ApiError) || error.status !== 409) return; // answered already: drop it below
    }
    removeRequest(state, request);
    renderRoomList();
    if (state.current === request.room_id) render();
    if (approve && state.current === request.room_id) loadMembers(request.room_id).catch(() => {});
  }

  /** A `join_request` notice: someone asks to join a group this user manages. */
  function arrived(roomId, notice) {
    addRequest(state, roomId, notice);
    renderRoomList();
    if (state.current === roomId) render();
    toast(`${notice.nickname || notice.username} asks to join ${roomName(state, roomId)}.`);
  }

  function clear() {
    $('request-list').replaceChildren();
  }

  return { load, render, arrived, clear };
}
