// SDK side of the rate-limit benchmark (issue 13, item 1): N creates with
// the official @daytonaio/sdk at a given concurrency, the way a script
// without a budget does it: `daytona.create()` (POST /sandbox, then polls
// until started) and, on a 429 (DaytonaRateLimitError), sleep the
// Retry-After the answer gives (1 s without one) and try again.
//
// Usage: node sdk-ratelimit.mjs N CONCURRENCY
// Environment: SF_EMU_URL, SF_EMU_KEY, SF_SDK_MODULES (default
//   ../conformance/node_modules), SF_BENCH_SNAPSHOT (default daytona-small).
// Prints one JSON object on the last line: {n, concurrency, ok, failed,
//   retries429, wallMs}. Exit 1 if any failed.

import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const here = dirname(fileURLToPath(import.meta.url));
const modules = process.env.SF_SDK_MODULES || join(here, '..', 'conformance', 'node_modules');
const emuUrl = process.env.SF_EMU_URL;
const apiKey = process.env.SF_EMU_KEY;
const n = Number.parseInt(process.argv[2] ?? '', 10);
const concurrency = Number.parseInt(process.argv[3] ?? '', 10);
if (!emuUrl || !apiKey || !(n > 0) || !(concurrency > 0)) {
  console.error('usage: SF_EMU_URL=... SF_EMU_KEY=... node sdk-ratelimit.mjs N CONCURRENCY');
  process.exit(2);
}
const snapshot = process.env.SF_BENCH_SNAPSHOT || 'daytona-small';

const { Daytona } = await import(pathToFileURL(join(modules, '@daytonaio/sdk/esm/index.js')).href);
const daytona = new Daytona({ apiKey, apiUrl: `${emuUrl}/api`, target: 'us' });

const tag = `sdkrl-${process.pid}`;
let next = 0;
let ok = 0;
let failed = 0;
let retries429 = 0;

function retryAfterMs(e) {
  const h = e?.headers;
  const get = (k) => (typeof h?.get === 'function' ? h.get(k) : h?.[k]);
  const v = Number.parseInt(get('retry-after-create') ?? get('retry-after') ?? '', 10);
  return v > 0 ? v * 1000 : 1000;
}

async function worker() {
  for (;;) {
    const i = next++;
    if (i >= n) return;
    for (;;) {
      try {
        await daytona.create({ name: `${tag}-${i}`, snapshot, labels: { bench: tag } }, { timeout: 600 });
        ok++;
        break;
      } catch (e) {
        if (e?.statusCode === 429) {
          retries429++;
          await sleep(retryAfterMs(e));
          continue;
        }
        failed++;
        console.error(`sdk-ratelimit: ${e?.constructor?.name}: ${e?.message}`);
        break;
      }
    }
  }
}

const t0 = performance.now();
await Promise.all(Array.from({ length: Math.min(concurrency, n) }, () => worker()));
const wallMs = Math.round(performance.now() - t0);
console.log(JSON.stringify({ n, concurrency, ok, failed, retries429, wallMs }));
process.exit(failed > 0 ? 1 : 0);
