"""qorgau command line: serve, migrate, demo, simulate, users, audit."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

app = typer.Typer(help="qorgau — labour protection ecosystem", no_args_is_help=True)
db_app = typer.Typer(help="Database schema")
users_app = typer.Typer(help="User accounts")
audit_app = typer.Typer(help="Audit chain")
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
console = Console()


@db_app.command("upgrade")
def db_upgrade(revision: str = "heads") -> None:
    """Apply Alembic migrations (every domain branch) to the configured database."""
    from qorgau.core.migrate import upgrade

    upgrade(revision=revision)
    console.print("[green]database is up to date[/green]")


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Serve the web application and API."""
    import uvicorn

    # a serving process (each of `workers`) freezes its start-up heap once started (`app.py`)
    os.environ["QORGAU_SETTLE_HEAP"] = "1"
    uvicorn.run(
        "qorgau.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        log_level="warning",
    )


@app.command("compile")
def compile_kernels() -> None:
    """Compile the numeric kernels (alarm engine, map clustering) into numba's on-disk cache,
    so a process's first reading or map request, or a timed test, does not pay seconds for it."""
    import time

    from qorgau.alarms.engine import warm_up as alarms_warm_up
    from qorgau.geo.cluster import warm_up as map_warm_up

    t0 = time.perf_counter()
    alarms_warm_up()
    map_warm_up()
    console.print(f"kernels ready in {time.perf_counter() - t0:.1f} s")


def _progress_callback(progress: Progress) -> Callable[[str, int, int], None]:
    tasks: dict[str, TaskID] = {}

    def update(name: str, done: int, total: int) -> None:
        if name not in tasks:
            tasks[name] = progress.add_task(name, total=total)
        progress.update(tasks[name], completed=done, total=total)

    return update


def _run_simulation(seed: int, scale: str) -> None:
    from qorgau.core.config import get_settings
    from qorgau.simulator.service import simulate as run

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}"),
        TimeElapsedColumn(),
    )
    from qorgau.simulator.domains import run_domain_simulations

    with Progress(*columns, console=console) as progress:
        callback = _progress_callback(progress)
        summary = run(
            engine_or_url=get_settings().sqlalchemy_url, seed=seed, scale=scale, progress=callback
        )
        domains = run_domain_simulations(
            seed=seed, scale=scale, truth_dir=summary.truth_dir, progress=callback
        )
    console.print(f"registry: {summary.counts} in {summary.seconds:.1f} s")
    for domain, counts in domains.items():
        console.print(f"{domain}: {counts}")


simulate_app = typer.Typer(help="Synthetic national twin and telemetry streams")
app.add_typer(simulate_app, name="simulate")


@simulate_app.callback(invoke_without_command=True)
def simulate(
    ctx: typer.Context,
    seed: Annotated[int, typer.Option(help="Random seed; the twin is deterministic for it")] = 1,
    scale: Annotated[str, typer.Option(help="small | region | national")] = "small",
) -> None:
    """Generate the synthetic national twin into the configured database."""
    if ctx.invoked_subcommand is not None:
        return
    if scale not in {"small", "region", "national"}:
        raise typer.BadParameter("scale must be small, region or national")
    _run_simulation(seed, scale)


def _print_logins() -> None:
    from sqlalchemy import select

    from qorgau.accounts.demo import DEMO_PASSWORD, ensure_demo_accounts
    from qorgau.accounts.models import User
    from qorgau.core.db import get_sessionmaker
    from qorgau.risk import service as risk

    with get_sessionmaker()() as db:
        logins = ensure_demo_accounts(db)
        worker = db.scalar(select(User.id).where(User.username == "worker.mine"))
        if worker is not None:  # so the demo worker has instructions to confirm on /risk/my
            risk.ensure_demo_link(db, user_id=worker)
    table = Table(title=f"Demo logins (password for all: {DEMO_PASSWORD})")
    for column in ("username", "role", "organisation", "region"):
        table.add_column(column)
    for login in logins:
        table.add_row(login.username, login.role.value, login.organisation, login.region or "—")
    console.print(table)


@app.command()
def demo(
    seed: int = 1,
    host: str = "127.0.0.1",
    port: int = 8000,
    serve_app: Annotated[bool, typer.Option("--serve/--no-serve")] = True,
) -> None:
    """Migrate, generate the small twin if the database is empty, create demo users, serve."""
    from sqlalchemy import func, select

    from qorgau.core.db import get_sessionmaker
    from qorgau.core.migrate import upgrade
    from qorgau.registry.models import Enterprise

    upgrade()
    with get_sessionmaker()() as db:
        empty = not db.scalar(select(func.count()).select_from(Enterprise))
    if empty:
        _run_simulation(seed, "small")
    _print_logins()
    if serve_app:
        console.print(f"serving on http://{host}:{port}")
        serve(host=host, port=port)


