// esbuild --inject: the `buffer` polyfill that @aws-crypto/client-browser needs in browsers.
export { Buffer } from 'buffer'
