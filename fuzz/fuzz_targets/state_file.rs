#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| cardbridge::fuzzing::state_file(bytes));
