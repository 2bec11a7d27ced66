"""Step 1 of the detection pipeline (signals.py): evidence linked to registry workers,
deterministic on the keyed IIN hash (confirmed by name or birth date), by an inspector's
answer from the review queue, Fellegi–Sunter on names and birth date otherwise (m measured on
the IIN-confirmed pairs). A record whose top candidates fit about equally is linked to none of
them and its candidates become the ambiguous-link review rows (`link_and_review`). The
accident stage links evidence to accident victims with the same helper (`best_links`)."""

from __future__ import annotations

import polars as pl

from qorgau.concealment import constants as C
from qorgau.concealment.linkage import Field, LinkSpec, score_pairs

# No IIN hash here: a record reaches this stage only when its IIN is missing, invalid or did not
# confirm, so a hash it still carries is someone else's (or no one's) and says nothing.
PERSON_SPEC = LinkSpec(
    fields=(
        Field("first_name", "name"),
        Field("last_name", "name"),
        Field("birth_date", "date"),
    ),
    blocking=(("phonetic(last_name)", "year(birth_date)"), ("birth_date",)),
    deterministic=(),
    deterministic_window=None,
    threshold=C.LINK_THRESHOLD,
)


def link_workers(
    evidence: pl.DataFrame, workers: pl.DataFrame, resolved: pl.DataFrame | None = None
) -> pl.DataFrame:
    """evidence(id, iin_hash, iin_valid, first_name, last_name, birth_date) ×
    workers(worker_id, id_hash, first_name, last_name, birth_date) → best link per evidence."""
    return link_and_review(evidence, workers, resolved)[0]


