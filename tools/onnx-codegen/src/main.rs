//! Regenerates `src/formats/onnx/proto.rs` from ONNX's `onnx.proto` with a vendored protoc,
//! so that building birdnn never needs protoc.
//! Usage: cargo run -- PATH/TO/onnx.proto OUT_DIR
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let proto = std::path::Path::new(&args[1]);
    let out = &args[2];
    prost_build::Config::new()
        .protoc_executable(protoc_bin_vendored::protoc_bin_path().expect("vendored protoc"))
        .out_dir(out)
        .compile_protos(&[proto], &[proto.parent().unwrap()])
        .expect("protoc run");
}
