//! Key-management calls on `KmsClient` that a set-up page needs: `createKey`,
//! `createAlias`, `describeKey`, `listAliases`, `enableKey`, `disableKey`.
//!
//! Requests and responses keep the AWS JSON shapes (PascalCase, as the AWS SDK for
//! JavaScript v3 returns them); only the required arguments are checked here, the server
//! validates the rest.

use js_sys::{Promise, JSON};
use serde_json::{Map, Value};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::future_to_promise;

use crate::client::KmsClient;
use crate::error::invalid;

/// An options object as a JSON map (`{}` when absent); it must be a plain object.
fn options_map(options: Option<&JsValue>) -> Result<Map<String, Value>, JsValue> {
    let Some(options) = options.filter(|o| !o.is_undefined() && !o.is_null()) else {
        return Ok(Map::new());
    };
    if !options.is_object() {
        return Err(invalid("options must be an object"));
    }
    let text = JSON::stringify(options)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| invalid("options cannot be turned into JSON"))?;
    match serde_json::from_str(&text) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(invalid("options must be a plain object")),
    }
}

impl KmsClient {
    /// Sends `operation` with `request`; resolves to the response object as AWS sends it.
    fn json_call(&self, operation: &'static str, request: Map<String, Value>) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let response: Value = inner.call(operation, &request).await.map_err(|e| e.to_js())?;
            JSON::parse(&response.to_string()).map_err(|_| invalid("the response is not JSON"))
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
        Ok(self.json_call("CreateKey", options_map(options.as_ref())?))
    }

    /// KMS `CreateAlias`: points `aliasName` (`alias/...`) at `targetKeyId`.
    #[wasm_bindgen(js_name = createAlias, unchecked_return_type = "Promise<void>")]
    pub fn create_alias(
        &self,
        #[wasm_bindgen(js_name = aliasName)] alias_name: String,
        #[wasm_bindgen(js_name = targetKeyId)] target_key_id: String,
    ) -> Promise {
        let mut request = Map::new();
        request.insert("AliasName".into(), alias_name.into());
        request.insert("TargetKeyId".into(), target_key_id.into());
        self.json_call("CreateAlias", request)
    }

    /// KMS `DescribeKey` (a key id, ARN, alias name or alias ARN): `{ KeyMetadata }`.
    #[wasm_bindgen(
        js_name = describeKey,
        unchecked_return_type = "Promise<{ KeyMetadata: Record<string, unknown> & { KeyId: string, Arn: string, KeyState: string, Enabled: boolean } }>"
    )]
    pub fn describe_key(&self, #[wasm_bindgen(js_name = keyId)] key_id: String) -> Promise {
        let mut request = Map::new();
        request.insert("KeyId".into(), key_id.into());
        self.json_call("DescribeKey", request)
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
        Ok(self.json_call("ListAliases", options_map(options.as_ref())?))
    }

    /// KMS `EnableKey`.
    #[wasm_bindgen(js_name = enableKey, unchecked_return_type = "Promise<void>")]
    pub fn enable_key(&self, #[wasm_bindgen(js_name = keyId)] key_id: String) -> Promise {
        let mut request = Map::new();
        request.insert("KeyId".into(), key_id.into());
        self.json_call("EnableKey", request)
    }

    /// KMS `DisableKey`.
    #[wasm_bindgen(js_name = disableKey, unchecked_return_type = "Promise<void>")]
    pub fn disable_key(&self, #[wasm_bindgen(js_name = keyId)] key_id: String) -> Promise {
        let mut request = Map::new();
        request.insert("KeyId".into(), key_id.into());
        self.json_call("DisableKey", request)
    }
}
