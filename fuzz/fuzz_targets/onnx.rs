//! The ONNX reader on any bytes: a network or an error, never a panic. What it reads, the
//! writer writes and the reader reads back to the same network (compared as written bytes,
//! so that NaN weights compare equal).
#![no_main]

use birdnn::formats::{read_network, write_network};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = birdnn::formats::onnx::read_with_sites("f.onnx", data, &["relu_1".into(), "X".into()]);
    if let Ok(net) = read_network("f.onnx", data) {
        let once = write_network("f.onnx", &net).expect("a network read is written");
        let back = read_network("f.onnx", &once).expect("what the writer wrote reads back");
        let twice = write_network("f.onnx", &back).expect("written again");
        assert_eq!(once, twice, "read(write(net)) differs from net");
    }
});
