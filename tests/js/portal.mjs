// The merchant portal (`/portal`), driven by headless Chromium the way a
// merchant meets it: a partner's page on another origin embeds it in an
// iframe, `/portal#token=<merchant JWT>`, and the merchant creates, finds,
// sends and cancels a payment link there (and double-clicks, as merchants
// do: one link, one cancel). The other account's link is nowhere, the
// layout holds on a desktop and on a phone (portal.png, portal-phone.png,
// portal-revoked.png), the token never shows nor leaves the fragment, and a
// revoked token gets "expired or revoked" and nothing else. Every link the
// run makes is canceled at the end, even when it fails.
//
//   PAYMESH_URL     the gateway, e.g. http://127.0.0.1:8080
//   MERCHANT_TOKEN  a merchant JWT (POST /access_tokens type=merchant)
//   REVOKED_TOKEN   a merchant JWT that has been revoked (DELETE /access_tokens/{id})
//   OTHER_LINK_ID   a payment link of another processing account, which
//                   the merchant must not see
//   SCREENSHOTS     a directory for the PNGs (made if missing)
//   CHROMIUM        the browser (default /usr/bin/chromium, Debian's package)
//
// Prints one JSON line per finished step ({"flow":"created",…}) and
// {"done":true} at the end (exit 0), or {"error":"…"} on the first failed
// expectation (exit 1). Every wait is bounded (15 s), and the whole run too.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { WAIT_MS, Failure, expect, launch, main, print, serveSite } from './harness.mjs';

// Dates are shown with the browser's locale: one fixed locale and zone.
const COMMON = { locale: 'en-US', timezoneId: 'UTC' };
const DESKTOP = { ...COMMON, viewport: { width: 1280, height: 900 } };
const PHONE = { ...COMMON, viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const LINK = { description: 'Portal test', amount: '12.50', shown: '$12.50', type: 'one_time', name: 'Ada Payer', email: 'ada@example.com' };
// Chromium logs a refused fetch (the revoked token's 401) as a failed resource.
const REFUSED = /Failed to load resource: the server responded with a status of 401/;

/** The environment, checked before anything starts. */
function settings() {
  const env = (name) => {
    const value = process.env[name];
    expect(value, `${name} is not set`);
    return value;
  };
  const gateway = new URL(env('PAYMESH_URL')).origin;
  const tokens = { merchant: env('MERCHANT_TOKEN'), revoked: env('REVOKED_TOKEN') };
  for (const [name, token] of Object.entries(tokens)) {
    expect(/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token), `the ${name} token is not a JWT`);
  }
  expect(tokens.merchant !== tokens.revoked, 'MERCHANT_TOKEN and REVOKED_TOKEN must be two tokens');
  return {
    gateway,
    tokens,
    otherLink: env('OTHER_LINK_ID'),
    screenshots: env('SCREENSHOTS'),
    executable: process.env.CHROMIUM || '/usr/bin/chromium',
  };
}

