import { type CallContext, defineFunction, defineModule, ModuleError, z } from 'brine/loader'
import {
  callVim,
  ENTITY_TYPES,
  type Entity,
  getEntity,
  type ManagedObjectReference,
  retrieveObjectProperties,
} from 'brine/vsphere'
import { asList } from './_vmware.ts'

interface HostNetwork {
  vswitch?: Array<{
    name: string
    numPorts?: number
    mtu?: number
    spec?: { numPorts?: number; mtu?: number }
    pnic?: string[] | string
    portgroup?: string[] | string
  }>
  portgroup?: Array<{ spec?: { name?: string; vlanId?: number | string; vswitchName?: string } }>
}

async function hostNetwork(
  ctx: CallContext,
  name: string,
): Promise<{ host: Entity; system: ManagedObjectReference; network: HostNetwork }> {
  const si = ctx.serviceInstance
  const host = await getEntity(si, ENTITY_TYPES.host, name, {
    props: ['configManager.networkSystem'],
    signal: ctx.signal,
  })
  const system = host.props['configManager.networkSystem'] as ManagedObjectReference
  const { networkInfo } = await retrieveObjectProperties(si, system, ['networkInfo'], {
    signal: ctx.signal,
  })
  return { host, system, network: (networkInfo ?? {}) as HostNetwork }
}

function switches(network: HostNetwork) {
  return (network.vswitch ?? []).map((sw) => ({
    name: sw.name,
    ports: sw.spec?.numPorts || sw.numPorts || 0,
    mtu: sw.spec?.mtu || sw.mtu || null,
    portgroups: (network.portgroup ?? [])
      .filter((pg) => pg.spec?.vswitchName === sw.name)
      .map((pg) => String(pg.spec?.name)),
  }))
}

function portgroups(network: HostNetwork) {
  return (network.portgroup ?? []).map((pg) => ({
    name: String(pg.spec?.name),
    vswitch: String(pg.spec?.vswitchName),
    vlan: Number(pg.spec?.vlanId ?? 0),
  }))
}

const host = z.string().min(1).describe('host name or id')

/** saltext-vmware's shape (modules/vswitch.py get): num_ports, mtu, name, nics, portgroups. */
function saltextSwitches(network: HostNetwork, only: string | undefined) {
  return (network.vswitch ?? [])
    .filter((sw) => only === undefined || sw.name === only)
    .map((sw) => ({
      num_ports: Number(sw.spec?.numPorts ?? sw.numPorts ?? 0),
      mtu: Number(sw.spec?.mtu || sw.mtu || 0) || null,
      name: sw.name,
      // "key-vim.host.PhysicalNic-vmnic0" → vmnic0; "key-vim.host.PortGroup-VM Network" → VM
      // Network (saltext's split("-", 2)[-1]: a name may hold a '-').
      nics: asList(sw.pnic).map((nic) => nic.split('-').at(-1)!),
      portgroups: asList(sw.portgroup).map((pg) => {
        const parts = pg.split('-')
        return parts.length > 2 ? parts.slice(2).join('-') : parts.at(-1)!
      }),
    }))
}