@users_app.command("create")
def users_create(
    username: str,
    full_name: str,
    role: str,
    organisation_id: int,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True)],
    language: str = "ru",
) -> None:
    """Create a user (as the system administrator)."""
    from qorgau.accounts import service
    from qorgau.accounts.schemas import UserIn
    from qorgau.core.db import get_sessionmaker
    from qorgau.core.roles import Role
    from qorgau.core.security import SYSTEM_ACTOR

    data = UserIn(
        username=username,
        full_name=full_name,
        password=password,
        role=Role(role),
        organisation_id=organisation_id,
        language=language,
    )
    from qorgau.core.errors import DomainError

    with get_sessionmaker()() as db:
        try:
            user = service.create_user(db, actor=SYSTEM_ACTOR, data=data)
        except DomainError as exc:
            console.print(f"[red]{exc.field or 'error'}: {exc.message}[/red]")
            raise typer.Exit(2) from None
    console.print(f"created user {user.username} (id {user.id})")


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the hash chain; exit 1 if any entry was edited, inserted or deleted."""
    from qorgau.core import audit
    from qorgau.core.db import get_sessionmaker

    with get_sessionmaker()() as db:
        result = audit.verify(db)
    if result.ok:
        console.print(f"[green]audit chain intact[/green]: {result.checked} entries")
        return
    for problem in result.problems:
        console.print(f"[red]{problem}[/red]")
    raise typer.Exit(1)


@app.command("backup")
def backup_cmd(target: Path) -> None:
    """Write a consistent backup of the configured database to TARGET."""
    from qorgau.core.backup import backup
    from qorgau.core.config import get_settings

    path = backup(get_settings().sqlalchemy_url, target)
    console.print(f"backup written to {path} ({path.stat().st_size:,} bytes)")


@app.command("restore")
def restore_cmd(source: Path) -> None:
    """Replace the configured database with SOURCE, then verify the audit chain."""
    from qorgau.core import audit
    from qorgau.core.backup import restore
    from qorgau.core.config import get_settings
    from qorgau.core.db import get_sessionmaker

    restore(get_settings().sqlalchemy_url, source)
    with get_sessionmaker()() as db:
        result = audit.verify(db)
    if not result.ok:
        for problem in result.problems:
            console.print(f"[red]{problem}[/red]")
        raise typer.Exit(1)
    console.print(f"restored; audit chain intact ({result.checked} entries)")


jobs_app = typer.Typer(help="Background jobs (run by `qorgau serve`, or from cron)")
app.add_typer(jobs_app, name="jobs")


@jobs_app.command("list")
def jobs_list() -> None:
    """Every domain's background job with its schedule and last outcome."""
    from qorgau.core import jobs
    from qorgau.core.db import get_sessionmaker

    with get_sessionmaker()() as db:
        for row in jobs.status(db):
            ok = f"{row['last_ok_at']:%Y-%m-%d %H:%M} UTC" if row["last_ok_at"] else "never"
            state = f"last done {ok}" + (f", held by {row['holder']}" if row["holder"] else "")
            if row["failures"]:
                state = f"[red]{row['failures']} failures: {row['last_error']}[/red]"
            console.print(f"{row['name']:26} {row['schedule']:13} {state}", soft_wrap=True)


@jobs_app.command("run")
def jobs_run(name: str) -> None:
    """Run one job now (under its lease, so never twice at once); exit 1 if it failed."""
    from qorgau.core import jobs
    from qorgau.core.db import get_sessionmaker

    found = {j.name: j for j in jobs.load_jobs()}
    if name not in found:
        console.print(f"[red]no job {name!r}[/red]; jobs: {', '.join(found)}")
        raise typer.Exit(2)
    with get_sessionmaker()() as db:
        try:
            result = jobs.run_job(db, found[name], f"cli-{os.getpid()}")
        except Exception as exc:
            console.print(f"[red]{name} failed: {exc}[/red]")
            raise typer.Exit(1) from exc
    console.print(f"{name}: {result}")


def _mount_domain_clis() -> None:
    """Domains with their own commands (e.g. `qorgau concealment evaluate`) plug in here."""
    import importlib
    import importlib.util

    for domain in ("concealment", "alarms", "integration", "insurance", "inspections", "risk",
                   "incidents", "geo"):
        name = f"qorgau.{domain}.cli"
        if importlib.util.find_spec(name) is None:
            continue
        module = importlib.import_module(name)
        sub = getattr(module, "app", None)
        if sub is not None:
            app.add_typer(sub, name=domain)
        extra = getattr(module, "simulate_app", None)
        if extra is not None:  # e.g. `qorgau simulate telemetry` from the alarms domain
            simulate_app.registered_commands.extend(extra.registered_commands)


_mount_domain_clis()

if __name__ == "__main__":
    app()
