// Read state on the page (API.md §7.3): marking the open room read as far as the reader has
// seen it (the tab shown, a message scrolled into view; throttled `read` frames), `read` frames
// from the server (this user's other tabs and devices: the badges go; other members: their
// receipts), the "New messages" divider, and the ticks on one's own messages (✓ sent, ✓✓ seen)
// with "Seen by …" under the last of them.

import { ReadThrottle, firstUnread, receiptOf, seenBy, seenByLine } from './conversation.js';
import { $, el } from './dom.js';
import { acceptRead, timelineOf, userName } from './state.js';

const DIVIDER_ID = 'new-messages';

/** Needs: sendFrame(frame) -> whether the socket took it; renderRoomList(), scheduleRoomsRefresh(). */
export function createReceipts({ state, sendFrame, renderRoomList, scheduleRoomsRefresh }) {
  const throttle = new ReadThrottle({ send: (roomId, seq) => sendFrame({ type: 'read', room_id: roomId, seq }) });

  /** The highest seq the reader can see now in the open room: of the lowest message whose top is
   * in view; the room's end (its updates too) when that is its newest message. */
  function seenSeq() {
    const timeline = state.timelines.get(state.current);
    if (!timeline || !timeline.historyLoaded || !timeline.messages.length) return 0;
    const bottom = $('history').getBoundingClientRect().bottom;
    const messages = timeline.messages;
    for (let i = messages.length - 1; i >= 0; i -= 1) {
      const node = state.messageEls.get(messages[i].id);
      if (!node || node.getBoundingClientRect().top >= bottom - 4) continue;
      const room = state.rooms.get(state.current);
      return i === messages.length - 1 ? Math.max(messages[i].seq, room?.last_seq || 0) : messages[i].seq;
    }
    return 0;
  }

  /** Mark the open room read as far as it is seen, when the page is seen at all. */
  function check() {
    const roomId = state.current;
    const room = state.rooms.get(roomId);
    if (!room || document.visibilityState !== 'visible') return;
    const seq = seenSeq();
    if (seq > (room.read_seq || 0)) throttle.mark(roomId, seq);
  }

  /** A `read` frame. */
  function receive(frame) {
    const result = acceptRead(state, frame);
    if (result.mine) {
      throttle.known(frame.room_id, frame.payload.read_seq);
      renderRoomList();
      if (result.refresh) scheduleRoomsRefresh();
    }
    if (result.receipt && frame.room_id === state.current) refresh();
  }

  // --- drawing --------------------------------------------------------------------------------

  /** The newest message of this user in the open room, or null. */
  function lastOwn() {
    const messages = timelineOf(state, state.current).messages;
    for (let i = messages.length - 1; i >= 0; i -= 1) if (messages[i].sender_id === state.me) return messages[i];
    return null;
  }

  /** Add a tick to a bubble of one's own, and "Seen by …" under the newest (messages.js calls this). */
  function decorate(node, message, newest = lastOwn()) {
    if (message.sender_id !== state.me) return;
    node.querySelector(':scope > .meta .receipt')?.remove();
    node.querySelector(':scope > .seen-by')?.remove();
    const members = state.members.get(message.room_id);
    const seen = receiptOf(members, state.me, message.seq) === 'seen';
    node.querySelector(':scope > .meta').append(
      el('span', { className: seen ? 'receipt seen' : 'receipt', attrs: { 'data-receipt': seen ? 'seen' : 'sent' } }, [
        el('span', { text: seen ? '✓✓' : '✓', attrs: { 'aria-hidden': 'true', title: seen ? 'Seen' : 'Sent' } }),
        el('span', { className: 'visually-hidden', text: seen ? ', seen' : ', sent' }),
      ]),
    );
    if (newest && newest.id === message.id) {
      const line = seenByLine(seenBy(members, state.me, message.seq).map((m) => userName(state, m.user_id, message.room_id)));
      if (line) node.append(el('p', { className: 'seen-by', text: line }));
    }
  }

  /** The open room's ticks and "Seen by" again (positions moved, a message of one's own came). */
  function refresh() {
    const newest = lastOwn();
    for (const message of timelineOf(state, state.current).messages) {
      const node = state.messageEls.get(message.id);
      if (node && message.sender_id === state.me) decorate(node, message, newest);
    }
  }

  /** Put the "New messages" divider above the first unread message of the open room. */
  function placeDivider() {
    document.getElementById(DIVIDER_ID)?.remove();
    const divider = state.divider;
    if (!divider || divider.roomId !== state.current) return null;
    const first = firstUnread(timelineOf(state, state.current).messages, divider.afterSeq, state.me);
    const node = first && state.messageEls.get(first.id);
    if (!node) return null;
    const line = el('li', { className: 'divider', attrs: { id: DIVIDER_ID } }, [el('span', { text: 'New messages' })]);
    node.before(line);
    return line;
  }

  /**
   * The open room's messages were drawn (`fresh`: all of them, on opening it) or some were
   * added: the divider, the receipts, then what is now seen is marked read. On opening, the
   * conversation starts at the divider when there is one.
   */
  function drawn({ fresh = false } = {}) {
    const line = placeDivider();
    if (fresh && line) line.scrollIntoView({ block: 'start' });
    refresh();
    check();
  }

  /** The members were read again: their positions may have moved. */
  function readsChanged(roomId) {
    if (roomId === state.current) refresh();
  }

  function reset() {
    throttle.reset();
  }

  $('history').addEventListener('scroll', () => check(), { passive: true });
  document.addEventListener('visibilitychange', () => check());
  window.addEventListener('focus', () => check());

  return { check, receive, decorate, drawn, readsChanged, reset };
}
