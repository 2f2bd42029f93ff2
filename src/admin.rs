//! Key-management calls on `KmsClient` that a set-up page needs: `createKey`,
//! `createAlias`, `describeKey`, `listAliases`, `enableKey`, `disableKey`.
//!
//! Requests and responses keep the AWS JSON shapes (PascalCase, as the AWS SDK for
//! JavaScript v3 returns them); only the required arguments are checked here, the server
//! validates the rest.

use js_sys::{Array, Promise, JSON};
use kms_api::json::ObjectWriter;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use zeroize::Zeroizing;

use crate::client::KmsClient;
use crate::convert::promise;
use crate::error::invalid;

/// The request body: the options object as JSON text (`{}` when absent). JavaScript's own
/// `JSON.stringify` writes it; it must be a plain object.
fn options_body(options: Option<&JsValue>) -> Result<Zeroizing<Vec<u8>>, JsValue> {
    let Some(options) = options.filter(|o| !o.is_undefined() && !o.is_null()) else {
        return Ok(ObjectWriter::new().finish());
    };
    if !options.is_object() || Array::is_array(options) {
        return Err(invalid("options must be a plain object"));
    }
    let text = JSON::stringify(options)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| invalid("options cannot be turned into JSON"))?;
    // An object's toJSON may return something else.
    if !text.starts_with('{') {
        return Err(invalid("options must be a plain object"));
    }
    Ok(Zeroizing::new(text.into_bytes()))
}

/// A request of string members only.
fn strings_body(members: &[(&str, &str)]) -> Zeroizing<Vec<u8>> {
    let mut body = ObjectWriter::new();
    for (name, value) in members {
        body.string(name, value);
    }
    body.finish()
}

impl KmsClient {
    /// Sends `operation` with `body`; resolves to the response object as AWS sends it
    /// (parsed by JavaScript's `JSON.parse`; `null` for an empty body).
    fn json_call(&self, operation: &'static str, body: Zeroizing<Vec<u8>>) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            let response = inner.call_raw(operation, &body).await.map_err(|e| e.to_js())?;
            if response.is_empty() {
                return Ok(JsValue::NULL);
            }
            let text = std::str::from_utf8(&response)
                .map_err(|_| invalid("the response is not UTF-8 text"))?;
            JSON::parse(text).map_err(|_| invalid("the response is not JSON"))
        })
    }
}

#[wasm_bindgen]
impl KmsClient {
    /// KMS `CreateKey`: resolves to `{ KeyMetadata }`. `options` is the AWS request
    /// (`{ Description?, KeySpec?, KeyUsage?, Tags?, ... }`); default a symmetric key.
    #[wasm_bindgen(
        js_name = createKey,
        unchecked_return_type = "Promise<{ KeyMetadata: Record<string, unknown> & { KeyId: string, Arn: string, KeyState: string } }>"
    )]
    pub fn create_key(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Record<string, unknown>")] options: Option<JsValue>,
    ) -> Result<Promise, JsValue> {
        Ok(self.json_call("CreateKey", options_body(options.as_ref())?))
    }

    /// KMS `CreateAlias`: points `aliasName` (`alias/...`) at `targetKeyId`.
    #[wasm_bindgen(js_name = createAlias, unchecked_return_type = "Promise<void>")]
    pub fn create_alias(
        &self,
        #[wasm_bindgen(js_name = aliasName)] alias_name: String,
        #[wasm_bindgen(js_name = targetKeyId)] target_key_id: String,
    ) -> Promise {
        let body = strings_body(&[("AliasName", &alias_name), ("TargetKeyId", &target_key_id)]);
        self.json_call("CreateAlias", body)
    }

    /// KMS `DescribeKey` (a key id, ARN, alias name or alias ARN): `{ KeyMetadata }`.
    #[wasm_bindgen(
        js_name = describeKey,
        unchecked_return_type = "Promise<{ KeyMetadata: Record<string, unknown> & { KeyId: string, Arn: string, KeyState: string, Enabled: boolean } }>"
    )]
    pub fn describe_key(&self, #[wasm_bindgen(js_name = keyId)] key_id: String) -> Promise {
        self.json_call("DescribeKey", strings_body(&[("KeyId", &key_id)]))
    }

    /// KMS `ListAliases`: `{ Aliases, NextMarker?, Truncated }`. `options` is the AWS
    /// request (`{ KeyId?, Limit?, Marker? }`).
    #[wasm_bindgen(
        js_name = listAliases,
        unchecked_return_type = "Promise<{ Aliases: { AliasName: string, AliasArn: string, TargetKeyId?: string }[], NextMarker?: string, Truncated: boolean }>"
    )]
    pub fn list_aliases(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Record<string, unknown>")] options: Option<JsValue>,
    ) -> Result<Promise, JsValue> {
        Ok(self.json_call("ListAliases", options_body(options.as_ref())?))
    }

    /// KMS `EnableKey`.
    #[wasm_bindgen(js_name = enableKey, unchecked_return_type = "Promise<void>")]
    pub fn enable_key(&self, #[wasm_bindgen(js_name = keyId)] key_id: String) -> Promise {
        self.json_call("EnableKey", strings_body(&[("KeyId", &key_id)]))
    }

    /// KMS `DisableKey`.
    #[wasm_bindgen(js_name = disableKey, unchecked_return_type = "Promise<void>")]
    pub fn disable_key(&self, #[wasm_bindgen(js_name = keyId)] key_id: String) -> Promise {
        self.json_call("DisableKey", strings_body(&[("KeyId", &key_id)]))
    }
}
