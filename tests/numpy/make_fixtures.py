"""Writes the NumPy fixtures of tests/arrays.rs for examples/ng_planar.bp (run from this folder
with NumPy installed: `python3 make_fixtures.py`). The numbers are short decimals so that the
test can write the same values by hand; the dtypes and layouts vary on purpose."""
import numpy as np

X = np.array([[1, 2, -1, 0.5], [0.5, -1, 2, 1]])
Y = np.array([[1, 0, 1, 0]], dtype=np.int64)
W1 = np.array([[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6], [0.7, -0.8]])
b1 = np.array([[0.01], [0.02], [-0.03], [0.04]])
W2 = np.array([[0.5, -0.25, 0.125, 1.5]])
b2 = np.array([[-0.1]])

# float32 weights: read as the decimals they were meant to be (0.1, not 0.100000001490116).
np.savez_compressed("ng_planar.npz", X=X, Y=Y, W1=W1.astype(np.float32), b1=b1, W2=W2, b2=b2)
# Column-major storage, and a flat vector for a 4×1 bias.
np.save("w1_fortran.npy", np.asfortranarray(W1))
np.save("b1_flat.npy", b1.ravel())
# The transpose of W1: the shape check refuses it.
np.save("w1_transposed.npy", W1.T)
