// The hosted pay page of payment links, driven by headless Chromium the way
// a payer meets it: a partner's page on another origin links to the page,
// the payer follows the link (a new tab), fills the card form and pays.
//
// Three one-time $10 links without a customer are given from outside, one
// per flow, each paid once:
//
//   PAYMESH_URL   the gateway, e.g. http://127.0.0.1:8080
//   LINK_PAY      paid with a good card; its page then says it was paid
//   LINK_DECLINE  a declined card first (4111 1111 1111 9903), then a good one
//   LINK_DOUBLE   paid with the form sent twice at once, on a phone-sized screen
//   SCREENSHOTS   a directory for the PNGs (made if missing)
//   CHROMIUM      the browser (default /usr/bin/chromium, Debian's package)
//
// Prints one JSON line per finished step ({"flow":"pay",…}) and {"done":true}
// at the end (exit 0), or {"error":"…"} on the first failed expectation
// (exit 1). Every wait is bounded (15 s), and the whole run too.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { WAIT_MS, Failure, expect, launch, main, print, serveSite } from './harness.mjs';

const PAYER = { name: 'Ada Payer', email: 'ada@example.com' };
const GOOD_CARD = '4242 4242 4242 4242';
const DECLINED_CARD = '4111 1111 1111 9903';
// A card number must never reach a console, the partner, or a page's HTML.
const SECRETS = ['4242424242424242', '4242 4242 4242 4242', '4111111111119903', '4111 1111 1111 9903'];
const DESKTOP = { viewport: { width: 1280, height: 900 } };
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

/** The environment, checked before anything starts. */
function settings() {
  const env = (name) => {
    const value = process.env[name];
    expect(value, `${name} is not set`);
    return value;
  };
  const gateway = new URL(env('PAYMESH_URL'));
  const links = { pay: env('LINK_PAY'), decline: env('LINK_DECLINE'), double: env('LINK_DOUBLE') };
  for (const [name, link] of Object.entries(links)) {
    const url = new URL(link);
    expect(url.origin === gateway.origin && url.pathname.startsWith('/pay/'),
      `the ${name} link ${link} is not a pay page of ${gateway.origin}`);
  }
  expect(new Set(Object.values(links)).size === 3, 'LINK_PAY, LINK_DECLINE and LINK_DOUBLE must be three links');
  return { links, screenshots: env('SCREENSHOTS'), executable: process.env.CHROMIUM || '/usr/bin/chromium' };
}

/**
 * The partner's page, on an origin of its own (127.0.0.1, a free port): one
 * anchor per flow, opening the pay page in a new tab, and a log of every
 * message posted to it. Every request it gets is kept, to check that
 * nothing of the payment comes back to the partner (a Referer, a query).
 */
async function partnerSite(links) {
  const anchors = Object.entries(links)
    .map(([id, href]) => `<li><a id="${id}" href="${href}" target="_blank">Pay (${id})</a></li>`)
    .join('');
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Partner</title></head>
<body><h1>A partner's invoice</h1><ul>${anchors}</ul><pre id="messages"></pre>
<script>addEventListener('message', (e) => { document.getElementById('messages').textContent += e.origin + ' ' + JSON.stringify(e.data) + '\\n'; });</script>
</body></html>`;
  const site = await serveSite({ '/': html });
  return { ...site, url: `${site.url}/` };
}

/** Fails when a text holds a card number. */
function noCardNumber(text, where) {
  for (const secret of SECRETS) expect(!text.includes(secret), `${where} contains the card number ${secret}`);
}

/**
 * Runs one flow in a fresh browser context: opens the partner's page,
 * follows the flow's anchor to the pay page and hands it to `steps`.
 * Afterwards: no console error or page error anywhere (except the `allowed`
 * ones, e.g. the 422 of a refused form), no failed subresource, and no card
 * number in the console, the partner's page or the partner's requests.
 */
async function flow(browser, partner, { anchor, options, allowed = [] }, steps) {
  const context = await browser.newContext(options);
  context.setDefaultTimeout(WAIT_MS);
  context.setDefaultNavigationTimeout(WAIT_MS);
  const consoleLines = [];
  const errors = [];
  context.on('console', (message) => {
    const where = message.location()?.url;
    const line = `${message.type()}: ${message.text()}${where ? ` (${where})` : ''}`;
    consoleLines.push(line);
    if (message.type() !== 'error' || allowed.some((pattern) => pattern.test(message.text()))) return;
    errors.push(line);
  });
  context.on('weberror', (error) => errors.push(`page error: ${error.error().message}`));
  context.on('requestfailed', (request) => {
    // A navigation away from a loading page cancels it; that is no failure.
    if (request.failure()?.errorText !== 'net::ERR_ABORTED') errors.push(`request failed: ${request.url()} ${request.failure()?.errorText}`);
  });
  context.on('response', (response) => {
    const type = response.request().resourceType();
    if (type !== 'document' && response.status() >= 400) errors.push(`${response.status()} for ${type} ${response.url()}`);
  });
  try {
    const partnerPage = await context.newPage();
    await partnerPage.goto(partner.url);
    const [page] = await Promise.all([context.waitForEvent('page'), partnerPage.click(`#${anchor}`)]);
    await page.waitForLoadState('load');
    await pageIsWhole(page);
    const result = await steps(page);
    const partnerHtml = await partnerPage.content();
    const messages = await partnerPage.locator('#messages').textContent();
    expect(errors.length === 0, `${anchor}: ${errors.join('; ')}`);
    noCardNumber(consoleLines.join('\n'), `${anchor}: the console`);
    noCardNumber(partnerHtml, `${anchor}: the partner's page`);
    noCardNumber(partner.requests.join('\n'), `${anchor}: a request to the partner`);
    expect(messages === '', `${anchor}: the partner's page received messages: ${messages}`);
    return result;
  } finally {
    await context.close();
  }
}

