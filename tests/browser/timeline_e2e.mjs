// The life of a message end to end in headless Chromium, as new users would try it: Alice and
// Bob in two browsers reply (quoted, with a mention picked from the members), edit, delete
// (their own, and the owner someone else's), react, pin and search (a result far back in the
// history opens at the message); Carol, offline throughout, comes back and gets every message
// and update in seq order, each message as it is now.
//
//   node tests/browser/timeline_e2e.mjs http://127.0.0.1:8000 /tmp/shots
//
// Prints one line per step and, last, `RESULT {json}` with what each user saw, for the calling
// test to check. Exits 1 (after saving screenshots of every page) on failure.

import path from 'node:path';
import { chromium } from 'playwright-core';

import { e2eKit } from './e2e_kit.mjs';

const [baseUrl, shotDir] = process.argv.slice(2);
if (!baseUrl || !shotDir) {
  console.error('usage: node timeline_e2e.mjs BASE_URL SCREENSHOT_DIR');
  process.exit(2);
}
const { step, check, openPage, register, login, failure, finish } = e2eKit({ baseUrl, shotDir });

const suffix = process.env.CHAT_E2E_SUFFIX || Date.now().toString(36).slice(-5);
const alice = { username: `alice_${suffix}`, nickname: 'Alice', password: 'alice-secret' };
const bob = { username: `bob_${suffix}`, nickname: 'Bob', password: 'bob-secret' };
const carol = { username: `carol_${suffix}`, nickname: 'Carol', password: 'carol-secret' };
const GROUP = 'Lunch club';
const FILLER = 55;

const framesOf = new Map(); // page -> frames its sockets received

/** The frames each page's socket receives. */
function watch(page) {
  framesOf.set(page, []);
  page.on('websocket', (ws) => {
    ws.on('framereceived', ({ payload }) => {
      try {
        framesOf.get(page).push(JSON.parse(String(payload)));
      } catch {
        // not JSON
      }
    });
  });
}

const roomButton = (page, name) => page.locator('#room-list button', { has: page.locator('.room-name', { hasText: name }) });

async function openRoom(page, name) {
  await roomButton(page, name).click();
  await page.locator('#room-title', { hasText: name }).waitFor();
  await page.locator('#history[data-loaded="true"]').waitFor({ state: 'attached' });
}

const bubble = (page, text) => page.locator('#messages li.message[data-id]', { hasText: text });
const bubbleById = (page, id) => page.locator(`#messages li.message[data-id="${id}"]`);

async function send(page, text) {
  const box = page.getByLabel('Message', { exact: true });
  await box.fill(text);
  await box.press('Enter');
  await bubble(page, text).waitFor();
  return Number(await bubble(page, text).getAttribute('data-id'));
}

