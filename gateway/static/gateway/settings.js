// A group's settings and invite links: reading the open room's settings (who may write: an
// announcements-only group keeps the message box of plain members closed), the settings form
// and the invite links for owners and admins, `settings_changed` notices, and joining a group
// with an invite link (the form, or a page opened at `#invite=<code>`).

import { $, el, onSubmit, setFormError } from './dom.js';
import { errorText, formatTime } from './format.js';
import { toast } from './notices.js';
import { isManager, roomName } from './state.js';

const INVITE_PREFIX = '#invite=';

/** The code in an invite link (`…/#invite=<code>`) or the code itself; null when neither. */
export function inviteCode(text) {
  const raw = String(text || '').trim();
  const at = raw.indexOf(INVITE_PREFIX);
  const code = at >= 0 ? raw.slice(at + INVITE_PREFIX.length) : raw;
  return /^[A-Za-z0-9_-]{1,64}$/.test(code) ? code : null;
}

export const inviteLink = (code) => `${window.location.origin}/${INVITE_PREFIX}${code}`;

/** Whether this user may write in the room now (an announcements-only group: managers only). */
export function maySend(state, roomId) {
  const room = state.rooms.get(roomId);
  const settings = state.settings.get(roomId);
  return !(room && room.is_group && settings?.announcement_only && !isManager(room));
}

/** Needs: loadRooms(), openRoom(roomId), setComposerEnabled(enabled), renderRoomHeader(). */
export function createSettings({ state, api, loadRooms, openRoom, setComposerEnabled, renderRoomHeader }) {
  async function load(roomId) {
    const data = await api.get('/api/chat/group/settings', { room_id: roomId });
    state.settings.set(roomId, data);
    if (state.current === roomId) render();
    if (isManager(state.rooms.get(roomId)) && state.current === roomId) await loadInvites(roomId);
  }

  /** The open room's settings: the composer, and the form for managers. */
  function render() {
    const roomId = state.current;
    const room = state.rooms.get(roomId);
    const settings = state.settings.get(roomId);
    const allowed = maySend(state, roomId);
    setComposerEnabled(roomId !== null && allowed);
    $('composer-note').hidden = allowed;
    $('composer-note').textContent = allowed ? '' : 'Only the owner and admins write in this group (announcements).';
    $('settings-section').hidden = !(settings && isManager(room));
    if (!settings || !isManager(room)) return;
    const form = $('settings-form');
    if (!form.contains(document.activeElement)) {
      form.name.value = settings.name;
      form.policy.value = settings.join_policy;
      form.announce.checked = settings.announcement_only;
      form.history.checked = settings.history_visible;
    }
  }

  /** A `settings_changed` notice. */
  function changed(roomId, notice) {
    const { name, join_policy, announcement_only, history_visible } = notice;
    state.settings.set(roomId, { room_id: roomId, name, join_policy, announcement_only, history_visible });
    const room = state.rooms.get(roomId);
    if (room && room.name !== name) {
      room.name = name;
      state.roomNames.set(roomId, name);
    }
    if ((notice.changed || []).includes('announcement_only') && notice.by !== state.me) {
      toast(announcement_only ? `${name} is now for announcements only.` : `Everyone can write in ${name} again.`);
    }
    loadRooms().catch(() => {});
    if (state.current === roomId) {
      render();
      renderRoomHeader();
    }
  }

  onSubmit('settings-form', 'settings-error', async (form) => {
    const roomId = state.current;
    try {
      const data = await api.post('/api/chat/group/settings', {
        room_id: roomId,
        name: form.name.value.trim(),
        join_policy: form.policy.value,
        announcement_only: form.announce.checked,
        history_visible: form.history.checked,
      });
      state.settings.set(roomId, data);
      toast('Settings saved.');
      await loadRooms();
      render();
    } catch (error) {
      setFormError('settings-error', errorText(error));
    }
  });

  // --- invite links ----------------------------------------------------------------------------

  async function loadInvites(roomId) {
    const data = await api.get('/api/chat/group/invites', { room_id: roomId });
    if (state.current === roomId) renderInvites(data.invites || []);
  }

  function renderInvites(invites) {
    const list = $('invite-list');
    list.replaceChildren();
    for (const invite of invites) {
      const uses = invite.max_uses === null ? `${invite.uses} used` : `${invite.uses} of ${invite.max_uses} used`;
      const revoke = el('button', { className: 'secondary', text: 'Revoke', attrs: { type: 'button', 'aria-label': `Revoke the invite link ${invite.code}` } });
      revoke.addEventListener('click', async () => {
        revoke.disabled = true;
        try {
          await api.post('/api/chat/group/invite/revoke', { code: invite.code });
          await loadInvites(invite.room_id);
        } catch (error) {
          toast(errorText(error));
          revoke.disabled = false;
        }
      });
      list.append(
        el('li', { attrs: { 'data-code': invite.code } }, [
          el('code', { text: inviteLink(invite.code) }),
          el('p', { className: 'hint', text: `${uses} · valid until ${formatTime(invite.expires_at)}` }),
          revoke,
        ]),
      );
    }
  }

  onSubmit('invite-form', 'invite-error', async (form) => {
    const roomId = state.current;
    try {
      const body = { room_id: roomId, expires_in: Number(form.expires.value) };
      const max = form.max.value.trim();
      if (max) {
        if (!/^[0-9]{1,9}$/.test(max) || Number(max) < 1) throw new Error('How many people: a whole number, or empty.');
        body.max_uses = Number(max);
      }
      const invite = await api.post('/api/chat/group/invite', body);
      form.max.value = '';
      await loadInvites(roomId);
      try {
        await navigator.clipboard.writeText(inviteLink(invite.code));
        toast('Invite link created and copied.');
      } catch {
        toast('Invite link created: copy it from the list.');
      }
    } catch (error) {
      setFormError('invite-error', error instanceof Error && !error.status && error.message ? error.message : errorText(error));
    }
  });

  async function joinWithCode(code) {
    const data = await api.post('/api/chat/group/join', { invite_code: code });
    await loadRooms();
    await openRoom(data.room_id);
    toast(`You joined ${roomName(state, data.room_id)}.`);
  }

  onSubmit('invite-join-form', 'invite-join-error', async (form) => {
    const code = inviteCode(form.code.value);
    if (!code) {
      setFormError('invite-join-error', 'Paste an invite link or its code.');
      return;
    }
    try {
      await joinWithCode(code);
      form.reset();
    } catch (error) {
      setFormError('invite-join-error', errorText(error));
    }
  });

  /** A page opened from an invite link joins its group once logged in. */
  async function joinFromLink() {
    const code = window.location.hash.startsWith(INVITE_PREFIX) ? inviteCode(window.location.hash) : null;
    if (!code) return;
    window.history.replaceState(null, '', window.location.pathname);
    try {
      await joinWithCode(code);
    } catch (error) {
      toast(`The invite link did not work: ${errorText(error)}`);
    }
  }

  function clear() {
    $('settings-section').hidden = true;
    $('composer-note').hidden = true;
    $('invite-list').replaceChildren();
  }

  return { load, render, changed, joinFromLink, clear };
}
