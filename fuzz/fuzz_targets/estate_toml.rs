//! estate.toml as operators write it: parse, resolve and generate never
//! panic, and every refusal names the file.
#![no_main]

use std::sync::LazyLock;

use hclgen::module::Interface;
use libfuzzer_sys::fuzz_target;

static MODULE: LazyLock<Interface> = LazyLock::new(|| {
    hclgen::module::read(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../modules/estate")).expect("modules/estate")
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let file = "env/dev/estate.toml";
    let resolved = hclgen::estate::parse(file, text).and_then(|f| hclgen::resolve::resolve(file, &f));
    match resolved {
        Ok(e) => {
            let _ = hclgen::generate::overlay(&e, &MODULE);
        }
        Err(p) => assert!(p.0.iter().all(|x| x.file == file), "{p}"),
    }
});
