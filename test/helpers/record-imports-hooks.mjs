// Module customization hooks (node:module register) that report every URL the process
// resolves through the ESM loader to the port given at registration.
let port

export function initialize(data) {
  port = data.port
}

export async function resolve(specifier, context, nextResolve) {
  const result = await nextResolve(specifier, context)
  port.postMessage(result.url)
  return result
}
