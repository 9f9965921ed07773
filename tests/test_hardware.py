"""`daeptr.hardware`: which machines train in bfloat16 under `precision="auto"`."""

import pytest
import tensorflow as tf

from daeptr import hardware


@pytest.mark.parametrize("flags, fast", [
    ({"avx2", "fma", "avx512f", "avx512_bf16"}, True),  # AMD EPYC (Zen 4), Intel Cooper Lake
    ({"avx2", "amx_bf16", "amx_tile"}, True),  # Intel Sapphire Rapids
    ({"avx2", "fma", "avx512f"}, False),  # AVX-512 without its bfloat16 instructions
    (set(), False),  # not Linux: nothing known
])
def test_a_cpu_multiplies_bfloat16_fast_only_with_avx512_bf16_or_amx(monkeypatch, flags, fast):
    if tf.config.list_physical_devices("GPU"):
        pytest.skip("the GPU decides")
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset(flags))
    assert hardware.fast_bfloat16() is fast
    assert hardware.resolve_precision("auto") == ("mixed_bfloat16" if fast else "float32")
    assert hardware.resolve_precision("float32") == "float32"


def test_cpu_flags_are_those_of_proc_cpuinfo():
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
    except OSError:
        pytest.skip("no /proc/cpuinfo")
    line = next((line for line in text.splitlines() if line.startswith("flags")), None)
    if line is None:
        pytest.skip("/proc/cpuinfo lists no flags (not x86)")
    assert hardware.cpu_flags() == frozenset(line.partition(":")[2].split())
