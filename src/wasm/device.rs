//! Choosing the compute device in the browser: WebGPU when asked for (or `auto`) and the page
//! has it, else the CPU. The JS entry (`js/localrec.js`) asks for an adapter once to pick the
//! bundle; here only `navigator.gpu` is checked before burn's wgpu requests its own.

use burn::prelude::*;

use crate::error::{Error, Result};

#[cfg(feature = "webgpu")]
thread_local! {
    /// burn's WebGPU runtime can be initialised once per page.
    static WEBGPU: std::cell::RefCell<Option<Device>> = const { std::cell::RefCell::new(None) };
}

/// Picks the compute device for a `backend` option: `"auto"`, `"webgpu"` or `"cpu"`.
pub async fn select_device(preference: &str) -> Result<(Device, &'static str)> {
    match preference {
        "cpu" => Ok((crate::cpu_device(), "cpu")),
        "auto" | "webgpu" => webgpu_device(preference).await,
        other => Err(Error::InvalidArgument(format!(
            "backend must be \"auto\", \"webgpu\" or \"cpu\", got {other:?}"
        ))),
    }
}

/// Whether this page (window or worker) exposes `navigator.gpu`. Where it does not, wgpu's
/// adapter request panics instead of failing, so it is never made.
#[cfg(feature = "webgpu")]
fn page_has_webgpu() -> bool {
    let navigator = js_sys::Reflect::get(&js_sys::global(), &"navigator".into())
        .unwrap_or(wasm_bindgen::JsValue::UNDEFINED);
    !navigator.is_undefined()
        && js_sys::Reflect::get(&navigator, &"gpu".into())
            .map(|gpu| !gpu.is_undefined() && !gpu.is_null())
            .unwrap_or(false)
}

#[cfg(feature = "webgpu")]
async fn webgpu_device(preference: &str) -> Result<(Device, &'static str)> {
    if let Some(device) = WEBGPU.with(|d| d.borrow().clone()) {
        return Ok((device, "webgpu"));
    }
    let attempt = if page_has_webgpu() {
        Device::wgpu_options()
            .init_async()
            .await
            .map_err(|e| format!("no WebGPU adapter or device: {e:?}"))
    } else {
        Err("this browser exposes no WebGPU (navigator.gpu is missing)".to_owned())
    };
    match (attempt, preference) {
        (Ok(device), _) => {
            WEBGPU.with(|d| *d.borrow_mut() = Some(device.clone()));
            Ok((device, "webgpu"))
        }
        (Err(why), "webgpu") => Err(Error::BackendUnavailable(why)),
        (Err(_), _) => Ok((crate::cpu_device(), "cpu")),
    }
}

/// The CPU-only bundle: `auto` is the CPU, and asking for WebGPU says which bundle to load.
#[cfg(not(feature = "webgpu"))]
async fn webgpu_device(preference: &str) -> Result<(Device, &'static str)> {
    if preference == "webgpu" {
        return Err(Error::BackendUnavailable(
            "this is the CPU-only bundle (localrec_cpu); load the package entry `localrec`, which \
             picks the WebGPU bundle when an adapter exists"
                .into(),
        ));
    }
    Ok((crate::cpu_device(), "cpu"))
}
