//! The VNN-LIB readers (1.0 and 2.0, the property path and the solver's query path) on any
//! text: a property, a query or an error, never a panic. A property read is written as 1.0
//! and as 2.0, and both read back to the same property.
#![no_main]

use birdnn::formats::vnnlib;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = vnnlib::read_query("q.vnnlib", text);
    if let Ok(property) = vnnlib::read("p.vnnlib", text) {
        for written in [vnnlib::write(&property), vnnlib::write_v2(&property)] {
            let back =
                vnnlib::read("p.vnnlib", &written).expect("what the writer wrote reads back");
            assert_eq!(back.input_boxes, property.input_boxes, "{written}");
            assert_eq!(back.unsafe_region, property.unsafe_region, "{written}");
        }
    }
});
