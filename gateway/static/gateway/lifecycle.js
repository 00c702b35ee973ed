// The life of a message on the page (API.md §8): what happened to a message since it was sent,
// drawn on its bubble (edited, deleted, pinned, the message it answers, mentions, reactions),
// the actions on it (reply, react, edit and delete your own, delete others' when you outrank
// them, pin for owners and admins), taking in `update` frames and the replies of our own
// calls, and showing a message anywhere in a room's history (search, pins, quotes).

import { el } from './dom.js';
import { errorText } from './format.js';
import { mentionNodes } from './mentions.js';
import { announce, toast } from './notices.js';
import { reactionPicker, reactionsRow, toggledOn } from './reactions.js';
import { timelineOf, userName } from './state.js';

const HIGHLIGHT_MS = 2500;
const EDITED_LABEL = 'edited';

/**
 * Needs: redraw(message) and reveal({id, seq}) (messages.js); openRoom(roomId);
 * replies (replies.js); pinsChanged(message, event) (pins.js).
 */
export function createLifecycle({ state, api, redraw, reveal, openRoom, replies, pinsChanged }) {
  const applied = new Map(); // message id -> seq of the newest update taken in
  const editing = new Set(); // ids of messages whose bubble shows the edit form
  const picking = new Set(); // ids of messages whose bubble shows the reaction picker
  const confirming = new Set(); // ids of messages whose bubble asks to confirm a delete
  const drafts = new Map(); // message id -> the text of its open edit form
  const rolesSeen = new Map(); // room_id -> the members and roles its bubbles were drawn with

  const roleOf = (roomId, userId) => (state.members.get(roomId) || []).find((m) => m.user_id === userId)?.role ?? 2;

  /** What this user may do to `message`. */
  function allowed(message) {
    const room = state.rooms.get(message.room_id);
    const mine = message.sender_id === state.me;
    const myRole = room ? room.role : 2;
    const live = !message.deleted;
    return {
      reply: live,
      react: live,
      edit: live && mine && message.content?.type === 'text',
      delete: live && (mine || myRole < roleOf(message.room_id, message.sender_id)),
      pin: live && myRole <= 1,
    };
  }

  // --- drawing ------------------------------------------------------------------------------

  /** Add to a freshly drawn bubble what happened to its message (messages.js calls this). */
  function decorate(node, message) {
    const content = node.querySelector(':scope > .text');
    node.classList.toggle('deleted', Boolean(message.deleted));
    node.classList.toggle('pinned', Boolean(message.pinned));
    const mentionsMe = message.mention_all || (message.mentions || []).includes(state.me);
    node.classList.toggle('mentions-me', Boolean(mentionsMe && message.sender_id !== state.me && !message.deleted));
    const meta = node.querySelector(':scope > .meta');
    if (message.pinned) meta.append(el('span', { className: 'pinned-mark', text: 'pinned' }));
    if (message.edited_at && !message.deleted) {
      meta.append(el('span', { className: 'edited-mark', text: EDITED_LABEL, attrs: { title: new Date(message.edited_at).toLocaleString() } }));
    }
    if (message.reply_to) node.insertBefore(replies.quoteNode(message), content);
    if (message.deleted) {
      content.replaceWith(el('p', { className: 'deleted-note', text: 'This message was deleted.' }));
    } else if (editing.has(message.id)) {
      content.replaceWith(editForm(message));
    } else if (message.content?.type === 'text') {
      const nodes = mentionNodes(String(message.content.text ?? ''), message, state.members.get(message.room_id) || [], state.me);
      if (nodes) content.replaceChildren(...nodes);
    }
    const row = reactionsRow(message, {
      me: state.me,
      nameOf: (userId) => userName(state, userId, message.room_id),
      onToggle: (key, on) => react(message, key, on),
    });
    if (row) node.append(row);
    node.append(actionsBar(message));
    if (picking.has(message.id) && !message.deleted) {
      node.append(reactionPicker({ onPick: (key) => react(message, key, toggledOn(message, key, state.me)) }));
    }
  }

  function button(text, label, focusKey, onClick) {
    const node = el('button', { text, className: 'link-button', attrs: { type: 'button', 'aria-label': label, 'data-focus-key': focusKey } });
    node.addEventListener('click', onClick);
    return node;
  }

  function actionsBar(message) {
    const bar = el('p', { className: 'message-actions', attrs: { role: 'group', 'aria-label': 'Actions on this message' } });
    const can = allowed(message);
    const author = userName(state, message.sender_id, message.room_id);
    if (confirming.has(message.id)) {
      bar.classList.add('confirming');
      bar.append(
        el('span', { text: 'Delete for everyone?' }),
        button('Delete', 'Yes, delete this message for everyone', 'confirm-delete', () => remove(message)),
        button('Keep', 'No, keep it', 'keep', () => toggle(confirming, message)),
      );
      return bar;
    }
    if (can.reply) bar.append(button('Reply', `Reply to ${author}`, 'reply', () => replies.start(message)));
    if (can.react) bar.append(button('React', 'React to this message', 'react', () => toggle(picking, message)));
    if (can.edit) bar.append(button('Edit', 'Edit your message', 'edit', () => toggle(editing, message)));
    if (can.delete) bar.append(button('Delete', 'Delete this message for everyone', 'delete', () => toggle(confirming, message)));
    if (can.pin) {
      const pinned = Boolean(message.pinned);
      bar.append(button(pinned ? 'Unpin' : 'Pin', pinned ? 'Unpin this message' : 'Pin this message', 'pin', () => pin(message, !pinned)));
    }
    return bar;
  }

  function toggle(set, message) {
    if (set.has(message.id)) set.delete(message.id);
    else set.add(message.id);
    redraw(message);
    if (set === editing && editing.has(message.id)) {
      const box = state.messageEls.get(message.id)?.querySelector('textarea');
      if (box) {
        box.focus();
        box.setSelectionRange(box.value.length, box.value.length);
      }
    }
  }

  function editForm(message) {
    const id = `edit-${message.id}`;
    const box = el('textarea', { attrs: { id, rows: 2, maxlength: 4000 } });
    box.value = drafts.get(message.id) ?? message.content.text;
    box.addEventListener('input', () => drafts.set(message.id, box.value));
    const save = el('button', { text: 'Save', attrs: { type: 'submit' } });
    const cancel = el('button', { text: 'Cancel', className: 'secondary', attrs: { type: 'button' } });
    const form = el('form', { className: 'edit-form' }, [
      el('label', { text: 'Edit message', className: 'visually-hidden', attrs: { for: id } }),
      box,
      el('p', { className: 'actions' }, [save, cancel]),
    ]);
    const close = () => {
      editing.delete(message.id);
      drafts.delete(message.id);
      redraw(message);
      state.messageEls.get(message.id)?.querySelector('[data-focus-key="edit"]')?.focus();
    };
    cancel.addEventListener('click', close);
    box.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') close();
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const text = box.value.trim();
      if (!text) return;
      save.disabled = true;
      const done = await call('edit', '/api/chat/edit_message', { message_id: message.id, content: { type: 'text', text } });
      save.disabled = false;
      if (done) close();
    });
    return form;
  }

  // --- actions --------------------------------------------------------------------------------

  /** One update call (of `event`); its reply, the message after it, is taken in at once.
   * True on success. */
  async function call(event, path, body) {
    try {
      const data = await api.post(path, body);
      apply(data.message, data.seq, event);
      return true;
    } catch (error) {
      toast(errorText(error));
      return false;
    }
  }

  function react(message, key, on) {
    picking.delete(message.id);
    return call('reaction', '/api/chat/react', { message_id: message.id, key, on });
  }

  function remove(message) {
    confirming.delete(message.id);
    return call('delete', '/api/chat/delete_message', { message_id: message.id });
  }

  function pin(message, pinned) {
    return call('pin', '/api/chat/pin', { message_id: message.id, pinned });
  }

  // --- updates --------------------------------------------------------------------------------

  /**
   * The newer state of a message, from an update frame or the reply to our own call (`seq`:
   * the update's; null when the call changed nothing). An older state than one taken already
   * (a reply overtaken by a later frame) is left out. `event` names what happened.
   */
  function apply(message, seq, event) {
    if (!message) return;
    const newest = applied.get(message.id);
    if (seq === null || seq === undefined) {
      if (newest !== undefined) return;
    } else if (newest !== undefined && seq < newest) {
      return;
    } else {
      applied.set(message.id, seq);
    }
    const timeline = timelineOf(state, message.room_id);
    const stored = timeline.update(message) || message;
    if (stored.deleted) {
      editing.delete(stored.id);
      picking.delete(stored.id);
      confirming.delete(stored.id);
    }
    redraw(stored);
    for (const reply of timeline.messages) if (reply.reply_to === stored.id) redraw(reply);
    replies.changed(stored);
    pinsChanged(stored, event);
  }

  /** `update` frames from the socket (live, or owed in a batch). */
  function receiveUpdates(frames, { live }) {
    for (const frame of frames) {
      const room = state.rooms.get(frame.room_id);
      if (room && frame.seq > (room.last_seq || 0)) room.last_seq = frame.seq;
      const payload = frame.payload || {};
      apply(payload.message, frame.seq, payload.event);
      if (live && frame.sender_id !== state.me && frame.room_id === state.current) {
        const who = userName(state, frame.sender_id, frame.room_id);
        if (payload.event === 'edit') announce(`${who} edited a message.`);
        if (payload.event === 'delete') announce(`${frame.sender_id ? who : 'A moderator'} deleted a message.`);
        if (payload.event === 'reaction' && payload.on && payload.message?.sender_id === state.me) {
          announce(`${who} reacted ${payload.key} to your message.`);
        }
      }
    }
  }

  // --- showing a message ------------------------------------------------------------------------

  /** Open the room of a message (search result, pin, quote) and show the message in it. */
  async function jump(roomId, messageId, seq) {
    if (state.current !== roomId) await openRoom(roomId);
    if (state.current !== roomId) return;
    const node = await reveal({ id: messageId, seq });
    if (!node) {
      toast('That message is not in the part of the history you can see.');
      return;
    }
    node.setAttribute('tabindex', '-1');
    node.scrollIntoView({ block: 'center' });
    node.focus({ preventScroll: true });
    node.classList.add('highlight');
    setTimeout(() => node.classList.remove('highlight'), HIGHLIGHT_MS);
  }

  /**
   * The open room's members were read: when who is there or their roles changed (or on the
   * first read), its bubbles are drawn again, for the actions each allows and the mentions.
   */
  function membersLoaded(roomId) {
    const signature = (state.members.get(roomId) || []).map((m) => `${m.user_id}:${m.role}:${m.username}`).join(',');
    if (rolesSeen.get(roomId) === signature) return;
    rolesSeen.set(roomId, signature);
    if (state.current !== roomId) return;
    for (const message of timelineOf(state, roomId).messages) redraw(message);
  }

  /** Logout or another room: nothing is being edited, picked or confirmed any more. */
  function reset() {
    drafts.clear();
    editing.clear();
    picking.clear();
    confirming.clear();
  }

  /** Logout: forget which updates were taken in. */
  function forget() {
    reset();
    applied.clear();
    rolesSeen.clear();
  }

  return { decorate, apply, receiveUpdates, jump, membersLoaded, reset, forget, allowed };
}