/** The open room's messages as shown: text (or the deleted note), quote, reactions, marks. */
async function shownMessages(page) {
  return page.locator('#messages li.message[data-id]').evaluateAll((nodes) =>
    nodes.map((node) => ({
      seq: Number(node.dataset.seq),
      text: (node.querySelector(':scope > .text') || node.querySelector(':scope > .deleted-note'))?.textContent ?? '',
      quote: node.querySelector(':scope > .quote')?.textContent ?? null,
      reactions: [...node.querySelectorAll('.reaction')].map((r) => `${r.dataset.key}${r.querySelector('.reaction-count').textContent}`),
      edited: Boolean(node.querySelector('.edited-mark')),
      pinned: node.classList.contains('pinned'),
      deleted: node.classList.contains('deleted'),
    })),
  );
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

const result = {};
let failed = false;
try {
  const viewport = { width: 1280, height: 800 };
  const [aliceContext, bobContext, carolContext] = await Promise.all([1, 2, 3].map(() => browser.newContext({ viewport })));

  step('three people create accounts; Alice starts a group with Bob and Carol');
  const a = await openPage(aliceContext, 'alice', watch);
  let b = await openPage(bobContext, 'bob', watch);
  let c = await openPage(carolContext, 'carol', watch);
  const [aliceId, bobId, carolId] = await Promise.all([register(a, alice), register(b, bob), register(c, carol)]);
  await a.getByText('New group or private chat').click();
  await a.getByLabel('Group name', { exact: true }).fill(GROUP);
  await a.getByLabel("Members' user ids (optional)").fill(`${bobId}, ${carolId}`);
  await a.getByRole('button', { name: 'Create group' }).click();
  await a.locator('#room-title', { hasText: GROUP }).waitFor();
  const roomId = Number(await roomButton(a, GROUP).getAttribute('data-room-id'));

  step('Carol sees the group, then closes her tab: she stays offline until the end');
  await roomButton(c, GROUP).waitFor();
  await c.close();

  step('Bob opens the group; Alice asks about lunch');
  await roomButton(b, GROUP).waitFor();
  await openRoom(b, GROUP);
  await a.locator('#member-list li.member', { hasText: 'Bob' }).waitFor();
  const lunchId = await send(a, 'Lunch at noon?');
  await bubble(b, 'Lunch at noon?').waitFor();

  step('Bob replies to it, mentioning Alice through the member picker');
  await b.locator('#member-list li.member', { hasText: 'Alice' }).waitFor();
  await bubble(b, 'Lunch at noon?').getByRole('button', { name: 'Reply to Alice' }).click();
  await b.locator('#reply-bar', { hasText: 'Replying to Alice: Lunch at noon?' }).waitFor();
  const box = b.getByLabel('Message', { exact: true });
  await box.pressSequentially('Yes! @ali');
  const option = b.locator('#mention-picker [role="option"]', { hasText: alice.username });
  await option.waitFor();
  result.picker_options = await b.locator('#mention-picker [role="option"]').allTextContents();
  await box.press('Enter'); // picks the mention, does not send
  await box.pressSequentially('where?');
  result.composed = await box.inputValue();
  await box.press('Enter');
  const replyText = `Yes! @${alice.username} where?`;
  await bubble(b, replyText).waitFor();
  const replyId = Number(await bubble(b, replyText).getAttribute('data-id'));
  check((await b.locator('#reply-bar').isHidden()), 'the reply bar goes once sent');

  step('Alice sees the quote and her name highlighted');
  const aliceSeesReply = bubble(a, replyText);
  await aliceSeesReply.waitFor();
  result.alice_reply_quote = (await aliceSeesReply.locator('.quote').textContent()).trim();
  result.alice_mentioned = await aliceSeesReply.evaluate((node) => node.classList.contains('mentions-me'));
  result.alice_mention_span = await aliceSeesReply.locator('.mention-me').textContent();

  step('Alice edits her question; Bob sees the new text, marked edited, and his quote follows');
  await bubble(a, 'Lunch at noon?').getByRole('button', { name: 'Edit your message' }).click();
  const editBox = bubbleById(a, lunchId).getByLabel('Edit message');
  await editBox.fill('Lunch at 12:30?');
  await editBox.press('Enter');
  await bubble(b, 'Lunch at 12:30?').locator('.edited-mark').waitFor();
  await bubbleById(b, replyId).locator('.quote', { hasText: 'Lunch at 12:30?' }).waitFor();

  step('Bob reacts 👍; Alice adds hers, then takes it back');
  await bubbleById(b, lunchId).getByRole('button', { name: 'React to this message' }).click();
  await bubbleById(b, lunchId).getByRole('button', { name: 'React with 👍' }).click();
  await bubbleById(a, lunchId).locator('.reaction[data-key="👍"] .reaction-count', { hasText: '1' }).waitFor();
  await bubbleById(a, lunchId).locator('.reaction[data-key="👍"]').click();
  await bubbleById(b, lunchId).locator('.reaction[data-key="👍"] .reaction-count', { hasText: '2' }).waitFor();
  result.alice_pressed = await bubbleById(a, lunchId).locator('.reaction[data-key="👍"]').getAttribute('aria-pressed');
  await bubbleById(a, lunchId).locator('.reaction[data-key="👍"]').click();
  await bubbleById(b, lunchId).locator('.reaction[data-key="👍"] .reaction-count', { hasText: '1' }).waitFor();

  step('Alice (the owner) pins Bob’s reply; both see it pinned');
  await bubbleById(a, replyId).getByRole('button', { name: 'Pin this message' }).click();
  await b.locator('#pins-summary', { hasText: 'Pinned messages (1)' }).waitFor();
  await a.locator('#pins-summary', { hasText: 'Pinned messages (1)' }).waitFor();
  result.bob_pins = await b.locator('#pin-list .pin').allTextContents();
  check((await bubbleById(b, replyId).getByRole('button', { name: 'Pin this message' }).count()) === 0, 'members have no Pin');

  step('Bob deletes his own slip; Alice deletes Bob’s spam as the owner');
  const slipId = await send(b, 'oops, wrong chat');
  await bubbleById(a, slipId).waitFor();
  await bubbleById(b, slipId).getByRole('button', { name: 'Delete this message for everyone' }).click();
  await bubbleById(b, slipId).getByRole('button', { name: 'Yes, delete this message for everyone' }).click();
  await bubbleById(a, slipId).locator('.deleted-note').waitFor();
  const spamId = await send(b, 'BUY CHEAP WATCHES');
  await bubbleById(a, spamId).getByRole('button', { name: 'Delete this message for everyone' }).click();
  await bubbleById(a, spamId).getByRole('button', { name: 'Yes, delete this message for everyone' }).click();
  await bubbleById(b, spamId).locator('.deleted-note').waitFor();
  check((await bubbleById(b, lunchId).getByRole('button', { name: 'Delete this message for everyone' }).count()) === 0, 'a member deletes no owner’s message');

  step(`Alice writes ${FILLER} more messages; Bob reloads, so the lunch question is far back`);
  await a.evaluate(
    async ({ roomId, count }) => {
      const { token } = JSON.parse(sessionStorage.getItem('chat.session'));
      for (let i = 1; i <= count; i += 1) {
        const response = await fetch('/api/chat/send_message', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
          body: JSON.stringify({ room_id: roomId, content: { type: 'text', text: `note ${i}` } }),
        });
        if (!response.ok) throw new Error(`send ${i}: ${response.status}`);
      }
    },
    { roomId, count: FILLER },
  );
  await bubble(a, `note ${FILLER}`).waitFor();
  await b.reload();
  await b.locator('#connection[data-state="online"]').waitFor();
  await openRoom(b, GROUP);
  await bubble(b, `note ${FILLER}`).waitFor();
  result.bob_lunch_loaded_before_search = await bubbleById(b, lunchId).count();

  step('Bob searches for lunch and jumps to the message');
  await b.getByText('Search messages').click();
  await b.getByLabel('Words to find').fill('lunch');
  await b.locator('#message-search-form').getByRole('button', { name: 'Search' }).click();
  const hit = b.locator('#message-search-results .search-hit', { hasText: 'Lunch at 12:30?' });
  await hit.waitFor();
  result.search_summary = await b.locator('#message-search-summary').textContent();
  await hit.click();
  await b.locator(`#messages li.message.highlight[data-id="${lunchId}"]`).waitFor();
  result.bob_jumped_focus = (await b.evaluate(() => document.activeElement?.dataset?.id ?? null)) === String(lunchId);
  await b.screenshot({ path: path.join(shotDir, 'timeline-view.png') });

  step('Carol comes back in a new tab and gets everything in order, as it is now');
  const lastSeq = await a.evaluate(async (roomId) => {
    const { token } = JSON.parse(sessionStorage.getItem('chat.session'));
    const response = await fetch(`/api/chat/events?room_id=${roomId}&after_seq=0&limit=500`, { headers: { Authorization: `Bearer ${token}` } });
    return (await response.json()).data.last_seq;
  }, roomId);
  c = await openPage(carolContext, 'carol-again', watch);
  await login(c, carol);
  await openRoom(c, GROUP);
  await bubble(c, `note ${FILLER}`).waitFor();
  const frames = framesOf.get(c).flatMap((f) => (f.type === 'batch' ? f.payload : [f]));
  const timeline = frames.filter((f) => f.room_id === roomId && (f.type === 'chat' || f.type === 'update'));
  result.carol_seqs_in_order = timeline.map((f) => f.seq).every((seq, i) => seq === i + 1) && timeline.length === lastSeq;
  result.carol_update_events = timeline.filter((f) => f.type === 'update').map((f) => f.payload.event);
  result.carol_first_frame = framesOf.get(c).find((f) => f.type !== 'system')?.type;
  await c.locator('#messages').getByText('Lunch at 12:30?').first().waitFor();
  const carolView = (await shownMessages(c)).filter((m) => !m.text.startsWith('note '));
  result.carol_view = carolView;
  await c.locator('#pin-list .pin', { hasText: 'Bob:' }).waitFor({ state: 'attached' }); // named once the members are read
  result.carol_pins = await c.locator('#pin-list .pin').allTextContents();
  await c.screenshot({ path: path.join(shotDir, 'timeline-catch-up.png') });
  result.ids = { alice: aliceId > 0, lunch: lunchId > 0 };
} catch (error) {
  failed = true;
  await failure(error);
} finally {
  await browser.close();
}
finish(result, failed);
