// End to end in headless Chromium: two people in two browser contexts register and log in
// through the page, chat live, one closes the tab and comes back to exactly what it missed,
// then asks to join an approval group and is let in by the other.
//
//   node tests/browser/chat_e2e.mjs http://127.0.0.1:8000 /tmp/shots
//
// Prints one line per step and, last, one line `RESULT {json}` with what each user saw, for
// the calling test to check. Exits 1 (after saving screenshots of every page) on failure.
// CHROMIUM_PATH overrides /usr/bin/chromium; CHAT_E2E_SUFFIX fixes the usernames' suffix.

import path from 'node:path';
import { chromium } from 'playwright-core';

import { STEP_TIMEOUT_MS, e2eKit } from './e2e_kit.mjs';

const [baseUrl, shotDir] = process.argv.slice(2);
if (!baseUrl || !shotDir) {
  console.error('usage: node chat_e2e.mjs BASE_URL SCREENSHOT_DIR');
  process.exit(2);
}
const { step, check, openPage, register, login, failure, finish } = e2eKit({ baseUrl, shotDir });

// Fixed by the calling test for an exact comparison; unique otherwise, to rerun on one server.
const suffix = process.env.CHAT_E2E_SUFFIX || Date.now().toString(36).slice(-5);
const alice = { username: `alice_${suffix}`, nickname: 'Alice', password: 'alice-secret' };
const bob = { username: `bob_${suffix}`, nickname: 'Bob', password: 'bob-secret' };
const GROUP = 'Weekend plans';
const CLUB = `Book club ${suffix}`;

