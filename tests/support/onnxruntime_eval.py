"""Runs ONNX models with onnxruntime, for tests that check birdnn's exports elsewhere.

Usage: python3 onnxruntime_eval.py [--output NAME] MODEL INPUTS_CSV OUTPUT_CSV [MODEL INPUTS_CSV OUTPUT_CSV ...]
With --output, the graph output NAME is written instead of the first one.
Feeds all inputs as one batch (the exported models have a free batch dimension; a model
with a fixed input shape of higher rank gets one sample at a time) and writes
the outputs as float32 values in shortest round-trip form. Exit code 3 when onnxruntime is
not installed, so the calling test can tell "missing" from "failed".
"""
import sys

try:
    import numpy as np
    import onnxruntime as ort
except ImportError as e:  # pragma: no cover
    print(f"onnxruntime not available: {e}", file=sys.stderr)
    sys.exit(3)

args = sys.argv[1:]
wanted = None
if args[:1] == ["--output"] and len(args) >= 2:
    wanted, args = args[1], args[2:]
if len(args) % 3 != 0 or not args:
    print(__doc__, file=sys.stderr)
    sys.exit(2)

options = ort.SessionOptions()
options.intra_op_num_threads = 1
for model, inputs, outputs in zip(args[0::3], args[1::3], args[2::3]):
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    x = np.loadtxt(inputs, delimiter=",", skiprows=1, dtype=np.float32, ndmin=2)
    first = session.get_inputs()[0]
    names = [wanted] if wanted else None
    if len(first.shape) > 2:
        # A fixed-shape input such as ACAS Xu's [1, 1, 1, 5]: one sample at a time.
        shape = [1] + [int(d) for d in first.shape[1:]]
        y = np.concatenate(
            [session.run(names, {first.name: row.reshape(shape)})[0].reshape(1, -1) for row in x]
        ).astype(np.float32)
    else:
        y = session.run(names, {first.name: x})[0].astype(np.float32)
    with open(outputs, "w") as f:
        f.write(",".join(f"y{j}" for j in range(y.shape[1])) + "\n")
        for row in y:
            f.write(",".join(np.format_float_positional(v, unique=True, trim="-") for v in row) + "\n")
