// Pure helpers for what the client shows and reads: times, safe links, user ids typed into
// forms, new client message ids, role names, and the wording and retry policy of errors.
// No DOM, no state.

import { ApiError } from './api.js';

export const ROLE_NAMES = { 0: 'owner', 1: 'admin', 2: 'member' };

export const roleName = (role) => ROLE_NAMES[role] || 'member';

/** A fresh client_msg_id: `web-` and 32 hex digits. */
export function clientMsgId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes); // randomUUID needs a secure context; this does not
  return `web-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

const DEVICE_KEY = 'chat.device';
const DEVICE_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * This tab's device id (API.md §7.2), kept in `storage` (sessionStorage: a reloaded tab keeps
 * it, a new tab is a device of its own): the server then owes the tab everything it has not
 * confirmed itself, whatever the user's other tabs and devices read.
 */
export function deviceId(storage) {
  let id = storage.getItem(DEVICE_KEY);
  if (!id || !DEVICE_ID.test(id)) {
    id = clientMsgId().replace('web-', 'tab-');
    storage.setItem(DEVICE_KEY, id);
  }
  return id;
}

/** The URL when it is http(s), else null: no javascript: or data: links from messages. */
export function safeHttpUrl(raw) {
  try {
    const url = new URL(String(raw));
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

/** A message's time: the hour today, else a short date and hour; '' when not a date. */
export function formatTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const today = new Date();
  const sameDay = date.toDateString() === today.toDateString();
  return sameDay
    ? date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : date.toLocaleString([], { dateStyle: 'short', timeStyle: 'short' });
}

/** A file size for people: 512 B, 3.4 KB, 12 MB. */
export function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

export function errorText(error) {
  return error instanceof ApiError ? error.describe() : 'Something went wrong. Please try again.';
}

/** Whether a failed send may be retried: no answer, too many requests, or a server error. */
export function isRetryable(error) {
  return error instanceof ApiError && (error.status === 0 || error.status === 429 || error.status >= 500);
}

/** User ids typed into a form ("2, 5"), without repeats; an ApiError (400) when malformed. */
export function parseIds(raw) {
  const parts = raw.split(/[\s,;]+/).filter(Boolean);
  if (!parts.every((part) => /^[0-9]{1,15}$/.test(part) && Number(part) > 0)) {
    throw new ApiError(400, 'User ids are whole numbers, like 2, 5');
  }
  return [...new Set(parts.map(Number))];
}
