//! The header JSON and payload of a weights file, sealed with valid lengths and checksum before
//! loading, so that the fuzzer explores header validation, tensor decoding and model building.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    localrec_fuzz::exercise_model(&localrec_fuzz::seal(data));
});
