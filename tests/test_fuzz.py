"""A seeded, bounded mutation-fuzzing campaign: mutated ONNX bytes and manifests may only
succeed or raise a typed EdgewasmError (the longer campaign is `edgewasm fuzz --cases N`)."""

from __future__ import annotations

import random
import subprocess
import sys

from edgewasm.fuzz import mutate_bytes, mutate_manifest, run_campaigns

CASES = 1500


def test_campaign_finds_no_crashes():
    campaigns = run_campaigns(CASES, seed=20261122, log=lambda message: None)
    for campaign in campaigns:
        assert campaign.cases == CASES
        assert campaign.typed_errors > 0, "the mutations never reached an error path"
        assert not campaign.crashes, campaign.crashes[0]


def test_mutators_change_their_input():
    rng = random.Random(0)
    data = bytes(range(64))
    assert sum(mutate_bytes(data, rng) != data for _ in range(50)) >= 45
    manifest = {"a": 1, "b": [1, 2, {"c": "x"}]}
    assert sum(mutate_manifest(manifest, rng) != manifest for _ in range(50)) >= 40
    assert manifest == {"a": 1, "b": [1, 2, {"c": "x"}]}  # the original is never edited


def test_fuzz_command():
    result = subprocess.run([sys.executable, "-m", "edgewasm.cli", "fuzz", "--cases", "50", "--seed", "3"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "100 cases, 0 crashes" in result.stdout
    peak = int(result.stdout.split("peak memory ")[1].split(" MiB")[0])
    assert peak < 1024, f"the campaign peaked at {peak} MiB: a shape bomb was allocated"


def test_peak_memory_is_the_programs_own_not_its_parents():
    """A CLI run from a large test process reports its own peak (ru_maxrss keeps the parent's across exec)."""
    ballast = bytearray(512 * 2**20)
    ballast[::4096] = b"\1" * len(ballast[::4096])  # resident, not only reserved
    probe = "from edgewasm.fuzz import peak_memory_mib; print(peak_memory_mib())"
    peak = int(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout)
    assert peak < 256, f"{peak} MiB: the parent's {len(ballast) >> 20} MiB were counted"
