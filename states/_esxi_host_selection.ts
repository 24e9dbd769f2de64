// Pieces the vmware_esxi state groups share: saltext's host selection arguments and how they
// compare what the SLS gives with what the hosts report.
import { z } from 'brine/loader'

/** saltext's utils/esxi.get_hosts arguments, as its states take them. */
export const selection = {
  datacenter_name: z.string().min(1).optional().describe('datacenter (needed with cluster_name)'),
  cluster_name: z.string().min(1).optional().describe('cluster'),
  host_name: z.string().min(1).optional().describe('one host'),
}

/** Lists compare as sets of addresses (ESXi does not keep their order meaningful). */
export function same(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b))
    return JSON.stringify([...a].sort()) === JSON.stringify([...b].sort())
  return a === b
}
