#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| chainrule_fuzz::harness::parse_claim(data));
