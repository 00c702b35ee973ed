// End to end in headless Chromium, as new users would: Alice and Bob find each other by name,
// exchange a photo (Attach) and a PDF (dropped onto the conversation), Alice reports Bob's
// message, Bob blocks Alice (her next message is refused), and a moderator acts on the
// report in the Django admin.
//
//   CHAT_STAFF_USERNAME=mod CHAT_STAFF_PASSWORD=... node tests/browser/people_e2e.mjs http://127.0.0.1:8000 /tmp/shots
//
// Prints one line per step and, last, `RESULT {json}` with what each person saw.

import path from 'node:path';
import zlib from 'node:zlib';
import { chromium } from 'playwright-core';

import { e2eKit } from './e2e_kit.mjs';

const [baseUrl, shotDir] = process.argv.slice(2);
if (!baseUrl || !shotDir) {
  console.error('usage: node people_e2e.mjs BASE_URL SCREENSHOT_DIR');
  process.exit(2);
}
// Expected: Alice's message into the frozen chat (403), and the admin's missing favicon (404).
const expectedError = (label, text) => text.includes('403') || (label === 'staff' && text.includes('404'));
const { step, check, track, openPage, register, failure, finish } = e2eKit({ baseUrl, shotDir, expectedError });

const suffix = process.env.CHAT_E2E_SUFFIX || Date.now().toString(36).slice(-5);
const alice = { username: `alice_${suffix}`, nickname: 'Alice', password: 'alice-secret' };
const bob = { username: `bob_${suffix}`, nickname: 'Bob', password: 'bob-secret' };
const staff = { username: process.env.CHAT_STAFF_USERNAME, password: process.env.CHAT_STAFF_PASSWORD };

/** A small real PNG (width x height, red): what a phone's photo is to the server. */
function png(width, height) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (bytes) => {
    let c = 0xffffffff;
    for (const b of bytes) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4, 'ascii');
    data.copy(out, 8);
    out.writeUInt32BE(crc(out.subarray(4, 8 + data.length)), 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const rows = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y += 1) for (let x = 0; x < width; x += 1) rows[y * (width * 3 + 1) + 1 + x * 3] = 220;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', zlib.deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const PDF = '%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n';

function watch(page) {
  page.on('dialog', (dialog) => dialog.accept()); // "Block Alice?"
}

const message = (page, text) => page.locator('#messages li.message[data-id]', { hasText: text });

