// What a reader may do about someone else's message: report it to the moderators (POST
// /api/chat/report with a reason) or block its sender (POST /api/users/block: their private
// chat freezes; nobody is told). A small menu under each message from someone else.

import { el } from './dom.js';
import { errorText } from './format.js';
import { toast } from './notices.js';
import { userName } from './state.js';

const REASONS = [
  ['spam', 'Spam'],
  ['abuse', 'Abuse or harassment'],
  ['illegal', 'Illegal content'],
  ['other', 'Something else'],
];

/** Needs: blockedChanged() (profile.js's list of blocked people). */
export function createSafety({ state, api, blockedChanged = () => {} }) {
  function reportForm(message, menu) {
    const id = `report-${message.id}`;
    const reason = el('select', { attrs: { id: `${id}-reason`, name: 'reason' } });
    for (const [value, label] of REASONS) reason.append(el('option', { text: label, attrs: { value } }));
    const comment = el('input', { attrs: { id: `${id}-comment`, name: 'comment', maxlength: 1000, autocomplete: 'off' } });
    const send = el('button', { text: 'Send report', attrs: { type: 'submit' } });
    const form = el('form', { className: 'report-form', attrs: { novalidate: true } }, [
      el('label', { text: 'Why?', attrs: { for: reason.id } }),
      reason,
      el('label', { text: 'Anything to add (optional)', attrs: { for: comment.id } }),
      comment,
      send,
    ]);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      send.disabled = true;
      try {
        await api.post('/api/chat/report', { message_id: message.id, reason: reason.value, comment: comment.value.trim() });
        toast('Thank you: the moderators will look at this message.');
        menu.open = false;
        form.remove();
      } catch (error) {
        toast(errorText(error));
        send.disabled = false;
      }
    });
    return form;
  }

  /** Add the menu to a stored message's element, unless it is this user's own. */
  function decorate(node, message) {
    if (message.sender_id === state.me || !message.sender_id || message.content === null) return;
    const name = userName(state, message.sender_id, message.room_id);
    const report = el('button', { className: 'secondary', text: 'Report', attrs: { type: 'button' } });
    const block = el('button', { className: 'secondary', text: `Block ${name}`, attrs: { type: 'button' } });
    const menu = el('details', { className: 'message-menu' }, [
      el('summary', { text: 'More', attrs: { 'aria-label': `More about this message from ${name}` } }),
      el('p', { className: 'actions' }, [report, block]),
    ]);
    report.addEventListener('click', () => {
      if (!menu.querySelector('form')) menu.append(reportForm(message, menu));
      menu.querySelector('select').focus();
    });
    block.addEventListener('click', async () => {
      if (!window.confirm(`Block ${name}? Your private chat with them freezes until you unblock them; they are not told.`)) return;
      block.disabled = true;
      try {
        await api.post('/api/users/block', { user_id: message.sender_id, blocked: true });
        toast(`You blocked ${name}. Unblock them under Your profile.`);
        menu.open = false;
        blockedChanged();
      } catch (error) {
        toast(errorText(error));
      } finally {
        block.disabled = false;
      }
    });
    node.append(menu);
  }

  return { decorate };
}
