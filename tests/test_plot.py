"""softpile.plot: every figure renders to a real PNG and its axes hold the data drawn.

Expected values come from NumPy on the simulated reads (depth = reads overlapping a position)
or from the arrays handed to the plot, never from the plotting code itself.
"""

import subprocess
import sys

import jax.numpy as jnp
import matplotlib
import matplotlib.figure
import matplotlib.image
import numpy as np
import pytest

import softpile
from softpile import plot
from softpile.simulate import simulate

matplotlib.use("Agg")

LENGTH = 60
START = 10_000  # a window of a real contig does not begin at 0


@pytest.fixture(scope="module")
def sample():
    return simulate(
        3,
        reference_length=LENGTH,
        read_length=20,
        coverage=12,
        snv_positions=(15, 40),
        heterozygous=(False, True),
    )


@pytest.fixture(scope="module")
def piled(sample):
    reads = softpile.one_hot_reads(sample.reads)
    quality = jnp.asarray(sample.quality, dtype=float)
    return softpile.pileup(reads, jnp.asarray(sample.starts), LENGTH, quality=quality)


@pytest.fixture(scope="module")
def scores(sample, piled):
    return softpile.variant_scores(softpile.VariantModel(), piled, jnp.asarray(sample.reference))


def numpy_depth(sample) -> np.ndarray:
    depth = np.zeros(LENGTH, dtype=np.int64)
    for start in sample.starts:
        depth[start : start + sample.reads.shape[1]] += 1
    return depth


def assert_png(figure, path, min_size=(400, 150)):
    """Save with Agg; the file is a PNG of a sensible size and not one flat colour."""
    figure.savefig(path, dpi=50)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = matplotlib.image.imread(path)
    height, width = pixels.shape[:2]
    assert width >= min_size[0] and height >= min_size[1], pixels.shape
    assert pixels[..., :3].std() > 0.05  # drawn content, not a blank canvas


def bars(ax):
    """(x centres, heights) of the first bar chart drawn on `ax`."""
    container = ax.containers[0]
    centres = np.array([bar.get_x() + bar.get_width() / 2 for bar in container])
    return centres, np.array([bar.get_height() for bar in container])


def collection(ax, label):
    (found,) = [c for c in ax.collections if c.get_label() == label]
    return np.asarray(found.get_offsets())


def test_coverage_track_bars_are_the_depth(sample, piled, tmp_path):
    ax = plot.coverage_track(piled, start=START)
    x, heights = bars(ax)
    np.testing.assert_array_equal(heights, numpy_depth(sample))
    np.testing.assert_array_equal(x, START + np.arange(LENGTH))
    assert ax.get_xlim() == (START - 0.5, START + LENGTH - 0.5)
    assert_png(ax.figure, tmp_path / "coverage.png")


def test_coverage_track_weighted_and_arrays(piled):
    weighted = plot.coverage_track(piled, weighted=True)
    np.testing.assert_allclose(bars(weighted)[1], np.asarray(piled.coverage))
    assert weighted.get_ylabel() == "Weighted coverage"
    values = np.array([3.0, 0.0, 1.5])
    np.testing.assert_array_equal(bars(plot.coverage_track(values))[1], values)
    with pytest.raises(ValueError, match="1-D"):
        plot.coverage_track(np.zeros((3, 4)))


def test_coverage_track_draws_on_a_given_axes(piled):
    figure = matplotlib.figure.Figure()
    first, second = figure.subplots(1, 2)
    assert plot.coverage_track(piled, ax=second) is second
    assert not first.containers and len(second.containers) == 1


def test_pileup_heatmap_image_is_the_distribution(sample, piled, tmp_path):
    reference = sample.reference
    ax = plot.pileup_heatmap(piled, start=START, reference=reference, variants=[START + 15])
    image = ax.images[0]
    counts = np.zeros((LENGTH, 4))
    # Independent distribution: quality-weighted one-hot counts, normalised per position.
    weight = 1 - np.minimum(10.0 ** (-sample.quality / 10.0), 0.75)
    for read, start, weights in zip(sample.reads, sample.starts, weight):
        counts[start + np.arange(read.size), read] += weights
    total = counts.sum(axis=1, keepdims=True)
    expected = np.where(total > 0, counts / np.where(total > 0, total, 1), 0.25)
    np.testing.assert_allclose(image.get_array(), expected.T, rtol=1e-5, atol=1e-6)
    assert image.get_extent() == [START - 0.5, START + LENGTH - 0.5, 3.5, -0.5]
    assert [t.get_text() for t in ax.get_yticklabels()] == list("ACGT")

    dots = collection(ax, "reference base")
    np.testing.assert_array_equal(dots[:, 0], START + np.arange(LENGTH))
    np.testing.assert_array_equal(dots[:, 1], reference)
    (marks,) = [c for c in ax.containers if c.get_label() == "variant"]
    assert [bar.get_x() + 0.5 for bar in marks] == [START + 15]
    assert [bar.get_height() for bar in marks] == [4]
    assert "reference base" in ax.get_title() and "variants" in ax.get_title()
    (top,) = ax.child_axes
    letters = "".join(t.get_text() for t in top.get_xticklabels())
    assert letters == sample.reference_string
    assert_png(ax.figure, tmp_path / "heatmap.png")


