"""Regions: samtools strings (1-based, inclusive) or 0-based half-open tuples, streamed in
windows."""

import re

DEFAULT_WINDOW = 50_000
"""Positions per window when streaming a region (memory is bounded by one window)."""

_NUMBER = r"[0-9][0-9,]*"
_RANGE = re.compile(rf"^(?P<contig>.+?):(?P<start>{_NUMBER})(?:-(?P<end>{_NUMBER})?)?$")


def _number(text: str, region: str) -> int:
    digits = text.replace(",", "")
    if not digits:
        raise ValueError(f"malformed region {region!r}: empty coordinate.")
    return int(digits)


def parse_region(region: str | tuple | None, lengths: dict[str, int]) -> list[tuple[str, int, int]]:
    """Turn a region into 0-based half-open `(contig, start, end)` triples.

    `None` means every contig of `lengths` (the BAM header order). A string follows samtools:
    `chr`, `chr:start`, `chr:start-` or `chr:start-end`, 1-based inclusive, commas allowed; an
    end past the contig is clipped to it. A tuple is taken as 0-based half-open.
    """
    if region is None:
        return [(contig, 0, length) for contig, length in lengths.items()]
    if isinstance(region, tuple):
        if len(region) != 3:
            raise ValueError(
                f"region: a tuple must be (contig, start, end), 0-based half-open; got {region!r}."
            )
        contig, start, end = region
        _check_contig(contig, lengths, repr(region))
        start, end = int(start), int(end)
        if start < 0 or end <= start:
            raise ValueError(
                f"region {region!r}: need 0 <= start < end (0-based half-open coordinates)."
            )
        return [(contig, start, min(end, lengths[contig]))]
    if not isinstance(region, str) or not region.strip():
        raise ValueError(
            f"malformed region {region!r}: expected 'chr', 'chr:start-end' (1-based, inclusive) "
            "or a (contig, start, end) tuple."
        )
    text = region.strip()
    if text in lengths:
        return [(text, 0, lengths[text])]
    match = _RANGE.match(text)
    if match is None:
        if ":" in text and text.split(":", 1)[0] in lengths:
            raise ValueError(
                f"malformed region {region!r}: expected 'chr:start-end' with 1-based positions, "
                "e.g. 'chr1:1,000-2,000'."
            )
        raise _unknown_contig(text, lengths, repr(region))
    contig = match["contig"]
    _check_contig(contig, lengths, repr(region))
    start = _number(match["start"], region)
    end = lengths[contig] if match["end"] is None else _number(match["end"], region)
    if start < 1 or end < start:
        raise ValueError(
            f"malformed region {region!r}: positions are 1-based and start <= end "
            "(e.g. 'chr1:1-100')."
        )
    if start > lengths[contig]:
        raise ValueError(
            f"region {region!r} starts after the end of {contig!r} (length {lengths[contig]})."
        )
    return [(contig, start - 1, min(end, lengths[contig]))]


def _check_contig(contig, lengths: dict[str, int], given: str) -> None:
    if contig not in lengths:
        raise _unknown_contig(contig, lengths, given)


def _unknown_contig(contig, lengths: dict[str, int], given: str) -> ValueError:
    known = ", ".join(list(lengths)[:5]) + (", ..." if len(lengths) > 5 else "")
    return ValueError(f"unknown contig {contig!r} in region {given}; the BAM header has: {known}.")
