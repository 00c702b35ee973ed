// Reactions on a message (API.md §8.3): the row of reaction keys with their counts under a
// bubble (pressed when this user reacted so; a click adds or takes back), and the small picker
// of common ones. Stateless; the caller sends the change and redraws.

import { el } from './dom.js';

export const QUICK_REACTIONS = ['👍', '❤️', '😂', '🎉', '😮', '🙏'];

/** Whether `me` is among the reactors the summary names (it names the first 20). */
export function reactedByMe(summary, me) {
  return Array.isArray(summary.user_ids) && summary.user_ids.includes(me);
}

/** The reaction `key` to send when this user picks it: on, unless they reacted so already. */
export function toggledOn(message, key, me) {
  const summary = (message.reactions || []).find((r) => r.key === key);
  return !(summary && reactedByMe(summary, me));
}

/**
 * The reactions of a message as buttons, or null when it has none. `nameOf(userId)` names the
 * reactors in each button's title; `onToggle(key, on)` is called on a click.
 */
export function reactionsRow(message, { me, nameOf, onToggle }) {
  const reactions = message.reactions || [];
  if (!reactions.length) return null;
  const row = el('ul', { className: 'reactions', attrs: { 'aria-label': 'Reactions' } });
  for (const summary of reactions) {
    const mine = reactedByMe(summary, me);
    const names = summary.user_ids.map(nameOf);
    const others = summary.count - names.length;
    const who = others > 0 ? `${names.join(', ')} and ${others} more` : names.join(', ');
    const button = el('button', {
      className: mine ? 'reaction mine' : 'reaction',
      attrs: {
        type: 'button',
        'aria-pressed': String(mine),
        'aria-label': `${summary.key} ${summary.count}${mine ? ', yours: take it back' : ''}`,
        title: who,
        'data-focus-key': `reaction:${summary.key}`,
        'data-key': summary.key,
      },
    });
    button.append(el('span', { className: 'reaction-key', text: summary.key }), el('span', { className: 'reaction-count', text: summary.count }));
    button.addEventListener('click', () => onToggle(summary.key, !mine));
    row.append(el('li', {}, [button]));
  }
  return row;
}

/** The picker of common reactions; `onPick(key)` on a choice. */
export function reactionPicker({ onPick }) {
  const picker = el('p', { className: 'reaction-picker', attrs: { role: 'group', 'aria-label': 'Pick a reaction' } });
  for (const key of QUICK_REACTIONS) {
    const button = el('button', { text: key, attrs: { type: 'button', 'aria-label': `React with ${key}`, 'data-focus-key': `pick:${key}` } });
    button.addEventListener('click', () => onPick(key));
    picker.append(button);
  }
  return picker;
}
