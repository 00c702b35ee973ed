// Searching messages (API.md §8.4): the search box in the side bar, over every room of this
// user or the open one only, results newest first with "More results", each one opening its
// room at the message.

import { $, el, onSubmit, setFormError } from './dom.js';
import { errorText, formatTime } from './format.js';
import { snippet } from './replies.js';
import { roomName, userName } from './state.js';

const PAGE = 20;

/** Needs: jump(roomId, messageId, seq). */
export function createSearch({ state, api, jump }) {
  let last = null; // {q, room_id, offset} of the results shown

  async function run(query, append) {
    const data = await api.get('/api/chat/search', { q: query.q, room_id: query.room_id, limit: PAGE, offset: query.offset });
    const messages = data.messages || [];
    const list = $('message-search-results');
    if (!append) list.replaceChildren();
    for (const message of messages) list.append(result(message));
    const shown = list.childElementCount;
    $('message-search-summary').textContent = shown
      ? `${shown} message${shown === 1 ? '' : 's'} found${data.has_more ? ' (more below)' : ''}.`
      : 'No message matches.';
    $('message-search-more').hidden = !data.has_more;
    last = { ...query, offset: query.offset + messages.length };
  }

  function result(message) {
    const button = el('button', { className: 'search-hit', attrs: { type: 'button', 'data-message-id': message.id } }, [
      el('span', { className: 'meta' }, [
        el('span', { className: 'author', text: userName(state, message.sender_id, message.room_id) }),
        ` in ${roomName(state, message.room_id)} · ${formatTime(message.created_at)}`,
      ]),
      el('span', { className: 'search-hit-text', text: snippet(message) }),
    ]);
    button.addEventListener('click', () => jump(message.room_id, message.id, message.seq));
    return el('li', {}, [button]);
  }

  onSubmit('message-search-form', 'message-search-error', async (form) => {
    const q = form.q.value.trim();
    if (!q) {
      setFormError('message-search-error', 'Type a word to look for.');
      return;
    }
    const roomId = form.here.checked && state.current !== null ? state.current : undefined;
    try {
      await run({ q, room_id: roomId, offset: 0 }, false);
    } catch (error) {
      setFormError('message-search-error', errorText(error));
    }
  });

  $('message-search-more').addEventListener('click', async () => {
    if (!last) return;
    try {
      await run(last, true);
    } catch (error) {
      setFormError('message-search-error', errorText(error));
    }
  });

  /** Logout: the results go. */
  function clear() {
    last = null;
    $('message-search-results').replaceChildren();
    $('message-search-summary').textContent = '';
    $('message-search-more').hidden = true;
  }

  return { clear };
}
