"""Calling in chunks of a fixed shape, and calling on worker processes."""

import gc
import os
import subprocess
import sys
import textwrap
import weakref
from pathlib import Path

import jax
import numpy as np
import pytest

import softpile
import softpile.io._scoring as scoring
import softpile.io._shards
from softpile.io import ReadBatch, call_reads, iter_calls, write_simulation
from softpile.simulate import simulate

LENGTH = 3000


@pytest.fixture(scope="module")
def sample():
    return simulate(5, reference_length=LENGTH, read_length=60, coverage=25, indel_rate=5e-3)


@pytest.fixture(scope="module")
def files(sample, tmp_path_factory):
    return write_simulation(sample, tmp_path_factory.mktemp("chunks"))


def _whole(sample):
    """The pileup and scores of all reads at once, with the core functions."""
    piled = softpile.pileup(
        softpile.one_hot_reads(sample.reads, gaps=True),
        sample.starts,
        LENGTH,
        quality=np.asarray(sample.quality, dtype=np.float32),
        insertions=np.asarray(sample.insertions != 0, dtype=np.float32),
        quality_weighting=False,
    )
    return piled, softpile.variant_scores(softpile.VariantModel(), piled, sample.reference)


@pytest.mark.parametrize("width", [None, 16], ids=["one-row-per-read", "reads-cut-in-pieces"])
def test_chunks_give_the_pileup_of_the_whole_window_bit_for_bit(sample, monkeypatch, width):
    # Small chunks: many ranges of positions, each from the rows that overlap it.
    monkeypatch.setattr(scoring, "CHUNK_ROWS", 64)
    monkeypatch.setattr(scoring, "CHUNK_POSITIONS", 512)
    if width is not None:
        monkeypatch.setattr(scoring, "row_width", lambda widths: width)
    result = call_reads([ReadBatch.from_simulation(sample)], sample.reference)
    expected = _whole(sample)
    jax.tree.map(
        lambda got, want: np.testing.assert_array_equal(got[0], np.asarray(want)),
        (result.pileups, result.scores),
        expected,
    )


def test_windows_of_any_read_count_share_one_compiled_program(sample):
    scoring._score_chunk.clear_cache()
    reads = ReadBatch.from_simulation(sample)
    for count in (len(reads.codes), 700, 31):  # the old padding compiled one shape per count
        fewer = ReadBatch(
            codes=reads.codes[:count],
            quality=reads.quality[:count],
            insertions=reads.insertions[:count],
            inserted_sequences=reads.inserted_sequences[:count],
            starts=reads.starts[:count],
        )
        call_reads([fewer], sample.reference)
    assert scoring._score_chunk._cache_size() == 1


def test_a_window_deeper_than_a_chunk_gets_a_larger_capacity(sample, monkeypatch):
    monkeypatch.setattr(scoring, "CHUNK_ROWS", 4)  # fewer than the reads over a position
    result = call_reads([ReadBatch.from_simulation(sample)], sample.reference)
    np.testing.assert_array_equal(result.pileups.depth[0], np.asarray(_whole(sample)[0].depth))


@pytest.mark.parametrize("shape", [(0, 0), (3, 0), (0, 5), (2, 4)])
def test_samples_without_bases_give_empty_pileups(shape):
    empty = ReadBatch(
        codes=np.full(shape, -1),
        quality=np.zeros(shape),
        insertions=np.zeros(shape),
        inserted_sequences=[{}] * shape[0],
        starts=np.zeros(shape[0], dtype=int),
    )
    result = call_reads([empty], np.zeros(100, dtype=int))
    assert result.records == [] and result.pileups.depth.shape == (1, 100)
    assert not result.pileups.depth.any() and not result.pileups.counts.any()


def test_workers_send_arrays_that_do_not_stay_in_memory(files, monkeypatch):
    monkeypatch.setattr(softpile.io._shards, "MIN_SHARDED_LENGTH", 1)
    one = list(iter_calls([files.reads], files.reference, window_size=500))
    alive = []
    for mine, theirs in zip(
        one, iter_calls([files.reads], files.reference, window_size=500, threads=2)
    ):
        assert theirs.records == mine.records
        jax.tree.map(np.testing.assert_array_equal, theirs.scores, mine.scores)
        alive.append(weakref.ref(theirs.scores.posteriors))
        del theirs
    gc.collect()
    assert len(alive) == len(one) and not any(ref() is not None for ref in alive)


def test_records_only(files, monkeypatch):
    monkeypatch.setattr(softpile.io._shards, "MIN_SHARDED_LENGTH", 1)
    whole = [w.records for w in iter_calls([files.reads], files.reference, window_size=500)]
    for threads in (1, 2):
        windows = list(
            iter_calls(
                [files.reads], files.reference, window_size=500, threads=threads, arrays=False
            )
        )
        assert [w.records for w in windows] == whole
        assert all(w.scores is None and w.pileups is None for w in windows)


def test_workers_that_cannot_start_are_reported(files, tmp_path):
    # Without the `__main__` guard, each worker would run the script again and die.
    script = tmp_path / "unguarded.py"
    script.write_text(
        textwrap.dedent(f"""
        import softpile.io._shards
        from softpile.io import iter_calls
        softpile.io._shards.MIN_SHARDED_LENGTH = 1
        list(iter_calls([{str(files.reads)!r}], {str(files.reference)!r}, threads=2))
        """)
    )
    # The worker imports the softpile under test, wherever it lies.
    environment = {**os.environ, "PYTHONPATH": str(Path(softpile.__file__).parents[1])}
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=environment
    )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("RuntimeError: worker processes exit as they start (exit code 1)")
    assert "if __name__ == '__main__':" in last


def test_workers_of_a_script_on_stdin_are_reported(files, tmp_path):
    # A script read from stdin cannot be imported again by a worker, `__main__` guard or not.
    script = textwrap.dedent(f"""
        import softpile.io._shards
        from softpile.io import iter_calls
        if __name__ == "__main__":
            softpile.io._shards.MIN_SHARDED_LENGTH = 1
            list(iter_calls([{str(files.reads)!r}], {str(files.reference)!r}, threads=2))
        """)
    environment = {**os.environ, "PYTHONPATH": str(Path(softpile.__file__).parents[1])}
    done = subprocess.run(
        [sys.executable, "-"],
        input=script,
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        cwd=tmp_path,
    )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("RuntimeError: worker processes exit as they start (exit code 1)")
    assert "must be a file (not stdin)" in last