/** `text` safe in an HTML attribute. */
function attribute(text) {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

/**
 * The partner's page, on an origin of its own (127.0.0.1, a free port):
 * `/` embeds the portal with the merchant token, `/revoked` with the
 * revoked one. Every request it gets is kept, to check that the token
 * never comes back to the partner (a Referer, a query).
 */
async function partnerSite(gateway, tokens) {
  const page = (token) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Partner</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>body{margin:0;font-family:sans-serif}h1{font-size:1.1rem;margin:.5rem}iframe{border:0;display:block}</style></head>
<body><h1>A partner's merchant dashboard</h1>
<iframe id="portal" src="${attribute(`${gateway}/portal#token=${token}`)}" title="Payment links" style="width:100%;height:900px"></iframe>
</body></html>`;
  const pages = { '/': page(tokens.merchant), '/revoked': page(tokens.revoked) };
  return serveSite(pages);
}

/**
 * A fresh browser context that keeps every console error, page error,
 * failed request and refused subresource (but the `allowed` console lines
 * and `allowedStatus` answers), every dialog (a `prompt` the portal should
 * not need), and fails when a request carries a token outside the portal's
 * fragment (its URL without the fragment, or a Referer).
 */
async function monitoredContext(browser, options, { tokens, allowed = [], allowedStatus = [] }) {
  const context = await browser.newContext(options);
  context.setDefaultTimeout(WAIT_MS);
  context.setDefaultNavigationTimeout(WAIT_MS);
  const errors = [];
  const dialogs = [];
  const leaks = (text) => Object.values(tokens).some((token) => text.includes(token) || text.includes(token.split('.')[2]));
  context.on('console', (message) => {
    const where = message.location()?.url?.split('#')[0];
    const line = `${message.type()}: ${message.text()}${where ? ` (${where})` : ''}`;
    if (leaks(message.text())) errors.push(`a token in the console: ${message.type()}`);
    if (message.type() !== 'error' || allowed.some((pattern) => pattern.test(message.text()))) return;
    errors.push(line);
  });
  context.on('weberror', (error) => errors.push(`page error: ${error.error().message}`));
  context.on('page', (page) => page.on('dialog', (dialog) => {
    dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    dialog.dismiss().catch(() => {});
  }));
  context.on('request', (request) => {
    const url = request.url().split('#')[0];
    const referer = request.headers().referer ?? '';
    if (leaks(url) || leaks(referer)) errors.push(`a token in the request ${request.method()} ${url.slice(0, 80)}…`);
  });
  context.on('requestfailed', (request) => {
    if (request.failure()?.errorText !== 'net::ERR_ABORTED') {
      errors.push(`request failed: ${request.url().split('#')[0]} ${request.failure()?.errorText}`);
    }
  });
  context.on('response', (response) => {
    const type = response.request().resourceType();
    const status = response.status();
    if (status >= 400 && !allowedStatus.includes(status)) {
      errors.push(`${status} for ${type} ${response.request().method()} ${response.url().split('#')[0]}`);
    }
  });
  const check = (where) => {
    expect(errors.length === 0, `${where}: ${errors.join('; ')}`);
    expect(dialogs.length === 0, `${where}: the portal opened a dialog: ${dialogs.join('; ')}`);
  };
  return { context, check };
}

/** Opens a partner page (`/` or `/revoked`); its page and the portal's frame. */
async function openPortal(context, partner, pathname) {
  const page = await context.newPage();
  await page.goto(`${partner.url}${pathname}`);
  const handle = await page.locator('iframe#portal').elementHandle();
  const frame = await handle.contentFrame();
  expect(frame, 'the partner page has no portal frame');
  await frame.waitForLoadState('load');
  expect(new URL(frame.url()).pathname === '/portal', `the frame shows ${frame.url().split('#')[0]}`);
  // The stylesheets are at work (the card is narrowed, the portal's wider).
  expect(await frame.locator('main.card').evaluate((main) => getComputedStyle(main).maxWidth !== 'none'),
    'main.card is not styled (pay.css did not load)');
  expect(await frame.locator('#links').evaluate((table) => getComputedStyle(table).marginTop !== '0px'),
    '#links is not styled (portal.css did not load)');
  return { page, frame };
}

/** The alert's text and kind, for messages. */
async function alertOf(frame) {
  return frame.evaluate(() => {
    const alert = document.getElementById('alert');
    return { hidden: alert.hidden, notice: alert.classList.contains('notice'), text: alert.textContent };
  });
}

/**
 * Waits until `predicate` (run in the frame with `arg`) holds; on a
 * timeout, fails with `what` and what the alert says.
 */
async function until(frame, what, predicate, arg) {
  try {
    await frame.waitForFunction(predicate, arg, { timeout: WAIT_MS, polling: 100 });
  } catch (error) {
    if (!/Timeout/i.test(String(error?.message))) throw error;
    const alert = await alertOf(frame).catch(() => null);
    const said = alert && !alert.hidden ? ` (the alert says: ${alert.notice ? 'notice' : 'error'} "${alert.text}")` : '';
    throw new Failure(`timed out waiting for ${what}${said}`);
  }
}

/** Waits for a notice containing `text` (an error alert fails at once). */
async function notice(frame, text) {
  await until(frame, `a notice with "${text}"`, (text) => {
    const alert = document.getElementById('alert');
    if (alert.hidden) return false;
    if (!alert.classList.contains('notice')) return true;
    return alert.textContent.includes(text);
  }, text);
  const alert = await alertOf(frame);
  expect(alert.notice, `an error instead of the notice "${text}": ${alert.text}`);
  expect(await frame.locator('#alert').isVisible(), 'the notice is not visible');
  return alert.text;
}

/** The rows of the links table: id, cells, status class, buttons, link. */
async function rows(frame) {
  return frame.locator('#links tbody tr').evaluateAll((trs) => trs.map((tr) => ({
    id: tr.dataset.id,
    cells: [...tr.cells].map((td) => td.textContent),
    statusClass: tr.cells[2]?.className,
    buttons: [...tr.querySelectorAll('button')].map((button) => button.textContent),
    open: tr.querySelector('a')?.href,
  })));
}

/**
 * Submits the filters (search text, status) and waits for the list they
 * ask for to be read and shown.
 */
async function filter(page, frame, { search, status }) {
  await frame.fill('#search', search);
  await frame.selectOption('#status', status);
  const [response] = await Promise.all([
    page.waitForResponse((r) => {
      const url = new URL(r.url());
      if (r.request().method() !== 'GET' || url.pathname !== '/payment_links') return false;
      return (url.searchParams.get('description') ?? '') === (search ? `?*${search}*` : '')
        && (url.searchParams.get('status') ?? '') === status;
    }),
    frame.getByRole('button', { name: 'Filter', exact: true }).click(),
  ]);
  expect(response.ok(), `GET ${response.url()} answered ${response.status()}`);
  const { values } = await response.json();
  // The table shows what the answer holds (the same ids, in order).
  const ids = values.map((link) => link.id);
  await until(frame, `the table of ${ids.length} filtered links`, (ids) => {
    const shown = [...document.querySelectorAll('#links tbody tr')].map((tr) => tr.dataset.id);
    return shown.length === ids.length && shown.every((id, i) => id === ids[i])
      && document.getElementById('empty').hidden === (ids.length > 0);
  }, ids);
  return rows(frame);
}

/** Clicks `label` on the row of `id` and returns the API's answer. */
async function rowAction(page, frame, id, label, method, pathname) {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === method && new URL(r.url()).pathname === pathname),
    frame.locator(`#links tbody tr[data-id="${id}"]`).getByRole('button', { name: label, exact: true }).click(),
  ]);
  expect(response.ok(), `${label}: ${method} ${pathname} answered ${response.status()}`);
  return response;
}

