/**
 * flannel's own daemon in the lab: where the flanneld executable is (built offline by
 * ../shared/interop/build-flanneld.sh), and the bridge + host-local configuration flannel's CNI plugin
 * (flannel-io/cni-plugin `doCmdAdd`, `getDelegateIPAM`) hands to the reference plugins for a pod
 * behind a flanneld host.
 */
import { canonical, formatCidr, parseCidr } from '../../shared/ip/cidr.js';
export { FLANNELD_BIN } from '../helpers/paths.js';

/** The CNI network name of kube-flannel.yml's conflist. */
export const FLANNEL_CNI_NETWORK = 'cbr0';

/** The CNI version of kube-flannel.yml's conflist (the reference plugins Debian ships accept it). */
export const FLANNEL_CNI_VERSION = '0.3.1';

/** The `delegate` object of kube-flannel.yml's flannel entry. */
const KUBE_FLANNEL_DELEGATE = { hairpinMode: true, isDefaultGateway: true };

/**
 * The bridge plugin configuration flannel's CNI plugin builds from a host's subnet.env for
 * kube-flannel.yml's conflist entry: bridge (cni0 by the bridge plugin's default) as gateway,
 * `ipMasq` when flanneld does not masquerade, the subnet.env MTU, and host-local with the host's
 * subnet as its one range and a route to the whole Network. `ipamDataDir` keeps host-local's state
 * private to the lab host (flannel passes an `ipam` object of the conflist through the same way).
 */
export function flannelDelegateConf(env: Readonly<Record<string, string>>, ipamDataDir: string): Record<string, unknown> {
  const need = (k: string): string => {
    const v = env[k];
    if (v === undefined || v === '') throw new Error(`subnet.env lacks ${k}`);
    return v;
  };
  return {
    ...KUBE_FLANNEL_DELEGATE,
    name: FLANNEL_CNI_NETWORK,
    type: 'bridge',
    ipMasq: need('FLANNEL_IPMASQ') !== 'true',
    mtu: Number(need('FLANNEL_MTU')),
    isGateway: true,
    cniVersion: FLANNEL_CNI_VERSION,
    ipam: {
      type: 'host-local',
      dataDir: ipamDataDir,
      // Go's net.ParseCIDR("10.5.3.1/24").String() is "10.5.3.0/24".
      ranges: [[{ subnet: formatCidr(canonical(parseCidr(need('FLANNEL_SUBNET')))) }]],
      routes: [{ dst: need('FLANNEL_NETWORK') }],
    },
  };
}
