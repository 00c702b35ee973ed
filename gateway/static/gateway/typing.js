// Typing (API.md §7.4): a `typing` frame while the user writes in the message box (at most one
// per room every 3 s), and the line under the open conversation naming who is typing, gone
// when their time is up or as soon as their message arrives. One polite status region, whose
// text only changes when the people typing do.

import { typingDue, typingLine, typingNow } from './conversation.js';
import { $ } from './dom.js';
import { noteTyping, stopTyping, userName } from './state.js';

const DEFAULT_EXPIRES_MS = 6000;

/** Needs: sendFrame(frame) -> whether the socket took it. */
export function createTyping({ state, sendFrame }) {
  const sent = new Map(); // room_id -> when our last typing frame for it went out
  let timer = null;

  /** Someone else types in a room: a `typing` frame. */
  function receive(frame) {
    const expires = Number(frame.payload?.expires_in_ms) || DEFAULT_EXPIRES_MS;
    noteTyping(state, frame.room_id, frame.sender_id, Date.now() + expires);
    if (frame.room_id === state.current) render();
  }

  /** Messages arrived: their senders stopped typing (after our own, the next keystroke says
   * "typing" again at once). */
  function messagesArrived(messages) {
    let changed = false;
    for (const message of messages) {
      if (message.sender_id === state.me) sent.delete(message.room_id);
      else if (stopTyping(state, message.room_id, message.sender_id) && message.room_id === state.current) changed = true;
    }
    if (changed) render();
  }

  /** The open room's line, and a timer for when the next typist's time is up. */
  function render() {
    clearTimeout(timer);
    timer = null;
    const now = Date.now();
    const typists = state.typing.get(state.current);
    const ids = typingNow(typists, now);
    const text = typingLine(ids.map((userId) => userName(state, userId, state.current)));
    if ($('typing').textContent !== text) $('typing').textContent = text;
    if (!typists) return;
    for (const [userId, until] of typists) if (until <= now) typists.delete(userId);
    if (typists.size) timer = setTimeout(render, Math.min(...typists.values()) - now + 20);
  }

  function reset() {
    clearTimeout(timer);
    timer = null;
    sent.clear();
    $('typing').textContent = '';
  }

  $('composer-input').addEventListener('input', () => {
    const roomId = state.current;
    if (roomId === null || !$('composer-input').value.trim()) return;
    if (state.members.get(roomId)?.length === 1) return; // nobody else to tell
    if (typingDue(sent, roomId, Date.now())) sendFrame({ type: 'typing', room_id: roomId });
  });

  return { receive, messagesArrived, render, reset };
}
