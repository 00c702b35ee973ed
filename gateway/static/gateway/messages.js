// The open room's conversation on the page: drawing its stored and unsent messages in seq
// order (the order and deduplication themselves are timeline.js's), history paging when the
// reader scrolls up, keeping the reader's place, and taking in messages from the socket and
// from our own sends (unread counts, announcements for screen readers). After each drawing,
// `drawn` lets the read state (receipts.js) add its divider and ticks and mark what is seen.

import { messageBubble, renameAuthor } from './bubbles.js';
import { $ } from './dom.js';
import { errorText } from './format.js';
import { announce, toast } from './notices.js';
import { acceptMessage, memberShownOffline, pendingIn, roomName, timelineOf, userName } from './state.js';
import { historyStatus } from './timeline.js';

const HISTORY_PAGE = 50;
const NEAR_BOTTOM_PX = 80;
const NEAR_TOP_PX = 120;

/** What to announce for messages from others that just arrived (`live` false: while away). */
export function describeArrivals(state, fresh, live) {
  if (fresh.length > 3) return [`${fresh.length} new messages${live ? '' : ' from while you were away'}.`];
  return fresh.map((message) => {
    const text = message.content?.type === 'text' ? message.content.text : `sent a ${message.content?.type || 'message'}`;
    const where = message.room_id === state.current ? '' : ` in ${roomName(state, message.room_id)}`;
    return `${userName(state, message.sender_id, message.room_id)}${where}: ${text}`;
  });
}

/**
 * Needs: drawPending(entry) -> element of an unsent message (composer.js);
 * scheduleRoomsRefresh(), scheduleMembersRefresh(), renderRoomList(); decorate(node, message),
 * which adds what happened to a message since (lifecycle.js), what a reader may do about it
 * (safety.js) and its receipt (receipts.js); drawn({fresh}) after the open room's messages
 * were drawn (fresh: all anew) or added to.
 */
