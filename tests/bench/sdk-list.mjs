// The SDK side of bench-plan.sh: what a script must do to know what
// exists, through the official SDK: every sandbox of the bench's stack
// (label sandform.dev/stack=default) from the SDK's paginated iterator,
// 200 a page, counted. It fails unless it lists exactly N, and exits
// when done.
//
// Usage: SF_EMU_URL=... SF_EMU_KEY=... node sdk-list.mjs N 1
import { sdkBench } from './sdk-bench.mjs';

const { daytona, n } = await sdkBench('sdk-list.mjs');
let count = 0;
for await (const sandbox of daytona.list({ labels: { 'sandform.dev/stack': 'default' }, limit: 200 })) {
  if (sandbox.id) count++;
}
if (count !== n) {
  console.error(`sdk-list: listed ${count} sandboxes, expected ${n}`);
  process.exit(1);
}
console.log(`listed ${count}`);
// the SDK's event subscription (socket.io, which the emulator does not
// serve) keeps retrying and would hold the process for minutes
process.exit(0);
