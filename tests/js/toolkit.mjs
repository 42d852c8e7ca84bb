// The browser toolkit (`/js/paymesh.js`), driven by headless Chromium the
// way a partner's payer meets it: the partner's pages, on an origin of
// their own, are the Payload reference's own HTML examples with only the
// script's `src` changed to the gateway's.
//
// 1. Checkout's Pay Now button: the payer opens the checkout, a declined
//    card (4111 1111 1111 9903) shows its message, a good card then
//    authorizes (a double click authorizes once), and the partner's form
//    is submitted with `pl_transaction_id` (flow "checkout").
// 2. Secure Input (`pl-form="payment"`): the card is typed into paymesh's
//    frames; the form is submitted with `pl_transaction_id` (flow
//    "secure_payment"); the partner's page, its console and its server
//    never see the card number.
// 3. Secure Input (`pl-form="payment_method"`): a bad number marks its
//    input `pl-invalid` and fires `invalid`; a good one submits
//    `pl_payment_method_id` (flow "secure_method").
// 4. PlacePay's Pay plugin (`/plugins/pay.js`, data-key): the form is
//    submitted with `rs_transaction_id` (flow "placepay").
//
//   PAYMESH_URL  the gateway, e.g. http://127.0.0.1:8080
//   CLIENT_KEY   a test client key of the partner
//   SCREENSHOTS  a directory for the PNGs (made if missing)
//   CHROMIUM     the browser (default /usr/bin/chromium, Debian's package)
//
// Prints one JSON line per finished flow and {"done":true} at the end
// (exit 0), or {"error":"…"} on the first failed expectation (exit 1).
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { WAIT_MS, expect, launch, main, print, serveSite } from './harness.mjs';

const CARD = '4242424242424242';
const DECLINED = '4111111111119903';

function settings() {
  const env = (name) => {
    const value = process.env[name];
    expect(value, `${name} is not set`);
    return value;
  };
  return {
    gateway: new URL(env('PAYMESH_URL')).origin,
    key: env('CLIENT_KEY'),
    screenshots: env('SCREENSHOTS'),
    executable: process.env.CHROMIUM || '/usr/bin/chromium',
  };
}

/** The partner's site: the reference's examples, and what their forms post. */
async function partnerSite(gateway, key) {
  const src = `${gateway}/js/paymesh.js`;
  const head = '<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Partner</title></head><body>';
  const pages = {
    // Checkout, "Pay Now Button", as written.
    '/checkout': `${head}
<form action="/submit_payment" method="POST">
  <script src="${src}"
    pl-client-key="${key}"
    pl-amount="100.00"
    pl-description="Membership">
  </script>
</form></body></html>`,
    // Secure Input, "Creating a Form" with "3) Initialize with JavaScript"
    // (the Bootstrap example's `$(...)` needs jQuery, which this page,
    // offline, does not load).
    '/secure': `${head}
<script src="${src}"></script>
<form id="checkout-form" class="container" pl-form="payment" action="/submit_card_data" method="POST">
    <input type="hidden" pl-input="amount" value="10.00">
    <div class="row pt-2">
        <div class="form-group col-7 px-1">
            <label>Card Number</label>
            <div class="form-control" pl-input="card_number"></div>
        </div>
        <div class="form-group col-3 px-1">
            <label>Expiration</label>
            <div class="form-control" pl-input="expiry"></div>
        </div>
        <div class="form-group col-2 px-1">
            <label>CVC</label>
            <div class="form-control" pl-input="cvc"></div>
        </div>
    </div>
    <div class="row pt-2">
        <button class="btn btn-primary" type="submit">Pay Now</button>
    </div>
</form>
<script>
var pl = Payload('${key}')
new pl.Form(document.getElementById('checkout-form'))
</script></body></html>`,
    // Secure Input, a payment method form, with the reference's "Invalid"
    // handlers and autosubmit.
    '/save': `${head}
<script src="${src}"></script>
<form id="checkout-form" pl-form="payment_method" action="/submit_card_data" method="POST">
  <input type="text" pl-input="account_holder" value="Ada Payer">
  <div pl-input="card_number"></div>
  <div pl-input="expiry"></div>
  <button type="submit">Save</button>
</form>
<script>
var pl = Payload('${key}')
var checkout = new pl.Form(document.getElementById('checkout-form'))
    .on('invalid',function(evt) {
        document.body.setAttribute('data-invalid', evt.fields.join(','))
    })
    .on('error',function(evt) {
        document.body.setAttribute('data-error', evt.message)
    })
</script></body></html>`,
    // PlacePay's "Pay Plugin", as written.
    '/place': `${head}
<form action="/path/to/your/post/method" method="POST">
<script
src="${gateway}/plugins/pay.js"
data-key="${key}"
data-amount="1000.00"
data-description="First Month's Rent">
</script>
</form></body></html>`,
  };
  return serveSite(pages);
}

/** The posted form's field `name`. */
function posted(post, name) {
  return new URLSearchParams(post.body).get(name);
}

