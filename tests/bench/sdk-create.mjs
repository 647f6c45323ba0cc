// SDK side of the apply benchmark (issue 5): creates N sandboxes from a
// snapshot with the official @daytonaio/sdk at a given concurrency. Each
// create is `daytona.create()` with its default behaviour: POST /sandbox,
// then poll GET /sandbox/{id} until `started` (the way the SDK waits).
//
// Usage: node sdk-create.mjs N CONCURRENCY
// Environment: SF_EMU_URL (e.g. http://127.0.0.1:4567), SF_EMU_KEY,
//   SF_SDK_MODULES (node_modules holding @daytonaio/sdk; default
//   ../conformance/node_modules), SF_BENCH_SNAPSHOT (default daytona-small).
// Prints one JSON object on the last line: {n, concurrency, ok, failed,
//   wallMs, createMsMedian, createMsP95, maxRssKiB}. Exit 1 if any failed.

import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const modules = process.env.SF_SDK_MODULES || join(here, '..', 'conformance', 'node_modules');
const emuUrl = process.env.SF_EMU_URL;
const apiKey = process.env.SF_EMU_KEY;
const n = Number.parseInt(process.argv[2] ?? '', 10);
const concurrency = Number.parseInt(process.argv[3] ?? '', 10);
if (!emuUrl || !apiKey || !(n > 0) || !(concurrency > 0)) {
  console.error('usage: SF_EMU_URL=... SF_EMU_KEY=... node sdk-create.mjs N CONCURRENCY');
  process.exit(2);
}
const snapshot = process.env.SF_BENCH_SNAPSHOT || 'daytona-small';

const { Daytona } = await import(pathToFileURL(join(modules, '@daytonaio/sdk/esm/index.js')).href);
const daytona = new Daytona({ apiKey, apiUrl: `${emuUrl}/api`, target: 'us' });

const tag = `sdkbench-${process.pid}`;
const durations = [];
const errors = new Map();
let next = 0;
let ok = 0;
let failed = 0;

async function worker() {
  for (;;) {
    const i = next++;
    if (i >= n) return;
    const t0 = performance.now();
    try {
      const s = await daytona.create(
        { name: `${tag}-${i}`, snapshot, labels: { bench: tag } },
        { timeout: 600 },
      );
      if (s.state !== 'started') throw new Error(`state ${s.state}`);
      ok++;
      durations.push(performance.now() - t0);
    } catch (e) {
      failed++;
      const key = `${e?.constructor?.name}: ${e?.message}`;
      errors.set(key, (errors.get(key) || 0) + 1);
    }
  }
}

function pct(sorted, p) {
  if (sorted.length === 0) return null;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]);
}

const t0 = performance.now();
await Promise.all(Array.from({ length: Math.min(concurrency, n) }, () => worker()));
const wallMs = Math.round(performance.now() - t0);
durations.sort((a, b) => a - b);

for (const [k, v] of errors) console.error(`sdk-create: ${v} x ${k}`);
const result = {
  n,
  concurrency,
  ok,
  failed,
  wallMs,
  createMsMedian: pct(durations, 50),
  createMsP95: pct(durations, 95),
  maxRssKiB: process.resourceUsage().maxRSS,
};
console.log(JSON.stringify(result));
process.exit(failed === 0 ? 0 : 1);
