//! What a verification harness asks of an ONNX reader beside the network: the element types
//! of the model's input and output, the operators the reader understands, and tensors
//! serialised as `TensorProto` (VNN-LIB 2.0's assignment files).

use super::proto::tensor_proto::DataType;
use super::proto::{type_proto, TensorProto, ValueInfoProto};
use crate::formats::ParseError;
use prost::Message;

/// The operators [`super::read`] understands (in chains of dense layers; see its docs).
pub const OPERATORS: &[&str] = &[
    "Constant",
    "Identity",
    "Flatten",
    "Dropout",
    "Reshape",
    "MatMul",
    "Gemm",
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Neg",
    "Relu",
    "LeakyRelu",
    "Tanh",
    "Sigmoid",
    "Elu",
];

/// The default-domain opsets whose definitions of [`OPERATORS`] are the ones the reader
/// implements: from 7 (multidirectional broadcasting, Gemm without `broadcast`) to 21.
pub const OPSETS: (i64, i64) = (7, 21);

/// The ONNX (set 1) name of an element type, as VNN-LIB 2.0 writes it.
fn element_type_name(code: i32) -> String {
    match DataType::try_from(code) {
        Ok(DataType::Float) => "float32".into(),
        Ok(DataType::Double) => "float64".into(),
        Ok(DataType::Float16) => "float16".into(),
        Ok(DataType::Bfloat16) => "bfloat16".into(),
        Ok(DataType::Int8) => "int8".into(),
        Ok(DataType::Int16) => "int16".into(),
        Ok(DataType::Int32) => "int32".into(),
        Ok(DataType::Int64) => "int64".into(),
        Ok(DataType::Uint8) => "uint8".into(),
        Ok(DataType::Uint16) => "uint16".into(),
        Ok(DataType::Uint32) => "uint32".into(),
        Ok(DataType::Uint64) => "uint64".into(),
        Ok(DataType::Bool) => "bool".into(),
        _ => format!("element type {code}"),
    }
}

fn declared_type(v: &ValueInfoProto) -> Option<i32> {
    match v.r#type.as_ref()?.value.as_ref()? {
        type_proto::Value::TensorType(t) => t.elem_type,
        _ => None,
    }
}

/// The element types of the model's data input and its (first) output, e.g.
/// `("float32", "float32")`; `"undeclared"` where the file does not say.
pub fn io_element_types(file: &str, bytes: &[u8]) -> Result<(String, String), ParseError> {
    let (_, graph) = super::decode_graph(file, bytes)?;
    let initialised: Vec<&str> = graph.initializer.iter().map(|t| t.name()).collect();
    let name = |v: Option<&ValueInfoProto>| {
        v.and_then(declared_type)
            .map_or_else(|| "undeclared".to_string(), element_type_name)
    };
    let input = graph
        .input
        .iter()
        .find(|v| !initialised.contains(&v.name()));
    Ok((name(input), name(graph.output.first())))
}

/// `values` (row-major, `dims` shaped) as a serialised float `TensorProto` named `name`.
pub fn float_tensor_proto(name: &str, dims: &[usize], values: &[f32]) -> Vec<u8> {
    TensorProto {
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: Some(DataType::Float as i32),
        float_data: values.to_vec(),
        name: Some(name.to_string()),
        ..Default::default()
    }
    .encode_to_vec()
}
