//! Resource ids: anything parses or is refused without a panic, and what
//! parses prints back to an id that parses to the same (equal) id.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trench_arm::ResourceId;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(id) = ResourceId::parse(s) {
        let shown = id.to_string();
        let again = ResourceId::parse(&shown).expect("a formatted id parses");
        assert_eq!(again, id);
        let _ = (id.display(), id.resource_type(), id.parent());
    }
});
