import { resolveConnectionParams } from '../../vsphere/connection-params.ts'
import { withSession } from '../../vsphere/one-shot.ts'
import { retrieveObjectProperties } from '../../vsphere/property-collector.ts'
import type { UserSession } from '../../vsphere/types.ts'
import type { Vcsim } from './vcsim.ts'

/**
 * The sessions vcsim holds, read from SessionManager.sessionList in a separate session (which
 * is left out of the answer). This is how tests count logins and leftovers on the server.
 */
export async function serverSessions(vcsim: Vcsim): Promise<UserSession[]> {
  const params = resolveConnectionParams({
    server: vcsim.url,
    user: vcsim.user,
    password: vcsim.password,
    caFile: vcsim.caFile,
    label: 'observer',
  })
  return withSession(params, async (si) => {
    const props = await retrieveObjectProperties(si, si.sessionManager, ['sessionList'])
    const list = (props.sessionList as UserSession[] | undefined) ?? []
    return list.filter((session) => session.key !== si.userSession?.key)
  })
}

/** The sessions of one user name. */
export async function sessionsOf(vcsim: Vcsim, userName: string): Promise<UserSession[]> {
  return (await serverSessions(vcsim)).filter((session) => session.userName === userName)
}
