// An OVA (a tar of the descriptor and its files) written for a test.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pack } from 'tar-stream'

/** Write `members` (name, content), in order, as the tar `dir/name`; its path. */
export async function writeOva(
  dir: string,
  name: string,
  members: Array<[string, Buffer]>,
): Promise<string> {
  const archive = pack()
  for (const [entry, data] of members) archive.entry({ name: entry, size: data.length }, data)
  archive.finalize()
  const chunks: Buffer[] = []
  for await (const chunk of archive) chunks.push(chunk as Buffer)
  const path = join(dir, name)
  writeFileSync(path, Buffer.concat(chunks))
  return path
}
