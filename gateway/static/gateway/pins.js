// Pinned messages (API.md §8.3): the open room's pins above the conversation, most recently
// pinned first, read when the room opens and kept current by the pin, edit and delete updates;
// each shows the message when clicked.

import { $, el } from './dom.js';
import { snippet } from './replies.js';
import { userName } from './state.js';

/** Needs: jump(roomId, messageId, seq). */
export function createPins({ state, api, jump }) {
  const pinned = new Map(); // room_id -> [message], most recently pinned first

  async function load(roomId) {
    const data = await api.get('/api/chat/pins', { room_id: roomId });
    pinned.set(roomId, data.messages || []);
    if (state.current === roomId) render();
  }

  /** A message changed: a pin puts it first, an unpin or a delete takes it off, anything
   * else redraws it where it is. */
  function changed(message, event) {
    const list = pinned.get(message.room_id);
    if (!list) return;
    const at = list.findIndex((m) => m.id === message.id);
    if (!message.pinned || message.deleted) {
      if (at >= 0) list.splice(at, 1);
    } else if (event === 'pin') {
      if (at >= 0) list.splice(at, 1);
      list.unshift(message);
    } else if (at >= 0) {
      list[at] = message;
    }
    if (state.current === message.room_id) render();
  }

  function render() {
    const box = $('pins');
    const list = pinned.get(state.current) || [];
    box.hidden = !list.length;
    $('pins-summary').textContent = `Pinned messages (${list.length})`;
    const items = $('pin-list');
    items.replaceChildren();
    for (const message of list) {
      const button = el('button', { className: 'pin', attrs: { type: 'button', 'data-message-id': message.id } }, [
        el('span', { className: 'author', text: userName(state, message.sender_id, message.room_id) }),
        ': ',
        el('span', { className: 'pin-text', text: snippet(message) }),
      ]);
      button.addEventListener('click', () => jump(message.room_id, message.id, message.seq));
      items.append(el('li', {}, [button]));
    }
  }

  function clear() {
    $('pins').hidden = true;
    $('pin-list').replaceChildren();
  }

  /** Logout: forget every room's pins. */
  function reset() {
    pinned.clear();
    clear();
  }

  return { load, changed, render, clear, reset };
}
