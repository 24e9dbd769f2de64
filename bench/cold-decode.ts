// A fresh process decodes a saved RetrievePropertiesEx answer once, fed in 64 KiB pieces as
// the transport hands them over: what a short `brine` process meets, the decoder not yet
// compiled by V8 (bench/run.ts). Prints the milliseconds.
//   node --import tsx bench/cold-decode.ts <answer file> [events]
// With `events`, every element goes through the scanner's events (no object read whole).
import { readFileSync } from 'node:fs'
import { createResponseDecoder } from '../vsphere/decoder.ts'

const [file, mode] = process.argv.slice(2)
const bytes = readFileSync(file!)
const started = process.hrtime.bigint()
const decoder = createResponseDecoder('RetrievePropertiesEx', { bulk: mode !== 'events' })
for (let at = 0; at < bytes.length; at += 65536) decoder.write(bytes.subarray(at, at + 65536))
decoder.end()
console.log(Number(process.hrtime.bigint() - started) / 1e6)
