"""Translatable labels for enumerated values (marked with N_ so extraction finds them)."""

from __future__ import annotations


def N_(message: str) -> str:
    return message


ROLE_LABELS = {
    "ministry_analyst": N_("Ministry analyst"),
    "labour_inspector": N_("Labour inspector"),
    "akimat": N_("Akimat officer"),
    "emergency_inspector": N_("Industrial safety inspector"),
    "industry_officer": N_("Industry ministry officer"),
    "employer_osh": N_("Employer OSH officer"),
    "dispatcher": N_("Mine shift dispatcher"),
    "mine_rescue": N_("Mine rescue unit"),
    "insurer": N_("Insurer"),
    "hospital_clerk": N_("Hospital clerk"),
    "worker": N_("Worker"),
    "system": N_("System account"),
    "admin": N_("Administrator"),
}

SIZE_LABELS = {
    "micro": N_("Micro"),
    "small": N_("Small"),
    "medium": N_("Medium"),
    "large": N_("Large"),
}

SITE_KIND_LABELS = {
    "mine": N_("Underground mine"),
    "open_pit": N_("Open pit"),
    "plant": N_("Plant"),
    "construction": N_("Construction site"),
    "oil_gas": N_("Oil and gas field"),
    "power": N_("Power plant"),
    "warehouse": N_("Warehouse"),
    "office": N_("Office"),
}

ALL_LABELS = {**ROLE_LABELS, **SIZE_LABELS, **SITE_KIND_LABELS}


def label(value: str) -> str:
    """The English msgid for an enumerated value (translate it with _())."""
    return ALL_LABELS.get(value, value)
