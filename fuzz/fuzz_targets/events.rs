//! Events from both sides: the trainer's log readers (`seq`, CSV and JSONL, strict and with
//! `--skip-bad-lines`) and the browser's `track()` / `recommend()` / `pickOffers()` inputs.
//! The first byte picks the reader; the rest is the input.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use localrec::train::data::{self, Format};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, input)) = data.split_first() else {
        return;
    };
    let skip_bad = mode & 0x10 != 0;
    let result = match mode % 4 {
        0 => data::parse(input, Path::new("log.txt"), Format::Seq, skip_bad),
        1 => data::parse(input, Path::new("log.csv"), Format::Events, skip_bad),
        2 => data::parse(input, Path::new("log.jsonl"), Format::Events, skip_bad),
        _ => {
            if let Ok(text) = std::str::from_utf8(input) {
                localrec_fuzz::exercise_calls(text);
            }
            return;
        }
    };
    if let Ok(ds) = result {
        // What the reader returns must hold together: no user without events, skips counted.
        assert!(ds.users.iter().all(|u| !u.events.is_empty()));
        assert!(skip_bad || ds.skipped.count == 0);
        assert!(ds.skipped.examples.len() <= ds.skipped.count);
    }
});
