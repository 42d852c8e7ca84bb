// What the browser tests share: the bounds of their waits, Chromium's
// launch, failed expectations, JSON-line output, and a run that never
// hangs and never prints a secret.
import http from 'node:http';
import { chromium } from 'playwright-core';

/** The longest one wait may take. */
export const WAIT_MS = 15_000;
/** The longest a whole run may take. */
const RUN_MS = 180_000;
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
];

/** A failed expectation: the run stops and prints it. */
export class Failure extends Error {}

export function expect(condition, message) {
  if (!condition) throw new Failure(message);
}

/** One JSON line on stdout. */
export function print(line) {
  console.log(JSON.stringify(line));
}

/** Debian's Chromium (or `executable`), headless. */
export function launch(executable) {
  return chromium.launch({ executablePath: executable, args: CHROMIUM_ARGS, timeout: WAIT_MS * 2 });
}

/**
 * Runs `run`, bounded in time: prints {"done":true} and exits 0, or
 * prints {"error":…} (with every text of `secrets` masked) and exits 1.
 */
export async function main(run, secrets = []) {
  const watchdog = setTimeout(() => {
    print({ error: `the run took longer than ${RUN_MS / 1000} s` });
    process.exit(1);
  }, RUN_MS);
  watchdog.unref();
  try {
    await run();
    print({ done: true });
    process.exitCode = 0;
  } catch (error) {
    // Playwright's messages carry a call log with terminal colours, and
    // may name a page's address.
    let message = error instanceof Failure ? error.message : String(error?.message ?? error);
    for (const secret of secrets.filter(Boolean)) {
      message = message.split(secret).join('<secret>');
    }
    print({ error: message.replace(/\u001b\[\d+m/g, '') });
    process.exitCode = 1;
  } finally {
    clearTimeout(watchdog);
  }
}

/**
 * A partner's site on an origin of its own (127.0.0.1, a free port): it
 * serves `pages` (path → HTML), answers a POST (a form the toolkit
 * submitted) with a thank-you page and keeps its body in `posts`, and
 * keeps one line per request in `requests` (to check what reached it).
 */
export async function serveSite(pages) {
  const requests = [];
  const posts = [];
  const server = http.createServer((request, response) => {
    requests.push(`${request.method} ${request.url} ${JSON.stringify(request.headers)}`);
    if (request.method === 'POST') {
      let body = '';
      request.on('data', (chunk) => { body += chunk; });
      request.on('end', () => {
        posts.push({ path: request.url, body });
        response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
          .end('<!doctype html><title>Thanks</title><p>Payment Successful!</p>');
      });
    } else if (Object.hasOwn(pages, request.url)) {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(pages[request.url]);
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return { url, requests, posts, close: () => new Promise((resolve) => server.close(resolve)) };
}
