"""Three LLVM-level helpers for the numba CPU kernels, each a few instructions that vectorise.

numba types every integer operation as 64-bit and has no fused multiply-add or float bit-cast, so these are
written as :func:`numba.extending.intrinsic` s that emit the LLVM IR directly:

* :func:`counter_uniform32` — the lowbias32 hash of ``counter mod 2³²`` in 32-bit lanes, mapped to
  ``[0, 1)`` as ``(h >> 8) · 2⁻²⁴``. Bit-identical to :func:`asgl.functional.counter_uniform`; in 32-bit lanes
  a 512-bit register holds 16 counters instead of 8, and the multiplies need no 64-bit ``vpmullq``.
* :func:`exp2_neg` — ``2⁻ⁿ`` for an integer ``0 ≤ n ≤ 126`` from the float32 bit pattern ``(127 − n) << 23``.
* :func:`fma` — ``a·b + c`` with one rounding (``llvm.fma.f32``). Used explicitly rather than through the
  ``contract`` fast-math flag, so the vectorised loop body and its scalar remainder round identically and
  results do not depend on where an element falls in a block.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

_I32 = ir.IntType(32)
_F32 = ir.FloatType()
_HASH_MUL1 = 0x7FEB352D
_HASH_MUL2 = 0x846CA68B - (1 << 32)  # the same 32-bit pattern as a signed constant


@intrinsic
def counter_uniform32(typingctx, counter):
    """``float32`` uniform in ``[0, 1)`` from the low 32 bits of the int64 ``counter``."""
    if counter != types.int64:
        return None

    def codegen(context, builder, signature, args):
        def xorshift(h, shift):
            return builder.xor(h, builder.lshr(h, ir.Constant(_I32, shift)))

        h = xorshift(builder.trunc(args[0], _I32), 16)
        h = xorshift(builder.mul(h, ir.Constant(_I32, _HASH_MUL1)), 15)
        h = xorshift(builder.mul(h, ir.Constant(_I32, _HASH_MUL2)), 16)
        top24 = builder.uitofp(builder.lshr(h, ir.Constant(_I32, 8)), _F32)
        return builder.fmul(top24, ir.Constant(_F32, 1.0 / 16777216.0))

    return types.float32(types.int64), codegen


@intrinsic
def exp2_neg(typingctx, n):
    """``2⁻ⁿ`` as float32 for an int32 ``n`` in ``[0, 126]`` (no range check)."""
    if n != types.int32:
        return None

    def codegen(context, builder, signature, args):
        exponent = builder.sub(ir.Constant(_I32, 127), args[0])
        return builder.bitcast(builder.shl(exponent, ir.Constant(_I32, 23)), _F32)

    return types.float32(types.int32), codegen


@intrinsic
def fma(typingctx, a, b, c):
    """``a·b + c`` rounded once, for float32 arguments."""
    if not all(arg == types.float32 for arg in (a, b, c)):
        return None

    def codegen(context, builder, signature, args):
        fn = builder.module.declare_intrinsic("llvm.fma", [_F32], ir.FunctionType(_F32, [_F32, _F32, _F32]))
        return builder.call(fn, args)

    return types.float32(types.float32, types.float32, types.float32), codegen


@intrinsic
def prefer_512bit_vectors(typingctx):
    """Mark the enclosing compiled function ``"prefer-vector-width"="512"``; emits no instruction.

    LLVM vectorises for 256-bit registers by default even on AVX-512 CPUs. For these kernels 512-bit lanes
    measured 1.7–2.1× faster on an AVX-512 CPU (``docs/performance.md``); on a CPU without AVX-512 the
    attribute is ignored. llvmlite accepts only a fixed list of attribute names, so the string attribute is
    added to the function's attribute set directly.
    """

    def codegen(context, builder, signature, args):
        set.add(builder.function.attributes, '"prefer-vector-width"="512"')
        return context.get_dummy_value()

    return types.none(), codegen