/** Waits until the partner server has `count` posts. */
async function postsReach(posts, count) {
  const until = Date.now() + WAIT_MS;
  while (posts.length < count) {
    expect(Date.now() < until, `the form was not submitted (${posts.length} posts)`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function run() {
  const { gateway, key, screenshots, executable } = settings();
  await mkdir(screenshots, { recursive: true });
  const site = await partnerSite(gateway, key);
  const browser = await launch(executable);
  try {
    const context = await browser.newContext({ viewport: { width: 1024, height: 800 }, locale: 'en-US' });
    context.setDefaultTimeout(WAIT_MS);
    const consoleLines = [];
    context.on('console', (message) => consoleLines.push(message.text()));
    context.on('weberror', (error) => consoleLines.push(`page error: ${error.error().message}`));
    const page = await context.newPage();

    // 1. Checkout.
    await page.goto(`${site.url}/checkout`);
    await page.getByRole('button', { name: 'Pay Now' }).click();
    const checkout = page.frameLocator('iframe[title="Checkout"]');
    await checkout.getByText('$100.00').waitFor();
    await checkout.getByLabel('Card number').fill(DECLINED);
    await checkout.getByLabel('Expiry (MM/YY)').fill('12/30');
    await checkout.getByLabel('Security code').fill('123');
    await checkout.getByRole('button', { name: 'Pay' }).click();
    const alert = checkout.getByRole('alert');
    await alert.filter({ hasText: /\S/ }).waitFor();
    const said = await alert.textContent();
    expect(/declined/i.test(said), `the checkout said: ${said}`);
    await page.screenshot({ path: path.join(screenshots, 'checkout.png') });
    await checkout.getByLabel('Card number').fill(CARD);
    await checkout.getByRole('button', { name: 'Pay' }).dblclick();
    await postsReach(site.posts, 1);
    await page.getByText('Payment Successful!').waitFor();
    const paid = site.posts[0];
    expect(paid.path === '/submit_payment', `checkout posted to ${paid.path}`);
    const transaction = posted(paid, 'pl_transaction_id');
    expect(transaction, `no pl_transaction_id in ${paid.body}`);
    print({ flow: 'checkout', transaction_id: transaction });

    // 2. Secure Input, a payment.
    await page.goto(`${site.url}/secure`);
    await page.frameLocator('div[pl-input=card_number] iframe').getByLabel('Card number').fill(CARD);
    await page.frameLocator('div[pl-input=expiry] iframe').getByLabel('Expiry (MM/YY)').fill('12/30');
    await page.frameLocator('div[pl-input=cvc] iframe').getByLabel('Security code').fill('123');
    const html = await page.content();
    expect(!html.includes(CARD) && !html.includes('4242 4242'), 'the card number is in the partner page');
    await page.screenshot({ path: path.join(screenshots, 'secure-input.png') });
    await page.getByRole('button', { name: 'Pay Now' }).click();
    await postsReach(site.posts, 2);
    await page.getByText('Payment Successful!').waitFor();
    const secure = site.posts[1];
    expect(secure.path === '/submit_card_data', `secure input posted to ${secure.path}`);
    const secureTransaction = posted(secure, 'pl_transaction_id');
    expect(secureTransaction, `no pl_transaction_id in ${secure.body}`);
    print({ flow: 'secure_payment', transaction_id: secureTransaction });

    // 3. Secure Input, a payment method: invalid first.
    await page.goto(`${site.url}/save`);
    const number = page.frameLocator('div[pl-input=card_number] iframe').getByLabel('Card number');
    await number.fill('4242424242424241');
    await page.frameLocator('div[pl-input=expiry] iframe').getByLabel('Expiry (MM/YY)').fill('12/30');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('div[pl-input=card_number].pl-invalid').waitFor();
    const invalid = await page.locator('body').getAttribute('data-invalid');
    expect(invalid === 'card_number', `the invalid event named ${invalid}`);
    await number.fill(CARD);
    await page.getByRole('button', { name: 'Save' }).click();
    await postsReach(site.posts, 3);
    await page.getByText('Payment Successful!').waitFor();
    const saved = site.posts[2];
    const method = posted(saved, 'pl_payment_method_id');
    expect(method, `no pl_payment_method_id in ${saved.body}`);
    print({ flow: 'secure_method', payment_method_id: method });

    // 4. PlacePay's Pay plugin.
    await page.goto(`${site.url}/place`);
    await page.getByRole('button', { name: 'Pay', exact: true }).click();
    const plugin = page.frameLocator('iframe[title="Checkout"]');
    await plugin.getByText('$1000.00').waitFor();
    await plugin.getByLabel('Card number').fill(CARD);
    await plugin.getByLabel('Expiry (MM/YY)').fill('12/30');
    await plugin.getByRole('button', { name: 'Pay' }).click();
    await postsReach(site.posts, 4);
    await page.getByText('Payment Successful!').waitFor();
    const rent = site.posts[3];
    expect(rent.path === '/path/to/your/post/method', `the plugin posted to ${rent.path}`);
    const rentTransaction = posted(rent, 'rs_transaction_id');
    expect(rentTransaction, `no rs_transaction_id in ${rent.body}`);
    print({ flow: 'placepay', transaction_id: rentTransaction });

    // Nothing the partner's pages, console or server got holds the number.
    for (const post of site.posts) {
      expect(!post.body.includes(CARD) && !post.body.includes(DECLINED), `a card number was posted: ${post.path}`);
    }
    expect(!consoleLines.some((line) => line.includes(CARD)), 'a card number reached the console');
    expect(!consoleLines.some((line) => /error/i.test(line)), `console errors: ${consoleLines.join('; ')}`);
  } finally {
    await browser.close();
    await site.close();
  }
}

await main(run, [process.env.CLIENT_KEY]);
