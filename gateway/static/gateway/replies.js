// Replies (API.md §8.2): the "Replying to …" bar above the message box while this user writes
// an answer (the message it answers goes out as `reply_to`), and the quote of the answered
// message drawn in a reply's bubble, from the room's messages loaded here (a click shows it).

import { $, el } from './dom.js';
import { timelineOf, userName } from './state.js';

const SNIPPET_CHARS = 120;

/** A short line for a message's content: its text cut down, or what kind of message it is. */
export function snippet(message) {
  if (!message || message.deleted || !message.content) return 'a deleted message';
  const content = message.content;
  if (content.type === 'text') {
    const text = String(content.text ?? '').replace(/\s+/g, ' ').trim();
    return text.length > SNIPPET_CHARS ? `${text.slice(0, SNIPPET_CHARS - 1)}…` : text;
  }
  return { image: 'an image', voice: 'a voice message', file: `a file: ${content.file_name || ''}` }[content.type] || 'a message';
}

/** Needs: jump(roomId, messageId, seq) to show a message; focusComposer(). */
export function createReplies({ state, jump, focusComposer }) {
  let target = null; // the message being answered, in the open room

  function bar() {
    let node = $('reply-bar');
    if (!node) {
      node = el('div', { className: 'reply-bar', attrs: { id: 'reply-bar', role: 'status' } });
      node.hidden = true;
      $('composer').prepend(node);
    }
    return node;
  }

  function render() {
    const node = bar();
    node.replaceChildren();
    node.hidden = !target;
    if (!target) return;
    const cancelButton = el('button', { text: 'Cancel reply', attrs: { type: 'button' }, className: 'secondary' });
    cancelButton.addEventListener('click', () => {
      cancel();
      focusComposer();
    });
    node.append(
      el('p', { className: 'reply-bar-text' }, [
        'Replying to ',
        el('strong', { text: userName(state, target.sender_id, target.room_id) }),
        `: ${snippet(target)}`,
      ]),
      cancelButton,
    );
  }

  /** Answer `message`: the bar shows it until the message is sent or the reply cancelled. */
  function start(message) {
    target = message;
    render();
    focusComposer();
  }

  function cancel() {
    target = null;
    render();
  }

  /** What a message sent now carries: `reply_to` while replying in its room (the bar goes). */
  function take() {
    if (!target || target.room_id !== state.current) return {};
    const fields = { reply_to: target.id };
    cancel();
    return fields;
  }

  /** A message changed (edited, deleted): the bar follows. */
  function changed(message) {
    if (target && target.id === message.id) {
      if (message.deleted) cancel();
      else render();
    }
  }

  /** The quote of the message `reply` answers, as a button that shows it. */
  function quoteNode(reply) {
    const answered = timelineOf(state, reply.room_id).byId.get(reply.reply_to);
    const who = answered ? userName(state, answered.sender_id, answered.room_id) : null;
    const button = el('button', {
      className: 'quote',
      attrs: { type: 'button', 'data-focus-key': 'quote', 'aria-label': `Show the message this answers${who ? `, by ${who}` : ''}` },
    });
    if (answered) button.append(el('span', { className: 'quote-author', text: who }), el('span', { className: 'quote-text', text: snippet(answered) }));
    else button.append(el('span', { className: 'quote-text', text: 'In reply to an earlier message' }));
    button.addEventListener('click', () => jump(reply.room_id, reply.reply_to, answered ? answered.seq : null));
    return button;
  }

  return { start, cancel, take, changed, quoteNode };
}
