// SDK side of the apply benchmark (issue 5): creates N sandboxes from a
// snapshot with the official @daytonaio/sdk at a given concurrency. Each
// create is `daytona.create()` with its default behaviour: POST /sandbox,
// then poll GET /sandbox/{id} until `started` (the way the SDK waits).
//
// Usage and environment: see sdk-bench.mjs.
// Prints one JSON object on the last line: {n, concurrency, ok, failed,
//   wallMs, createMsMedian, createMsP95, maxRssKiB}. Exit 1 if any failed.

import { runJobs, sdkBench } from './sdk-bench.mjs';

const { daytona, n, concurrency, snapshot } = await sdkBench('sdk-create.mjs');

const tag = `sdkbench-${process.pid}`;
const durations = [];
const errors = new Map();
let ok = 0;
let failed = 0;

async function create(i) {
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

function pct(sorted, p) {
  if (sorted.length === 0) return null;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]);
}

const wallMs = await runJobs(n, concurrency, create);
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
