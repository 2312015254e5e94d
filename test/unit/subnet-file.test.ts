import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { dockerOpts, formatSubnetFile, readPreviousSubnet, writeSubnetFile } from '../../daemon/subnet-file.js';
import { formatCidr, parseCidr } from '../../shared/ip/cidr.js';

describe('subnet.env', () => {
  const data = { network: parseCidr('10.5.0.0/16'), subnet: parseCidr('10.5.34.0/24'), mtu: 1450, ipMasq: true };
  it("has flannel's four variables", () => {
    assert.equal(formatSubnetFile(data), 'FLANNEL_NETWORK=10.5.0.0/16\nFLANNEL_SUBNET=10.5.34.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n');
  });
  it('is written atomically and read back as the previous subnet', () => {
    const dir = mkdtempSync(join(tmpdir(), 'twill-sf-'));
    try {
      const path = join(dir, 'run', 'flannel', 'subnet.env');
      writeSubnetFile(path, data);
      assert.deepEqual(readdirSync(join(dir, 'run', 'flannel')), ['subnet.env']);
      assert.equal(readFileSync(path, 'utf8'), formatSubnetFile(data));
      assert.equal(formatCidr(readPreviousSubnet(path)!), '10.5.34.0/24');
      assert.equal(readPreviousSubnet(join(dir, 'missing')), null);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it("prints mk-docker-opts.sh's output", () => {
    assert.equal(dockerOpts(formatSubnetFile(data)),
      'DOCKER_OPT_BIP="--bip=10.5.34.1/24"\nDOCKER_OPT_IPMASQ="--ip-masq=false"\nDOCKER_OPT_MTU="--mtu=1450"\nDOCKER_NETWORK_OPTIONS=" --bip=10.5.34.1/24 --ip-masq=false --mtu=1450"\n');
  });
});
