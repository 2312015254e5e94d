/**
 * etcd members by name, for the log: the member ID a response header carries → "m1
 * http://10.0.0.2:2379", from the cluster's member list, read again when an unknown ID shows up.
 */
import type { Etcd3 } from 'etcd3';
import { sleep } from '../sleep.js';

/** How long a lookup waits for the member list before it settles for the bare ID. */
const LOOKUP_WAIT_MS = 1000;

/** Names the members of one etcd cluster. */
export class EtcdMemberNames {
  private readonly names = new Map<string, string>();
  private listing: Promise<void> | null = null;

  constructor(private readonly client: Etcd3) {}

  /** The member's name and first client URL; its ID in hex (as etcdctl shows it) when the list cannot say. */
  async nameOf(id: string): Promise<string> {
    if (!this.names.has(id)) await Promise.race([this.list(), sleep(LOOKUP_WAIT_MS)]);
    return this.names.get(id) ?? `member ${/^\d+$/.test(id) ? BigInt(id).toString(16) : id}`;
  }

  /** Reads the member list (one read at a time; a failure leaves the names as they were). */
  private list(): Promise<void> {
    this.listing ??= this.client.cluster.memberList({}).then(
      (res) => {
        for (const m of res.members) this.names.set(m.ID, [m.name, m.clientURLs[0]].filter(Boolean).join(' '));
      },
      () => undefined,
    ).finally(() => (this.listing = null));
    return this.listing;
  }
}
