// The browser client's issue-14 helpers without a browser: `node --test
// tests/browser/people_logic.test.mjs` (tests/browser/test_people_logic.py runs it).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { formatSize } from '../../gateway/static/gateway/format.js';
import { inviteCode, inviteLink, maySend } from '../../gateway/static/gateway/settings.js';
import { createState } from '../../gateway/static/gateway/state.js';
import { contentForUpload } from '../../gateway/static/gateway/uploads.js';

globalThis.window = { location: { origin: 'http://chat.test', href: 'http://chat.test/', protocol: 'http:' } };

test('an uploaded image becomes an image message, anything else a file message', () => {
  const url = 'http://chat.test/api/chat/files/k/1/s';
  assert.deepEqual(contentForUpload({ url, file_name: 'a.png', size: 10, content_type: 'image/png', width: 4, height: 3 }), {
    type: 'image',
    url,
    width: 4,
    height: 3,
  });
  assert.deepEqual(contentForUpload({ url, file_name: 'a.pdf', size: 99, content_type: 'application/pdf' }), {
    type: 'file',
    url,
    file_name: 'a.pdf',
    size: 99,
  });
  // An "image" the server kept as a download (too many pixels) has no dimensions: a file.
  assert.equal(contentForUpload({ url, file_name: 'big.png', size: 5, content_type: 'application/octet-stream' }).type, 'file');
});

test('invite codes come from a link or stand alone; anything else is none', () => {
  assert.equal(inviteCode('http://chat.test/#invite=AbC_12-x'), 'AbC_12-x');
  assert.equal(inviteCode('  AbC_12-x '), 'AbC_12-x');
  assert.equal(inviteCode('#invite='), null);
  assert.equal(inviteCode('not a code'), null);
  assert.equal(inviteCode('x'.repeat(65)), null);
  assert.equal(inviteLink('AbC'), 'http://chat.test/#invite=AbC');
});

test('in an announcements-only group only managers may write', () => {
  const state = createState();
  state.rooms.set(1, { id: 1, is_group: true, role: 2 });
  state.rooms.set(2, { id: 2, is_group: true, role: 1 });
  state.rooms.set(3, { id: 3, is_group: false, role: 2 });
  assert.equal(maySend(state, 1), true); // settings not read yet: the server decides
  for (const id of [1, 2, 3]) state.settings.set(id, { announcement_only: true });
  assert.deepEqual([1, 2, 3].map((id) => maySend(state, id)), [false, true, true]);
});

test('file sizes read as people say them', () => {
  assert.deepEqual([512, 3482, 12 * 1024 * 1024].map(formatSize), ['512 B', '3.4 KB', '12.0 MB']);
});