/** Fails when the visible text of the page or the portal shows a token. */
async function noTokenShown(page, frame, tokens) {
  const texts = [await page.locator('body').innerText(), await frame.locator('body').innerText()];
  for (const token of Object.values(tokens)) {
    for (const text of texts) {
      expect(!text.includes(token) && !text.includes(token.split('.')[2]), 'a token is in the visible text');
    }
  }
}

/**
 * Fails on a broken layout: the frame scrolls sideways, the cells of a
 * table row are not one row (wide screens), the links and buttons of a row
 * touch, or (narrow screens) a field of the new link's form is narrower
 * than the form.
 */
async function layoutIsWhole(frame, where) {
  const problems = await frame.evaluate(() => {
    const found = [];
    const narrow = matchMedia('(max-width: 40rem)').matches;
    const root = document.documentElement;
    if (root.scrollWidth > root.clientWidth) found.push(`the page is ${root.scrollWidth - root.clientWidth}px wider than the frame`);
    for (const tr of document.querySelectorAll('#links tbody tr')) {
      const cells = [...tr.cells].map((td) => td.getBoundingClientRect());
      if (!narrow && cells.some((r) => Math.abs(r.top - cells[0].top) > 0.5 || Math.abs(r.bottom - cells[0].bottom) > 0.5)) {
        found.push(`the cells of the row ${tr.dataset.id} are not one row (bottoms ${cells.map((r) => Math.round(r.bottom)).join(', ')})`);
      }
      const controls = [...tr.querySelectorAll('td:last-child a, td:last-child button')].map((e) => e.getBoundingClientRect());
      for (let i = 1; i < controls.length; i += 1) {
        const [a, b] = [controls[i - 1], controls[i]];
        // On one line (they overlap vertically), at least 4px apart.
        if (a.top < b.bottom && b.top < a.bottom && b.left - a.right < 4) found.push(`the actions of the row ${tr.dataset.id} touch`);
      }
    }
    const form = document.getElementById('create').getBoundingClientRect();
    for (const field of narrow ? document.querySelectorAll('#create .field') : []) {
      const { width } = field.getBoundingClientRect();
      if (Math.abs(width - form.width) > 1) {
        found.push(`the field ${field.querySelector('label')?.htmlFor} is ${Math.round(width)}px wide in a form of ${Math.round(form.width)}px`);
      }
    }
    return found;
  });
  expect(problems.length === 0, `${where}: ${problems.join('; ')}`);
}

