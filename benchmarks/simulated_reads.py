"""The reads of `simulate_bam.py`: paired fragments along the haplotypes, and their reads as
SAM lines (qualities, errors, CIGARs, clips, MAPQ and flags as that script's docstring
describes), with the parameters they are drawn with."""

import numpy as np

CONTIG = "chr1"
READ_LENGTH = 150
INSERT_MEAN, INSERT_SD, INSERT_MIN, INSERT_MAX = 300, 60, 180, 600
INDEL_LENGTH_WEIGHTS = (0.45, 0.25, 0.15, 0.10, 0.05)  # 1..5 bp
MARGIN = 10  # an indel closer than this to a read's end is soft-clipped instead
READ_INDEL_ERRORS = 0.002
CLIP_3PRIME, CLIP_5PRIME = 0.03, 0.01
BAD_TAILS = 0.03
DUPLICATES, IMPROPER, ORPHANS, SECONDARY = 0.02, 0.01, 0.005, 0.003
MAPQ_VALUES, MAPQ_WEIGHTS = (60, 20, 0), (0.93, 0.04, 0.03)
ERROR_OF_QUALITY = (10.0 ** (np.arange(64) / -10.0)).astype(np.float32)
LETTERS = np.frombuffer(b"ACGTN", dtype=np.uint8)
PLAIN_CIGAR = b"%dM" % READ_LENGTH


