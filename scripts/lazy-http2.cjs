// What brine's bundles give undici's HTTP/2 client (lib/dispatcher/client-h2.js) for
// `require('node:http2')`: the constants it reads when it loads, and node:http2 itself only
// if it ever connects. brine never asks undici for HTTP/2 (no allowH2), and loading node:http2
// cost every `brine` call that talks to vCenter a few milliseconds (issue 21).
// test/lazy-loading.test.ts checks these values against node:http2's.
'use strict'

const constants = {
  HTTP2_HEADER_AUTHORITY: ':authority',
  HTTP2_HEADER_METHOD: ':method',
  HTTP2_HEADER_PATH: ':path',
  HTTP2_HEADER_SCHEME: ':scheme',
  HTTP2_HEADER_CONTENT_LENGTH: 'content-length',
  HTTP2_HEADER_EXPECT: 'expect',
  HTTP2_HEADER_STATUS: ':status',
  HTTP2_HEADER_PROTOCOL: ':protocol',
  NGHTTP2_REFUSED_STREAM: 7,
  NGHTTP2_CANCEL: 8,
}

module.exports = {
  constants,
  connect: (...args) => require('node:http2').connect(...args),
}
