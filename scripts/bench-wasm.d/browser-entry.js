// Bundled by esbuild for the Chromium run: @aws-crypto/client-browser as one ES module.
export * from '@aws-crypto/client-browser'
