// memlab depends on puppeteer; brine analyses Node heap snapshots and never needs a browser.
// Never download one on install (no network but the package registries here).
module.exports = { skipDownload: true }
