// How one message looks on the page: a stored message (author, time, content) and an unsent
// one (its status, and Retry and Discard once it failed). Content only as text; links only
// when http(s). Stateless: callers pass the author's name and the actions.

import { el } from './dom.js';
import { formatSize, formatTime, safeHttpUrl } from './format.js';

export function contentNode(content) {
  if (!content || typeof content !== 'object') return el('p', { className: 'text', text: '(empty message)' });
  if (content.type === 'text') return el('p', { className: 'text', text: content.text ?? '' });
  const labels = { image: 'Image', voice: 'Voice message', file: 'File' };
  const label = labels[content.type] || 'Attachment';
  const href = safeHttpUrl(content.url);
  const name = content.file_name || content.url || label;
  if (!href) return el('p', { className: 'text', text: `${label}: ${name}` });
  const link = el('a', { text: name, attrs: { href, target: '_blank', rel: 'noopener noreferrer nofollow' } });
  if (content.type === 'image') {
    // Shown inline; the page's policy lets images load from this origin only (uploads).
    const size = Number.isInteger(content.width) && Number.isInteger(content.height) ? content : {};
    const image = el('img', {
      className: 'attachment',
      attrs: { src: href, alt: content.file_name || 'An image', loading: 'lazy', width: size.width, height: size.height },
    });
    const open = el('a', { attrs: { href, target: '_blank', rel: 'noopener noreferrer nofollow', 'aria-label': 'Open the image' } }, [image]);
    return el('div', { className: 'text' }, [open]);
  }
  const detail = Number.isInteger(content.size) ? ` (${formatSize(content.size)})` : '';
  return el('p', { className: 'text' }, [`${label}: `, link, detail]);
}

/** A stored message; `author` is the name shown, `mine` whether this user sent it. */
export function messageBubble(message, { author, mine }) {
  const node = el('li', {
    className: mine ? 'message mine' : 'message',
    attrs: { 'data-id': message.id, 'data-seq': message.seq, 'data-sender-id': message.sender_id },
  });
  const time = el('time', { text: formatTime(message.created_at), attrs: { datetime: message.created_at } });
  time.title = new Date(message.created_at).toLocaleString();
  node.append(el('p', { className: 'meta' }, [el('span', { className: 'author', text: author }), ' ', time]), contentNode(message.content));
  return node;
}

/** Show another name on a stored message's bubble (the members list arrived or changed). */
export function renameAuthor(node, author) {
  node.querySelector('.author').textContent = author;
}

/** An unsent message; `actions` has retry(entry) and discard(entry). */
export function pendingBubble(entry, actions) {
  const node = el('li', { className: 'message mine pending', attrs: { 'data-client-id': entry.client_msg_id } });
  const status = el('span', { className: 'status' });
  const meta = el('p', { className: 'meta' }, [el('span', { className: 'author', text: 'You' }), ' ', status]);
  node.append(meta, contentNode(entry.content));
  updatePendingBubble(node, entry, actions);
  return node;
}

/** Redraw an unsent message's status: sending…, sent, or why not with Retry and Discard. */
export function updatePendingBubble(node, entry, actions) {
  const status = node.querySelector('.status');
  node.querySelector('.actions')?.remove();
  node.classList.toggle('failed', entry.status === 'failed');
  if (entry.status === 'failed') {
    status.textContent = `Not sent: ${entry.error}`;
    const buttons = el('p', { className: 'actions' });
    if (entry.retryable) {
      const retry = el('button', { text: 'Retry', attrs: { type: 'button' } });
      retry.addEventListener('click', () => actions.retry(entry));
      buttons.append(retry);
    }
    const discard = el('button', { text: 'Discard', attrs: { type: 'button' } });
    discard.addEventListener('click', () => actions.discard(entry));
    buttons.append(discard);
    node.append(buttons);
  } else {
    status.textContent = entry.status === 'stored' ? 'sent' : 'sending…';
  }
}