export function createMessages({ state, api, drawPending, scheduleRoomsRefresh, scheduleMembersRefresh, renderRoomList, decorate = () => {}, drawn = () => {} }) {
  const bubble = (message) => {
    const node = messageBubble(message, { author: userName(state, message.sender_id, message.room_id), mine: message.sender_id === state.me });
    decorate(node, message);
    return node;
  };

  function nearBottom() {
    const history = $('history');
    return history.scrollHeight - history.scrollTop - history.clientHeight < NEAR_BOTTOM_PX;
  }

  function scrollToBottom() {
    const history = $('history');
    history.scrollTop = history.scrollHeight;
  }

  function renderStatus() {
    const status = historyStatus(state.timelines.get(state.current));
    const olderButton = $('load-older');
    $('history').dataset.loaded = String(status.loaded);
    olderButton.hidden = status.olderHidden;
    if (status.olderDisabled !== null) olderButton.disabled = status.olderDisabled;
    $('history-status').textContent = status.text;
  }

  /** Draw the open room's messages afresh, then its unsent ones, and scroll to the newest. */
  function render() {
    const list = $('messages');
    list.replaceChildren();
    state.messageEls.clear();
    state.pendingEls.clear();
    for (const message of timelineOf(state, state.current).messages) {
      const node = bubble(message);
      state.messageEls.set(message.id, node);
      list.append(node);
    }
    for (const entry of pendingIn(state, state.current)) list.append(drawPending(entry));
    renderStatus();
    scrollToBottom();
    if (state.current !== null) drawn({ fresh: true });
  }

  /** No room open: no messages, no history status. */
  function clear() {
    $('messages').replaceChildren();
    $('load-older').hidden = true;
    $('history-status').textContent = '';
  }

  /** A message typed just now goes last, below everything stored. */
  function showUnsent(node) {
    $('messages').append(node);
    scrollToBottom();
  }

  /** Put one message of the open room where its seq says, before any unsent ones. */
  function insert(message) {
    const timeline = timelineOf(state, message.room_id);
    const node = bubble(message);
    state.messageEls.set(message.id, node);
    const next = timeline.after(message);
    const before = (next && state.messageEls.get(next.id)) || $('messages').querySelector('.pending');
    $('messages').insertBefore(node, before || null);
  }

  /** Messages drawn before the members list arrived (or under an old nickname) get their names now. */
  function renameAuthors(roomId) {
    for (const node of state.messageEls.values()) renameAuthor(node, userName(state, Number(node.dataset.senderId), roomId));
  }

  async function loadLatest(roomId) {
    const data = await api.get('/api/chat/messages', { room_id: roomId, limit: HISTORY_PAGE });
    timelineOf(state, roomId).addLatestPage(data.messages || [], data.has_more);
    if (state.current === roomId) {
      render();
      fillViewport();
    }
  }

  /** With too few messages to scroll, no scroll event would ever ask for older ones. */
  function fillViewport() {
    const history = $('history');
    if (history.scrollHeight <= history.clientHeight + NEAR_TOP_PX) loadOlder();
  }

  async function loadOlder() {
    const roomId = state.current;
    const timeline = state.timelines.get(roomId);
    if (!timeline || !timeline.canLoadOlder) return;
    timeline.loadingOlder = true;
    renderStatus();
    let loaded = false;
    try {
      const query = { room_id: roomId, limit: HISTORY_PAGE };
      if (timeline.oldestSeq !== null) query.before_seq = timeline.oldestSeq;
      const data = await api.get('/api/chat/messages', query);
      const history = $('history');
      const fromBottom = history.scrollHeight - history.scrollTop;
      timeline.addOlderPage(data.messages || [], data.has_more, (message) => {
        if (state.current === roomId) insert(message);
      });
      // Keep what the reader was looking at in place while older messages appear above it.
      if (state.current === roomId) {
        history.scrollTop = history.scrollHeight - fromBottom;
        drawn();
      }
      loaded = true;
    } catch (error) {
      if (api.loggedIn) toast(errorText(error));
    } finally {
      timeline.loadingOlder = false;
      if (state.current === roomId) renderStatus();
    }
    if (loaded && state.current === roomId && timeline.hasOlder) fillViewport();
  }

  /** Messages from the socket (live or owed) and from our own send replies. */
  function receive(messages, { live }) {
    const bottom = nearBottom();
    const fresh = [];
    let roomsChanged = false;
    let openChanged = false;
    for (const message of messages) {
      const taken = acceptMessage(state, message);
      if (!taken) continue; // seen already: a redelivery or an overlap
      taken.settledNode?.remove();
      if (!taken.knownRoom) scheduleRoomsRefresh();
      if (message.room_id === state.current) {
        insert(message);
        openChanged = true;
      }
      if (live && message.room_id === state.current && memberShownOffline(state, message)) scheduleMembersRefresh();
      if (!taken.mine) fresh.push(message);
      if (taken.unread || taken.knownRoom) roomsChanged = true; // a badge, the order, the preview
    }
    if (state.current !== null && (bottom || messages.some((m) => m.sender_id === state.me && m.room_id === state.current))) {
      scrollToBottom();
    }
    if (roomsChanged) renderRoomList();
    if (state.current !== null) renderStatus();
    if (openChanged) drawn();
    for (const text of describeArrivals(state, fresh, live)) announce(text);
  }

  /** Draw a stored message of the open room again: it was edited, reacted to, pinned, deleted. */
  function redraw(message) {
    const old = state.messageEls.get(message.id);
    if (!old || message.room_id !== state.current) return;
    const focused = old.contains(document.activeElement) ? document.activeElement.dataset.focusKey : undefined;
    const node = bubble(message);
    state.messageEls.set(message.id, node);
    old.replaceWith(node);
    if (focused) node.querySelector(`[data-focus-key="${CSS.escape(focused)}"]`)?.focus();
  }

  /** Load older pages of the open room until message `id` (of seq `seq`, when known) is drawn,
   * or the start is reached; its element, or null. */
  async function reveal({ id, seq = null }) {
    const roomId = state.current;
    for (let pages = 0; pages < 200 && state.current === roomId; pages += 1) {
      const timeline = state.timelines.get(roomId);
      if (timeline?.has(id)) return state.messageEls.get(id) ?? null;
      const passed = seq !== null && timeline?.oldestSeq !== null && timeline?.oldestSeq < seq;
      if (timeline?.historyLoaded && (!timeline.hasOlder || passed)) return null;
      if (timeline?.canLoadOlder) {
        const before = timeline.oldestSeq;
        await loadOlder();
        if (timeline.oldestSeq === before && timeline.hasOlder) return null; // the page failed
      } else {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    return null;
  }

  $('history').addEventListener('scroll', () => {
    if ($('history').scrollTop < NEAR_TOP_PX) loadOlder();
  });
  $('load-older').addEventListener('click', () => loadOlder());

  return { render, clear, showUnsent, renameAuthors, loadLatest, receive, redraw, reveal };
}
