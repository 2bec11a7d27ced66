"""Step 5 of the pipeline: the log-odds (base 2) that an unreported episode is a concealed work
injury, as a sum of explainable terms (sources, corroboration across independent source
families, link quality, the employer's expected-vs-observed score, peer episodes, fatality),
and the candidates that become cases."""

from __future__ import annotations

from datetime import date

import polars as pl

from qorgau.concealment import constants as C


def score_episodes(ev: pl.DataFrame, ent_score: pl.DataFrame, *, as_of: date) -> pl.DataFrame:
    """One row per episode: the evidence, its sources, the log-odds and the probability that
    it is a concealed work injury (explanation terms kept as columns)."""
    weight = pl.col("source").replace_strict(C.SOURCE_WEIGHT, default=0.0)
    per_source = ev.group_by("episode", "source").agg(
        pl.when(pl.col("work").max() > 0)
        .then(weight.first())
        .when(pl.col("work").min() < 0)
        .then(-weight.first() - 1.0)
        .otherwise(0.0)
        .alias("w"),
        pl.col("link_p").min().alias("lp"),
    )
    fam = pl.col("source").replace_strict(C.SOURCE_FAMILY, default="other")
    src = per_source.group_by("episode").agg(
        pl.col("w").sum().alias("source_logodds"),
        pl.struct("source", "w").alias("terms"),
        fam.filter(pl.col("w") > 0).n_unique().alias("families_at_work"),
        fam.filter(pl.col("w") < 0).n_unique().alias("families_not_work"),
    )
    ep = ev.group_by("episode").agg(
        pl.col("worker_id").first(),
        pl.col("enterprise_id").drop_nulls().first(),
        pl.col("region_code").drop_nulls().first(),
        pl.col("section").drop_nulls().first(),
        pl.col("event_date").min().alias("first_date"),
        pl.col("id").alias("evidence_ids"),
        pl.col("accident_id").drop_nulls().first(),
        pl.col("link_p").min().fill_null(0.0).alias("link_p"),
        pl.col("link_method").drop_nulls().first(),
        pl.col("fatal").any().alias("fatal"),
        pl.col("employed").any().alias("employed"),
        (pl.col("work") > 0).any().alias("any_work"),
    )
    ep = ep.join(src, on="episode").join(ent_score, on="enterprise_id", how="left")
    # E-vs-O is undefined (NaN) when no enterprise of the window reported any injury: no term.
    ep = ep.with_columns(pl.col("eo_score").fill_nan(None))
    link_term = (
        pl.when(pl.col("link_p") >= 0.999)
        .then(0.0)
        .otherwise(
            (pl.col("link_p").clip(0.5, 0.999) / (1 - pl.col("link_p").clip(0.5, 0.999))).log(2)
            - 10.0
        )
        .clip(-3.0, 0.0)
    )
    ent_term = pl.col("eo_score").fill_null(0.0).clip(0, 4) * 0.25
    due = pl.col("first_date") + pl.duration(days=C.REPORT_WINDOW_DAYS + C.GRACE_DAYS)
    # Other unreported "at work" episodes at the same employer: concealment is a practice of an
    # employer, while a wrongly flagged home injury lands at a random one.
    open_ = (
        pl.col("accident_id").is_null() & pl.col("any_work") & pl.col("enterprise_id").is_not_null()
    )
    ep = ep.with_columns(
        (open_.cast(pl.Int32).sum().over("enterprise_id") - open_.cast(pl.Int32))
        .clip(0, None)
        .fill_null(0)
        .alias("peer_episodes")
    )
    ep = (
        ep.with_columns(
            (pl.col("peer_episodes").clip(0, C.PEER_CAP) * C.PEER_WEIGHT).alias("peer_term"),
            link_term.alias("link_term"),
            ent_term.alias("enterprise_term"),
            pl.when(pl.col("fatal")).then(1.0).otherwise(0.0).alias("fatal_term"),
            _corroboration().alias("corroboration_term"),
            (due < pl.lit(as_of)).alias("window_passed"),
        )
        .with_columns(
            (
                C.CASE_PRIOR_LOG2
                + pl.col("source_logodds")
                + pl.col("link_term")
                + pl.col("enterprise_term")
                + pl.col("fatal_term")
                + pl.col("peer_term")
                + pl.col("corroboration_term")
            ).alias("logodds")
        )
        .with_columns((1.0 / (1.0 + pl.lit(2.0).pow(-pl.col("logodds")))).alias("probability"))
    )
    return ep


def _corroboration() -> pl.Expr:
    """Independent families agreeing on "at work" corroborate; a lone one or a contradicted
    one is how a home injury wrongly flagged at the hospital looks (the main false positive)."""
    at, against = pl.col("families_at_work"), pl.col("families_not_work")
    return (
        pl.when((at >= 2) & (against == 0))
        .then(C.CORROBORATION_BONUS)
        .when(at == 1)
        .then(-C.LONE_PENALTY)
        .otherwise(0.0)
        - pl.when((at >= 1) & (against >= 1)).then(C.CONFLICT_PENALTY).otherwise(0.0)
    )


def candidates(ep: pl.DataFrame) -> pl.DataFrame:
    """Episodes that become cases: unreported, window passed, attributable, probable enough."""
    return ep.filter(
        pl.col("accident_id").is_null()
        & pl.col("window_passed")
        & pl.col("enterprise_id").is_not_null()
        & pl.col("any_work")
        & (pl.col("probability") >= C.CASE_MIN_PROBABILITY)
    ).sort("probability", "logodds", descending=True)
