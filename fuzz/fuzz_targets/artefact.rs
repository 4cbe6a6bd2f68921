//! A weights file as downloaded: any bytes. Most inputs stop at the magic bytes, version,
//! length fields or checksum; the `artefact_sealed` target goes past them.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    localrec_fuzz::exercise_model(data);
});
