// What the page tells the person besides the conversation: toasts that go after a while, the
// screen-reader live region, the connection badge and the unread count in the tab's title.
// Stateless; each call works on the page (the server's `notice` frames are events.js's).

import { $, el } from './dom.js';

const TOAST_MS = 8000;

export function toast(text) {
  const item = el('li', { text });
  $('toasts').append(item);
  setTimeout(() => item.remove(), TOAST_MS);
}

/** Read out by screen readers; the region keeps the last five. */
export function announce(text) {
  const item = el('p', { text });
  const region = $('announcer');
  region.append(item);
  while (region.childElementCount > 5) region.firstElementChild.remove();
}

/** stateName: connecting, online or offline (the badge's data-state). */
export function showConnection(stateName, text) {
  const node = $('connection');
  node.dataset.state = stateName;
  node.textContent = text;
}

export function showUnreadInTitle(total) {
  document.title = total ? `(${total}) Chat` : 'Chat';
}

export function clearNotices() {
  $('toasts').replaceChildren();
  $('announcer').replaceChildren();
}
