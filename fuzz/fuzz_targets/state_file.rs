#![no_main]

use std::sync::Once;

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    // `StateFile::open` catches the panics redb raises on some damaged files and refuses the
    // file; libFuzzer's panic hook would abort on those caught panics before the catch. Only
    // a panic that escapes `state_file` must count, and that one still aborts (libfuzzer-sys
    // aborts on any panic that unwinds out of the target).
    static QUIET: Once = Once::new();
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    cardbridge::fuzzing::state_file(bytes)
});
