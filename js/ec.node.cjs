// Loads kms-wasm's EC module on first need, once (Node, CommonJS build): kms_wasm_ec.js
// sits next to kms_wasm.js; this file is in snippets/<crate>/js/. See js/ec.js.
let ec = null;

exports.loadEcModule = function loadEcModule() {
  try {
    if (ec === null) ec = require('../../../kms_wasm_ec.js');
    return Promise.resolve(ec);
  } catch (error) {
    return Promise.reject(error);
  }
};