def link_and_review(
    evidence: pl.DataFrame, workers: pl.DataFrame, resolved: pl.DataFrame | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The links, and the records left unlinked because their top candidates fit about equally
    (evidence_id, worker_id, weight, probability per candidate) for an inspector to resolve.
    `resolved` (evidence_id, worker_id; null = none of these) are the inspectors' answers: a
    chosen worker is linked like an IIN-confirmed record, "none of these" stays unlinked and
    is not queued again."""
    ev = evidence.select("id", "iin_hash", "iin_valid", "first_name", "last_name", "birth_date")
    wk = workers.select("worker_id", "id_hash", "first_name", "last_name", "birth_date")
    by_hand, declined = _resolved_links(ev, wk, resolved)
    done = pl.concat([by_hand["evidence_id"], declined]).implode()
    det = (
        ev.filter(
            pl.col("iin_valid") & pl.col("iin_hash").is_not_null() & ~pl.col("id").is_in(done)
        )
        .join(wk, left_on="iin_hash", right_on="id_hash", suffix="_w")
        # A valid but mistyped IIN can be someone else's: require the name or the birth date.
        .filter(
            (pl.col("birth_date") == pl.col("birth_date_w"))
            | (pl.col("last_name") == pl.col("last_name_w"))
            | pl.col("birth_date").is_null()
        )
        .select(
            pl.col("id").alias("evidence_id"),
            "worker_id",
            pl.lit("deterministic").alias("method"),
            pl.lit(30.0).alias("weight"),
            pl.lit(1.0).alias("probability"),
        )
    )
    det = pl.concat([by_hand, det], how="vertical_relaxed")
    rest = ev.filter(~pl.col("id").is_in(det["evidence_id"].implode()) & ~pl.col("id").is_in(done))
    prob, review = _probabilistic(rest, wk, _confirmed_pairs(ev, det, wk))
    return pl.concat([det, prob], how="vertical_relaxed"), review


def _resolved_links(
    ev: pl.DataFrame, wk: pl.DataFrame, resolved: pl.DataFrame | None
) -> tuple[pl.DataFrame, pl.Series]:
    """Links an inspector chose (method "resolved", as sure as an IIN) for evidence and workers
    still present, and the ids of records an inspector said fit none of the candidates."""
    schema = {"evidence_id": pl.Int64, "worker_id": pl.Int64}
    res = pl.DataFrame(schema=schema) if resolved is None else resolved.select(*schema).cast(schema)
    res = res.filter(pl.col("evidence_id").is_in(ev["id"].implode()))
    chosen = res.filter(pl.col("worker_id").is_in(wk["worker_id"].implode())).select(
        "evidence_id",
        "worker_id",
        pl.lit("resolved").alias("method"),
        pl.lit(30.0).alias("weight"),
        pl.lit(1.0).alias("probability"),
    )
    return chosen, res.filter(pl.col("worker_id").is_null())["evidence_id"]


def _confirmed_pairs(
    ev: pl.DataFrame, det: pl.DataFrame, wk: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(evidence, worker) sides of the IIN-confirmed links, row-aligned: the pairs known to be
    the same person, whose name and birth-date agreement carries the same spelling noise as
    the records without an IIN (m of the probabilistic stage is measured on them)."""
    cols = ["first_name", "last_name", "birth_date"]
    pairs = (
        det.select("evidence_id", "worker_id")
        .join(ev.select(pl.col("id").alias("evidence_id"), *cols), on="evidence_id")
        .join(wk.select("worker_id", *cols), on="worker_id", suffix="_w")
    )
    left = pairs.select(pl.col("evidence_id").alias("id"), *cols)
    right = pairs.select(
        pl.col("worker_id").alias("id"), *[pl.col(f"{c}_w").alias(c) for c in cols]
    )
    return left, right


def _probabilistic(
    rest: pl.DataFrame, wk: pl.DataFrame, confirmed: tuple[pl.DataFrame, pl.DataFrame]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    empty = pl.DataFrame(
        schema={
            "evidence_id": pl.Int64,
            "worker_id": pl.Int64,
            "method": pl.String,
            "weight": pl.Float64,
            "probability": pl.Float64,
        }
    )
    no_review = empty.drop("method")
    if rest.height == 0 or wk.height == 0:
        return empty, no_review
    left = rest.select(pl.col("id"), "first_name", "last_name", "birth_date")
    right = wk.rename({"worker_id": "id"}).select("id", "first_name", "last_name", "birth_date")
    best, close = rank_links(left, right, spec=PERSON_SPEC, confirmed=confirmed)
    ids = [
        pl.col("left_id").cast(pl.Int64).alias("evidence_id"),
        pl.col("right_id").cast(pl.Int64).alias("worker_id"),
    ]
    return (
        best.select(*ids, "method", "weight", "probability") if best.height else empty,
        close.select(*ids, "weight", "probability") if close.height else no_review,
    )


def best_links(
    left: pl.DataFrame,
    right: pl.DataFrame,
    *,
    spec: LinkSpec,
    confirmed: tuple[pl.DataFrame, pl.DataFrame] | None,
) -> pl.DataFrame:
    """The one right record each left record is linked to (left_id, right_id, method, weight,
    probability), at or above `spec.threshold`: m measured on the `confirmed` pairs (row-aligned
    left / right sides known to be the same person) when there are any, the class-checked free
    EM otherwise; a probabilistic link's probability is taken against the record's other
    candidates, so a record two candidates fit about equally is linked to neither. A
    deterministic pair of the spec (keys that identify the person) wins outright."""
    return rank_links(left, right, spec=spec, confirmed=confirmed)[0]


def rank_links(
    left: pl.DataFrame,
    right: pl.DataFrame,
    *,
    spec: LinkSpec,
    confirmed: tuple[pl.DataFrame, pl.DataFrame] | None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`best_links`, and the candidates of the records it refused only because of their
    competitors (left_id, right_id, weight, probability against the competitors): records
    whose best pair alone reaches the threshold. These go to the review queue."""
    known = confirmed if confirmed is not None and confirmed[0].height else None
    scored, _ = score_pairs(
        left, right, spec=spec, min_probability=C.LINK_COMPETITOR_MIN, known_matches=known
    )
    cols = ["left_id", "right_id", "weight", "probability"]
    if scored.height == 0:
        out = scored.select("left_id", "right_id", "method", "weight", "probability")
        return out, out.select(cols)
    is_det = pl.col("method") == "deterministic"
    det = scored.filter(is_det).sort("weight", descending=True).unique("left_id", keep="first")
    prob = _against_competitors(
        scored.filter(~is_det & ~pl.col("left_id").is_in(det["left_id"].implode()))
    )
    top = prob.sort("weight", descending=True).unique(subset="left_id", keep="first")
    best = pl.concat([det, top.drop("pair_p")], how="vertical_relaxed")
    best = best.filter(pl.col("probability") >= spec.threshold)
    refused = top.filter(
        (pl.col("probability") < spec.threshold) & (pl.col("pair_p") >= spec.threshold)
    )
    close = (
        prob.filter(pl.col("left_id").is_in(refused["left_id"].implode()))
        .filter(pl.col("probability") >= C.REVIEW_CANDIDATE_MIN)
        .sort("left_id", "weight", descending=[False, True])
        .group_by("left_id", maintain_order=True)
        .head(C.REVIEW_MAX_CANDIDATES)
    )
    return best.select("left_id", "right_id", "method", "weight", "probability"), close.select(cols)


def _against_competitors(scored: pl.DataFrame) -> pl.DataFrame:
    """Every candidate's probability taken against the record's other candidates (the pair's
    own probability kept as pair_p): a record is one person, so
    P(worker k) = 2^w_k / (1 + Σ_j 2^w_j) over the record's candidates. Two workers the record
    cannot tell apart (same names, same birth date) get ≤ 0.5 each and neither is linked:
    evidence is never attached to a coin-flip choice."""
    top = pl.col("weight").max().over("left_id")
    log_denom = top + (
        pl.lit(2.0).pow(-top) + pl.lit(2.0).pow(pl.col("weight") - top).sum().over("left_id")
    ).log(2)
    return scored.with_columns(
        pl.col("probability").alias("pair_p"),
        (pl.lit(2.0).pow(pl.col("weight") - log_denom)).alias("probability"),
    )
