// The brine CLI run from the TypeScript sources (never a dist/ bundle, which may be older
// than the sources under test). Usage: node --import tsx cli-source.ts <brine arguments>
import { main } from '../../cli/main.ts'

process.exitCode = await main(process.argv.slice(2))
