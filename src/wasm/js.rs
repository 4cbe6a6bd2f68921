//! Crossing the JS boundary: errors become JS `Error`s with a stable `code`, options and events
//! are converted once with serde (`deny_unknown_fields` refuses a misspelt name), results go back
//! as plain JSON-compatible objects.

use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::prelude::*;

use crate::error::Error;

impl From<Error> for JsValue {
    fn from(e: Error) -> JsValue {
        let err = js_sys::Error::new(&e.to_string());
        let _ = js_sys::Reflect::set(&err, &"code".into(), &e.code().into());
        err.into()
    }
}

pub(super) type JsResult<T> = std::result::Result<T, JsValue>;

/// The message of a JS exception, whatever was thrown.
pub(super) fn js_message(v: &JsValue) -> String {
    v.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| v.as_string())
        .unwrap_or_else(|| format!("{v:?}"))
}

/// Converts a JS value to `T` with JSON's semantics (what `JSON.stringify` keeps: `undefined`
/// members are absent). Every field name is checked by serde, so an unknown one is an error
/// naming the known ones. `undefined` itself is an empty object (all defaults).
pub(super) fn from_js<T: DeserializeOwned>(v: &JsValue, what: &str) -> Result<T, Error> {
    let bad = |m: String| Error::InvalidArgument(format!("{what}: {m}"));
    let text = if v.is_undefined() {
        "{}".to_owned()
    } else {
        if !v.is_object() {
            return Err(bad("must be an object".into()));
        }
        js_sys::JSON::stringify(v)
            .map_err(|e| bad(js_message(&e)))?
            .as_string()
            .ok_or_else(|| bad("cannot be written as JSON".into()))?
    };
    // Read as bytes, as the weights file's header is: one copy of serde_json's reader in the bundle.
    serde_json::from_slice(text.as_bytes()).map_err(|e| bad(e.to_string()))
}

/// A result as a plain JS object (maps as objects, no `Map`s).
pub(super) fn to_js<T: Serialize>(v: &T) -> JsResult<JsValue> {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| Error::Compute(format!("cannot convert a result to JS: {e}")).into())
}
