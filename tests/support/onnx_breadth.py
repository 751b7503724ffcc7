"""Builds ONNX models in the styles verification harnesses use, with the `onnx` package (not
birdnn), and runs them with onnxruntime, so that a test can compare birdnn's reading of each
file with an independent forward pass.

Usage: python3 onnx_breadth.py DIR
Writes DIR/NAME.onnx for each model, DIR/NAME.x.csv (random inputs, seeded) and
DIR/NAME.OUTPUT.csv for every graph output (the first is the network's output; the others
are hidden tensors the model exposes), and DIR/manifest.txt with one line per model:
`NAME OUTPUT...`. Exit code 3 when onnx or onnxruntime is not installed.
"""
import os
import sys

try:
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper
except ImportError as e:  # pragma: no cover
    print(f"onnx or onnxruntime not available: {e}", file=sys.stderr)
    sys.exit(3)

rng = np.random.default_rng(20261204)


def const(name, values):
    """A Constant node whose output is `name` (0-d when `values` is a scalar)."""
    array = np.asarray(values, dtype=np.float32)
    return helper.make_node(
        "Constant", [], [name], value=numpy_helper.from_array(array, name + "_value")
    )


def int_const(name, values):
    array = np.asarray(values, dtype=np.int64)
    return helper.make_node(
        "Constant", [], [name], value=numpy_helper.from_array(array, name + "_value")
    )


def weights(rows, cols):
    return rng.normal(0.0, 0.6, size=(rows, cols)).astype(np.float32)


def model(name, nodes, inputs, outputs, initializers=(), opset=18, ir=10):
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=list(initializers))
    m = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="onnx_breadth"
    )
    m.ir_version = ir
    onnx.checker.check_model(m, full_check=True)
    return m


def value(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def constants_and_arithmetic():
    """Weights in Constant nodes (0-d scalars too), Gemm with alpha/beta/transB, Mul, Div,
    Neg, broadcasting Add/Sub with the constant on either side, several graph outputs."""
    nodes = [
        const("w1", weights(3, 4)),  # transB: [outputs, inputs]
        const("b1", rng.normal(size=(3,))),
        helper.make_node("Gemm", ["X", "w1", "b1"], ["g1"], alpha=0.5, beta=2.0, transB=1),
        helper.make_node("Relu", ["g1"], ["r1"]),
        const("s", 1.5),
        helper.make_node("Mul", ["r1", "s"], ["m1"]),
        const("c", rng.normal(size=(1, 3))),
        helper.make_node("Add", ["c", "m1"], ["a1"]),
        helper.make_node("Neg", ["a1"], ["n1"]),
        const("d", 4.0),
        helper.make_node("Div", ["n1", "d"], ["d1"]),
        const("e", rng.normal(size=(3,))),
        helper.make_node("Sub", ["e", "d1"], ["s1"]),
        const("w2", weights(3, 2)),
        helper.make_node("MatMul", ["s1", "w2"], ["mm2"]),
        const("b2", rng.normal(size=(1, 2))),
        helper.make_node("Add", ["mm2", "b2"], ["y"]),
    ]
    outputs = ["y", "g1", "r1", "s1", "mm2"]
    return model(
        "constants_and_arithmetic",
        nodes,
        [value("X", ["batch", 4])],
        [value("y", ["batch", 2]), value("g1", ["batch", 3]), value("r1", ["batch", 3]),
         value("s1", ["batch", 3]), value("mm2", ["batch", 2])],
    ), outputs, 4


def shapes_and_activations():
    """A fixed [1,1,2,3] input, Flatten (axis 1), Reshape to a shape held by a Constant,
    MatMul and Gemm from initializers, Tanh, LeakyRelu, Sigmoid, Elu, Identity, Dropout."""
    w1 = numpy_helper.from_array(weights(6, 5), "w1")
    b1 = numpy_helper.from_array(rng.normal(size=(5,)).astype(np.float32), "b1")
    w2 = numpy_helper.from_array(weights(5, 4), "w2")
    w3 = numpy_helper.from_array(weights(4, 3), "w3")
    c3 = numpy_helper.from_array(rng.normal(size=(1, 3)).astype(np.float32), "c3")
    nodes = [
        helper.make_node("Flatten", ["X"], ["f"], axis=1),
        int_const("shape", [1, 6]),
        helper.make_node("Reshape", ["f", "shape"], ["flat"]),
        helper.make_node("MatMul", ["flat", "w1"], ["h1"]),
        helper.make_node("Add", ["h1", "b1"], ["h1b"]),
        helper.make_node("Tanh", ["h1b"], ["t1"]),
        helper.make_node("Gemm", ["t1", "w2"], ["h2"]),
        helper.make_node("LeakyRelu", ["h2"], ["l2"], alpha=0.2),
        helper.make_node("Identity", ["l2"], ["i2"]),
        helper.make_node("Dropout", ["i2"], ["o2"]),
        helper.make_node("Gemm", ["o2", "w3", "c3"], ["h3"], beta=0.5),
        helper.make_node("Elu", ["h3"], ["e3"], alpha=0.7),
        helper.make_node("Sigmoid", ["e3"], ["y"]),
    ]
    outputs = ["y", "h1b", "t1"]
    return model(
        "shapes_and_activations",
        nodes,
        [value("X", [1, 1, 2, 3])],
        [value("y", [1, 3]), value("h1b", [1, 5]), value("t1", [1, 5])],
        initializers=[w1, b1, w2, w3, c3],
    ), outputs, 6


def write_csv(path, rows):
    with open(path, "w") as f:
        f.write(",".join(f"v{j}" for j in range(rows.shape[1])) + "\n")
        for row in rows:
            f.write(
                ",".join(np.format_float_positional(v, unique=True, trim="-") for v in row)
                + "\n"
            )


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    manifest = []
    for build in (constants_and_arithmetic, shapes_and_activations):
        m, outputs, width = build()
        name = m.graph.name
        path = os.path.join(out, name + ".onnx")
        onnx.save(m, path)
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        first = session.get_inputs()[0]
        x = rng.uniform(-1.0, 1.0, size=(20, width)).astype(np.float32)
        shape = [1] + [int(d) for d in first.shape[1:]] if all(
            isinstance(d, int) for d in first.shape
        ) else None
        results = {o: [] for o in outputs}
        for row in x:
            feed = row.reshape(shape) if shape else row.reshape(1, -1)
            for o, v in zip(outputs, session.run(outputs, {first.name: feed})):
                results[o].append(np.asarray(v, dtype=np.float32).reshape(-1))
        write_csv(os.path.join(out, name + ".x.csv"), x)
        for o in outputs:
            write_csv(os.path.join(out, f"{name}.{o}.csv"), np.stack(results[o]))
        manifest.append(" ".join([name] + outputs))
    with open(os.path.join(out, "manifest.txt"), "w") as f:
        f.write("\n".join(manifest) + "\n")


main()