def test_pileup_heatmap_arrays_n_reference_and_errors():
    values = np.array([[0.1, 0.2, 0.3, 0.4, 0.0], [0.0, 0.0, 1.0, 0.0, 0.0]])
    ax = plot.pileup_heatmap(jnp.asarray(values), reference=np.array([2, 5]))
    np.testing.assert_allclose(ax.images[0].get_array(), values.T)
    assert [t.get_text() for t in ax.get_yticklabels()] == list("ACGT-")
    # An N reference has no channel to mark, but its letter is written.
    np.testing.assert_array_equal(collection(ax, "reference base"), [[0, 2]])
    assert [t.get_text() for t in ax.child_axes[0].get_xticklabels()] == ["G", "N"]
    with pytest.raises(ValueError, match="reference.*3 codes for 2 positions"):
        plot.pileup_heatmap(values, reference=np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="positions, channels"):
        plot.pileup_heatmap(np.zeros(4))
    with pytest.raises(ValueError, match="variants"):
        plot.pileup_heatmap(values, variants=np.array([[1, 2]]))


def test_pileup_heatmap_long_window_has_no_letters():
    values = np.full((400, 4), 0.25)
    ax = plot.pileup_heatmap(values, reference=np.zeros(400, dtype=np.int32))
    assert ax.child_axes == []
    assert collection(ax, "reference base").shape == (400, 2)


def test_variant_track_p_variant_with_truth(sample, scores, tmp_path):
    truth = START + sample.variant_positions
    ax = plot.variant_track(scores, start=START, truth=truth)
    x, heights = bars(ax)
    np.testing.assert_array_equal(x, START + np.arange(LENGTH))
    np.testing.assert_allclose(heights, np.asarray(scores.p_variant))
    stars = collection(ax, "true variant")
    np.testing.assert_array_equal(stars[:, 0], [START + 15, START + 40])
    # Default threshold 0.5: bars at or above it are red, the others grey.
    red = np.array([bar.get_facecolor()[:3] == (1.0, 0.0, 0.0) for bar in ax.containers[0]])
    np.testing.assert_array_equal(red, heights >= 0.5)
    (line,) = [line for line in ax.lines if line.get_label() == "threshold"]
    assert line.get_ydata()[0] == 0.5
    # Both planted SNVs are called at this depth, so the track shows them.
    assert red[15] and red[40] and red.sum() == 2
    assert_png(ax.figure, tmp_path / "variants.png")


def test_variant_track_quality_and_arrays(scores):
    ax = plot.variant_track(scores, value="quality", threshold=30)
    np.testing.assert_allclose(bars(ax)[1], np.asarray(scores.quality))
    assert ax.get_yscale() == "symlog"
    assert ax.get_ylabel() == "QUAL (Phred)"
    plain = plot.variant_track(np.array([0.2, 0.7]))
    np.testing.assert_array_equal(bars(plain)[1], [0.2, 0.7])
    assert plain.get_legend() is None  # no threshold, no truth: nothing to explain
    with pytest.raises(ValueError, match="value must be 'p_variant' or 'quality'"):
        plot.variant_track(scores, value="genotype")


