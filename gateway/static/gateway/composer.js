// Writing and sending: the message box (Enter sends, Shift+Enter starts a new line), unsent
// messages shown as "sending…" until the server stores them, their acks, and failures with a
// safe Retry (the same client_msg_id, so the server stores the message once) or Discard.

import { pendingBubble, updatePendingBubble } from './bubbles.js';
import { $ } from './dom.js';
import { clientMsgId, errorText, isRetryable } from './format.js';
import { toast } from './notices.js';
import { addPending, dropPending, markFailed, markSending, markStored } from './state.js';
import { messageFromSendReply } from './timeline.js';

const MAX_TEXT = 4000;

/**
 * Needs: receive(messages, {live}) to take in the stored message (messages.js);
 * showUnsent(element) to put a new unsent message on the page; extras.take(text), the
 * reply_to, mentions and mention_all a message being sent carries (lifecycle.js).
 */
export function createComposer({ state, api, receive, showUnsent, extras = { take: () => ({}) } }) {
  const actions = {
    retry: (entry) => deliver(entry),
    discard: (entry) => dropPending(state, entry.client_msg_id)?.remove(),
  };

  /** The element of an unsent message of the open room, kept to update its status. */
  function draw(entry) {
    const node = pendingBubble(entry, actions);
    state.pendingEls.set(entry.client_msg_id, node);
    return node;
  }

  function redraw(entry) {
    const node = state.pendingEls.get(entry.client_msg_id);
    if (node) updatePendingBubble(node, entry, actions);
  }

  function receiveAck(frame) {
    const entry = markStored(state, frame.client_msg_id);
    if (entry) redraw(entry);
  }

  async function deliver(entry) {
    markSending(entry);
    redraw(entry);
    try {
      const data = await api.post('/api/chat/send_message', {
        room_id: entry.room_id,
        content: entry.content,
        client_msg_id: entry.client_msg_id,
        ...entry.fields,
      });
      receive([messageFromSendReply(data, entry.content, state.me, entry.fields)], { live: true });
    } catch (error) {
      if (!api.loggedIn || !state.pending.has(entry.client_msg_id)) return;
      markFailed(entry, errorText(error), isRetryable(error));
      redraw(entry);
    }
  }

  /** Send any content (text, or an uploaded file's message) to the open room; `fields` are
   * the message's other fields (reply_to, mentions, mention_all). */
  function sendContent(content, roomId = state.current, fields = {}) {
    if (roomId === null) return;
    const entry = addPending(state, { clientMsgId: clientMsgId(), roomId, content });
    entry.fields = fields;
    if (roomId === state.current) showUnsent(draw(entry));
    deliver(entry);
  }

  function sendText() {
    const input = $('composer-input');
    const text = input.value.trim();
    if (!text || state.current === null) return;
    if (text.length > MAX_TEXT) {
      toast(`A message holds at most ${MAX_TEXT} characters.`);
      return;
    }
    input.value = '';
    sendContent({ type: 'text', text }, state.current, extras.take(text));
  }

  function setEnabled(enabled) {
    $('composer-input').disabled = !enabled;
    $('composer-send').disabled = !enabled;
    $('attach-button').disabled = !enabled;
  }

  function focus() {
    $('composer-input').focus();
  }

  $('composer').addEventListener('submit', (event) => {
    event.preventDefault();
    sendText();
  });

  $('composer-input').addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendText();
    }
  });

  return { draw, receiveAck, setEnabled, focus, sendContent };
}