/** The ack frames each page's socket sends. */
function watch(page) {
  acksSent.set(page, []);
  page.on('websocket', (ws) => {
    ws.on('framesent', ({ payload }) => {
      try {
        const frame = JSON.parse(String(payload));
        if (frame.type === 'ack') acksSent.get(page).push(frame);
      } catch {
        // not JSON: not the client's
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

/** Type and send with Enter, then wait until the server stored it (the bubble has its id). */
async function send(page, text) {
  const box = page.getByLabel('Message', { exact: true });
  await box.fill(text);
  await box.press('Enter');
  await page.locator('#messages li.message[data-id]', { hasText: text }).waitFor();
}

async function waitForMessage(page, text) {
  await page.locator('#messages li.message[data-id]', { hasText: text }).waitFor();
}

/** The texts of the open room's messages as the page shows them, top to bottom. */
async function transcript(page) {
  return page.locator('#messages li.message .text').allTextContents();
}

const acksSent = new Map(); // page -> [{room_id, seq}] its sockets sent

/** Waits until the page's socket has confirmed `seq` in the room with a cumulative ack. */
async function waitForAck(page, roomId, seq) {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  while (!(acksSent.get(page) || []).some((ack) => ack.room_id === roomId && ack.seq >= seq)) {
    if (Date.now() > deadline) throw new Error(`no ack of seq ${seq} in room ${roomId}`);
    await page.waitForTimeout(20);
  }
  // The gateway writes confirmations to the database in batches (DELIVERY_CONFIRM_FLUSH_SECONDS,
  // 0.2 s on the test server); until then a new socket would be sent them again.
  await page.waitForTimeout(600);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});

const result = {};
let failed = false;
try {
  // Alice on a desktop-sized window, Bob on a phone-sized one (the one-column layout).
  const aliceContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const bobContext = await browser.newContext({ viewport: { width: 400, height: 780 }, hasTouch: true });

  step('both open the page and create accounts');
  const a = await openPage(aliceContext, 'alice', watch);
  let b = await openPage(bobContext, 'bob', watch);
  const [aliceId, bobId] = await Promise.all([register(a, alice), register(b, bob)]);
  check(aliceId > 0 && bobId > 0 && aliceId !== bobId, `user ids ${aliceId}, ${bobId}`);

  step(`alice (#${aliceId}) creates "${GROUP}" with bob (#${bobId})`);
  await a.getByText('New group or private chat').click();
  await a.getByLabel('Group name', { exact: true }).fill(GROUP);
  await a.getByLabel("Members' user ids (optional)").fill(String(bobId));
  await a.getByRole('button', { name: 'Create group' }).click();
  await a.locator('#room-title', { hasText: GROUP }).waitFor();
  await a.locator('#history-status', { hasText: 'No messages yet' }).waitFor();
  const roomId = Number(await roomButton(a, GROUP).getAttribute('data-room-id'));

  step('bob sees the new group appear (member_added notice) and opens it');
  await roomButton(b, GROUP).waitFor();
  await openRoom(b, GROUP);

  step('alice writes; bob sees it live');
  await send(a, 'Hi Bob! Hiking on Saturday?');
  await waitForMessage(b, 'Hi Bob! Hiking on Saturday?');

  step('bob answers; alice sees it live');
  await send(b, "Yes! I'll bring crêpes for everyone.");
  await waitForMessage(a, "Yes! I'll bring crêpes for everyone.");
  await waitForAck(b, roomId, 2); // bob confirmed both messages: nothing of them is owed to him

  step('bob closes his tab; alice writes three more messages');
  await b.close();
  const missed = ['Meet at the station at 9.', 'Bring a raincoat, <b>just in case</b>.', 'The trail is 12 km long.'];
  for (const text of missed) await send(a, text);

  step('bob opens a new tab, logs in again and sees what he missed');
  b = await openPage(bobContext, 'bob-again', watch);
  await login(b, bob);
  // The three came over the socket (a batch frame) before he opened the room.
  const badge = roomButton(b, GROUP).locator('.visually-hidden', { hasText: 'unread' });
  await badge.waitFor();
  result.bob_unread_label = (await badge.textContent()).trim();
  await openRoom(b, GROUP);
  await waitForMessage(b, missed[2]);
  result.bob_after_return = await transcript(b);
  result.bob_bold_elements = await b.locator('#messages b').count();

  step('bob answers from the new tab; alice sees it live');
  await send(b, 'Back! Got all three.');
  await waitForMessage(a, 'Back! Got all three.');
  result.alice_transcript = await transcript(a);
  // Alice's member list shows Bob online: he just wrote (the list refreshes on that).
  await a.locator(`#member-list li.member.online[data-user-id="${bobId}"]`).waitFor();
  result.alice_sees_bob_online = true;

  step('screenshots of the conversation');
  await a.getByText('New group or private chat').click(); // fold the form away for the picture
  await a.screenshot({ path: path.join(shotDir, 'chat-view.png') });
  await b.screenshot({ path: path.join(shotDir, 'chat-view-mobile.png') });

  step(`alice creates "${CLUB}", which needs approval`);
  await a.getByText('New group or private chat').click();
  await a.getByLabel('Group name', { exact: true }).fill(CLUB);
  await a.getByLabel('Who may join').selectOption('approval');
  await a.getByRole('button', { name: 'Create group' }).click();
  await a.locator('#room-title', { hasText: CLUB }).waitFor();
  await a.locator('#requests-empty:visible').waitFor();

  step('bob finds it and asks to join');
  await b.getByRole('button', { name: 'Rooms' }).click();
  await b.getByText('Find groups').click();
  await b.getByLabel('Group name contains').fill(`club ${suffix}`);
  await b.getByRole('button', { name: 'Search' }).click();
  await b.getByLabel(`Message for the admins of ${CLUB} (optional)`).fill('I read a lot!');
  await b.getByRole('button', { name: `Ask to join ${CLUB}` }).click();
  await b.getByText('Request sent').waitFor();

  step('alice sees the request live and approves it; bob is let in');
  const request = a.locator('#request-list li.request', { hasText: bob.nickname });
  await request.waitFor();
  result.alice_request_text = (await request.textContent()).replace(/\s+/g, ' ').trim();
  await a.getByRole('button', { name: `Approve ${bob.nickname}` }).click();
  await request.waitFor({ state: 'detached' });
  await roomButton(b, CLUB).waitFor();
  await a.locator(`#member-list li.member[data-user-id="${bobId}"]`).waitFor();
  result.bob_rooms = await b.locator('#room-list .room-name').allTextContents();

  step('alice fills the club with 60 messages, reloads (still logged in) and scrolls up');
  const clubId = Number(await roomButton(a, CLUB).getAttribute('data-room-id'));
  // Sent from the page with its own token, five at a time: which one gets which seq is the
  // server's choice, so the check below reads the order from data-seq, not from the text.
  await a.evaluate(async (roomId) => {
    const { token } = JSON.parse(sessionStorage.getItem('chat.session'));
    const sendOne = async (i) => {
      const response = await fetch('/api/chat/send_message', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
        body: JSON.stringify({ room_id: roomId, content: { type: 'text', text: `Chapter ${i}` } }),
      });
      if (!response.ok) throw new Error(`send ${i}: ${response.status}`);
    };
    for (let i = 1; i <= 60; i += 5) await Promise.all([0, 1, 2, 3, 4].map((k) => sendOne(i + k)));
  }, clubId);
  await waitForMessage(a, 'Chapter 60');
  await waitForAck(a, clubId, 60); // so that the reloaded page is not sent them again
  await a.reload();
  await a.locator('#connection[data-state="online"]').waitFor();
  await openRoom(a, CLUB);
  await waitForMessage(a, 'Chapter 60');
  const history = a.locator('#messages li.message');
  result.alice_history_first_page = await history.count();
  await a.locator('#history').evaluate((node) => {
    node.scrollTop = 0;
  });
  await a.locator('#history-status', { hasText: 'Start of the conversation.' }).waitFor();
  const seqs = (await history.evaluateAll((nodes) => nodes.map((node) => Number(node.dataset.seq))));
  const chapters = new Set(await transcript(a));
  result.alice_history_in_order =
    seqs.length === 60 && seqs.every((seq, i) => seq === i + 1) && chapters.size === 60 && chapters.has('Chapter 1');
} catch (error) {
  failed = true;
  await failure(error);
} finally {
  await browser.close();
}
finish(result, failed);
