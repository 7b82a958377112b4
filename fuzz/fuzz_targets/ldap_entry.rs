#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| cardbridge_connectors::fuzzing::ldap_entry(bytes));
