"""A sequencing error profile that depends on the position in the read, with reported base
qualities that are not perfectly calibrated."""

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class ErrorProfile:
    """Per-base error probabilities, and the qualities a sequencer would report for them.

    Each base has a true quality (Phred) that falls along the read, from `first_cycle` at the
    first base sequenced to `last_cycle` at the last, as the square of the position (most of the
    fall is in the last third); each read adds its own offset (sd `read_spread`) and each base
    its own noise (sd `base_spread`). True qualities are kept in `[min_true, max_true]`. The base
    is wrong (a random other base) with probability `10**(-true / 10)`.

    The reported quality is the true one plus an overstatement that grows along the read, from
    `overstatement_first` to `overstatement_last` Phred, rounded and capped to
    `[min_reported, max_reported]`. A base reported at `Q` in cycle `c` is therefore wrong about
    `10**(overstatement(c) / 10)` times as often as `Q` states (1.6 times at the first cycle and
    4 times at the last with the defaults), except in the top bin, which gathers every base
    above it. That cycle-dependent miscalibration is what base quality recalibration corrects.
    """

    first_cycle: float | int = 34.0
    last_cycle: float | int = 20.0
    read_spread: float | int = 3.0
    base_spread: float | int = 2.0
    min_true: float | int = 3.0
    max_true: float | int = 60.0
    overstatement_first: float | int = 2.0
    overstatement_last: float | int = 6.0
    min_reported: int = 2
    max_reported: int = 41

    def true_quality(self, rng: np.random.Generator, num_reads: int, length: int) -> np.ndarray:
        """`(num_reads, length)` true Phred qualities, in sequencing order."""
        fraction = np.arange(length) / max(length - 1, 1)
        mean = self.first_cycle - (self.first_cycle - self.last_cycle) * fraction**2
        offset = rng.normal(0.0, self.read_spread, (num_reads, 1))
        noise = rng.normal(0.0, self.base_spread, (num_reads, length))
        return np.clip(mean + offset + noise, self.min_true, self.max_true)

    def overstatement(self, length: int) -> np.ndarray:
        """`(length,)` Phred added to the true quality at each cycle of the report."""
        fraction = np.arange(length) / max(length - 1, 1)
        first, last = self.overstatement_first, self.overstatement_last
        return first + (last - first) * fraction

    def reported_quality(self, true_quality: np.ndarray) -> np.ndarray:
        """The integer qualities reported for `(N, L)` true qualities in sequencing order."""
        reported = np.rint(true_quality + self.overstatement(true_quality.shape[1]))
        return np.clip(reported, self.min_reported, self.max_reported).astype(np.int32)
