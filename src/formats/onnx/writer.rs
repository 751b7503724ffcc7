//! Writing a network as ONNX: a MatMul, an Add and the activation per layer, a free batch
//! dimension, and birdnn's metadata in the model's properties.

use super::proto::tensor_proto::DataType;
use super::proto::tensor_shape_proto::{dimension, Dimension};
use super::proto::{
    type_proto, AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto,
    StringStringEntryProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
};
use super::META_KEY;
use crate::network::{Activation, Network};
use prost::Message;

pub(super) fn float_tensor(name: &str, dims: &[usize], values: &[f32]) -> TensorProto {
    TensorProto {
        name: Some(name.into()),
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: Some(DataType::Float as i32),
        raw_data: Some(values.iter().flat_map(|v| v.to_le_bytes()).collect()),
        ..Default::default()
    }
}

pub(super) fn batched_value(name: &str, width: usize) -> ValueInfoProto {
    let dim = |value| Dimension {
        value: Some(value),
        ..Default::default()
    };
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(DataType::Float as i32),
                shape: Some(TensorShapeProto {
                    dim: vec![
                        dim(dimension::Value::DimParam("batch".into())),
                        dim(dimension::Value::DimValue(width as i64)),
                    ],
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub(super) fn node(
    op: &str,
    name: &str,
    inputs: &[&str],
    output: &str,
    attributes: Vec<AttributeProto>,
) -> NodeProto {
    NodeProto {
        op_type: Some(op.into()),
        name: Some(name.into()),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        attribute: attributes,
        ..Default::default()
    }
}

pub(super) fn float_attribute(name: &str, value: f32) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(super::proto::attribute_proto::AttributeType::Float as i32),
        f: Some(value),
        ..Default::default()
    }
}

/// Serialises a network as an ONNX model (IR 8, opset 13) with inputs `input [batch, n]` and
/// output `output [batch, m]`.
pub fn write(net: &Network) -> Vec<u8> {
    let mut nodes = Vec::new();
    let mut initializers = Vec::new();
    let mut current = "input".to_string();
    let count = net.layers().len();
    for (l, layer) in net.layers().iter().enumerate() {
        let last = l + 1 == count;
        let (w, b) = (format!("layer{l}_W"), format!("layer{l}_B"));
        initializers.push(float_tensor(
            &w,
            &[layer.inputs(), layer.outputs()],
            layer.weights(),
        ));
        initializers.push(float_tensor(&b, &[layer.outputs()], layer.bias()));
        let matmul = format!("layer{l}_MatMul");
        nodes.push(node("MatMul", &matmul, &[&current, &w], &matmul, vec![]));
        let act = layer.activation();
        let add = if last && act == Activation::Identity {
            "output".to_string()
        } else {
            format!("layer{l}_Add")
        };
        nodes.push(node(
            "Add",
            &format!("layer{l}_Add"),
            &[&matmul, &b],
            &add,
            vec![],
        ));
        current = add;
        let (op, attributes) = match act {
            Activation::Identity if last => continue,
            Activation::Identity => ("Identity", vec![]),
            Activation::Relu => ("Relu", vec![]),
            Activation::LeakyRelu { alpha } => ("LeakyRelu", vec![float_attribute("alpha", alpha)]),
            Activation::Tanh => ("Tanh", vec![]),
            Activation::Sigmoid => ("Sigmoid", vec![]),
            Activation::Elu { alpha } => ("Elu", vec![float_attribute("alpha", alpha)]),
        };
        let out = if last {
            "output".to_string()
        } else {
            format!("layer{l}_{op}")
        };
        nodes.push(node(
            op,
            &format!("layer{l}_{op}"),
            &[&current],
            &out,
            attributes,
        ));
        current = out;
    }
    let graph = GraphProto {
        name: Some(if net.meta().name.is_empty() {
            "birdnn".into()
        } else {
            net.meta().name.clone()
        }),
        node: nodes,
        initializer: initializers,
        input: vec![batched_value("input", net.input_size())],
        output: vec![batched_value("output", net.output_size())],
        ..Default::default()
    };
    let model = ModelProto {
        ir_version: Some(8),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(13),
        }],
        producer_name: Some("birdnn".into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        graph: Some(graph),
        metadata_props: vec![StringStringEntryProto {
            key: Some(META_KEY.into()),
            value: Some(serde_json::to_string(net.meta()).expect("metadata serialises")),
        }],
        ..Default::default()
    };
    model.encode_to_vec()
}
