/**
 * Writes many keys to etcd quickly (64 puts in flight), for the scale benchmark. Runs inside the
 * lab's namespace: node dist/bench/put-leases.js <endpoint> < lines of {"key","value"} JSON.
 */
import { readFileSync } from 'node:fs';
import { Etcd3 } from 'etcd3';

const [endpoint] = process.argv.slice(2);
const items = readFileSync(0, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { key: string; value: string });
const client = new Etcd3({ hosts: [endpoint!] });
let next = 0;
await Promise.all(Array.from({ length: 64 }, async () => {
  while (next < items.length) {
    const it = items[next++]!;
    await client.put(it.key).value(it.value).exec();
  }
}));
client.close();