/** The form of an open link, with its stylesheet and script at work. */
async function pageIsWhole(page) {
  await page.locator('form.pay, main.card h2, main.card h1').first().waitFor();
  if (!(await page.locator('form.pay').count())) {
    const headings = await page.locator('main.card h1, main.card h2').allTextContents();
    throw new Failure(`${page.url()} shows no form but: ${headings.join(' / ')}`);
  }
  expect(await page.locator('form.pay button[type=submit]').textContent() === 'Pay $10.00', 'the button does not say "Pay $10.00"');
  // The script shows only the card form; the stylesheet makes one column.
  expect(await page.locator('fieldset[data-method=bank_account]').isHidden(), 'the bank form is shown (pay.js did not run)');
  expect(await page.locator('main.card').evaluate((main) => getComputedStyle(main).maxWidth !== 'none'),
    'main.card is not styled (pay.css did not load)');
}

/** Fills the payer and a card; `payer` false leaves name and email as they are. */
async function fillCard(page, card, { payer = true } = {}) {
  if (payer) {
    await page.fill('#f-payer-name', PAYER.name);
    await page.fill('#f-payer-email', PAYER.email);
  }
  if (await page.locator('#f-amount').count()) await page.fill('#f-amount', '10.00');
  await page.check('input[name=method][value=card]');
  await page.fill('#f-card-number', card);
  await page.fill('#f-expiry', '12/30');
  await page.fill('#f-card-code', '123');
  await page.fill('#f-postal-code', '10001');
}

/** A screenshot with the card number and security code masked. */
async function shot(page, dir, name) {
  const mask = [page.locator('#f-card-number'), page.locator('#f-card-code')];
  await page.evaluate(() => document.activeElement?.blur());
  await page.screenshot({ path: path.join(dir, name), fullPage: true, mask, animations: 'disabled' });
}

/**
 * Submits the form with `submit` and waits for the answer to the POST,
 * which must have `status`. Returns the answer's HTML (checked for card
 * numbers) once it has loaded.
 */
async function send(page, status, submit) {
  const action = new URL(await page.locator('form.pay').getAttribute('action'), page.url()).href;
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && r.url() === action),
    // The answer replaces the page (the same address as before).
    page.waitForEvent('framenavigated', (frame) => frame === page.mainFrame()),
    submit(),
  ]);
  expect(response.status() === status, `POST ${action} answered ${response.status()}, expected ${status}`);
  await page.waitForLoadState('load');
  const html = await page.content();
  noCardNumber(html, `the answer to POST ${action}`);
  return html;
}

/** The POST requests the page makes from now on. */
function countPosts(page) {
  const posts = [];
  page.on('request', (request) => {
    if (request.method() === 'POST') posts.push(request);
  });
  return posts;
}

/** The transaction id of the confirmation page. */
async function paidReference(page) {
  await page.getByRole('heading', { name: 'Payment received' }).waitFor();
  const reference = (await page.locator('p.reference code').textContent())?.trim();
  expect(reference, 'the confirmation shows no reference');
  return reference;
}

