// What the SDK sides of the benchmarks share (sdk-create.mjs,
// sdk-ratelimit.mjs): their arguments and environment, the official
// @daytonaio/sdk client, and N jobs run by CONCURRENCY workers.
//
// Usage of a script: node SCRIPT N CONCURRENCY
// Environment: SF_EMU_URL (e.g. http://127.0.0.1:4567), SF_EMU_KEY,
//   SF_SDK_MODULES (node_modules holding @daytonaio/sdk; default
//   ../conformance/node_modules), SF_BENCH_SNAPSHOT (default daytona-small).

import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// sdkBench: {daytona, n, concurrency, snapshot}, or exit 2 with the usage.
export async function sdkBench(script) {
  const here = dirname(fileURLToPath(import.meta.url));
  const modules = process.env.SF_SDK_MODULES || join(here, '..', 'conformance', 'node_modules');
  const emuUrl = process.env.SF_EMU_URL;
  const apiKey = process.env.SF_EMU_KEY;
  const n = Number.parseInt(process.argv[2] ?? '', 10);
  const concurrency = Number.parseInt(process.argv[3] ?? '', 10);
  if (!emuUrl || !apiKey || !(n > 0) || !(concurrency > 0)) {
    console.error(`usage: SF_EMU_URL=... SF_EMU_KEY=... node ${script} N CONCURRENCY`);
    process.exit(2);
  }
  const snapshot = process.env.SF_BENCH_SNAPSHOT || 'daytona-small';
  const { Daytona } = await import(pathToFileURL(join(modules, '@daytonaio/sdk/esm/index.js')).href);
  const daytona = new Daytona({ apiKey, apiUrl: `${emuUrl}/api`, target: 'us' });
  return { daytona, n, concurrency, snapshot };
}

// runJobs: job(0) .. job(n - 1), at most `concurrency` at a time; the wall
// time in ms.
export async function runJobs(n, concurrency, job) {
  let next = 0;
  async function worker() {
    for (let i = next++; i < n; i = next++) await job(i);
  }
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, () => worker()));
  return Math.round(performance.now() - t0);
}