def draw_fragments(rng, length: int, coverage: float) -> dict:
    count = int(round(coverage * length / (2 * READ_LENGTH)))
    inserts = rng.normal(INSERT_MEAN, INSERT_SD, count)
    while True:
        outside = (inserts < INSERT_MIN) | (inserts > INSERT_MAX)
        if not outside.any():
            break
        inserts[outside] = rng.normal(INSERT_MEAN, INSERT_SD, int(outside.sum()))
    inserts = inserts.astype(np.int64)
    improper = rng.random(count) < IMPROPER
    low = min(800, length // 4)
    inserts[improper] = rng.integers(low, max(low + 1, min(5000, length // 2)), improper.sum())
    starts = (rng.random(count) * (length - inserts - 10)).astype(np.int64)
    fragments = {
        "start": starts,
        "insert": inserts,
        "improper": improper,
        "haplotype": rng.integers(0, 2, count),
        "orphan": rng.random(count) < ORPHANS,  # one mate unmapped
        "unmapped_mate": rng.integers(0, 2, count),  # which one: 0 left, 1 right
        "read1_left": rng.random(count) < 0.5,
        "duplicate": np.zeros(count, dtype=bool),
    }
    copies = np.flatnonzero(rng.random(count) < DUPLICATES)
    order = np.argsort(np.concatenate([starts, starts[copies]]), kind="stable")
    for key, values in fragments.items():
        fragments[key] = np.concatenate([values, values[copies]])[order]
    fragments["duplicate"] = np.concatenate([np.zeros(count, bool), np.ones(copies.size, bool)])[
        order
    ]
    return fragments


def chunk_lines(rng, chunk: dict, first: int, haplotypes, repeats, indels) -> tuple[list, dict]:
    """SAM lines (bytes) of the reads of a chunk of fragments, and their counts."""
    length = haplotypes.shape[1]
    n_fragments = chunk["start"].size
    count = 2 * n_fragments
    L = READ_LENGTH
    # Reads 0..n-1 are the left mates (forward), n..2n-1 the right mates (reverse).
    fragment = np.concatenate([np.arange(n_fragments)] * 2)
    right = np.arange(count) >= n_fragments
    footprint = np.where(
        right, (chunk["start"] + chunk["insert"] - L)[fragment], chunk["start"][fragment]
    )
    haplotype = chunk["haplotype"][fragment]

    # Soft clips: adapter at the 3' end (the left end of a reverse read), a few bases at the 5'.
    clip3 = np.where(rng.random(count) < CLIP_3PRIME, rng.integers(5, 21, count), 0)
    clip5 = np.where(rng.random(count) < CLIP_5PRIME, rng.integers(1, 9, count), 0)
    left_clip, right_clip = np.where(right, clip3, clip5), np.where(right, clip5, clip3)
    start = footprint + left_clip  # first aligned base
    aligned = L - left_clip - right_clip  # aligned query bases, if there is no event

    # At most one indel per read: the planted one it crosses, if its haplotype carries it,
    # else rarely an error of its own. offset: its place among the aligned query bases.
    kind = np.zeros(count, dtype=np.int8)  # 0 none, 1 deletion, 2 insertion
    offset = np.zeros(count, dtype=np.int64)
    size = np.zeros(count, dtype=np.int64)
    inserted = rng.integers(0, 4, (count, 5), dtype=np.uint8)
    sites = indels["position"]
    if sites.size:
        site = np.minimum(np.searchsorted(sites, start), sites.size - 1)
        distance = sites[site] - start
        carried = indels["genotype"][site, haplotype] & (distance >= 0) & (distance < aligned - 1)
        kind[carried] = np.where(indels["deletion"][site[carried]], 1, 2)
        offset[carried] = distance[carried]
        size[carried] = indels["size"][site[carried]]
        inserted[carried] = indels["bases"][site[carried]]
    error = (kind == 0) & (rng.random(count) < READ_INDEL_ERRORS)
    kind[error] = rng.integers(1, 3, int(error.sum()))
    offset[error] = rng.integers(MARGIN, aligned[error] - MARGIN - 5)
    size[error] = rng.choice(np.arange(1, 6), int(error.sum()), p=INDEL_LENGTH_WEIGHTS)
    deleted = np.where(kind == 1, size, 0)
    insertion = np.where(kind == 2, size, 0)

    # Bases: from the haplotype, through the indel; soft clips are random (adapter).
    index = np.arange(L)[None, :] - left_clip[:, None]  # aligned query index
    past = index >= offset[:, None]
    position = (
        start[:, None]
        + index
        + np.where(past, deleted[:, None], 0)
        - np.where(index >= (offset + insertion)[:, None], insertion[:, None], 0)
    )
    codes = haplotypes[haplotype[:, None], np.clip(position, 0, length - 1)]
    in_insertion = past & (index < (offset + insertion)[:, None])
    rows, columns = np.nonzero(in_insertion)
    codes[rows, columns] = inserted[rows, index[rows, columns] - offset[rows]]
    clipped = (index < 0) | (index >= aligned[:, None])
    codes[clipped] = rng.integers(0, 4, int(clipped.sum()), dtype=np.uint8)
    del position, past, in_insertion, clipped

    # Qualities by sequencing cycle (the stored sequence of a reverse read is reversed), then
    # errors with the probability the quality states.
    cycle = np.where(right[:, None], L - 1 - np.arange(L)[None, :], np.arange(L)[None, :])
    mean = (37.0 - 13.0 * (np.arange(L) / (L - 1)) ** 2).astype(np.float32)[cycle]
    mean += rng.normal(0, 2, (count, 1)).astype(np.float32)
    mean += 4 * rng.standard_normal((count, L), dtype=np.float32)
    quality = np.clip(np.rint(mean), 2, 41).astype(np.uint8)
    bad = rng.random(count) < BAD_TAILS
    tail_from = np.where(bad, rng.integers(90, L, count), L)
    quality[cycle >= tail_from[:, None]] = 2
    wrong = rng.random((count, L), dtype=np.float32) < ERROR_OF_QUALITY[quality]
    codes[wrong] = (codes[wrong] + rng.integers(1, 4, int(wrong.sum()), dtype=np.uint8)) % 4
    rows, columns = np.nonzero(quality == 2)
    some = rng.random(rows.size) < 0.25
    codes[rows[some], columns[some]] = 4
    del cycle, mean, wrong

    # CIGARs: soft clip, match, indel, match, soft clip; an indel near an end is clipped.
    head = (kind > 0) & (offset < MARGIN)
    tail = (kind > 0) & ~head & (offset + insertion > aligned - MARGIN)
    middle = (kind > 0) & ~head & ~tail
    pos = np.where(head, start + offset + deleted, start)
    end = np.where(tail, start + offset, start + aligned + deleted - insertion)
    ops = np.zeros((count, 5), dtype=np.int64)
    ops[:, 0], ops[:, 1], ops[:, 4] = left_clip, aligned, right_clip
    ops[middle, 1] = offset[middle]
    ops[middle, 2] = size[middle]
    ops[middle, 3] = (aligned - offset - insertion)[middle]
    ops[head, 0] = (left_clip + offset + insertion)[head]
    ops[head, 1] = (aligned - offset - insertion)[head]
    ops[tail, 1] = offset[tail]
    ops[tail, 4] = (L - left_clip - offset)[tail]
    letters = np.array([b"SMDMS", b"SMIMS"])[(kind == 2).astype(int)]
    cigars = [PLAIN_CIGAR] * count
    for read in np.flatnonzero((ops[:, 1] != L) | (kind > 0)).tolist():
        cigars[read] = b"".join(
            b"%d%c" % (n, letters[read][i]) for i, n in enumerate(ops[read].tolist()) if n
        )

    # Flags, mapping qualities, mates.
    orphan = chunk["orphan"][fragment]
    unmapped = orphan & (chunk["unmapped_mate"][fragment] == right)
    mate_unmapped = orphan & ~unmapped
    read1 = chunk["read1_left"][fragment] != right
    proper = ~chunk["improper"][fragment] & ~orphan
    flag = (
        0x1
        | np.where(proper, 0x2, 0)
        | np.where(unmapped, 0x4, 0)
        | np.where(mate_unmapped, 0x8, 0)
        | np.where(right & ~unmapped, 0x10, 0)
        | np.where(~right & ~mate_unmapped, 0x20, 0)
        | np.where(read1, 0x40, 0x80)
        | np.where(chunk["duplicate"][fragment], 0x400, 0)
    )
    mapq = rng.choice(MAPQ_VALUES, count, p=MAPQ_WEIGHTS)
    mapq[repeats[np.clip(pos, 0, length - 1)] | unmapped] = 0
    mate = np.concatenate([np.arange(n_fragments, count), np.arange(n_fragments)])
    pos = np.where(unmapped, pos[mate], pos)  # an unmapped read sits at its mate
    template = np.maximum(end, end[mate]) - np.minimum(pos, pos[mate])
    leftmost = (pos < pos[mate]) | ((pos == pos[mate]) & ~right)
    tlen = np.where(orphan, 0, np.where(leftmost, template, -template))
    for read in np.flatnonzero(unmapped).tolist():
        cigars[read] = b"*"

    sequences = LETTERS[codes].view(f"S{L}").ravel().tolist()
    qualities = (quality + 33).view(f"S{L}").ravel().tolist()
    names = [b"r%d" % (first + i) for i in fragment.tolist()]
    lines = [
        b"%s\t%d\t" % (name, f)
        + CONTIG.encode()
        + b"\t%d\t%d\t%s\t=\t%d\t%d\t%s\t%s" % (p + 1, q, c, m + 1, t, s, qq)
        for name, f, p, q, c, m, t, s, qq in zip(
            names,
            flag.tolist(),
            pos.tolist(),
            mapq.tolist(),
            cigars,
            pos[mate].tolist(),
            tlen.tolist(),
            sequences,
            qualities,
        )
    ]
    # Secondary alignments: a copy of the read at a random place, MAPQ 0.
    secondary = np.flatnonzero(~unmapped & (rng.random(count) < SECONDARY))
    places = rng.integers(0, length - L, secondary.size)
    for read, place in zip(secondary.tolist(), places.tolist()):
        lines.append(
            b"%s\t%d\t" % (names[read], (flag[read] | 0x100) & ~0x400)
            + CONTIG.encode()
            + b"\t%d\t0\t%s\t=\t%d\t0\t%s\t%s"
            % (place + 1, PLAIN_CIGAR, pos[mate[read]] + 1, sequences[read], qualities[read])
        )
    counts = {
        "records": len(lines),
        "primary": count,
        "unmapped": int(unmapped.sum()),
        "duplicates": int(chunk["duplicate"].sum()) * 2,
        "secondary": int(secondary.size),
        "not_proper": int((~proper).sum()),
        "with_indel": int((kind > 0).sum()),
        "soft_clipped": int(((ops[:, 0] > 0) | (ops[:, 4] > 0)).sum()),
    }
    return lines, counts
