"""Inbound connectors, one module per source system. Each has a file driver and an HTTP driver
(`Connector.read_file`, `Connector.fetch_http`), a documented mapping from the source's fields to
our row shape (the module docstring), a sample file under integration/samples/ and an apply step
that calls the owning domain's service."""

from __future__ import annotations

from qorgau.integration.connectors.base import Connector
from qorgau.integration.connectors.business_register import CONNECTOR as BUSINESS
from qorgau.integration.connectors.ehealth_trauma import CONNECTOR as TRAUMA
from qorgau.integration.connectors.employment_contracts import CONNECTOR as EMPLOYMENT
from qorgau.integration.connectors.hpf_register import CONNECTOR as HPF
from qorgau.integration.connectors.insurers import CLAIMS, CONTRACTS
from qorgau.integration.connectors.sick_leave import CONNECTOR as SICK_LEAVE

CONNECTORS: dict[str, Connector] = {
    c.feed: c for c in (EMPLOYMENT, BUSINESS, TRAUMA, SICK_LEAVE, CONTRACTS, CLAIMS, HPF)
}