/** Sets the viewport and waits for the frame to take the new width. */
async function resize(page, frame, viewport) {
  await page.setViewportSize(viewport);
  await frame.waitForFunction((width) => innerWidth <= width, viewport.width, { timeout: WAIT_MS });
}

async function screenshot(page, dir, name) {
  await page.evaluate(() => document.activeElement?.blur());
  await page.screenshot({ path: path.join(dir, name), fullPage: true, animations: 'disabled' });
}

/** The portal has read the merchant and its first list. */
async function portalReady(frame) {
  await until(frame, 'the merchant name and the links table', () => {
    const merchant = document.getElementById('merchant').textContent.trim();
    const loaded = document.querySelector('#links tbody tr') || !document.getElementById('empty').hidden;
    return merchant && merchant !== 'Merchant portal' && !document.getElementById('app').hidden && loaded;
  });
}

async function run() {
  const { gateway, tokens, otherLink, screenshots, executable } = settings();
  await mkdir(screenshots, { recursive: true });
  const partner = await partnerSite(gateway, tokens);
  const browser = await launch(executable);
  try {
    // 1–8. The merchant's portal, on a desktop.
    const desktop = await monitoredContext(browser, DESKTOP, { tokens });
    let created;
    // The links the run made: canceled at the end whatever happened (a
    // failed run leaves no active link with a customer behind).
    const made = new Set();
    try {
      const { page, frame } = await openPortal(desktop.context, partner, '/');
      page.on('response', async (response) => {
        if (response.request().method() === 'POST' && new URL(response.url()).pathname === '/payment_links' && response.ok()) {
          made.add((await response.json().catch(() => ({}))).id);
        }
      });
      // 2. The merchant's name and the first list.
      await portalReady(frame);
      const merchant = (await frame.locator('#merchant').textContent()).trim();
      const before = new Set((await rows(frame)).map((row) => row.id));

      // 3. A link through the form.
      await frame.fill('#c-description', LINK.description);
      await frame.fill('#c-amount', LINK.amount);
      await frame.selectOption('#c-type', LINK.type);
      await frame.fill('#c-name', LINK.name);
      await frame.fill('#c-email', LINK.email);
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/payment_links'),
        frame.getByRole('button', { name: 'Create link', exact: true }).click(),
      ]);
      const link = await response.json().catch(() => ({}));
      expect(response.ok(), `POST /payment_links answered ${response.status()}: ${JSON.stringify(link)}`);
      made.add(link.id);
      expect(link.customer_id, 'the link was made without its customer');
      const said = await notice(frame, 'Created');
      expect(said.includes(link.url), `the notice "${said}" does not give the link's address ${link.url}`);
      await until(frame, 'the new link in the table', (id) => document.querySelector(`#links tbody tr[data-id="${id}"]`), link.id);
      const fresh = (await rows(frame)).filter((row) => !before.has(row.id));
      expect(fresh.length === 1 && fresh[0].id === link.id, `the table shows ${fresh.length} new rows, expected ${link.id}`);
      const [row] = fresh;
      expect(row.cells[0] === LINK.description, `the new row's description is "${row.cells[0]}"`);
      expect(row.cells[1] === LINK.shown, `the new row's amount is "${row.cells[1]}"`);
      expect(row.cells[2] === 'active' && row.statusClass === 'status status-active',
        `the new row's status is "${row.cells[2]}" (${row.statusClass})`);
      expect(row.cells[3] === new Date(link.created_at).toLocaleDateString('en-US', { timeZone: 'UTC' }),
        `the new row's date is "${row.cells[3]}"`);
      expect(row.open === link.url && row.open.startsWith(`${gateway}/pay/`), `the row opens ${row.open}`);
      expect(row.buttons.join(',') === 'Send,Cancel', `the active row's buttons are ${row.buttons.join(',')}`);
      // The form is empty again, for the next link.
      expect(await frame.inputValue('#c-description') === '' && await frame.inputValue('#c-email') === '',
        'the form was not emptied');
      // The table and form, with an active link (three actions), on a wide
      // screen and at a phone's width.
      await layoutIsWhole(frame, 'the desktop portal');
      await resize(page, frame, PHONE.viewport);
      await layoutIsWhole(frame, 'the portal at a phone\'s width');
      await resize(page, frame, DESKTOP.viewport);
      created = link.id;
      print({ flow: 'created', id: created });

      // 4. Search and filter by status.
      let shown = await filter(page, frame, { search: LINK.description, status: '' });
      expect(shown.some((r) => r.id === created), 'the search does not find the new link');
      expect(shown.every((r) => r.cells[0].toLowerCase().includes(LINK.description.toLowerCase())),
        `the search shows other links: ${shown.map((r) => r.cells[0]).join(', ')}`);
      shown = await filter(page, frame, { search: LINK.description, status: 'canceled' });
      expect(!shown.some((r) => r.id === created), 'the active link is shown among the canceled ones');
      expect(shown.every((r) => r.cells[2] === 'canceled'), 'a link that is not canceled is shown among the canceled ones');
      shown = await filter(page, frame, { search: LINK.description, status: '' });
      expect(shown.some((r) => r.id === created), 'the new link is not back with status "Any"');

      // 5. Send it (it has a customer: no prompt for an address).
      await rowAction(page, frame, created, 'Send', 'POST', `/payment_links/${created}/send`);
      await notice(frame, 'sent');
      print({ flow: 'sent' });

      // 6. Cancel it.
      await rowAction(page, frame, created, 'Cancel', 'PUT', `/payment_links/${created}`);
      await notice(frame, 'canceled');
      await until(frame, 'the canceled row', (id) => {
        const row = document.querySelector(`#links tbody tr[data-id="${id}"]`);
        return row && row.cells[2].textContent === 'canceled';
      }, created);
      const canceled = (await rows(frame)).find((r) => r.id === created);
      expect(canceled.statusClass === 'status status-canceled', `the canceled row's status class is ${canceled.statusClass}`);
      expect(canceled.buttons.length === 0, `the canceled row still has ${canceled.buttons.join(', ')}`);
      expect(canceled.open === row.open, 'the canceled row lost its link');
      // The notice stays after the list was read again.
      expect((await alertOf(frame)).text.includes('canceled'), 'the notice went away');
      print({ flow: 'canceled', id: created });

      // 6b. Impatient merchants double-click: a double click on "Create
      // link" creates one link, one on "Cancel" cancels it once (a second
      // PUT would be refused, 409, and shown as an error).
      const writes = [];
      const keep = (request) => {
        if (request.method() !== 'GET' && new URL(request.url()).pathname.startsWith('/payment_links')) {
          writes.push(`${request.method()} ${new URL(request.url()).pathname}`);
        }
      };
      page.on('request', keep);
      await frame.fill('#c-description', `${LINK.description} (double click)`);
      await frame.fill('#c-amount', '1');
      const [double] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/payment_links'),
        frame.getByRole('button', { name: 'Create link', exact: true }).dblclick(),
      ]);
      const twice = await double.json();
      made.add(twice.id);
      await notice(frame, 'Created');
      await until(frame, 'the link made by a double click', (id) => document.querySelector(`#links tbody tr[data-id="${id}"]`), twice.id);
      await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'PUT' && new URL(r.url()).pathname === `/payment_links/${twice.id}`),
        frame.locator(`#links tbody tr[data-id="${twice.id}"]`).getByRole('button', { name: 'Cancel', exact: true }).dblclick(),
      ]);
      await until(frame, 'the canceled double-click link', (id) => {
        const row = document.querySelector(`#links tbody tr[data-id="${id}"]`);
        return row && row.cells[2].textContent === 'canceled';
      }, twice.id);
      // Time for a second request, had there been one.
      await page.waitForTimeout(500);
      page.off('request', keep);
      const alert = await alertOf(frame);
      expect(writes.join(', ') === `POST /payment_links, PUT /payment_links/${twice.id}`,
        `double clicks sent ${writes.join(', ')}`);
      expect(alert.notice && alert.text.includes('canceled'), `after a double click on Cancel the alert says: ${alert.text}`);
      print({ flow: 'double', id: twice.id });

      // 7. The other account's link is nowhere: not in the whole list, not
      // found by its description, not readable with the token.
      shown = await filter(page, frame, { search: '', status: '' });
      expect(shown.some((r) => r.id === created), 'the whole list lacks the new link');
      expect(!shown.some((r) => r.id === otherLink), 'the whole list shows the other account\'s link');
      shown = await filter(page, frame, { search: 'Theirs', status: '' });
      expect(!shown.some((r) => r.id === otherLink), 'the search shows the other account\'s link');
      const direct = await desktop.context.request.get(`${gateway}/payment_links/${otherLink}`, {
        headers: { 'x-connectfi-jwtoken': tokens.merchant },
      });
      expect(direct.status() === 404, `GET /payment_links/${otherLink} with the merchant token answered ${direct.status()}`);
      // The whole list again, for the screenshot.
      await filter(page, frame, { search: '', status: '' });
      print({ flow: 'scoped' });

      // 8. How it looks, on a desktop: no token in sight.
      await noTokenShown(page, frame, tokens);
      expect((await frame.locator('#merchant').textContent()).trim() === merchant, 'the merchant name changed');
      await screenshot(page, screenshots, 'portal.png');
      desktop.check('the desktop portal');
    } finally {
      for (const id of [...made].filter(Boolean)) {
        await desktop.context.request.put(`${gateway}/payment_links/${id}`, {
          headers: { 'x-connectfi-jwtoken': tokens.merchant }, data: { status: 'canceled' },
        }).catch(() => {});
      }
      await desktop.context.close();
    }

    // 8. And on a phone.
    const phone = await monitoredContext(browser, PHONE, { tokens });
    try {
      const { page, frame } = await openPortal(phone.context, partner, '/');
      await portalReady(frame);
      await until(frame, 'the canceled link on the phone', (id) => document.querySelector(`#links tbody tr[data-id="${id}"]`), created);
      await layoutIsWhole(frame, 'the phone portal');
      await noTokenShown(page, frame, tokens);
      await screenshot(page, screenshots, 'portal-phone.png');
      phone.check('the phone portal');
    } finally {
      await phone.context.close();
    }

    // 9. A revoked token: the portal says so and shows nothing of the account.
    const revoked = await monitoredContext(browser, DESKTOP, { tokens, allowed: [REFUSED], allowedStatus: [401] });
    try {
      const page = await revoked.context.newPage();
      const [refusal] = await Promise.all([
        page.waitForResponse((r) => new URL(r.url()).pathname.startsWith('/processing_accounts/')),
        page.goto(`${partner.url}/revoked`),
      ]);
      expect(refusal.status() === 401, `the revoked token was answered ${refusal.status()}`);
      const frame = await (await page.locator('iframe#portal').elementHandle()).contentFrame();
      await until(frame, 'the alert of a revoked token', () => !document.getElementById('alert').hidden);
      const alert = await alertOf(frame);
      expect(!alert.notice && /expired|revoked/i.test(alert.text), `the alert says: ${alert.text}`);
      expect(await frame.locator('#alert').isVisible(), 'the alert is not visible');
      expect(await frame.locator('#app').isHidden(), '#app is shown with a revoked token');
      expect((await frame.locator('#merchant').textContent()).trim() === 'Merchant portal', 'the merchant name is shown with a revoked token');
      expect(await frame.locator('#links tbody tr').count() === 0, 'links are shown with a revoked token');
      await noTokenShown(page, frame, tokens);
      await screenshot(page, screenshots, 'portal-revoked.png');
      revoked.check('the revoked portal');
      print({ flow: 'revoked' });
    } finally {
      await revoked.context.close();
    }

    // The partner got nothing but its own pages: no token in a Referer or a query.
    for (const request of partner.requests) {
      for (const token of Object.values(tokens)) {
        expect(!request.includes(token.split('.')[2]), 'a token reached the partner');
      }
    }
  } finally {
    await browser.close();
    await partner.close();
  }
}

await main(run, [process.env.MERCHANT_TOKEN, process.env.REVOKED_TOKEN]);
