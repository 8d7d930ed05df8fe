"""``sidian verify-ofd FILE [--json] [--trust DIR]`` (registered in
:mod:`pyservice.cli`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click

from pyservice.errors import SidianError
from pyservice.seal import OfdReport, verify_ofd
from pyservice.seal.anchors import load_trust_anchors
from pyservice.seal.registry import verify_ofd_registered
from pyservice.settings import Settings
from pyservice.store import open_store

__all__ = ["EXIT_CODES", "render_report", "verify_ofd_command"]

#: Exit status per result (a file that cannot be read exits 1).
EXIT_CODES = {"VALID": 0, "INTACT_UNTRUSTED": 3, "INVALID": 4}

_OK = "✓"
_FAIL = "✗"


def render_report(name: str, report: OfdReport) -> str:
    """The human report."""
    lines = [f"{name}: {report.result}"]
    lines += [f"  {r}" for r in report.reasons]
    lines.append(f"  checked at {report.checked_at}, {report.trust_anchors} trust anchor(s)")
    if report.unreferenced_files:
        files = ", ".join(report.unreferenced_files)
        lines.append(f"  ⚠ files no signature covers (not verified): {files}")
    for i, s in enumerate(report.signatures, 1):
        lines.append(f"signature {i}: {s.signature_xml} ({s.type}, {s.format})")
        for label, value in (
            ("seal name", s.seal_name),
            ("esID", s.es_id),
            ("signer", s.signer_subject),
            ("signed at", s.signed_at),
        ):
            if value is not None:
                lines.append(f"  {label}: {value}")
        intact = s.references_total - len(s.references_failed)
        lines.append(f"  references: {intact}/{s.references_total} intact")
        for c in s.checks:
            mark = _OK if c.ok else _FAIL
            lines.append(f"  {mark} {c.name}" + (f": {c.detail}" if c.detail else ""))
        chains = [("certificate chain", s.certificate_chain)]
        if s.seal_maker_chain is not None:
            chains.append(("seal maker chain", s.seal_maker_chain))
        for label, status in chains:
            lines.append(f"  {_OK if status == 'trusted' else _FAIL} {label}: {status}")
        signing = {None: "unknown", True: "yes", False: "no"}[s.certificate_valid_at_signing]
        now = "yes" if s.certificate_valid_now else "no"
        lines.append(f"    signer certificate valid at signing: {signing}; now: {now}")
    return "\n".join(lines)


@click.command("verify-ofd")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--trust",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Directory of trust anchor certificates (*.pem, *.crt, *.cer, *.der) "
    "[default: DATA_DIR/trust-anchors if it exists].",
)
@click.option(
    "--intermediates",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Directory of untrusted CA certificates that may link signers to an anchor.",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Data directory [default: $SIDIAN_DATA_DIR or ./data].",
)
@click.option(
    "--at",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]),
    help="Check certificate validity 'now' at this UTC time instead.",
)
def verify_ofd_command(  # noqa: PLR0917 (one parameter per click option)
    file: Path,
    as_json: bool,
    trust: Path | None,
    intermediates: Path | None,
    data_dir: Path | None,
    at: datetime | None,
) -> None:
    """Verify every seal and signature of an OFD file. With a data
    directory holding a store, the platform's seal CA is a trust anchor
    too and the platform's own seals must have been in force (filed, not
    cancelled, inside their window) when they signed.

    Exit status: 0 VALID, 3 INTACT_UNTRUSTED (intact, no trust anchor),
    4 INVALID, 1 unreadable input.
    """
    base = data_dir if data_dir is not None else _default_data_dir()
    if trust is None:
        candidate = base / "trust-anchors"
        trust = candidate if candidate.is_dir() else None
    try:
        anchors = load_trust_anchors(trust) if trust is not None else []
        links = load_trust_anchors(intermediates) if intermediates is not None else []
        when = at.replace(tzinfo=UTC) if at is not None else None
        data = file.read_bytes()
        if (base / "sidian.db").is_file():
            # A data directory with a store: its seal CA is trusted and
            # its seals' registry status is checked at signing time.
            store = open_store(base)
            try:
                report, _ = verify_ofd_registered(
                    store, data, trust_anchors=anchors, intermediates=links, at=when
                )
            finally:
                store.close()
        else:
            report = verify_ofd(data, trust_anchors=anchors, intermediates=links, at=when)
    except SidianError as exc:
        raise click.ClickException(f"{exc.code}: {exc}") from exc
    if as_json:
        click.echo(
            json.dumps({"file": file.name, **report.to_dict()}, ensure_ascii=False, indent=2)
        )
    else:
        click.echo(render_report(file.name, report))
    raise SystemExit(EXIT_CODES[report.result])


def _default_data_dir() -> Path:
    try:
        return Settings.from_env().data_dir
    except ValueError:
        return Path("data")