/** Whether the image of the newest image message on the page is loaded (through its signed URL). */
async function imageShown(page) {
  const image = page.locator('#messages li.message[data-id] img.attachment').last();
  await image.waitFor();
  await page.waitForFunction((node) => node.complete && node.naturalWidth > 0, await image.elementHandle());
  return image.evaluate((node) => ({ width: node.naturalWidth, height: node.naturalHeight, sameOrigin: new URL(node.src).origin === window.location.origin }));
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

const result = {};
let failed = false;
try {
  const a = await openPage(await browser.newContext({ viewport: { width: 1280, height: 860 } }), 'alice', watch);
  const b = await openPage(await browser.newContext({ viewport: { width: 1280, height: 860 } }), 'bob', watch);

  step('both create accounts');
  await Promise.all([register(a, alice), register(b, bob)]);

  step('alice finds bob by name and starts a private chat');
  await a.getByText('Find people').click();
  await a.getByLabel('Name or username starts with').fill('bob');
  await a.getByRole('button', { name: 'Search', exact: true }).first().click();
  const found = a.locator('#people-results li.person');
  await found.first().waitFor();
  result.alice_found = await found.locator('.member-name').allTextContents();
  await a.getByRole('button', { name: `Message ${bob.nickname}` }).click();
  await a.locator('#room-title', { hasText: `${bob.nickname} (private)` }).waitFor();

  step('alice sends a photo with Attach');
  await a.locator('#attach-input').setInputFiles({ name: 'holiday.png', mimeType: 'image/png', buffer: png(40, 30) });
  result.alice_photo = await imageShown(a);

  step('bob sees the chat appear with the photo inline');
  await b.locator('#room-list button', { hasText: alice.nickname }).click();
  await b.locator('#room-title', { hasText: `${alice.nickname} (private)` }).waitFor();
  result.bob_photo = await imageShown(b);

  step('bob drops a PDF onto the conversation');
  await b.evaluate((text) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([text], 'minutes.pdf', { type: 'application/pdf' }));
    const chat = document.querySelector('.chat');
    chat.dispatchEvent(new DragEvent('dragover', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    chat.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, PDF);
  await message(b, 'minutes.pdf').waitFor();

  step('alice gets the PDF as a download with nosniff');
  const pdfLink = message(a, 'minutes.pdf').locator('a', { hasText: 'minutes.pdf' });
  await pdfLink.waitFor();
  result.alice_pdf = await a.evaluate(async (href) => {
    const response = await fetch(href);
    return {
      status: response.status,
      type: response.headers.get('content-type'),
      nosniff: response.headers.get('x-content-type-options'),
      disposition: response.headers.get('content-disposition').split(';')[0],
      starts: (await response.text()).slice(0, 8),
    };
  }, await pdfLink.getAttribute('href'));

  step('alice reports bob\'s message');
  const bobsMessage = message(a, 'minutes.pdf');
  await bobsMessage.locator('summary', { hasText: 'More' }).click();
  await bobsMessage.getByRole('button', { name: 'Report' }).click();
  await bobsMessage.getByLabel('Why?').selectOption('abuse');
  await bobsMessage.getByLabel('Anything to add (optional)').fill('not for me');
  await bobsMessage.getByRole('button', { name: 'Send report' }).click();
  await a.locator('#toasts li', { hasText: 'the moderators will look at this message' }).waitFor();

  step('bob blocks alice from her photo');
  const alicesPhoto = b.locator('#messages li.message[data-id]', { has: b.locator('img.attachment') });
  await alicesPhoto.locator('summary', { hasText: 'More' }).click();
  await alicesPhoto.getByRole('button', { name: `Block ${alice.nickname}` }).click();
  await b.locator('#toasts li', { hasText: `You blocked ${alice.nickname}` }).waitFor();
  await b.locator('#profile-panel summary').click();
  await b.locator('#blocked-list li', { hasText: alice.nickname }).waitFor();
  result.bob_blocks = await b.locator('#blocked-list .member-name').allTextContents();

  step('alice\'s next message is refused without saying who blocked');
  const box = a.getByLabel('Message', { exact: true });
  await box.fill('Are you there?');
  await box.press('Enter');
  const refused = a.locator('#messages li.message.pending.failed .status');
  await refused.waitFor();
  result.alice_refused = (await refused.textContent()).replace(/room \d+/, 'room N');

  step('a moderator acts on the report in the admin');
  const m = track('staff', await (await browser.newContext()).newPage(), watch);
  await m.goto(`${baseUrl}/admin/login/?next=/admin/`);
  await m.getByLabel('Username').fill(staff.username);
  await m.getByLabel('Password').fill(staff.password);
  await m.getByRole('button', { name: 'Log in' }).click();
  result.admin_open_reports = Number(await m.locator('#open-report-count').textContent());
  await m.getByRole('link', { name: 'Open reports' }).click();
  const row = m.locator('#result_list tbody tr').first();
  await row.waitFor();
  result.admin_queue_row = (await row.locator('td').allTextContents()).slice(1, 6).map((t) => t.trim());
  await row.locator('input[type="checkbox"]').check();
  await m.locator('select[name="action"]').selectOption({ label: 'Mute the sender in the room for 24 hours' });
  await m.getByRole('button', { name: 'Go' }).click();
  result.admin_message = (await m.locator('ul.messagelist li').first().textContent()).trim().replace(/#\d+/, '#N');
  await m.goto(`${baseUrl}/admin/reports/moderationaction/`);
  await m.locator('#result_list tbody tr').first().waitFor();
  result.admin_log = (await m.locator('#result_list tbody tr').first().locator('td').allTextContents()).slice(0, 3).map((t) => t.trim());
  await a.screenshot({ path: path.join(shotDir, 'people-alice.png') });
  await b.screenshot({ path: path.join(shotDir, 'people-bob.png') });
} catch (error) {
  failed = true;
  await failure(error);
} finally {
  await browser.close();
}
finish(result, failed);
