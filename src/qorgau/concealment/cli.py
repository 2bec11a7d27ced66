"""`qorgau concealment ...` commands (the lead mounts `app` into the main CLI)."""

from __future__ import annotations

import json

import typer

app = typer.Typer(help="Concealed-injury detection.", no_args_is_help=True)


@app.command()
def evaluate(
    seed: int = typer.Option(..., help="Simulator seed"),
    scale: str = typer.Option("small", help="small | region | national"),
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON"),
) -> None:
    """Precision@k, recall, AUC and capture–recapture error against the simulator's truth."""
    from qorgau.concealment.evaluate import format_report, run_evaluation

    metrics = run_evaluation(seed=seed, scale=scale)
    typer.echo(json.dumps(metrics, default=str, indent=2) if as_json else format_report(metrics))
