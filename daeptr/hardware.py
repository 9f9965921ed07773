"""What this machine computes fast, for `TrainConfig(precision="auto")`.

bfloat16 pays where the hardware multiplies it natively: a CPU with AVX512-BF16 or AMX-BF16
(DAE-PTR's step 1.35-1.45x faster on a 2-core AMD EPYC with AVX512-BF16; on one with AVX2 only,
bfloat16 was no faster: `python -m experiments.bench`, BUILD_NOTES.md "Speed and memory"),
or a GPU of compute capability 8.0 or higher (bfloat16 tensor cores; not measured here).
"""

from __future__ import annotations

import functools

import tensorflow as tf

BFLOAT16_CPU_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The instruction-set flags of the first CPU in /proc/cpuinfo; empty where there is none
    (not Linux)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "flags":
                    return frozenset(value.split())
    except OSError:
        pass
    return frozenset()


def fast_bfloat16() -> bool:
    """Whether the device TensorFlow computes on multiplies bfloat16 natively."""
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        capability = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability")
        return capability is not None and tuple(capability) >= (8, 0)
    return bool(cpu_flags() & BFLOAT16_CPU_FLAGS)


def resolve_precision(precision: str) -> str:
    """`precision` with "auto" replaced by "mixed_bfloat16" where bfloat16 is fast, else
    "float32"."""
    if precision == "auto":
        return "mixed_bfloat16" if fast_bfloat16() else "float32"
    return precision