async function run() {
  const { links, screenshots, executable } = settings();
  await mkdir(screenshots, { recursive: true });
  const partner = await partnerSite(links);
  const browser = await launch(executable);
  try {
    // a. Pay with a good card; the link is then closed.
    await flow(browser, partner, { anchor: 'pay', options: DESKTOP }, async (page) => {
      await fillCard(page, GOOD_CARD);
      await shot(page, screenshots, 'pay-page.png');
      await send(page, 200, () => page.click('form.pay button[type=submit]'));
      const transactionId = await paidReference(page);
      await shot(page, screenshots, 'pay-page-paid.png');
      // A phone-sized look at the same confirmation.
      await page.setViewportSize(PHONE.viewport);
      await page.screenshot({ path: path.join(screenshots, 'pay-page-paid-phone.png'), fullPage: true });
      // Opening the link again (a GET, not the POST again) shows it paid.
      await page.goto(links.pay);
      await page.getByRole('heading', { name: 'This payment link has already been paid' }).waitFor();
      expect((await page.locator('p.reference code').textContent())?.trim() === transactionId,
        'the paid link shows another reference');
      await page.screenshot({ path: path.join(screenshots, 'pay-page-closed-phone.png'), fullPage: true });
      print({ flow: 'pay', transaction_id: transactionId, closed: true });
    });

    // b. A declined card: the form again with the decline, what was typed
    // but no card number; then a good card pays.
    await flow(browser, partner, {
      anchor: 'decline',
      options: DESKTOP,
      // Chromium logs the refused form's 422 as a failed resource.
      allowed: [/Failed to load resource: the server responded with a status of 422/],
    }, async (page) => {
      await fillCard(page, DECLINED_CARD);
      const html = await send(page, 422, () => page.click('form.pay button[type=submit]'));
      const banner = page.locator('div.banner[role=alert]');
      await banner.waitFor();
      const message = (await banner.textContent())?.trim();
      expect(message, 'the decline banner is empty');
      expect(await page.inputValue('#f-card-number') === '', 'the card number is shown again');
      expect(await page.inputValue('#f-card-code') === '', 'the security code is shown again');
      expect(!html.includes('value="123"'), 'the security code is in the page again');
      expect(await page.inputValue('#f-payer-name') === PAYER.name, 'the payer name was not kept');
      expect(await page.inputValue('#f-payer-email') === PAYER.email, 'the payer email was not kept');
      expect(await page.locator('form.pay button[type=submit]').isEnabled(), 'the button of the new form is disabled');
      await shot(page, screenshots, 'pay-page-declined.png');
      print({ flow: 'declined', message });

      // The retry is a double click, as impatient payers do: the form must
      // go once (the script disables the button at the first click).
      await fillCard(page, GOOD_CARD, { payer: false });
      const posts = countPosts(page);
      await send(page, 200, () => page.dblclick('form.pay button[type=submit]'));
      const transactionId = await paidReference(page);
      expect(posts.length === 1, `a double click sent the form ${posts.length} times`);
      print({ flow: 'retried', transaction_id: transactionId });
    });

    // c. The form sent twice at once, on a phone: the script lets one POST
    // through; the same submission sent again past the script (a second
    // tab, a replay) charges nothing more.
    await flow(browser, partner, { anchor: 'double', options: PHONE }, async (page) => {
      await fillCard(page, GOOD_CARD);
      await shot(page, screenshots, 'pay-page-phone.png');
      const posts = countPosts(page);
      // Twice in one task, and once more in the next one (which, but for
      // the script, would start a second POST and cancel the first).
      await send(page, 200, () => page.evaluate(() => {
        const form = document.querySelector('form.pay');
        form.requestSubmit();
        form.requestSubmit();
        setTimeout(() => form.requestSubmit(), 0);
      }));
      const transactionId = await paidReference(page);
      expect(posts.length === 1, `the form was sent ${posts.length} times`);
      // The same body again (same submission id): the same payment, or the
      // link's paid page with its reference — never a second charge.
      const again = await page.request.post(posts[0].url(), {
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        data: posts[0].postData(),
        maxRedirects: 0,
      });
      const body = await again.text();
      noCardNumber(body, 'the answer to the replayed POST');
      expect(body.includes(`<code>${transactionId}</code>`),
        `the replayed POST answered ${again.status()} without the reference ${transactionId}`);
      await page.screenshot({ path: path.join(screenshots, 'pay-page-double-paid-phone.png'), fullPage: true });
      print({ flow: 'double', transaction_id: transactionId });
    });
  } finally {
    await browser.close();
    await partner.close();
  }
}

await main(run);