def test_overview_panels_line_up(sample, piled, scores, tmp_path):
    called = np.flatnonzero(np.asarray(scores.quality) >= 20)
    figure = plot.overview(
        piled,
        start=START,
        reference=sample.reference,
        variants=START + called,
        scores=scores,
        truth=START + sample.variant_positions,
        title="overview",
    )
    coverage, heatmap, track, colorbar = figure.axes
    np.testing.assert_array_equal(bars(coverage)[1], numpy_depth(sample))
    np.testing.assert_allclose(heatmap.images[0].get_array(), np.asarray(piled.distribution).T)
    np.testing.assert_allclose(bars(track)[1], np.asarray(scores.p_variant))
    assert colorbar.get_ylabel() == "Probability"
    figure.canvas.draw()
    # Same x range and the same left/right edges (the colorbar has a column of its own).
    boxes = [ax.get_position() for ax in (coverage, heatmap, track)]
    assert len({ax.get_xlim() for ax in (coverage, heatmap, track)}) == 1
    assert max(b.x0 for b in boxes) - min(b.x0 for b in boxes) < 1e-6
    assert max(b.x1 for b in boxes) - min(b.x1 for b in boxes) < 1e-6
    assert_png(figure, tmp_path / "overview.png", min_size=(500, 350))
    assert len(plot.overview(piled).axes) == 3


def test_compare_pileups_holds_both_and_the_difference(sample, tmp_path):
    reads = softpile.one_hot_reads(sample.reads)
    quality = jnp.asarray(sample.quality, dtype=float)
    starts = jnp.asarray(sample.starts)
    weighted = softpile.pileup(reads, starts, LENGTH, quality=quality)
    unweighted = softpile.pileup(reads, starts, LENGTH, quality=quality, quality_weighting=False)
    figure = plot.compare_pileups(
        weighted, unweighted, start=START, names=("weighted", "unweighted")
    )
    first, second, difference, change = figure.axes[:4]
    a = np.asarray(weighted.distribution)
    b = np.asarray(unweighted.distribution)
    np.testing.assert_allclose(first.images[0].get_array(), a.T)
    np.testing.assert_allclose(second.images[0].get_array(), b.T)
    np.testing.assert_allclose(difference.images[0].get_array(), np.abs(a - b).T, atol=1e-7)
    x, heights = bars(change)
    np.testing.assert_array_equal(x, START + np.arange(LENGTH))
    np.testing.assert_allclose(heights, np.abs(a - b).sum(axis=1), atol=1e-6)
    (mean,) = change.lines
    assert mean.get_ydata()[0] == pytest.approx(np.abs(a - b).sum(axis=1).mean(), abs=1e-6)
    assert first.get_title() == "Pileup (weighted)"
    assert heights.max() > 0  # weighting changes some columns of this sample
    assert_png(figure, tmp_path / "compare.png", min_size=(600, 400))
    with pytest.raises(ValueError, match="same"):
        plot.compare_pileups(a, b[:10])


