import { vcsimBinary } from './vcsim.ts'

/** Build vcsim once before the workers start (they would otherwise race to build it). */
export default function setup(): void {
  vcsimBinary()
}
