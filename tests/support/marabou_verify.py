"""Asks the Marabou verifier (maraboupy) for its verdict on ONNX + VNN-LIB problems, so tests
can check birdnn's verifier against a second, independent one.

Usage: python3 marabou_verify.py TIMEOUT_SECONDS MODEL VNNLIB [MODEL VNNLIB ...]
Prints one line per problem on stdout: `sat x0 x1 ...` (Marabou's unsafe input), `unsat`,
`timeout` or `unknown <reason>`. Marabou runs on one thread. Exit code 3 when maraboupy (or
the onnx package its ONNX reader needs) is not installed, so the calling test can tell
"missing" from "failed".
"""
import ctypes
import os
import sys
import warnings

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")
# maraboupy warns at import that its TensorFlow reader is unavailable: not used here.
warnings.filterwarnings("ignore")

try:
    import onnx  # noqa: F401  (Marabou.read_onnx needs onnx and onnxruntime)
    import onnxruntime  # noqa: F401
    from maraboupy import Marabou
except ImportError as e:  # pragma: no cover
    print(f"maraboupy not available: {e}", file=sys.stderr)
    sys.exit(3)

args = sys.argv[1:]
if len(args) < 3 or len(args) % 2 != 1:
    print(__doc__, file=sys.stderr)
    sys.exit(2)
timeout = max(1, int(float(args[0])))


def solve(model, vnnlib):
    """One problem; Marabou's C++ side prints to stdout, so fd 1 goes to stderr meanwhile."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        net = Marabou.read_onnx(model)
        options = Marabou.createOptions(
            timeoutInSeconds=timeout, verbosity=0, numWorkers=1, numBlasThreads=1
        )
        code, values, stats = net.solve(
            options=options, propertyFilename=vnnlib, verbose=False
        )
    except Exception as e:  # an operator or a VNN-LIB form Marabou does not read
        return f"unknown {type(e).__name__}: {e}".replace("\n", " ")
    finally:
        sys.stdout.flush()
        ctypes.CDLL(None).fflush(None)
        os.dup2(saved, 1)
        os.close(saved)
    if code == "sat":
        inputs = [values[int(v)] for v in net.inputVars[0].flatten()]
        return "sat " + " ".join(repr(float(x)) for x in inputs)
    if code == "unsat":
        return "unsat"
    if code == "TIMEOUT" or stats.hasTimedOut():
        return "timeout"
    return f"unknown {code}"


for model, vnnlib in zip(args[1::2], args[2::2]):
    print(solve(model, vnnlib), flush=True)
