// Mentions (API.md §8.2): `@username` in what this user writes, with a picker of the room's
// members as they type `@` (and `@all` for owners and admins), the `mentions` and `mention_all`
// a message is sent with, and mentions shown highlighted in a message (this user's strongly).
// The pure functions come first; the picker works on the composer's text box.

import { el } from './dom.js';

const PICKER_MAX = 8;
const ALL_WORDS = ['all', 'everyone'];
// What a username may hold after the `@` (meta: letters, digits and @ . + - _; `@` ends a token).
const TOKEN = /@([\p{L}\p{N}_.+-]+)/gu;

/** The `@word` being typed just before `caret`, or null: {start, query}. */
export function mentionQuery(text, caret) {
  const before = text.slice(0, caret);
  const match = /(^|\s)@([\p{L}\p{N}_.+-]*)$/u.exec(before);
  if (!match) return null;
  return { start: caret - match[2].length - 1, query: match[2] };
}

/** Members (and `all`, when allowed) whose username or nickname starts with `query`, without
 * regard to case: {user_id (null for all), username, label}, at most 8, this user left out. */
export function mentionCandidates(members, query, { canAll = false, me = null } = {}) {
  const q = query.toLowerCase();
  const found = [];
  if (canAll && ALL_WORDS[0].startsWith(q)) found.push({ user_id: null, username: 'all', label: 'all: everyone in this room' });
  for (const member of members) {
    if (member.user_id === me) continue;
    const nickname = (member.nickname || '').toLowerCase();
    if (member.username.toLowerCase().startsWith(q) || (q && nickname.startsWith(q))) {
      found.push({ user_id: member.user_id, username: member.username, label: member.nickname ? `${member.nickname} (@${member.username})` : `@${member.username}` });
    }
    if (found.length >= PICKER_MAX) break;
  }
  return found;
}

function memberByToken(members, token) {
  const lower = token.toLowerCase();
  const exact = members.find((m) => m.username.toLowerCase() === lower);
  if (exact) return exact;
  // "@bob." at the end of a sentence: the punctuation is not part of the name.
  const trimmed = lower.replace(/[.+-]+$/u, '');
  return trimmed !== lower ? members.find((m) => m.username.toLowerCase() === trimmed) || null : null;
}

/** The `mentions` (member ids, ascending, once each, at most 50) and `mention_all` of a text. */
export function mentionsIn(text, members, { canAll = false } = {}) {
  const ids = new Set();
  let all = false;
  for (const [, token] of text.matchAll(TOKEN)) {
    const lower = token.toLowerCase().replace(/[.+-]+$/u, '');
    if (canAll && ALL_WORDS.includes(lower)) {
      all = true;
      continue;
    }
    const member = memberByToken(members, token);
    if (member) ids.add(member.user_id);
  }
  return { mentions: [...ids].sort((a, b) => a - b).slice(0, 50), mention_all: all };
}

/**
 * `text` as nodes with each `@token` that names a mentioned member (or `@all` of a message that
 * mentions everyone) in a highlighted span; `me` marks this user's own mentions.
 */
export function mentionNodes(text, message, members, me) {
  const mentioned = new Set(message.mentions || []);
  const nodes = [];
  let last = 0;
  for (const match of text.matchAll(TOKEN)) {
    const member = memberByToken(members, match[1]);
    const everyone = message.mention_all && ALL_WORDS.includes(match[1].toLowerCase().replace(/[.+-]+$/u, ''));
    if (!everyone && !(member && mentioned.has(member.user_id))) continue;
    const length = member ? 1 + member.username.length : match[0].length;
    if (match.index > last) nodes.push(text.slice(last, match.index));
    const mine = everyone || member.user_id === me;
    nodes.push(el('span', { className: mine ? 'mention mention-me' : 'mention', text: text.slice(match.index, match.index + length) }));
    last = match.index + length;
  }
  if (!nodes.length) return null;
  if (last < text.length) nodes.push(text.slice(last));
  return nodes;
}

/**
 * The picker on the composer's text box. Needs: members() of the open room, canAll() (owner or
 * admin of it), me(). Keys: arrows move, Enter or Tab picks, Escape closes; a click picks.
 */
export function createMentionPicker({ input, form, members, canAll, me }) {
  const list = el('ul', { className: 'mention-picker', attrs: { id: 'mention-picker', role: 'listbox', 'aria-label': 'People to mention' } });
  list.hidden = true;
  form.prepend(list);
  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-controls', 'mention-picker');
  let options = [];
  let active = 0;
  let query = null;

  function close() {
    list.hidden = true;
    options = [];
    query = null;
    input.removeAttribute('aria-activedescendant');
    input.setAttribute('aria-expanded', 'false');
  }

  function render() {
    list.replaceChildren();
    options.forEach((option, index) => {
      const item = el('li', {
        text: option.label,
        attrs: { id: `mention-option-${index}`, role: 'option', 'aria-selected': String(index === active), 'data-username': option.username },
      });
      item.addEventListener('mousedown', (event) => {
        event.preventDefault(); // keep the focus in the text box
        pick(index);
      });
      list.append(item);
    });
    list.hidden = !options.length;
    input.setAttribute('aria-expanded', String(Boolean(options.length)));
    if (options.length) input.setAttribute('aria-activedescendant', `mention-option-${active}`);
  }

  function update() {
    query = mentionQuery(input.value, input.selectionStart ?? input.value.length);
    if (!query) {
      close();
      return;
    }
    options = mentionCandidates(members(), query.query, { canAll: canAll(), me: me() });
    active = 0;
    render();
  }

  function pick(index) {
    const option = options[index];
    if (!option || !query) return;
    const caret = input.selectionStart ?? input.value.length;
    const inserted = `@${option.username} `;
    input.value = input.value.slice(0, query.start) + inserted + input.value.slice(caret);
    const at = query.start + inserted.length;
    input.setSelectionRange(at, at);
    close();
    input.focus();
  }

  input.addEventListener('input', update);
  // Focus leaving the text box (not just passing through it) closes the picker.
  input.addEventListener('blur', () =>
    setTimeout(() => {
      if (document.activeElement !== input) close();
    }, 100),
  );
  // On the form, in the capture phase: before the text box's own Enter (send) sees the key.
  form.addEventListener(
    'keydown',
    (event) => {
      if (event.target !== input || list.hidden || !options.length) return;
      if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
        active = (active + (event.key === 'ArrowDown' ? 1 : options.length - 1)) % options.length;
        render();
      } else if (event.key === 'Enter' || event.key === 'Tab') {
        pick(active);
      } else if (event.key === 'Escape') {
        close();
      } else {
        return;
      }
      event.preventDefault();
      event.stopPropagation();
    },
    true,
  );

  return { close };
}
