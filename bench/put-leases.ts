/**
 * Writes keys to etcd for the scale benchmark. Runs inside the lab's namespace:
 * node dist/bench/put-leases.js <endpoint> < lines of {"key","value"} JSON. Bulk mode (default)
 * keeps 64 puts in flight; with --one-by-one it first connects (a read, answered by "ready"), then
 * writes one key per stdin line as it arrives and prints the epoch ms at which etcd acknowledged
 * it (the moment the lease exists), so no connection set-up is ever timed as propagation.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Etcd3 } from 'etcd3';

const [endpoint, mode] = process.argv.slice(2);
const client = new Etcd3({ hosts: [endpoint!] });
if (mode === '--one-by-one') {
  await client.get('/twill-bench-connect').exec();
  process.stdout.write('ready\n');
  for await (const line of createInterface({ input: process.stdin })) {
    if (!line) continue;
    const it = JSON.parse(line) as { key: string; value: string };
    await client.put(it.key).value(it.value).exec();
    process.stdout.write(`${Date.now()}\n`);
  }
  client.close();
  process.exit(0);
}
const items = readFileSync(0, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { key: string; value: string });
let next = 0;
await Promise.all(Array.from({ length: 64 }, async () => {
  while (next < items.length) {
    const it = items[next++]!;
    await client.put(it.key).value(it.value).exec();
  }
}));
client.close();