export default defineModule({
  doc: 'Standard virtual switches and their port groups on ESXi hosts.',
  vsphere: true,
  functions: {
    // saltext-vmware's (src/saltext/vmware/modules/vswitch.py), its order and shapes.
    get: defineFunction({
      doc: 'A host’s standard switches (one when switch_name is given): [{num_ports, mtu, name, nics, portgroups}].',
      args: () => ({
        hostname: host,
        switch_name: z.string().min(1).optional().describe('switch name'),
      }),
      run: async (ctx, { hostname, switch_name }) =>
        saltextSwitches((await hostNetwork(ctx, hostname)).network, switch_name),
    }),
    add: defineFunction({
      doc: 'Add a standard switch to a host: {added: switch_name}.',
      args: () => ({
        switch_name: z.string().min(1).describe('switch name'),
        hostname: host,
        mtu: z.coerce.number().int().min(1280).max(9000).default(1500).describe('MTU'),
        nics: z.array(z.string().min(1)).default([]).describe('physical NICs, e.g. ["vmnic1"]'),
        num_ports: z.coerce.number().int().min(8).default(128).describe('ports'),
      }),
      run: async (ctx, { switch_name, hostname, mtu, nics, num_ports }) => {
        const { host: h, system } = await hostNetwork(ctx, hostname)
        await callVim(
          ctx.serviceInstance,
          `creating switch '${switch_name}' on host '${h.name}'`,
          'AddVirtualSwitch',
          {
            _this: system,
            vswitchName: switch_name,
            spec: {
              numPorts: num_ports,
              ...(nics.length
                ? { bridge: { _type: 'HostVirtualSwitchBondBridge', nicDevice: nics } }
                : {}),
              mtu,
            },
          },
        )
        return { added: switch_name }
      },
    }),
    remove: defineFunction({
      doc: 'Remove a standard switch from a host: {removed: switch_name}.',
      args: () => ({ switch_name: z.string().min(1).describe('switch name'), hostname: host }),
      run: async (ctx, { switch_name, hostname }) => {
        const { host: h, system } = await hostNetwork(ctx, hostname)
        await callVim(
          ctx.serviceInstance,
          `deleting switch '${switch_name}' on host '${h.name}'`,
          'RemoveVirtualSwitch',
          { _this: system, vswitchName: switch_name },
        )
        return { removed: switch_name }
      },
    }),

    // brine's own.
    list: defineFunction({
      doc: 'List a host’s standard switches: name, ports, MTU, port groups.',
      args: () => ({ host }),
      run: async (ctx, { host }) => switches((await hostNetwork(ctx, host)).network),
    }),
    list_portgroups: defineFunction({
      doc: 'List a host’s standard port groups: name, switch, VLAN.',
      args: () => ({ host }),
      run: async (ctx, { host }) => portgroups((await hostNetwork(ctx, host)).network),
    }),
    create: defineFunction({
      doc: 'Create a standard switch on a host.',
      args: () => ({
        host,
        name: z.string().min(1).describe('switch name'),
        ports: z.coerce.number().int().min(8).default(128).describe('ports'),
        mtu: z.coerce.number().int().min(1280).max(9000).optional().describe('MTU'),
      }),
      run: async (ctx, { host, name, ports, mtu }) => {
        const { host: h, system } = await hostNetwork(ctx, host)
        await callVim(
          ctx.serviceInstance,
          `creating switch '${name}' on host '${h.name}'`,
          'AddVirtualSwitch',
          { _this: system, vswitchName: name, spec: { numPorts: ports, mtu } },
        )
        return switches((await hostNetwork(ctx, host)).network).find((s) => s.name === name)
      },
    }),
    delete: defineFunction({
      doc: 'Delete a standard switch from a host.',
      args: () => ({ host, name: z.string().min(1).describe('switch name') }),
      run: async (ctx, { host, name }) => {
        const { host: h, system } = await hostNetwork(ctx, host)
        await callVim(
          ctx.serviceInstance,
          `deleting switch '${name}' on host '${h.name}'`,
          'RemoveVirtualSwitch',
          { _this: system, vswitchName: name },
        )
        return { host: h.name, name, deleted: true }
      },
    }),
    add_portgroup: defineFunction({
      doc: 'Add a port group to a standard switch.',
      args: () => ({
        host,
        vswitch: z.string().min(1).describe('switch name'),
        name: z.string().min(1).describe('port group name'),
        vlan: z.coerce.number().int().min(0).max(4095).default(0).describe('VLAN id'),
      }),
      run: async (ctx, { host, vswitch, name, vlan }) => {
        const { host: h, system, network } = await hostNetwork(ctx, host)
        if (!(network.vswitch ?? []).some((s) => s.name === vswitch))
          throw new ModuleError(`switch '${vswitch}' not found on host '${h.name}'`, {
            code: 'BRINE_NOT_FOUND',
          })
        await callVim(
          ctx.serviceInstance,
          `adding port group '${name}' to '${vswitch}' on host '${h.name}'`,
          'AddPortGroup',
          {
            _this: system,
            portgrp: { name, vlanId: vlan, vswitchName: vswitch, policy: {} },
          },
        )
        return portgroups((await hostNetwork(ctx, host)).network).find((pg) => pg.name === name)
      },
    }),
    remove_portgroup: defineFunction({
      doc: 'Remove a port group from a host.',
      args: () => ({ host, name: z.string().min(1).describe('port group name') }),
      run: async (ctx, { host, name }) => {
        const { host: h, system } = await hostNetwork(ctx, host)
        await callVim(
          ctx.serviceInstance,
          `removing port group '${name}' on host '${h.name}'`,
          'RemovePortGroup',
          { _this: system, pgName: name },
        )
        return { host: h.name, name, removed: true }
      },
    }),
  },
})