def test_plot_never_touches_pyplot(tmp_path):
    # pyplot keeps global state (current figure, GUI backends); the module must not need it.
    code = (
        "import sys, numpy as np, softpile\n"
        "from softpile import plot\n"
        "piled = softpile.pileup(softpile.one_hot_reads(['ACGT']), np.array([0]), 4)\n"
        "plot.overview(piled).savefig(sys.argv[1])\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "figure.png")], check=True)
    assert (tmp_path / "figure.png").stat().st_size > 1000


# --- softpile plot: a window of a real BAM --------------------------------------------------


@pytest.fixture(scope="module")
def bam_files(tmp_path_factory):
    """A 200-base contig, 40 reads of 50 bases at Q30, a het SNV at 100 and a hom SNV at 120
    (0-based), one read with a 2-base deletion; and a truth VCF with both SNVs."""
    pysam = pytest.importorskip("pysam")
    from io_helpers import header_of, make_read, write_bam, write_fasta

    directory = tmp_path_factory.mktemp("plot_bam")
    rng = np.random.default_rng(11)
    reference = "".join(rng.choice(list("ACGT"), 200))
    fasta = write_fasta(directory / "ref.fa", {"chr1": reference})
    header = header_of({"chr1": 200})
    other = {base: "ACGT"[("ACGT".index(base) + 1) % 4] for base in "ACGT"}
    starts = np.sort(rng.integers(0, 151, 40))
    depth = np.zeros(200, dtype=np.int64)
    reads = []
    for number, start in enumerate(starts):
        sequence = list(reference[start : start + 50])
        if start <= 100 < start + 50 and number % 2 == 0:
            sequence[100 - start] = other[reference[100]]
        if start <= 120 < start + 50:
            sequence[120 - start] = other[reference[120]]
        cigar = "50M"
        if number == 5:  # a deletion of reference bases 20 and 21 of this read
            del sequence[20:22]
            cigar = "20M2D28M"
        reads.append(make_read(header, f"r{number}", "chr1", int(start), cigar, "".join(sequence)))
        depth[start : start + 50] += 1  # deletions count in the depth, as in samtools
    bam = write_bam(directory / "reads.bam", {"chr1": 200}, reads)
    vcf_header = pysam.VariantHeader()
    vcf_header.contigs.add("chr1", length=200)
    truth = directory / "truth.vcf"
    with pysam.VariantFile(str(truth), "w", header=vcf_header) as vcf:
        for position in (100, 120):
            alleles = (reference[position], other[reference[position]])
            vcf.write(vcf.new_record(contig="chr1", start=position, alleles=alleles))
    return {"bam": bam, "fasta": fasta, "truth": truth, "reference": reference, "depth": depth}


def test_region_figure_of_a_bam_window(bam_files):
    from softpile._cli_plot import region_figure

    figure, summary = region_figure(
        bam_files["bam"], bam_files["fasta"], "chr1:61-160", truth=bam_files["truth"]
    )
    coverage, heatmap, track, _ = figure.axes
    x, heights = bars(coverage)
    # 1-based genome coordinates on the x axis, the depth of the reads written above.
    np.testing.assert_array_equal(x, np.arange(61, 161))
    np.testing.assert_array_equal(heights, bam_files["depth"][60:160])
    image = heatmap.images[0].get_array()
    assert image.shape == (5, 100)  # A, C, G, T and the deletion channel
    assert [t.get_text() for t in heatmap.get_yticklabels()] == list("ACGT-")
    reference = bam_files["reference"]
    letters = "".join(t.get_text() for t in heatmap.child_axes[0].get_xticklabels())
    assert letters == reference[60:160]
    hom_alt = "ACGT".index(reference[120]) + 1
    # Every read shows the alternate base: the column is exactly one-hot.
    assert image[hom_alt % 4, 120 - 60] == 1.0
    het = image[:, 100 - 60]
    assert 0.2 < het["ACGT".index(reference[100])] < 0.8
    # Both SNVs are called and outlined; the truth VCF's records are starred.
    (marks,) = [c for c in heatmap.containers if c.get_label() == "variant"]
    assert [bar.get_x() + 0.5 for bar in marks] == [101, 121]
    np.testing.assert_array_equal(collection(track, "true variant")[:, 0], [101, 121])
    assert heatmap.get_xlim() == (60.5, 160.5)
    assert "2 site(s) with QUAL >= 10" in summary and "2 truth variant(s)" in summary


def test_softpile_plot_command(bam_files, tmp_path, capsys):
    from softpile.cli import main

    output = tmp_path / "fig.png"
    command = ["plot", str(bam_files["bam"]), "-f", str(bam_files["fasta"])]
    assert main([*command, "-r", "chr1:61-160", "-o", str(output), "--dpi", "40"]) == 0
    assert output.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = matplotlib.image.imread(output)
    assert pixels.shape[1] == 12 * 40 and pixels[..., :3].std() > 0.05
    assert f"wrote {output}: chr1:61-160, 100 positions" in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir()] == ["fig.png"]  # no temporary left behind

    # Bad input: one line on stderr, exit status 2, no file written.
    bad = tmp_path / "fig.jpeg"
    assert main([*command, "-r", "chr1:61-160", "-o", str(bad)]) == 2
    assert "must end in .png, .pdf or .svg" in capsys.readouterr().err
    assert main([*command, "-r", "chrX:1-10", "-o", str(tmp_path / "x.png")]) == 2
    assert "unknown contig 'chrX'" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig.png"]


@pytest.mark.parametrize("min_qual", [10.0, 2000.0])
def test_region_figure_threshold_follows_min_qual(bam_files, min_qual):
    from softpile._cli_plot import region_figure

    figure, summary = region_figure(
        bam_files["bam"], bam_files["fasta"], "chr1:61-160", min_qual=min_qual
    )
    _, heatmap, track, _ = figure.axes
    (line,) = [line for line in track.get_lines() if line.get_label() == "threshold"]
    assert list(line.get_ydata()) == [min_qual, min_qual]
    assert track.get_ylabel() == "QUAL (Phred)"
    # The red bars of the track are the sites outlined on the heatmap, and the summary counts them.
    red = [bar.get_x() + 0.5 for bar in track.containers[0] if bar.get_facecolor()[0] == 1.0]
    outlined = [c for c in heatmap.containers if c.get_label() == "variant"]
    marked = [bar.get_x() + 0.5 for bar in outlined[0]] if outlined else []
    assert red == marked
    # QUAL is capped at 999: above it nothing is called; at 10 both SNVs are.
    assert red == ([101, 121] if min_qual == 10.0 else [])
    assert f"{len(red)} site(s) with QUAL >= {min_qual:g}" in summary
