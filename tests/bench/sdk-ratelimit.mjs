// SDK side of the rate-limit benchmark (issue 13, item 1): N creates with
// the official @daytonaio/sdk at a given concurrency, the way a script
// without a budget does it: `daytona.create()` (POST /sandbox, then polls
// until started) and, on a 429 (DaytonaRateLimitError), sleep the
// Retry-After the answer gives (1 s without one) and try again.
//
// Usage and environment: see sdk-bench.mjs.
// Prints one JSON object on the last line: {n, concurrency, ok, failed,
//   retries429, wallMs}. Exit 1 if any failed.

import { setTimeout as sleep } from 'node:timers/promises';
import { runJobs, sdkBench } from './sdk-bench.mjs';

const { daytona, n, concurrency, snapshot } = await sdkBench('sdk-ratelimit.mjs');

const tag = `sdkrl-${process.pid}`;
let ok = 0;
let failed = 0;
let retries429 = 0;

function retryAfterMs(e) {
  const h = e?.headers;
  const get = (k) => (typeof h?.get === 'function' ? h.get(k) : h?.[k]);
  const v = Number.parseInt(get('retry-after-create') ?? get('retry-after') ?? '', 10);
  return v > 0 ? v * 1000 : 1000;
}

async function create(i) {
  for (;;) {
    try {
      await daytona.create({ name: `${tag}-${i}`, snapshot, labels: { bench: tag } }, { timeout: 600 });
      ok++;
      return;
    } catch (e) {
      if (e?.statusCode === 429) {
        retries429++;
        await sleep(retryAfterMs(e));
        continue;
      }
      failed++;
      console.error(`sdk-ratelimit: ${e?.constructor?.name}: ${e?.message}`);
      return;
    }
  }
}

const wallMs = await runJobs(n, concurrency, create);
console.log(JSON.stringify({ n, concurrency, ok, failed, retries429, wallMs }));
process.exit(failed > 0 ? 1 : 0);
