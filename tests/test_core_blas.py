"""The in-place GEMM helpers of the core (skdeeprnn.core._blas)."""

import numpy as np
import pytest

from skdeeprnn.core._blas import SMALL, gemm_for, gemm_into, matmul, numpy_products

TOL = {np.float32: 1e-5, np.float64: 1e-12}


def _layout(M, order):
    return np.asfortranarray(M) if order == "F" else np.ascontiguousarray(M)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order_a", ["C", "F"])
@pytest.mark.parametrize("order_b", ["C", "F"])
@pytest.mark.parametrize("beta", [0.0, 1.0])
def test_gemm_into_writes_the_product_in_place(dtype, order_a, order_b, beta):
    rng = np.random.default_rng(0)
    A = _layout(rng.standard_normal((7, 5)).astype(dtype), order_a)
    B = _layout(rng.standard_normal((5, 3)).astype(dtype), order_b)
    C = rng.standard_normal((7, 3)).astype(dtype)
    expected = A.astype(np.float64) @ B.astype(np.float64) + beta * C.astype(np.float64)
    if not beta:
        C[0, 0] = np.nan  # beta = 0: C is not read
    out = gemm_into(A, B, C, beta=beta)
    assert out is C
    np.testing.assert_allclose(C, expected, rtol=TOL[dtype], atol=TOL[dtype])


def test_gemm_into_accepts_strided_operands_and_refuses_a_strided_output():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((6, 8))[:, ::2]  # neither C- nor F-contiguous: copied
    B = rng.standard_normal((4, 3))
    C = np.zeros((6, 3))
    gemm_into(A, B, C, beta=0.0)
    np.testing.assert_allclose(C, A @ B, rtol=1e-12)
    with pytest.raises(ValueError, match="C-contiguous"):
        gemm_into(A, B, np.zeros((3, 6)).T, beta=0.0)
    with pytest.raises(ValueError, match="float32 or float64"):
        gemm_into(A.astype(np.complex128), B, np.zeros((6, 3), dtype=np.complex128))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(3, 2, 4), (16, 64, 64)])  # NumPy's path, scipy's path
@pytest.mark.parametrize("beta", [0.0, 1.0])
def test_matmul_over_steps_equals_numpy(dtype, shape, beta):
    m, k, n = shape
    rng = np.random.default_rng(2)
    A = rng.standard_normal((m, k)).astype(dtype)
    B = rng.standard_normal((5, k, n)).astype(dtype)
    out = rng.standard_normal((5, m, n)).astype(dtype)
    expected = np.matmul(A.astype(np.float64), B.astype(np.float64)) + beta * out
    assert (gemm_for(m, k, n) is gemm_into) == (m * k * n >= SMALL)
    result = matmul(A, B, out=out, beta=beta)
    assert result is out
    np.testing.assert_allclose(out, expected, rtol=TOL[dtype], atol=10 * TOL[dtype])
    # a 2D right operand, into a new array
    np.testing.assert_allclose(matmul(A, B[0]), np.matmul(A, B[0]), rtol=TOL[dtype],
                               atol=10 * TOL[dtype])


def test_numpy_products_routes_this_threads_products_through_numpy():
    assert gemm_for(64, 64, 64) is gemm_into
    assert gemm_for(64, 64, 64, single_threaded=True, beta=0.0) is not gemm_into
    rng = np.random.default_rng(3)
    A, B = rng.standard_normal((64, 64)), rng.standard_normal((64, 64))
    C = rng.standard_normal((64, 64))
    expected = A @ B + C
    with numpy_products():
        gemm = gemm_for(64, 64, 64)
        assert gemm is not gemm_into
        gemm(A, B, C, 1.0)
        gemm(A, B, C, 1.0)
    np.testing.assert_allclose(C, expected + A @ B, rtol=1e-12)
    assert gemm_for(64, 64, 64) is gemm_into
    # a time loop's temporary: the product goes through it, the sum into C
    tmp = np.empty((64, 64))
    with numpy_products():
        gemm_for(64, 64, 64, tmp=tmp)(A, B, C, 1.0)
    np.testing.assert_allclose(C, expected + 2 * (A @ B), rtol=1e-12)
    np.testing.assert_allclose(tmp, A @ B, rtol=1e-12)
    assert gemm_for(64, 64, 64, tmp=tmp) is gemm_into  # scipy's path needs none
